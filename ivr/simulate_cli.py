"""``ivr simulate``: a call through the kit's flows, the bot and the real Lambda code, on this machine."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer

from flowkit.language.files import FLOWS_DIR
from ivr.aws_options import JsonOption, offline_command
from ivr.output import console, deployment_or_exit, err, role_or_exit

if TYPE_CHECKING:
    from flowkit.simulate.engine import CallResult, Resources
    from flowkit.simulate.functions import LocalClinic
    from flowkit.simulate.load import CapacityNeed, LoadReport
    from flowkit.simulate.scenarios import Scenario, ScenarioResult
    from lex.model import BotModel
    from regions.config import Deployment, Role

ROOT = FLOWS_DIR.parent.parent
DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"


def _pairs(values: list[str], option: str, separator: str = "=") -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition(separator)
        if not sep or not key or not value:
            err.print(f"error: {option} takes KEY{separator}VALUE, not {item!r}")
            raise typer.Exit(2)
        pairs[key] = value
    return pairs


def _at(text: str | None, zone: str) -> datetime:
    from zoneinfo import ZoneInfo

    if text is None:
        return datetime.now(ZoneInfo(zone))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"error: --at {text!r} is not an ISO time such as 2026-12-01T10:00 or 2026-12-01T10:00-05:00")
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def _scenarios_or_exit(directory: Path) -> list[tuple[Path, Scenario]]:
    """The folder's scenario files, each with its path; on a bad one, its message (file and field) and exit 2."""
    from flowkit.simulate.scenarios import ScenarioError, load_scenarios

    try:
        return load_scenarios(directory)
    except ScenarioError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def _is_note(given: str) -> bool:
    """The simulator's own remark in a step's input slot, e.g. "(injected failure)": not something the caller said."""
    return given.startswith("(") and given.endswith(")")


def transcript(result: CallResult) -> str:
    """A readable transcript: what the caller heard and said, and where each step went."""
    lines = []
    for step in result.steps:
        where = f"{step.flow}/{step.action}" if step.flow != result.flow else step.action
        if step.dialog:
            lines += [f"  {who:<6} {text}" for who, text in step.dialog]
        else:
            if step.prompt:
                lines += [f"  IVR    {prompt}" for prompt in step.prompt.split(" / ")]
            if step.input and not _is_note(step.input):
                lines.append(f"  CALLER {step.input}")
        matched = f" [intent {step.intent}]" if step.intent else ""
        reached = f" [{step.reached}]" if step.reached and step.reached.startswith("arn:") else ""
        note = f" {step.input}" if step.input and _is_note(step.input) else ""
        lines.append(f"         · {where} ({step.type}){reached}{matched}{note} -> {step.branch}")
    detail = ", ".join(f"{k}={v}" for k, v in result.outcome.detail.items())
    lines.append(f"Outcome: {result.outcome.kind}" + (f" ({detail})" if detail else ""))
    if result.attributes:
        lines.append("Attributes: " + ", ".join(f"{k}={v}" for k, v in sorted(result.attributes.items())))
    return "\n".join(lines)


def _bot_model_or_exit(deployment: Any, config: Path) -> Any:
    """The bot model, holding every locale the deployment file deploys; else one line and exit 2."""
    from lex.model import BotModelError, check_locales, load_bot_model

    try:
        bot_model = load_bot_model()
        check_locales(bot_model, deployment.lex.locales, str(config))
    except BotModelError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    return bot_model


@offline_command
def simulate_command(
    flow: Annotated[str | None, typer.Argument(help="A kit flow name or a flow file")] = None,
    role: Annotated[Literal["primary", "dr"] | None, typer.Option("--role", help="Which region's resources")] = None,
    region: Annotated[str | None, typer.Option("--region", hidden=True, help="Deprecated: use --role")] = None,
    inputs: Annotated[list[str] | None, typer.Option("--input", help="Answer to the next prompt (repeat)")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Time of the call (ISO 8601; default now)")] = None,
    caller: Annotated[str | None, typer.Option("--caller", help="Caller's number (+E.164)")] = "+15555550100",
    queue_full: Annotated[list[str] | None, typer.Option("--queue-full", help="Queue to simulate as full")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for DistributeByPercentage")] = 0,
    lambdas: Annotated[list[str] | None, typer.Option("--lambda", help="NAME_OR_ARN=module:function")] = None,
    fail: Annotated[list[str] | None, typer.Option("--fail", help="ACTION=ErrorType to force an error")] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="METRIC=N or QUEUE:METRIC=N for CheckMetricData (repeat)")
    ] = None,
    bot: Annotated[
        list[str] | None, typer.Option("--bot", help="BOT_ALIAS=path/to/bot.yaml: the flow's own bot (repeat)")
    ] = None,
    as_json: JsonOption = False,
    scenarios: Annotated[Path | None, typer.Option("--scenarios", help="Run the scenario files of a dir")] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="With --scenarios: write JUnit XML here", dir_okay=False)
    ] = None,
    test_case: Annotated[
        Path | None,
        typer.Option(
            "--test-case",
            help="Run a Connect test case offline: a "
            "compiled *.json, or scenario file(s) compiled first (a *.yaml or a dir)",
        ),
    ] = None,
    save_to: Annotated[
        Path | None,
        typer.Option("--save-to", help="With --test-case: write the compiled test cases (JSON) into this dir"),
    ] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file")] = DEFAULT_CONFIG,
    calls: Annotated[int | None, typer.Option("--calls", help="Load mode: replay the scenarios as N calls")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Load mode: calls in progress at once")] = 1,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Load mode: worker processes (default: one per CPU core)")
    ] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Load mode: peak arrival rate, calls/s")] = None,
    duration_ms: Annotated[
        list[str] | None, typer.Option("--duration-ms", help="Load mode: FUNCTION=MS, a deployed function's mean")
    ] = None,
) -> None:
    """Simulate a call offline: flows, the Lex bot (deterministic matching, not Lex's NLU) and the real functions.

    With --scenarios DIR --calls N, replay the scenarios as a call mix (load mode) and estimate the provisioned
    concurrency a peak arrival rate (--rate) needs, against the deployment file's scaling."""
    from flowkit.simulate.engine import SimulationError, simulate
    from flowkit.simulate.functions import local_clinic

    region = role_or_exit(role, region, "simulate")
    if test_case is not None:
        from ivr.native_tests_cli import OfflineCall, simulate_test_cases

        chosen = deployment_or_exit(config)
        call = OfflineCall(flow, _at(at, chosen.hours[0].time_zone) if at else None, caller if at or flow else None)
        raise typer.Exit(simulate_test_cases(test_case, chosen, region, save_to, as_json, call))
    if (flow is None) == (scenarios is None):
        err.print("error: give a FLOW to call, or --scenarios DIR")
        raise typer.Exit(2)
    durations = _load_options(scenarios, calls, concurrency, rate, duration_ms, single_call=bool(fail or queue_full))
    deployment = deployment_or_exit(config)
    zone = deployment.hours[0].time_zone
    mapped = _pairs(lambdas or [], "--lambda")
    failures = _pairs(fail or [], "--fail")
    metrics = _metrics(metric or [])
    bots = _pairs(bot or [], "--bot")
    bot_model = _bot_model_or_exit(deployment, config)
    with local_clinic(zone, functions=deployment.functions) as clinic:
        from flowkit.simulate.kit import kit_resources

        if scenarios is not None and calls is not None:
            _run_load(scenarios, deployment, bot_model, clinic, mapped, calls, concurrency, rate, durations,
                      as_json=as_json, workers=workers)  # fmt: skip
            return
        if scenarios is not None:
            _run_scenarios(scenarios, deployment, bot_model, clinic, mapped, junit=junit, as_json=as_json)
            return
        moment = _at(at, zone)
        flow_path = Path(flow or "")
        extra = flow_path.parent if flow_path.suffix == ".json" and flow_path.exists() else None
        name = _flow_name(flow_path) if extra else str(flow)
        clinic.set_time(moment)
        clinic.seed(moment)
        try:
            resources = kit_resources(
                deployment, cast("Role", region), bot_model, clinic, extra_flows=extra, lambdas=mapped,
                today=moment.date, entry_file=flow_path if extra else None,
            )  # fmt: skip
            _note_namesakes(flow_path if extra else None, name)
            if bots:
                from flowkit.simulate.kit import bot_factories

                resources.bots.update(bot_factories(bots, moment.date))
            _known_or_exit(resources, name, failures, queue_full or [])
            _lint_first(resources.flows.get(name), flow_path if extra else Path(f"{name}.json"))
            result = simulate(resources, name, list(inputs or []), at=moment, caller=caller,
                              queue_full=set(queue_full or []), seed=seed, failures=failures,
                              metrics=metrics)  # fmt: skip
        except (SimulationError, ValueError, ImportError) as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
    else:
        console.print(f"Call to {name} in the {region} region ({resources.region}) at {moment.isoformat()}",
                      highlight=False)  # fmt: skip
        console.print(transcript(result), markup=False, highlight=False)


def _load_options(scenarios: Path | None, calls: int | None, concurrency: int, rate: float | None,
                  duration_ms: list[str] | None, *, single_call: bool = False) -> dict[str, float]:  # fmt: skip
    """Check the scenario and load modes' options; the --duration-ms values by function."""
    if scenarios is not None and single_call:
        err.print("error: --fail and --queue-full shape a single call (FLOW); a scenario sets its own", markup=False)
        raise typer.Exit(2)
    if calls is not None and scenarios is None:
        err.print("error: --calls replays scenarios: give --scenarios DIR too")
        raise typer.Exit(2)
    if calls is not None and (calls < 1 or concurrency < 1 or (rate is not None and rate <= 0)):
        err.print("error: --calls and --concurrency must be at least 1, and --rate above 0")
        raise typer.Exit(2)
    return {k: _milliseconds(v) for k, v in _pairs(duration_ms or [], "--duration-ms").items()}


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        err.print(f"error: --duration-ms takes FUNCTION=MS with MS a positive number, not {text!r}")
        raise typer.Exit(2)
    return value


def _run_load(
    directory: Path,
    deployment: Deployment,
    bot: BotModel,
    clinic: LocalClinic,
    mapped: dict[str, str],
    calls: int,
    concurrency: int,
    rate: float | None,
    durations: dict[str, float],
    *,
    as_json: bool = False,
    workers: int | None = None,
) -> None:
    """Load mode: replay the scenarios as a call mix, report throughput, invocation rates and capacity."""
    from flowkit.simulate.kit import kit_resources
    from flowkit.simulate.load import capacity, cores, replay

    if workers is not None and workers < 1:
        err.print("error: --workers must be at least 1")
        raise typer.Exit(2)

    scenarios = _scenarios_or_exit(directory)
    if unknown := sorted(set(durations) - set(clinic.invocations)):
        err.print(f"error: --duration-ms names no kit function: {', '.join(unknown)} "
                  f"(kit functions: {', '.join(sorted(clinic.invocations))})")  # fmt: skip
        raise typer.Exit(2)
    first_day = min(s.at for _, s in scenarios).date()

    def resources(role: str, lambdas: dict[str, str]) -> Resources:
        return kit_resources(deployment, cast("Role", role), bot, clinic, lambdas={**mapped, **lambdas},
                             today=lambda: first_day)  # fmt: skip

    report = replay(scenarios, resources, clinic, calls=calls, concurrency=concurrency, rate=rate,
                    workers=workers or cores())  # fmt: skip
    scaling = deployment.scaling
    needs = capacity(report, rate, scaling, durations) if rate is not None else None
    short = needs is not None and any(not all(w.enough for w in n.windows) or not n.within_max for n in needs)
    code = 1 if report.errors or short else 0
    if as_json:
        typer.echo(json.dumps(_load_json(report, needs, durations, rate, len(scenarios), short), indent=2))
        raise typer.Exit(code)
    paced = f", paced to {rate:g} calls/s" if rate else ""
    console.print(f"Replayed {report.calls} calls ({len(scenarios)} scenarios in turn) in {report.workers} "
                  f"process(es) of {concurrency} thread(s){paced}: {report.seconds:.2f} s, "
                  f"{report.calls_per_second:,.0f} calls/s, {report.cpu_seconds_per_1000_calls:.2f} CPU s per 1,000 "
                  "calls", highlight=False)  # fmt: skip
    console.print("Outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())), highlight=False)
    for problem, count in sorted(report.errors.items()):
        console.print(f"  error x{count}: {problem}", markup=False, highlight=False)
    console.print("Functions (in-process, against the local table):")
    for load in report.functions:
        console.print(f"  {load.name}: {load.invocations} invocations, {load.per_call:.2f} per call, "
                      f"{load.rate(report.calls_per_second):,.0f}/s at this replay's rate; "
                      f"mean {load.mean_ms:.2f} ms, p95 {load.p95_ms:.2f} ms"
                      + (f", {load.errors} errors" if load.errors else ""), highlight=False)  # fmt: skip
    if needs is None or rate is None:
        console.print("Capacity: give --rate (the peak's arriving calls per second) to estimate the provisioned "
                      "concurrency it needs")  # fmt: skip
        raise typer.Exit(code)
    console.print(f"Capacity at {rate:g} calls/s (concurrency = invocations/s x mean duration; provisioned = "
                  f"concurrency / utilization target {scaling.utilization_target:g}):", highlight=False)  # fmt: skip
    for need in needs:
        source = "given" if need.function in durations else "measured in-process"
        windows = ", ".join(f"{w.window} {w.provisioned} {'ok' if w.enough else 'SHORT'}" for w in need.windows)
        console.print(f"  {need.function}: {need.invocations_per_second:,.2f}/s x {need.duration_ms:.1f} ms "
                      f"({source}) = {need.concurrency:.3g} concurrent -> provisioned {need.provisioned_needed}; "
                      f"peak windows: {windows or 'none'}; max_provisioned_concurrency "
                      f"{scaling.max_provisioned_concurrency} {'ok' if need.within_max else 'SHORT'}",
                      highlight=False)  # fmt: skip
    if not durations:
        console.print("  note: in-process durations leave out the network to DynamoDB and Lambda's own overhead; "
                      "pass --duration-ms FUNCTION=MS from CloudWatch's Duration average to plan",
                      highlight=False)  # fmt: skip
    raise typer.Exit(code)


def _load_json(report: LoadReport, needs: list[CapacityNeed] | None, durations: dict[str, float],
               rate: float | None, scenarios: int, short: bool) -> dict[str, Any]:  # fmt: skip
    """Load mode's figures as ``--json`` prints them (the text report's numbers, unrounded)."""
    return {
        "calls": report.calls,
        "scenarios": scenarios,
        "concurrency": report.concurrency,
        "workers": report.workers,
        "cpu_seconds": report.cpu_seconds,
        "rate": rate,
        "seconds": report.seconds,
        "calls_per_second": report.calls_per_second,
        "outcomes": dict(sorted(report.outcomes.items())),
        "errors": dict(sorted(report.errors.items())),
        "functions": [
            {"name": f.name, "invocations": f.invocations, "per_call": f.per_call,
             "per_second": f.rate(report.calls_per_second), "mean_ms": f.mean_ms, "p95_ms": f.p95_ms,
             "errors": f.errors}
            for f in report.functions
        ],
        "capacity": None if needs is None else [
            {"function": n.function, "invocations_per_second": n.invocations_per_second, "duration_ms": n.duration_ms,
             "duration_source": "given" if n.function in durations else "measured in-process",
             "concurrency": n.concurrency, "provisioned_needed": n.provisioned_needed, "within_max": n.within_max,
             "windows": [{"window": w.window, "provisioned": w.provisioned, "enough": w.enough} for w in n.windows]}
            for n in needs
        ],
        "short": short,
    }  # fmt: skip


def _flow_name(path: Path) -> str:
    """The flow's name in its file (Metadata.name or a wrapper's Name), else the file's name."""
    from flowkit.language.documents import DocumentError, unwrap
    from flowkit.language.lint import parse

    try:
        found = unwrap(parse(path.read_text(encoding="utf-8")))
    except UnicodeDecodeError:
        err.print(f"error: {path}: not UTF-8 text: flows are JSON in UTF-8", markup=False)
        raise typer.Exit(2) from None
    except (OSError, ValueError, DocumentError) as exc:
        err.print(f"error: {path}: {exc}", markup=False)
        raise typer.Exit(2) from None
    if not found:
        err.print(f"error: {path}: not a flow (no Actions)", markup=False)
        raise typer.Exit(2)
    meta = found[0].doc.get("Metadata") if isinstance(found[0].doc, dict) else None
    return str((meta.get("name") if isinstance(meta, dict) else None) or found[0].name or path.stem)


def _known_or_exit(resources: Resources, entry: str, failures: dict[str, str], queue_full: list[str]) -> None:
    """--queue-full must name a queue of the kit, and --fail an action of the flows: an unknown one would change
    nothing, and the call would pass for a test of a failure that never happened."""
    if unknown := sorted(set(queue_full) - set(resources.queues)):
        err.print(f"error: --queue-full {', '.join(unknown)}: no such queue "
                  f"(queues: {', '.join(sorted(resources.queues))})", markup=False)  # fmt: skip
        raise typer.Exit(2)
    if entry not in resources.flows:
        return  # the engine names the unknown flow and the known ones
    ids = {
        flow: {str(a.get("Identifier")) for a in doc.get("Actions", []) if isinstance(a, dict)}
        for flow, doc in resources.flows.items()
        if isinstance(doc.get("Actions"), list)
    }
    every = set().union(*ids.values())
    for key in failures:
        flow, sep, action = key.rpartition(":")
        if action in (ids.get(flow, set()) if sep else every):
            continue
        where = f"flow {flow!r}" if sep else "the flows"
        err.print(f"error: --fail {key}: no action {action!r} in {where}; the actions of {entry}: "
                  f"{', '.join(sorted(ids[entry]))} (FLOW:ACTION names one in another flow)", markup=False)  # fmt: skip
        raise typer.Exit(2)


def _note_namesakes(path: Path | None, name: str) -> None:
    """Say which sibling files also name the flow ``name``: the call runs ``path``, the file given (if any)."""
    from flowkit.language.lint import named_flows

    if path is None:
        return
    others = [p for p in sorted(path.parent.glob("*.json"))
              if p.resolve() != path.resolve() and any(n == name for n, _ in named_flows(p))]  # fmt: skip
    if others:
        err.print(f"note: {', '.join(map(str, others))} also named {name!r}; running {path}, the file given",
                  markup=False)  # fmt: skip


def _lint_first(doc: object, path: Path) -> None:
    """Refuse to run a flow with lint errors (a dangling NextAction, a malformed action): print the findings."""
    from flowkit.language.lint import has_errors, lint_flow

    if doc is None:
        return  # the engine names the unknown flow and the known ones
    # DR-safety errors (a literal ARN, say) are about deploying the flow in two regions, not about running it:
    # a console export with literal ARNs simulates fine with --lambda ARN=module:function.
    findings = [f for f in lint_flow(doc, str(path)) if f.severity == "error" and not f.rule.startswith("dr-")]
    if has_errors(findings):
        for finding in findings:
            err.print(str(finding), markup=False)
        err.print(f"error: {path}: the flow has {len(findings)} lint errors; fix them before simulating", markup=False)
        raise typer.Exit(1)


def _metrics(values: list[str]) -> dict[str, float]:
    metrics = {}
    for key, raw in _pairs(values, "--metric").items():
        try:
            metrics[key] = float(raw)
        except ValueError:
            err.print(f"error: --metric {key}={raw!r}: the value must be a number", markup=False)
            raise typer.Exit(2) from None
    return metrics


def _run_scenarios(
    directory: Path,
    deployment: Deployment,
    bot: BotModel,
    clinic: LocalClinic,
    mapped: dict[str, str],
    *,
    junit: Path | None = None,
    as_json: bool = False,
) -> None:
    from flowkit.simulate.engine import SimulationError
    from flowkit.simulate.kit import flow_documents, kit_resources
    from flowkit.simulate.scenarios import coverage, run_scenarios

    scenarios = _scenarios_or_exit(directory)
    today: list[datetime] = []

    def before(moment: datetime) -> None:
        today[:] = [moment]
        clinic.set_time(moment)
        clinic.seed(moment)

    cache: dict[str, Resources] = {}

    def current_day() -> date:
        return today[0].date()

    def resources(role: str, lambdas: dict[str, str]) -> Resources:
        key = json.dumps([role, lambdas], sort_keys=True)
        if key not in cache:
            cache[key] = kit_resources(
                deployment, cast("Role", role), bot, clinic, lambdas={**mapped, **lambdas}, today=current_day
            )
        return cache[key]

    try:
        results = run_scenarios(scenarios, resources, before)
    except SimulationError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    flows = flow_documents(FLOWS_DIR)
    kit_names = sorted({str((d.get("Metadata") or {}).get("name")) for d in flows.values()})
    if junit is not None or as_json:
        from ivr.scenario_reports import scenarios_json, write_junit

        if junit is not None:
            write_junit(results, junit)
        if as_json:
            typer.echo(json.dumps(scenarios_json(results, coverage(flows, kit_names, results)), indent=2))
            raise typer.Exit(1 if any(not r.passed for r in results) else 0)
    failed = _print_scenarios(results, flows, kit_names)
    raise typer.Exit(1 if failed else 0)


def _print_scenarios(results: list[ScenarioResult], flows: dict[str, dict[str, Any]], kit_names: list[str]) -> int:
    """Each scenario's verdict, the kit flows' transition coverage, and the count; returns the failures."""
    from flowkit.simulate.scenarios import coverage

    for outcome in results:
        mark = "PASS" if outcome.passed else "FAIL"
        console.print(f"{mark} {outcome.scenario.name} ({outcome.path.name})", markup=False, highlight=False)
        for problem in outcome.problems:
            console.print(f"     {problem}", markup=False, highlight=False)
    console.print("Transition coverage:")
    for item in coverage(flows, kit_names, results):
        console.print(f"  {item.flow}: {item.covered}/{item.total} ({item.percent:.0f} %)", highlight=False)
        for missing in item.missing:
            console.print(f"    not taken: {missing}", markup=False, highlight=False)
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed", highlight=False)
    return failed
