"""``ivr dr``, ``ivr failover`` and ``ivr drill``: the DR region's parity, failover and failback, and drills."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer

from ivr.assembly import AssemblyError, StackTemplate, read_assembly
from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session, offline_command
from ivr.output import aws_session, console, deployment_or_exit, err

if TYPE_CHECKING:
    from regions.config import Role
    from runbooks.drill import DrillReport, StepRecord
    from runbooks.failover import DrOperations, StepResult

app = typer.Typer(help="The DR region: parity with the primary.", no_args_is_help=True)
ROOT = Path(__file__).resolve().parent.parent


@app.command()
@offline_command
def parity(
    out: Annotated[Path, typer.Option("--out", help="Cloud assembly to read (run `ivr synth` first)")] = ROOT
    / "cdk.out",
    as_json: JsonOption = False,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file the assembly is of")] = ROOT
    / "regions"
    / "clinic.yaml",
    synth: Annotated[
        bool, typer.Option("--synth/--no-synth", help="Synthesize first when the assembly is stale (default)")
    ] = True,
) -> None:
    """Compare what the two regions deploy (flows, bot, functions, alarms, scaling); exit 1 on drift.

    A stale assembly (a source changed after it was written, or the last synth failed) is synthesized again
    first, and the command says so; with --no-synth it stops instead.
    """
    deployment = deployment_or_exit(config)
    _fresh_or_exit(out, config, synth=synth)
    from stacks.limits import read_stacks, with_nested_resources
    from stacks.parity import compare_templates

    stacks = _assembly_or_exit(out)
    expected = [deployment.region(r).stack_name for r in ("primary", "dr")]
    found = [s.name for s in stacks]
    if not set(expected) <= set(found):
        mismatch = f"{out} holds stacks {', '.join(found) or 'none'}, not {' and '.join(expected)} of {config}"
        if not synth:
            err.print(f"error: {mismatch}; run `ivr synth -c {config}` (or drop --no-synth)", markup=False)
            raise typer.Exit(2)
        _synthesize_or_exit(out, config, mismatch)
        stacks = _assembly_or_exit(out)
        found = [s.name for s in stacks]
        if not set(expected) <= set(found):  # pragma: no cover - the app names its stacks from the config
            err.print(f"error: {out} holds stacks {', '.join(found)} after synthesizing {config}", markup=False)
            raise typer.Exit(2)
    stacks = [s for s in stacks if s.name in expected]  # this deployment's stacks only (not test-case stacks)
    by_role = {s.role: s for s in stacks if s.role in ("primary", "dr")}  # not the test-case stacks
    if set(by_role) != {"primary", "dr"}:
        err.print(f"error: {out}: expected a primary and a dr stack, found roles {sorted(by_role)}")
        raise typer.Exit(2)
    primary, dr = by_role["primary"], by_role["dr"]
    # Whole templates: the flows are in each stack's nested stacks.
    whole = {s.name: with_nested_resources(s).template for s in read_stacks(out)}
    drifts = compare_templates(whole[primary.name], whole[dr.name], (primary.region, dr.region))
    if as_json:
        typer.echo(json.dumps([{"resource": d.resource, "detail": d.detail} for d in drifts], indent=2))
    else:
        for drift in drifts:
            console.print(f"drift: {drift}", markup=False, highlight=False)
        verdict = "at parity" if not drifts else f"{len(drifts)} drift(s)"
        console.print(f"{primary.name} ({primary.region}) vs {dr.name} ({dr.region}): {verdict}", highlight=False)
    raise typer.Exit(1 if drifts else 0)


def _fresh_or_exit(out: Path, config: Path, *, synth: bool) -> None:
    """Make sure ``out`` shows the sources as they are: synthesize when stale, or stop (exit 2) saying why."""
    from ivr.synthesis import stale_reason

    reason = stale_reason(out, config)
    if reason is None:
        return
    if not synth:
        err.print(f"error: {reason}; run `ivr synth` (or drop --no-synth)", markup=False)
        raise typer.Exit(2)
    if not (out / "manifest.json").exists() and out != ROOT / "cdk.out":
        err.print(f"error: {out}/manifest.json: no cloud assembly here; run `ivr synth` first (--out {out})",
                  markup=False)  # fmt: skip
        raise typer.Exit(2)
    _synthesize_or_exit(out, config, reason)


def _assembly_or_exit(out: Path) -> list[StackTemplate]:
    try:
        return read_assembly(out)
    except AssemblyError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def _synthesize_or_exit(out: Path, config: Path, reason: str) -> None:
    """Synthesize ``config`` into ``out``, saying why (``reason``); a failed synthesis exits 2."""
    from ivr.cdk_cli import CdkCliError
    from ivr.synthesis import synthesize

    err.print(f"note: {reason}; synthesizing {config} into {out} first (about a minute)", markup=False)
    try:
        result = synthesize(config, out)
    except CdkCliError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    if not result.ok:
        err.print(result.output, markup=False, highlight=False)
        err.print(f"error: synthesis failed, so parity cannot be judged; {out} is stale", markup=False)
        raise typer.Exit(2)
    err.print(f"note: synthesized in {result.seconds:.0f} s", markup=False)


DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Deployment file")]


def _list_drills(as_json: bool) -> None:
    """``ivr drill --list``: each drill's name, description, steps and modes (as JSON with --json); exits."""
    from runbooks.drill import DrillError, all_drills

    try:
        drills = all_drills()
    except DrillError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps([{"name": d.name, "description": d.description, "modes": list(d.modes),
                                "steps": [step.name for step in d.steps]} for d in drills], indent=2))  # fmt: skip
        raise typer.Exit(0)
    for spec in drills:
        console.print(f"{spec.name}: {spec.description} ({len(spec.steps)} steps; modes: "
                      f"{', '.join(spec.modes)})", markup=False, highlight=False)  # fmt: skip
    raise typer.Exit(0)


def _operations(
    config: Path, profile: str | None, *, consequence: str = "nothing was changed", need_credentials: bool = True
) -> DrOperations:
    """The deployment's operations on the session of ``profile``, after the account check (a change: refused on a
    mismatch); a dry run that needs no credentials (``need_credentials`` False) calls nothing, so is not checked."""
    from botocore.config import Config

    from runbooks.failover import DrOperations

    deployment = deployment_or_exit(config)
    if need_credentials:
        session = deployment_session(deployment, config, profile=profile, writes=True, consequence=consequence)
    else:
        session = aws_session(profile)
    retries = Config(retries={"mode": "adaptive", "max_attempts": 8})
    clients: dict[tuple[str, str], object] = {}

    def client(service: str, region: str) -> object:
        if (service, region) not in clients:
            clients[(service, region)] = session.client(service, region_name=region, config=retries)  # type: ignore[call-overload]
        return clients[(service, region)]

    return DrOperations(deployment, client)


Target = Literal["dr", "primary"]


def _print_step(status: str, name: str, seconds: float, detail: str, checks: list[tuple[bool, str, str]],
                *, as_json: bool = False) -> None:  # fmt: skip
    """One step as it finishes: status, name, time, detail, then each check (failed ones with what was found); on
    stderr with --json, where stdout holds the report."""
    say = err if as_json else console
    timing = "" if status == "planned" else f" ({seconds:.1f} s)"
    say.print(f"{status:>15}  {name}{timing}" + (f": {detail}" if detail else ""), markup=False,
              highlight=False)  # fmt: skip
    for ok, check, found in checks:
        say.print(f"{'':>15}  {'ok' if ok else 'FAILED'}: {check}: {found}", markup=False, highlight=False)


def _lock(
    ops: DrOperations, first: Role, purpose: str, *, dry_run: bool, break_lock: str | None = None, ttl: float = 0
) -> AbstractContextManager[object]:
    """The operator lock of the deployment (none for a dry run, which changes nothing); ``ttl`` seconds, when
    given, bound how long the run may hold it (else the lock's default)."""
    if dry_run:
        return nullcontext()
    from datetime import timedelta

    from runbooks.failover import other
    from runbooks.lock import DEFAULT_TTL, OperatorLock

    regions = [ops.region(first), ops.region(other(first))]
    return OperatorLock(lambda region: ops.clients("ssm", region), ops.deployment.name, regions, purpose,
                        ttl=max(DEFAULT_TTL, timedelta(seconds=ttl)), break_lock=break_lock)  # fmt: skip


def _lock_notes(lock: object) -> None:
    """What the lock did besides the obvious: taken in one region only, a stale lock taken over, one not ours."""
    for note in getattr(lock, "notes", []):
        err.print(f"note: {note}", markup=False, highlight=False)


BreakLockOption = Annotated[
    str | None,
    typer.Option("--break-lock", metavar="HOLDER",
                 help="Take over a stale operator lock (its deadline passed) held by HOLDER: its token or user@host, "
                      "as the refusal names it"),
]  # fmt: skip
ReportOption = Annotated[
    Path | None, typer.Option("--report", help="Where the evidence report goes (default reports/)")
]


@aws_command(writes=True)
def failover_command(
    to: Annotated[Target, typer.Option("--to", help="The region that should take the calls")],
    percent: Annotated[int, typer.Option("--percent", help="Share of calls for the target, steps of 10")] = 100,
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Pre-check and print the plan; change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before changing production")] = False,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    break_lock: BreakLockOption = None,
    report_dir: ReportOption = None,
) -> None:
    """Move calls to the DR region (or back): pre-check, raise capacity, shift traffic, verify.

    Each step is printed as it ends, with its time; the pre-check's results come before the question. A run
    that changes something leaves its evidence (Markdown, JSON) under reports/. SIGTERM or SIGHUP stop it where
    it is: the evidence gets the steps done and the traffic split read back, the lock is released, and the exit
    code is 128 + the signal's number.
    """
    from runbooks.failover import Terminated, failover, stop_on_signals, write_evidence
    from runbooks.lock import LockError

    if percent % 10 or not 0 <= percent <= 100:
        err.print(f"error: --percent must be 0-100 in steps of 10 (Connect's rule), not {percent}")
        raise typer.Exit(2)
    ops = _operations(config, profile)

    def show(step: StepResult) -> None:
        checks = [(c.ok, c.name, c.detail) for c in step.checks]
        _print_step(step.status, step.name, step.seconds, step.detail, checks, as_json=as_json)

    directory = report_dir or ROOT / "reports"
    lock = _lock(ops, to, f"failover --to {to}", dry_run=dry_run, break_lock=break_lock)
    evidence = ""
    try:
        with stop_on_signals(), lock:
            confirm = lambda q: yes or typer.confirm(q, err=as_json)  # noqa: E731
            report = failover(ops, to, percent, dry_run=dry_run, confirm=confirm, on_step=show)
            if not dry_run:  # the evidence is written before the lock is released
                evidence = _evidence_or_note(lambda: write_evidence(report, directory))
    except LockError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except Terminated as exc:  # while the lock was taken or released: no step was under way
        _lock_notes(lock)
        err.print(f"error: stopped by {exc.name} outside a step (taking or releasing the lock, or writing the "
                  f"evidence); see {directory}", markup=False)  # fmt: skip
        raise typer.Exit(exc.exit_code) from None
    _lock_notes(lock)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.rollback if not report.ok else []:
            console.print(f"rollback: {line}", markup=False)
    outcome = "done" if report.ok else (f"stopped ({report.stopped})" if report.stopped else "stopped")
    line = f"failover to {to}: {outcome}{evidence}"
    if report.stopped:
        err.print(line, markup=False, highlight=False)
    elif not as_json:
        console.print(line, markup=False, highlight=False)
    raise typer.Exit(_signal_exit(report.stopped) or (0 if report.ok else 1))


def _evidence_or_note(write: Callable[[], tuple[Path, Path]]) -> str:
    """Write the evidence; the text that says where it is (or why it is not) for the run's last line."""
    try:
        markdown, data = write()
    except OSError as exc:
        return f"; the evidence could not be written ({exc.strerror or exc})"
    return f"; evidence: {markdown} and {data}"


def _signal_exit(stopped: str) -> int:
    """128 + the signal's number for a run stopped by SIGTERM or SIGHUP, else 0."""
    import signal

    try:
        return 128 + int(signal.Signals[stopped]) if stopped.startswith("SIG") else 0
    except KeyError:
        return 0


@aws_command(writes=True)
def drill_command(
    name: Annotated[str | None, typer.Argument(help="A drill of runbooks/drills (or a YAML file)")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the steps; change nothing, write nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before changing production")] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Where the evidence report goes (default reports/; a dry run writes one only when given)"
        ),
    ] = None,
    list_drills: Annotated[bool, typer.Option("--list", help="List the drills and exit")] = False,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    break_lock: BreakLockOption = None,
) -> None:
    """Run a DR drill step by step, printing each step as it ends, and leave an evidence report (Markdown, JSON).

    SIGTERM or SIGHUP stop it where it is, without rollbacks: the evidence names the rollbacks not run and the
    traffic split read back, the lock is released, and the exit code is 128 + the signal's number.
    """
    from runbooks.drill import DrillError, DrillRunner, load_drill, write_report
    from runbooks.failover import Terminated, stop_on_signals
    from runbooks.lock import LockError

    if list_drills:
        _list_drills(as_json)
    if name is None:
        err.print("error: name a drill (`ivr drill --list` shows them)")
        raise typer.Exit(2)
    try:
        drill = load_drill(name)
    except DrillError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    ops = _operations(config, profile, need_credentials=not dry_run)

    def show(step: StepRecord) -> None:
        checks = [(bool(c["ok"]), str(c["name"]), str(c["detail"])) for c in step.checks]
        _print_step(step.status, step.name, step.seconds, step.detail, checks, as_json=as_json)

    runner = DrillRunner(ops, confirm=lambda q: yes or typer.confirm(q, err=as_json), on_step=show)
    directory = report_dir or ROOT / "reports"
    # The lock lasts the drill's longest run: every step's timeout, twice (a rollback per step), plus test cases.
    ttl = 2.0 * sum(step.timeout for step in drill.steps)
    lock = _lock(ops, "dr", f"drill {drill.name}", dry_run=dry_run, break_lock=break_lock, ttl=ttl)
    written = ""
    try:
        with stop_on_signals(), lock:
            report = runner.run(drill, dry_run=dry_run)
            if report_dir is not None or not dry_run:  # the evidence is written before the lock is released
                written = _evidence_or_note(lambda: write_report(report, directory))
    except (LockError, DrillError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except Terminated as exc:  # while the lock was taken or released: no step was under way
        _lock_notes(lock)
        err.print(f"error: stopped by {exc.name} outside a step (taking or releasing the lock, or writing the "
                  f"evidence); see {directory}", markup=False)  # fmt: skip
        raise typer.Exit(exc.exit_code) from None
    _lock_notes(lock)
    if as_json:
        typer.echo(report.to_json())
    stopped = report.steps[-1].name.strip("()") if report.outcome == "terminated" else ""
    line = f"drill {report.outcome}" + (f" by {stopped}" if stopped else "") + _chaos_times(report) + written
    if stopped:
        err.print(line, markup=False, highlight=False)
    elif not as_json:
        console.print(line, markup=False, highlight=False)
    raise typer.Exit(_signal_exit(stopped) or (0 if report.outcome in ("passed", "planned") else 1))


def _chaos_times(report: DrillReport) -> str:
    """A chaos drill's times for its last line: how long its alarm took to fire, and to clear."""
    parts = []
    for experiment in report.experiments:
        detect, recover = experiment["detect_seconds"], experiment["recover_seconds"]
        fired = f"fired in {detect:.0f} s" if detect is not None else "never fired"
        cleared = f", cleared {recover:.0f} s later" if recover is not None else ""
        parts.append(f"; {experiment['experiment']}: alarm {fired}{cleared}")
    return "".join(parts)


agents_app = typer.Typer(help="Agents and the traffic distribution group.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")


@agents_app.command("sync")
@aws_command(writes=True)
def agents_sync(
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say who would be associated; change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before changing production")] = False,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
) -> None:
    """Associate the agents who must follow the calls (the deployment file's ``agents``) with the traffic
    distribution group now, while the primary answers.

    Connect associates users with the group only in the group's own region, the primary (Connect admin guide,
    "Associate agents to Amazon Connect instances across multiple AWS Regions"): in its outage an agent left out
    cannot be associated, and stays behind when the calls move. Run this after adding agents; `ivr status` and the
    drill pre-check name those left out. Exit 0 when every one is in the group, 1 when some are not (or the
    operator declined), 2 on a deployment file the instance does not match.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from runbooks.aws_steps import StepError, api_error

    say = err if as_json else console

    def finish(code: int, outcome: str, checks: list[Any] | None = None) -> NoReturn:
        if as_json:
            typer.echo(json.dumps({"agents": outcome, "checks": [
                {"ok": c.ok, "name": c.name, "detail": c.detail} for c in checks or []]}, indent=2))  # fmt: skip
        raise typer.Exit(code)

    ops = _operations(config, profile, need_credentials=True)
    if ops.deployment.dr_mode == "standalone":
        err.print("error: a standalone deployment has no traffic distribution group: agents sign in to each "
                  "region's own instance", markup=False)  # fmt: skip
        raise typer.Exit(2)
    try:
        status, plan, checks = ops.distribute_agents("primary", dry_run=True)
        if status in ("failed", "skipped"):  # no agent matches the deployment file's agents
            say.print(f"agents: {plan}", markup=False, highlight=False)
            finish(1 if status == "failed" else 0, plan, checks)
        if not plan.startswith("would associate"):
            say.print(f"agents: {plan}; nothing to do", markup=False, highlight=False)
            finish(0, plan, checks)
        say.print(f"agents: {plan} with the traffic distribution group", markup=False, highlight=False)
        if dry_run:
            finish(0, plan, checks)
        question = f"Associate them ({ops.deployment.name}, {ops.region('primary')})?"
        if not yes and not typer.confirm(question, err=as_json):
            say.print("agents: declined; nothing changed", markup=False)
            finish(1, "declined")
        status, done, checks = ops.distribute_agents("primary", dry_run=False)
    except StepError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except (ClientError, BotoCoreError) as exc:
        err.print(f"error: {api_error(exc)}", markup=False)
        raise typer.Exit(1) from None
    for check in checks:
        say.print(f"{'ok' if check.ok else 'FAILED'}: {check.name}: {check.detail}", markup=False,
                  highlight=False)  # fmt: skip
    say.print(f"agents: {done}", markup=False, highlight=False)
    finish(0 if status != "failed" and all(c.ok for c in checks) else 1, done, checks)


@app.command("auto-evidence")
@aws_command(writes=False)
def auto_evidence(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    report_dir: ReportOption = None,
) -> None:
    """Write the evidence of the latest automatic failover (failover.automatic), as ivr failover writes its own.

    Reads, in the DR region, the guard's claims (``/ivr/<name>/auto-failover/<n>``) and SSM's record of the
    automation it started (steps, times, failures; SSM keeps executions 30 days), and writes the Markdown and JSON
    report under reports/: each step's seconds, the time from the decision to calls answered in the DR region, the
    total. Exit 0 when written, 2 when there is none to report or AWS cannot be read.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from runbooks.autofailover.evidence import EvidenceError, execution_report, latest_execution
    from runbooks.aws_steps import api_error
    from runbooks.failover import write_evidence

    deployment = deployment_or_exit(config)
    session = deployment_session(
        deployment, config, profile=profile, writes=False, consequence="nothing was written",
        region=deployment.dr_region,
    )  # fmt: skip
    ssm = session.client("ssm", region_name=deployment.dr_region)
    try:
        claim, value = latest_execution(ssm, f"/ivr/{deployment.name}/auto-failover")
        report = execution_report(ssm, str(value["execution"]))
    except EvidenceError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except (ClientError, BotoCoreError) as exc:
        err.print(f"error: {deployment.dr_region}: {api_error(exc)}", markup=False)
        raise typer.Exit(2) from None
    try:
        markdown, data = write_evidence(report, report_dir or ROOT / "reports")
    except OSError as exc:
        err.print(f"error: the evidence could not be written ({exc.strerror or exc})", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"claim": claim, "execution": value["execution"], "markdown": str(markdown),
                               "json": str(data)}, indent=2))  # fmt: skip
    else:
        console.print(f"automatic failover {claim} (execution {value['execution']}): evidence {markdown} and {data}",
                      markup=False, highlight=False)  # fmt: skip
