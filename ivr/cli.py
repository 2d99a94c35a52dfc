"""``ivr``: the kit's operator command.

``ivr synth`` synthesizes and checks both regions offline; ``ivr deploy`` and ``ivr destroy`` wrap the pinned CDK
CLI; ``ivr flows ...`` lints, renders, imports and loads contact flows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ivr.assembly import AssemblyError, lint_templates, read_assembly, summarize
from ivr.cdk_cli import ROOT, CdkCliError, cdk_command, render, run_cdk
from ivr.dr_cli import app as dr_app
from ivr.dr_cli import drill_command, failover_command
from ivr.flows_cli import app as flows_app
from ivr.output import console, deployment_or_exit, err
from ivr.simulate_cli import simulate_command
from ivr.test_cli import deploy_test_cases, ivr_test_command, stacks_of_test_cases

if TYPE_CHECKING:
    from regions.config import Deployment

app = typer.Typer(
    help="Amazon Connect IVR in two regions: synthesize, check, deploy, operate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(flows_app, name="flows")
app.add_typer(dr_app, name="dr")
app.command("failover")(failover_command)
app.command("drill")(drill_command)
app.command("simulate")(simulate_command)
app.command("test")(ivr_test_command)

DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Deployment file (YAML) under regions/")]
OutOption = Annotated[Path, typer.Option("--out", help="Cloud assembly directory")]


@app.command()
def synth(config: ConfigOption = DEFAULT_CONFIG, out: OutOption = ROOT / "cdk.out") -> None:
    """Synthesize both regions into cdk.out/, run cfn-lint and cdk-nag, and summarize what would deploy where."""
    deployment = deployment_or_exit(config)
    command = cdk_command("synth", "--quiet", config=config.resolve(), outdir=out.resolve())
    console.print(
        f"[bold]Synthesizing[/bold] {deployment.name}: primary {deployment.primary_region}, "
        f"DR {deployment.dr_region} ({deployment.dr_mode}); cdk-nag AwsSolutions and HIPAA Security run during synth"
    )
    _standalone_notice(deployment)
    try:
        result = run_cdk(command, capture=True)
    except CdkCliError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if result.returncode != 0:
        err.print(result.stdout[-6000:] + result.stderr[-6000:], markup=False, highlight=False)
        err.print(
            "error: synthesis failed (see above: a config, flow, cdk-nag or service-limit finding stops the synth)"
        )
        raise typer.Exit(1)
    try:
        stacks = read_assembly(out)
    except AssemblyError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    from rich.table import Table

    table = Table(title=f"What `ivr deploy` would create ({out})")
    table.add_column("Resource")
    for stack in stacks:
        table.add_column(f"{stack.name}\n{stack.role} · {stack.region}", justify="right")
    summaries = [summarize(s) for s in stacks]
    for label in dict.fromkeys(label for s in summaries for label in s):
        table.add_row(label, *(str(s.get(label, "-")) for s in summaries))
    failed = False
    lint_row = []
    for report in lint_templates([s.path for s in stacks]):
        failed |= bool(report.errors)
        lint_row.append(f"{len(report.errors)} errors, {len(report.warnings)} warnings")
        for line in report.errors:
            err.print(f"cfn-lint: {line}", markup=False)
    table.add_row("cfn-lint", *lint_row)
    table.add_row("cdk-nag AwsSolutions + HIPAA", *(["no unacknowledged finding"] * len(stacks)))
    from stacks.limits import RULES, check_assembly

    violations = check_assembly(out)
    table.add_row(
        "service limits",
        *(f"{sum(v.stack == s.name for v in violations)} breaches of {len(RULES)} rules" for s in stacks),
    )
    console.print(table)
    for violation in violations:
        err.print(f"service limit: {violation}", markup=False)
    if failed:
        err.print("error: cfn-lint found errors")
        raise typer.Exit(1)
    if violations:
        err.print("error: the templates break service limits the kit depends on (stacks/limits.py)")
        raise typer.Exit(1)


def _standalone_notice(deployment: Deployment) -> None:
    """Say plainly, where standalone mode is chosen, what the Global Resiliency setup guide says of it."""
    from regions.config import STANDALONE_NOTICE

    if deployment.dr_mode == "standalone":
        err.print(f"note: {STANDALONE_NOTICE}", markup=False, highlight=False)


def teardown_summary(deployment: Deployment) -> list[str]:
    """What ``ivr destroy`` keeps and releases, one line each (``kept: ...``, ``released: ...``)."""
    kept = []
    numbers = [n for n in deployment.phone_numbers if n.keep_on_destroy]
    if numbers:
        kept.append(f"kept: {len(numbers)} phone number(s) marked keep_on_destroy, still claimed (and billed)")
        if deployment.dr_mode == "global-resiliency":
            kept.append(
                "kept: the traffic distribution group holding them, the replica instance in "
                f"{deployment.dr_region} and the instance in {deployment.primary_region} (a group that holds "
                "numbers cannot be deleted)"
            )
    if deployment.data.keeps_data:
        kept.append(
            f"kept: the {deployment.name}-appointments table (deletion protection on), its backup vault, the "
            "recordings buckets and the flow-log groups with their keys (data.profile: production; see SECURITY.md)"
        )
    released = len(deployment.phone_numbers) - len(numbers)
    if released:
        # Source: ReleasePhoneNumber (Connect API reference): a released number enters a cooldown of up to 180
        # days before it can be searched for or claimed again.
        kept.append(
            f"released: {released} phone number(s) without keep_on_destroy; a released number enters a cooldown "
            "of up to 180 days before it can be claimed again"
        )
    return kept


def _credentials_or_exit() -> None:
    import boto3

    if boto3.Session().get_credentials() is None:
        err.print(
            "error: no AWS credentials found (set AWS_PROFILE, run `aws sso login`, or export "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); nothing was deployed. "
            "Use --dry-run to see what would run."
        )
        raise typer.Exit(2)


Role = Literal["primary", "dr"]


@app.command()
def deploy(
    role: Annotated[str, typer.Argument(help="primary or dr")],
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; change nothing")] = False,
) -> None:
    """Deploy one region's stack. Deploy the primary first: in global-resiliency mode the DR stack needs it."""
    if role not in ("primary", "dr"):
        err.print(f"error: ROLE must be primary or dr, not {role!r}")
        raise typer.Exit(2)
    deployment = deployment_or_exit(config)
    settings = deployment.region("primary" if role == "primary" else "dr")
    command = cdk_command("deploy", settings.stack_name, "--require-approval", "broadening", config=config.resolve())
    if dry_run:
        console.print(
            f"would deploy {settings.stack_name} to account {deployment.account}, region "
            f"{settings.region}:\n  {render(command)}"
        )
        deploy_test_cases(deployment, role, config, dry_run=True)
        if role == "dr" and deployment.dr_mode == "global-resiliency":
            console.print(
                "  note: needs the primary stack deployed first: it replicates the instance (Connect then "
                "mirrors its flows and number associations to the replica), replicates the bot, and hands the "
                f"replica's ids over in SSM under /ivr/{deployment.name}/ in {settings.region}. This stack adds "
                "only region-local pieces: functions, integrations on the replica, storage, alarms, drills"
            )
    if role == "dr":
        _standalone_notice(deployment)
    if dry_run:
        return
    _credentials_or_exit()
    result = run_cdk(command)
    if result.returncode == 0:
        deploy_test_cases(deployment, role, config)  # its own stack: a failure there leaves the IVR deployed
    raise typer.Exit(result.returncode)


@app.command()
def destroy(
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Tear down both regions: the DR stack first, then the primary. Numbers marked keep_on_destroy stay claimed."""
    deployment = deployment_or_exit(config)
    commands = [
        cdk_command("destroy", stack, "--force", config=config.resolve())
        for stack in [*stacks_of_test_cases(deployment), *(deployment.region(r).stack_name for r in ("dr", "primary"))]
    ]
    if dry_run:
        for command in commands:
            console.print(f"would run: {render(command)}")
    for line in teardown_summary(deployment):
        console.print(line, highlight=False)
    if dry_run:
        return
    _credentials_or_exit()
    if not yes and not typer.confirm(
        f"Destroy {deployment.name} in {deployment.dr_region} and "
        f"{deployment.primary_region} (account {deployment.account})?"
    ):
        raise typer.Exit(1)
    for command in commands:
        result = run_cdk(command)
        if result.returncode != 0:
            err.print(f"error: {render(command)} failed; nothing after it ran")
            raise typer.Exit(result.returncode)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="ivr")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
