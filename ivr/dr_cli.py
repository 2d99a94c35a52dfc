"""``ivr dr``, ``ivr failover`` and ``ivr drill``: the DR region's parity, failover and failback, and drills."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ivr.assembly import AssemblyError, read_assembly
from ivr.output import console, deployment_or_exit, err

if TYPE_CHECKING:
    from regions.config import Role
    from runbooks.failover import DrOperations

app = typer.Typer(help="The DR region: parity with the primary.", no_args_is_help=True)
ROOT = Path(__file__).resolve().parent.parent


@app.command()
def parity(
    out: Annotated[Path, typer.Option("--out", help="Cloud assembly to read (run `ivr synth` first)")] = ROOT
    / "cdk.out",
    as_json: Annotated[bool, typer.Option("--json", help="Print drifts as JSON")] = False,
) -> None:
    """Compare what the two regions deploy (flows, bot, functions, alarms, scaling); exit 1 on drift."""
    from stacks.parity import compare_templates

    try:
        stacks = read_assembly(out)
    except AssemblyError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    by_role = {s.role: s for s in stacks if s.role in ("primary", "dr")}  # not the test-case stacks
    if set(by_role) != {"primary", "dr"}:
        err.print(f"error: {out}: expected a primary and a dr stack, found roles {sorted(by_role)}")
        raise typer.Exit(2)
    primary, dr = by_role["primary"], by_role["dr"]
    drifts = compare_templates(primary.template, dr.template, (primary.region, dr.region))
    if as_json:
        typer.echo(json.dumps([{"resource": d.resource, "detail": d.detail} for d in drifts], indent=2))
    else:
        for drift in drifts:
            console.print(f"drift: {drift}", markup=False, highlight=False)
        verdict = "at parity" if not drifts else f"{len(drifts)} drift(s)"
        console.print(f"{primary.name} ({primary.region}) vs {dr.name} ({dr.region}): {verdict}", highlight=False)
    raise typer.Exit(1 if drifts else 0)


DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Deployment file")]


def _operations(config: Path, *, need_credentials: bool = True) -> DrOperations:
    import boto3
    from botocore.config import Config

    from runbooks.failover import DrOperations

    deployment = deployment_or_exit(config)
    session = boto3.Session()
    if need_credentials and session.get_credentials() is None:
        err.print("error: no AWS credentials found (set AWS_PROFILE or run `aws sso login`); nothing was changed")
        raise typer.Exit(2)
    retries = Config(retries={"mode": "adaptive", "max_attempts": 8})
    clients: dict[tuple[str, str], object] = {}

    def client(service: str, region: str) -> object:
        if (service, region) not in clients:
            clients[(service, region)] = session.client(service, region_name=region, config=retries)  # type: ignore[call-overload]
        return clients[(service, region)]

    return DrOperations(deployment, client)


def _lock(ops: DrOperations, first: Role, purpose: str, *, dry_run: bool) -> AbstractContextManager[object]:
    """The operator lock of the deployment (none for a dry run, which changes nothing)."""
    if dry_run:
        return nullcontext()
    from runbooks.failover import other
    from runbooks.lock import OperatorLock

    regions = [ops.region(first), ops.region(other(first))]
    return OperatorLock(lambda region: ops.clients("ssm", region), ops.deployment.name, regions, purpose)


def failover_command(
    to: Annotated[str, typer.Option("--to", help="dr or primary")],
    percent: Annotated[int, typer.Option("--percent", help="Share of calls for the target, steps of 10")] = 100,
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Pre-check and print the plan; change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before changing production")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Move calls to the DR region (or back): pre-check, raise capacity, shift traffic, verify."""
    from runbooks.failover import failover
    from runbooks.lock import LockError

    if to not in ("dr", "primary"):
        err.print(f"error: --to must be dr or primary, not {to!r}")
        raise typer.Exit(2)
    if percent % 10 or not 0 <= percent <= 100:
        err.print(f"error: --percent must be 0-100 in steps of 10 (Connect's rule), not {percent}")
        raise typer.Exit(2)
    ops = _operations(config)
    try:
        with _lock(ops, to, f"failover --to {to}", dry_run=dry_run):  # type: ignore[arg-type]
            report = failover(ops, to, percent, dry_run=dry_run, confirm=lambda q: yes or typer.confirm(q))  # type: ignore[arg-type]
    except LockError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for step in report.steps:
            console.print(f"{step.status:>8}  {step.name} ({step.seconds:.1f} s) {step.detail}", markup=False)
            for check in step.checks:
                console.print(f"          {'ok' if check.ok else 'FAILED'}: {check.name}: {check.detail}", markup=False)
        for line in report.rollback if not report.ok else []:
            console.print(f"rollback: {line}", markup=False)
    raise typer.Exit(0 if report.ok else 1)


def drill_command(
    name: Annotated[str, typer.Argument(help="A drill of runbooks/drills (or a YAML file)")],
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the steps; change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before changing production")] = False,
    report_dir: Annotated[Path, typer.Option("--report", help="Where the evidence report goes")] = ROOT / "reports",
) -> None:
    """Run a DR drill step by step and leave an evidence report (Markdown and JSON)."""
    from runbooks.drill import DrillError, DrillRunner, load_drill, write_report
    from runbooks.lock import LockError

    try:
        drill = load_drill(name)
    except DrillError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    ops = _operations(config, need_credentials=not dry_run)
    runner = DrillRunner(ops, confirm=lambda q: yes or typer.confirm(q))
    try:
        with _lock(ops, "dr", f"drill {drill.name}", dry_run=dry_run):
            report = runner.run(drill, dry_run=dry_run)
    except LockError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    except DrillError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    markdown, data = write_report(report, report_dir)
    for step in report.steps:
        console.print(f"{step.status:>15}  {step.name} ({step.seconds:.1f} s) {step.detail}", markup=False)
    console.print(f"drill {report.outcome}; evidence: {markdown} and {data}", markup=False)
    raise typer.Exit(0 if report.outcome in ("passed", "planned") else 1)
