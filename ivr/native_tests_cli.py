"""``ivr test``: the call scenarios as Amazon Connect native test cases, run in a deployed region.

The loop: write a scenario (``connect/call_scenarios/*.yaml``) → ``ivr simulate --scenarios`` and
``ivr simulate --test-case`` prove it offline → ``ivr deploy`` deploys the compiled test cases in a stack of
their own per region → ``ivr test --role primary|dr`` runs them in Connect → ``ivr failover`` and the
failover drill run them in the receiving region as their last verification.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session
from ivr.output import console, deployment_or_exit, err, role_or_exit

if TYPE_CHECKING:
    import boto3

    from flowkit.testcase.compile import CompiledTestCase
    from regions.config import Deployment
    from runbooks.native_tests import RegionRun

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
FAILED = {"FAILED", "TIMED_OUT", "ERROR", "STOPPED"}


def stacks_of_test_cases(deployment: Deployment) -> list[str]:
    """The test-case stacks the app holds, DR first (the order ``ivr destroy`` removes them in)."""
    from runbooks.native_tests import plan_of_test_cases, stack_of_test_cases

    return [
        stack_of_test_cases(deployment.region(r))
        for r in ("dr", "primary")
        if plan_of_test_cases(deployment, r) is None
    ]


def _session_or_exit(deployment: Deployment, config: Path, profile: str | None) -> boto3.Session:
    """The session the test runs use, after the account check (running test cases changes the instance)."""
    return deployment_session(deployment, config, profile=profile, writes=True, consequence="no test was run")


def deploy_test_cases(
    deployment: Deployment,
    role: str,
    config: Path,
    *,
    dry_run: bool = False,
    session: boto3.Session | None = None,
    to_stderr: bool = False,
) -> None:
    """Deploy a region's test-case stack with its parameters filled from the regional stack's outputs and, for the
    flows, from the instance (found by name).

    It runs after the IVR's own deploy succeeded; its failure (Connect rejecting a PUBLISHED test case, say)
    is reported and leaves the IVR as deployed.
    """
    from flowkit.simulate.engine import SimulationError
    from flowkit.simulate.scenarios import ScenarioError
    from ivr.cdk_cli import cdk_command, render, run_cdk
    from runbooks.native_tests import REGIONAL, parameter_name, plan_of_test_cases, stack_of_test_cases

    why_not = plan_of_test_cases(deployment, role)  # type: ignore[arg-type]
    if why_not is not None:
        console.print(f"test cases: no test-case stack in the {role} region ({why_not})", markup=False)
        return
    settings = deployment.region(role)  # type: ignore[arg-type]
    stack = stack_of_test_cases(settings)
    if dry_run:
        console.print(
            f"would then deploy {stack} (the test cases), its parameters read from {settings.stack_name}'s "
            "outputs and the instance's flows; a failure there leaves the IVR deployed",
            markup=False,
        )
        return
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from flowkit.language.files import placeholders_in
    from flowkit.testcase.kit import cases_as_files, compile_kit
    from ivr.stack_outputs import StackOutputsError, read_outputs
    from runbooks.aws_steps import api_error
    from runbooks.flow_loader import CONNECT_RETRIES
    from runbooks.native_tests import instance_flows, placeholder_values

    try:
        aws = session or boto3.Session()
        outputs = read_outputs(aws.client("cloudformation", region_name=settings.region), settings.stack_name)
    except StackOutputsError as exc:
        err.print(f"warning: test cases not deployed: {exc}")
        return
    if "InstanceId" not in outputs:
        err.print(f"warning: test cases not deployed: {settings.stack_name} has no InstanceId output")
        return
    # Flow ids come from the instance, by the flows' names; in global-resiliency mode (only the primary gets here)
    # the values hold in both regions, since Connect mirrors these test cases to the replica.
    try:
        connect = aws.client("connect", region_name=settings.region, config=CONNECT_RETRIES)
        flows = instance_flows(connect, outputs["InstanceId"])
    except (ClientError, BotoCoreError) as exc:
        err.print(f"warning: test cases not deployed: the flows of {settings.stack_name}'s instance cannot be read: "
                  f"{api_error(exc)}", markup=False)  # fmt: skip
        return
    values = placeholder_values(outputs, flows, settings.region, portable=deployment.dr_mode == "global-resiliency")
    try:
        cases = cases_as_files(compile_kit(deployment), deployment.test_cases)
    except (ScenarioError, SimulationError, ValueError, ImportError) as exc:
        err.print(f"warning: test cases not deployed: {exc}")
        return
    used = set().union(*(placeholders_in([c["Content"], c["EntryPoint"]]) for c in cases.values()))
    needed = sorted(({"InstanceArn"} | used) - REGIONAL)
    missing = [p for p in needed if p not in values]
    if missing:
        err.print(
            f"warning: test cases not deployed: no value for {', '.join(missing)} (flows are looked up by name in "
            f"the instance, the rest in {settings.stack_name}'s outputs)",
            markup=False,
        )
        return
    parameters = [item for p in needed for item in ("--parameters", f"{stack}:{parameter_name(p)}={values[p]}")]
    profile = ["--profile", session.profile_name] if session is not None and session.profile_name != "default" else []
    command = cdk_command(
        "deploy", stack, "--exclusively", "--require-approval", "never", *parameters, *profile,
        config=config.resolve(),
    )  # fmt: skip
    err.print(f"deploying the test cases: {render(command[:3])} ...", markup=False)
    if run_cdk(command, to_stderr=to_stderr).returncode != 0:
        err.print(
            f"warning: {stack} failed to deploy (see above; Connect validates PUBLISHED test cases). "
            f"The IVR in {settings.region} is deployed and unaffected; `ivr test --role {role}` "
            "creates missing test cases through the API and reports Connect's problems in full."
        )


# -- offline: ivr simulate --test-case ----------------------------------------------------------------------------
@dataclass
class OfflineCall:
    """What ``ivr simulate`` says of the call when a test case does not: the entry flow, time and caller."""

    flow: str | None = None
    at: datetime | None = None
    caller: str | None = None


def simulate_test_cases(path: Path, deployment: Deployment, region: str, save_to: Path | None, as_json: bool,
                        call: OfflineCall | None = None) -> int:  # fmt: skip
    """Compile scenarios (a file or a directory) or read a test case (the kit's file, or a bare testing-language
    document with the FLOW argument), and run them offline."""
    from flowkit.simulate.engine import SimulationError

    try:
        return _simulate_test_cases(path, deployment, region, save_to, as_json, call or OfflineCall())
    except (SimulationError, ImportError) as exc:
        err.print(f"error: {exc}")
        return 1


def _simulate_test_cases(
    path: Path, deployment: Deployment, region: str, save_to: Path | None, as_json: bool, call: OfflineCall
) -> int:
    from flowkit.simulate.scenarios import ScenarioError, load_scenarios
    from flowkit.testcase.interpret import TestCaseError, read_test_case
    from flowkit.testcase.kit import compile_with, offline_kit, run_offline

    if not path.exists():
        err.print(f"error: {path}: no such file or folder (a scenario *.yaml, a folder of them, or a test case *.json)",
                  markup=False)  # fmt: skip
        return 2
    if save_to is not None and save_to.exists() and not save_to.is_dir():
        err.print(f"error: --save-to {save_to}: is a file; it names the folder the test cases are written to",
                  markup=False)  # fmt: skip
        return 2
    runs: list[dict[str, Any]] = []
    with offline_kit(deployment, backend="moto") as kit:
        if path.suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and "Observations" in data:  # a bare document: the call comes from options
                    if not call.flow:
                        raise TestCaseError(f"{path}: a bare testing-language document needs the FLOW argument")
                    entry = {"VoiceCallEntryPointParameters": {"FlowId": f"%FlowId.{call.flow}%"}}
                    data = {"Name": path.stem, "Content": data, "EntryPoint": entry}
                name, flow, document = read_test_case(data, str(path))
            except (OSError, ValueError, TestCaseError) as exc:
                err.print(f"error: {path}: {exc}" if not isinstance(exc, TestCaseError) else f"error: {exc}")
                return 2
            run = run_offline(kit, data, name=name, flow=flow, document=document, role=region, at=call.at,
                              caller=call.caller)  # fmt: skip
            runs.append({"name": name, "run": run, "document": document, "caveats": []})
        else:
            try:
                scenarios = load_scenarios(path if path.is_dir() else path.parent)
            except ScenarioError as exc:
                err.print(f"error: {exc}")
                return 2
            chosen = [(p, s) for p, s in scenarios if path.is_dir() or p.resolve() == path.resolve()]
            if not chosen:
                err.print(f"error: {path}: not a scenario file (*.yaml), a directory of them, or a test case (*.json)")
                return 2
            for scenario_path, scenario in chosen:
                case = compile_with(kit, scenario_path, scenario, deployment.test_cases)
                if not case.compiled:
                    runs.append({"name": case.name, "run": None, "problems": case.problems})
                    continue
                if save_to is not None:
                    save_to.mkdir(parents=True, exist_ok=True)
                    (save_to / f"{case.name}.json").write_text(
                        json.dumps(case.as_file(deployment.test_cases.status), indent=2) + "\n", encoding="utf-8"
                    )
                run = run_offline(
                    kit, case.as_file(), name=case.name, flow=case.flow, document=case.content or {}, role=region
                )
                runs.append({"name": case.name, "run": run, "document": case.content, "caveats": case.caveats})
    return _report_offline(runs, single=len(runs) == 1, as_json=as_json, saved=save_to)


def _report_offline(runs: list[dict[str, Any]], *, single: bool, as_json: bool, saved: Path | None) -> int:
    failed = [r for r in runs if r["run"] is not None and not r["run"].passed]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r["name"],
                        **(r["run"].as_json() if r["run"] else {"status": "NOT_COMPILED", "problems": r["problems"]}),
                    }
                    for r in runs
                ],
                indent=2,
            )
        )
        return 1 if failed else 0
    for item in runs:
        run = item["run"]
        if run is None:
            console.print(f"SKIP {item['name']}: not a test case: " + "; ".join(item["problems"]), markup=False)
            continue
        console.print(
            f"{'PASS' if run.passed else 'FAIL'} {item['name']}" + (f": {run.reason}" if run.reason else ""),
            markup=False,
            highlight=False,
        )
        if single or not run.passed:
            observations = {o["Identifier"]: o for o in item["document"]["Observations"]}
            for record in run.records:
                what = describe_observation(observations.get(record.observation, {}))
                console.print(f"     {record.status:<6} {record.observation:<10} {what}", markup=False, highlight=False)
                if record.status != "PASSED":
                    console.print(f"            {record.detail}", markup=False, highlight=False)
        for caveat in item.get("caveats", []) if single else []:
            console.print(f"     on AWS: {caveat}", markup=False)
    compiled = [r for r in runs if r["run"] is not None]
    console.print(
        f"{len(compiled)} of {len(runs)} scenarios compiled into test cases; "
        f"{len(compiled) - len(failed)} passed offline, {len(failed)} failed"
        + (f"; written to {saved}" if saved else ""),
        highlight=False,
    )
    return 1 if failed else 0


def describe_observation(observation: dict[str, Any]) -> str:
    """One line: the event it waits for, and what it does then (overrides, the caller's answer, assertions)."""
    event = observation.get("Event") or {}
    properties = event.get("Properties") or {}
    if event.get("Type") == "MessageReceived":
        what = f"hears {properties.get('Text') or properties.get('SSML') or '(a prompt)'!r}"
    elif event.get("Type") == "FlowActionStarted":
        what = f"{properties.get('ActionType')} starts"
    else:
        what = str(event.get("Type", ""))
    doing = []
    for action in observation.get("Actions") or []:
        parameters = action.get("Parameters") or {}
        if action.get("Type") == "OverrideSystemBehavior":
            behaviour = parameters["Behavior"]["Properties"]
            response = behaviour["Strategy"].get("Response") or {}
            result = (response.get("Error") or {}).get("Value") or (response.get("ExecutionResult") or {}).get(
                "Value", "mock response"
            )
            doing.append(f"{behaviour['ActionType']}: {result}")
        elif action.get("Type") == "SendInstruction":
            instruction = parameters.get("Instruction") or {}
            value = (instruction.get("Properties") or {}).get("Value") or (instruction.get("Properties") or {}).get(
                "Text"
            )
            doing.append(f"answers {value!r}" if value is not None else str(instruction.get("Type")))
        elif action.get("Type") == "Assert":
            doing.append(
                f"asserts {parameters.get('Namespace')} {parameters.get('Operator')} {parameters.get('Operand')!r}"
            )
        elif action.get("Type") == "TestControl":
            doing.append(str(parameters.get("Command", {}).get("Type")))
    return what + (f" -> {'; '.join(doing)}" if doing else "")


# -- on AWS: ivr test -----------------------------------------------------------------------------------------------
def _select(cases: list[CompiledTestCase], names: list[str]) -> list[CompiledTestCase]:
    if not names:
        return cases
    by_key = {c.name: c for c in cases} | {c.description: c for c in cases}
    unknown = [n for n in names if n not in by_key]
    if unknown:
        err.print(
            f"error: --scenario {', '.join(unknown)}: no such scenario (known: {', '.join(c.name for c in cases)})"
        )
        raise typer.Exit(2)
    return list({by_key[n].name: by_key[n] for n in names}.values())


@aws_command(writes=True)
def ivr_test_command(
    role: Annotated[Literal["primary", "dr"] | None, typer.Option("--role", help="Which region: primary or dr")] = None,
    region: Annotated[str | None, typer.Option("--region", hidden=True, help="Deprecated: use --role")] = None,
    scenarios: Annotated[
        list[str] | None, typer.Option("--scenario", help="A scenario's file stem or name (repeat)")
    ] = None,
    as_json: JsonOption = False,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here", dir_okay=False)] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file")] = DEFAULT_CONFIG,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compile and say what would run where; call nothing")
    ] = False,
    profile: ProfileOption = None,
) -> None:
    """Run the call scenarios as Amazon Connect test cases in a region.

    \b
    The loop, from a scenario to a verified failover:
    1. Write a scenario: connect/call_scenarios/NAME.yaml
    2. Prove it offline, as a scenario and as a test case:
       ivr simulate --scenarios connect/call_scenarios
       ivr simulate --test-case connect/call_scenarios
       (what a test case cannot express is listed per scenario)
    3. ivr deploy primary|dr: the test cases deploy in a stack
       of their own per region (a rejected one never blocks
       the IVR); GR replicas get them through the API
    4. ivr test --role primary|dr: at most 5 run at once,
       the rest queue; live progress; a table with the failed
       observation and why; --json; --junit FILE
    5. ivr failover and `ivr drill failover-drill` run them in
       the region that takes the calls, as the last check
       (test_cases.after_failover; a failure rolls a drill back)

    \b
    Each run is a simulated call: no number is dialled, but the bot's
    code hook acts on the region's data (see docs/flows.md).
    Exit codes: 0 all passed, 1 a test failed,
    2 usage or credentials (checked before any work).
    """
    from flowkit.simulate.engine import SimulationError
    from flowkit.simulate.scenarios import ScenarioError

    region = role_or_exit(role, region, "test")
    deployment = deployment_or_exit(config)
    session = None if dry_run else _session_or_exit(deployment, config, profile)
    from flowkit.testcase.kit import compile_kit

    try:
        compiled = compile_kit(deployment)
    except (ScenarioError, SimulationError, ValueError, ImportError) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    cases = _select(compiled, list(scenarios or []))
    skipped = [c for c in cases if not c.compiled]
    chosen = {c.name: c.as_file(deployment.test_cases.status) for c in cases if c.compiled}
    say = err if as_json else console
    for case in skipped:
        say.print(f"skip {case.name}: not a test case: {'; '.join(case.problems)}", markup=False, highlight=False)
    if not chosen:
        err.print("error: no scenario compiles into a test case (see above)")
        raise typer.Exit(2)
    if dry_run:
        _plan(deployment, region, chosen)
        return
    run = _run(deployment, region, chosen, say, session)
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(junit_xml(run, region, skipped), encoding="utf-8")
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "region": run.region,
                    "ok": run.ok,
                    "notes": run.notes,
                    "results": [r.__dict__ for r in run.results],
                    "skipped": {c.name: c.problems for c in skipped},
                },
                indent=2,
                default=str,
            )
        )
    else:
        _table(run)
    raise typer.Exit(0 if run.ok else 1)


def _plan(deployment: Deployment, region: str, cases: dict[str, dict[str, Any]]) -> None:
    from runbooks.native_tests import plan_of_test_cases, stack_of_test_cases

    settings = deployment.region(region)  # type: ignore[arg-type]
    why_not = plan_of_test_cases(deployment, region)  # type: ignore[arg-type]
    where = f"held by {stack_of_test_cases(settings)}"
    if why_not is not None:
        where = f"created through the API where missing ({why_not})"
    limit = deployment.test_cases.concurrency
    console.print(
        f"would run {len(cases)} test case(s) in the {region} region ({settings.region}), at most {limit} at once; "
        f"the test cases are {where}:",
        markup=False,
    )
    for name in cases:
        console.print(f"  {name}", markup=False, highlight=False)


def _run(
    deployment: Deployment, region: str, cases: dict[str, dict[str, Any]], say: Any, session: boto3.Session | None
) -> RegionRun:
    from runbooks.aws_steps import StepError
    from runbooks.native_tests import run_in

    config_ops = _operations_for(deployment, session)
    started = time.monotonic()

    def progress(name: str, status: str, seconds: float) -> None:
        say.print(
            f"  {time.monotonic() - started:6.0f} s  {name}: {status}" + (f" after {seconds:.0f} s" if seconds else ""),
            markup=False,
            highlight=False,
        )

    say.print(
        f"Running {len(cases)} test case(s) in the {region} region ({deployment.region(region).region}), "  # type: ignore[arg-type]
        f"at most {deployment.test_cases.concurrency} at once",
        markup=False,
    )
    try:
        return run_in(config_ops, region, cases, progress=progress)
    except StepError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None


def _operations_for(deployment: Deployment, session: boto3.Session | None = None) -> Any:
    """DrOperations for this deployment (with adaptive-retry clients) on ``session`` (default: the environment's),
    without re-reading the file."""
    from botocore.config import Config

    from ivr.output import aws_session
    from runbooks.failover import DrOperations

    session = session or aws_session(consequence="no test was run")
    retries = Config(retries={"mode": "adaptive", "max_attempts": 8})
    clients: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in clients:
            clients[(service, region)] = session.client(service, region_name=region, config=retries)  # type: ignore[call-overload]
        return clients[(service, region)]

    return DrOperations(deployment, client)


def _table(run: RegionRun) -> None:
    for note in run.notes:
        console.print(f"note: {note}", markup=False)
    from rich.table import Table

    table = Table(title=f"Connect test cases in {run.region}")
    for column in ("Test case", "Result", "Observations", "Seconds", "Failed observation and why"):
        table.add_column(column)
    for result in run.results:
        table.add_row(
            result.name,
            result.status,
            f"{result.passed}/{result.total}",
            f"{result.seconds:.0f}",
            "" if result.ok else result.failed_observation,
        )
    console.print(table)
    failed = sum(not r.ok for r in run.results)
    console.print(f"{len(run.results) - failed} passed, {failed} failed", highlight=False)


def junit_xml(run: RegionRun, role: str, skipped: list[CompiledTestCase]) -> str:
    """JUnit XML: one testcase per test case; failures carry the failed observation and the records."""
    suite = ET.Element(
        "testsuite",
        name=f"connect-test-cases.{role}",
        tests=str(len(run.results) + len(skipped)),
        failures=str(sum(r.status in ("FAILED", "TIMED_OUT", "STOPPED") for r in run.results)),
        errors=str(sum(r.status == "ERROR" for r in run.results)),
        skipped=str(len(skipped)),
        time=f"{sum(r.seconds for r in run.results):.1f}",
    )
    for result in run.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"connect.{role}", name=result.name, time=f"{result.seconds:.1f}"
        )
        if not result.ok:
            tag = "error" if result.status == "ERROR" else "failure"
            node = ET.SubElement(case, tag, message=f"{result.status}: {result.failed_observation}", type=result.status)
            node.text = "\n".join(f"{r['observation']} {r['status']} {r['detail']}" for r in result.records)
    for item in skipped:
        ET.SubElement(
            ET.SubElement(suite, "testcase", classname=f"connect.{role}", name=item.name),
            "skipped",
            message="; ".join(item.problems),
        )
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
