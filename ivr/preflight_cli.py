"""``ivr preflight [--json]``: read-only checks that the account and both regions can take the deployment.

The checks themselves are ``runbooks/preflight.py``; this file reads the options, makes the AWS clients, prints the
table and sets the exit code: 0 all well, 1 a check failed, 2 a check could not be made (or bad input).
``ivr deploy`` runs the same checks first (``--skip-preflight`` to go without). docs/preflight.md says what each
check means and how to fix it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session
from ivr.cdk_cli import ROOT
from ivr.output import console, deployment_or_exit, err
from ivr.progress import Stages

if TYPE_CHECKING:
    import boto3

    from regions.config import Deployment
    from runbooks.preflight import Clients, Preflight

DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
MARKS = {"ok": "[green]ok[/green]", "failed": "[red]FAIL[/red]", "unknown": "[yellow]?[/yellow]", "skipped": "-"}


def aws_clients(deployment: Deployment, config: Path, profile: str | None, consequence: str) -> Clients:
    """Clients of one credentialed session, after the account check (a warning: preflight only reads)."""
    session = deployment_session(deployment, config, profile=profile, writes=False, consequence=consequence)
    return clients_of(session)


def clients_of(session: boto3.Session) -> Clients:
    """Clients of ``session``, made once per service and region."""
    from botocore.config import Config

    # Fast over thorough: short timeouts and few retries; what does not answer is reported as not checked.
    quick = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2})
    made: dict[tuple[str, str], Any] = {}

    def clients(service: str, region: str) -> Any:
        if (service, region) not in made:
            made[(service, region)] = session.client(service, region_name=region, config=quick)  # type: ignore[call-overload]
        return made[(service, region)]

    return clients


def run_checks(deployment: Deployment, clients: Clients) -> Preflight:
    """The kit's flows (a bad folder exits 2 naming the file) and every check of ``runbooks/preflight.py``."""
    from flowkit.language.files import FlowError, load_flows
    from runbooks.preflight import run_preflight

    try:
        flows = load_flows()
    except FlowError as exc:
        err.print(f"error: {exc}; nothing was checked", markup=False)
        raise typer.Exit(2) from None
    return run_preflight(deployment, flows, clients)


def print_preflight(report: Preflight) -> None:
    """The checks as a table, the fix under each one that is not ok."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Preflight of {report.deployment} (account {report.account})")
    for column in ("", "Check", "Region", "What was found"):
        table.add_column(column)
    for check in report.checks:
        found = escape(check.detail)
        if check.status in ("failed", "unknown") and check.fix:
            found += f"\n[bold]fix:[/bold] {escape(check.fix)}"
        table.add_row(MARKS[check.status], check.check, check.region or "-", found)
    console.print(table)
    counts = {s: sum(c.status == s for c in report.checks) for s in ("ok", "failed", "unknown", "skipped")}
    summary = ", ".join(f"{n} {s if s != 'unknown' else 'could not check'}" for s, n in counts.items() if n)
    console.print(f"preflight: {report.result} ({summary})", markup=False, highlight=False)


@aws_command(writes=False)
def preflight_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file (YAML) under regions/")] = (
        DEFAULT_CONFIG
    ),
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check, read-only, that the account and both regions can take the deployment: the account, the Global
    Resiliency prerequisites, CDK bootstrap, Lambda concurrency and Connect quotas. Exit 0 all well, 1 a check
    failed, 2 a check could not be made."""
    deployment = deployment_or_exit(config)
    clients = aws_clients(deployment, config, profile, "nothing was checked")
    stage = Stages()
    stage.start(f"preflight of {deployment.name}: {deployment.primary_region} and {deployment.dr_region}")
    report = run_checks(deployment, clients)
    stage.done(report.result)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_preflight(report)
    raise typer.Exit(report.exit_code)
