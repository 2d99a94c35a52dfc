"""``ivr``: the kit's operator command.

``ivr synth`` synthesizes and checks both regions offline; ``ivr deploy`` and ``ivr destroy`` wrap the pinned CDK
CLI; ``ivr flows ...`` lints, renders, imports and loads contact flows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ivr.adopt_cli import adopt_command
from ivr.assembly import AssemblyError, LintReport, lint_templates, nested_templates, read_assembly, summarize
from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session, offline_command
from ivr.bootstrap_cli import bootstrap_command
from ivr.cdk_cli import ROOT, CdkCliError, cdk_command, passthrough, render, run_cdk
from ivr.cdk_options import ApprovalOption, ContextOption, OutputsFileOption, add_env_option, check_context
from ivr.diff_cli import diff_command
from ivr.dr_cli import app as dr_app
from ivr.dr_cli import drill_command, failover_command
from ivr.flows_cli import app as flows_app
from ivr.native_tests_cli import deploy_test_cases, ivr_test_command, stacks_of_test_cases
from ivr.output import JsonErrorsGroup, console, deployment_or_exit, err
from ivr.preflight_cli import preflight_command
from ivr.progress import Stages
from ivr.promote_cli import promote_command
from ivr.simulate_cli import simulate_command
from ivr.status_cli import status_command

if TYPE_CHECKING:
    import subprocess

    import boto3

    from flowkit.language.lint import Finding
    from ivr.assembly import StackTemplate
    from regions.config import Deployment

app = typer.Typer(
    cls=JsonErrorsGroup,
    help="Amazon Connect IVR in two regions: synthesize, check, deploy, operate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"ivr {version('connect-ivr-kit')}")
        except PackageNotFoundError:  # pragma: no cover - running from a checkout without `pip install -e .`
            typer.echo("ivr (not installed: run `make setup`)")
        raise typer.Exit()


@app.callback()
def _main(
    _version_flag: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the kit's version and exit")
    ] = False,
) -> None:
    """Amazon Connect IVR in two regions: synthesize, check, deploy, operate."""


app.add_typer(flows_app, name="flows")
app.add_typer(dr_app, name="dr")
app.command("failover")(failover_command)
app.command("drill")(drill_command)
app.command("simulate")(simulate_command)
app.command("test")(ivr_test_command)
app.command("status")(status_command)
app.command("diff")(diff_command)
app.command("bootstrap")(bootstrap_command)
app.command("preflight")(preflight_command)
app.command("adopt")(adopt_command)
app.command("promote")(promote_command)

DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Deployment file (YAML) under regions/")]
OutOption = Annotated[Path, typer.Option("--out", help="Cloud assembly directory")]


@app.command()
@offline_command
def synth(
    config: ConfigOption = DEFAULT_CONFIG,
    out: OutOption = ROOT / "cdk.out",
    warnings: Annotated[bool, typer.Option("--warnings", help="Print cfn-lint's warnings, not only their count")] = (
        False
    ),
    as_json: JsonOption = False,
) -> None:
    """Synthesize both regions into cdk.out/, run cfn-lint and cdk-nag, and summarize what would deploy where."""
    from ivr.synthesis import synthesize

    deployment = deployment_or_exit(config)
    stage = Stages()
    stage.start(f"checking {config} against the flows and the bot")
    findings = _preflight_or_exit(config)
    stage.done(f"{sum(f.severity == 'warning' for f in findings)} warning(s)")
    stage.start(
        f"synthesizing {deployment.name}: primary {deployment.primary_region}, DR {deployment.dr_region} "
        f"({deployment.dr_mode}); cdk-nag runs inside (AwsSolutions, HIPAA, NIST 800-53 R5, PCI DSS 3.2.1, Serverless)"
    )
    _standalone_notice(deployment)
    try:
        result = synthesize(config, out)
    except CdkCliError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    if not result.ok:
        err.print(result.output, markup=False, highlight=False)
        err.print("error: synthesis failed (see above: a config, flow, cdk-nag or service-limit finding stops the "
                  f"synth); {out} is marked stale", markup=False)  # fmt: skip
        raise typer.Exit(1)
    stage.done()
    try:
        stacks = read_assembly(out)
    except AssemblyError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    templates = _templates_by_stack(out, stacks)
    nested = sum(len(paths) for paths in templates.values()) - len(stacks)
    stage.start(f"cfn-lint {', '.join(s.name for s in stacks)}{f' and {nested} nested template(s)' if nested else ''}"
                " (in parallel; unchanged ones from the cache)")  # fmt: skip
    linted = iter(lint_templates([path for paths in templates.values() for path in paths]))
    reports = {owner: LintReport().merged(*(next(linted) for _ in paths)) for owner, paths in templates.items()}
    stage.done(", ".join(f"{name}: {len(r.errors)} errors, {len(r.warnings)} warnings" for name, r in reports.items()))
    failed = any(r.errors for r in reports.values())
    for report in reports.values():
        for line in report.errors:
            err.print(f"cfn-lint error: {line}", markup=False)
        for line in report.warnings if warnings else []:
            err.print(f"cfn-lint warning: {line}", markup=False)
    from stacks.limits import RULES, check_assembly

    stage.start("service limits the kit depends on (stacks/limits.py)")
    violations = check_assembly(out)
    stage.done(f"{len(violations)} breach(es) of {len(RULES)} rules")
    summaries = {s.name: summarize(s) for s in stacks}
    if as_json:
        typer.echo(json.dumps({
            "out": str(out),
            "stacks": [{"name": s.name, "role": s.role, "region": s.region, "resources": summaries[s.name],
                        "cfn_lint": {"errors": reports[s.name].errors, "warnings": reports[s.name].warnings},
                        "service_limits": [str(v) for v in violations if v.stack == s.name]}
                       for s in stacks],
            "findings": [f.as_dict() for f in findings],
        }, indent=2))  # fmt: skip
    else:
        limits = [f"{sum(v.stack == s.name for v in violations)} breaches of {len(RULES)} rules" for s in stacks]
        _print_summary(out, stacks, summaries, reports, warnings, limits)
    for violation in violations:
        err.print(f"service limit: {violation}", markup=False)
    if failed:
        err.print("error: cfn-lint found errors")
        raise typer.Exit(1)
    if violations:
        err.print("error: the templates break service limits the kit depends on (stacks/limits.py)")
        raise typer.Exit(1)


def _templates_by_stack(out: Path, stacks: list[StackTemplate]) -> dict[str, list[Path]]:
    """Each stack's template, then those of its nested stacks (cfn-lint reads them all; one report per stack)."""
    templates = {s.name: [s.path] for s in stacks}
    for owner, paths in nested_templates(out).items():
        templates.setdefault(owner, []).extend(paths)
    return templates


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
            f"kept: the {deployment.table_name} table (deletion protection on), its backup vault, the "
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


def _preflight_or_exit(config: Path) -> list[Finding]:
    """The deployment checks; their findings printed, and exit 1 on an error (nothing synthesized)."""
    from flowkit.language.files import FlowError
    from ivr.synthesis import preflight
    from lex.model import BotModelError
    from regions.config import ConfigError

    try:
        findings = preflight(config)
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except (FlowError, BotModelError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    for finding in findings:
        err.print(f"{finding.severity}: {finding}", markup=False)
    if any(f.severity == "error" for f in findings):
        err.print("error: the flows do not fit the deployment (see above); nothing was synthesized")
        raise typer.Exit(1)
    return findings


def _print_summary(out: Path, stacks: list[StackTemplate], summaries: dict[str, dict[str, int]],
                   reports: dict[str, LintReport], warnings: bool, limits: list[str]) -> None:  # fmt: skip
    from rich.table import Table

    table = Table(title=f"What `ivr deploy` would create ({out})")
    table.add_column("Resource")
    for stack in stacks:
        table.add_column(f"{stack.name}\n{stack.role} · {stack.region}", justify="right")
    for label in dict.fromkeys(label for s in summaries.values() for label in s):
        table.add_row(label, *(str(summaries[s.name].get(label, "-")) for s in stacks))
    table.add_row("cfn-lint", *(f"{len(reports[s.name].errors)} errors, {len(reports[s.name].warnings)} warnings"
                                for s in stacks))  # fmt: skip
    table.add_row("cdk-nag (five packs)", *(["no unacknowledged finding"] * len(stacks)))
    table.add_row("service limits", *limits)
    console.print(table)
    if any(r.warnings for r in reports.values()) and not warnings:
        console.print("cfn-lint warnings: `ivr synth --warnings` prints them", markup=False)


def _checked_session(deployment: Deployment, config: Path, profile: str | None, what: str) -> boto3.Session:
    """The session of a change to the deployment's account, after the account check (else exit 2)."""
    return deployment_session(deployment, config, profile=profile, writes=True, consequence=f"nothing was {what}",
                              hint="Use --dry-run to see what would run.")  # fmt: skip


def _placeholder_note(deployment: Deployment, config: Path, what: str) -> None:
    """A dry run of a change says, offline, that the real run would refuse the file's placeholder account."""
    from regions.config import placeholder_account_problem

    problem = placeholder_account_problem(deployment, config)
    if problem:
        err.print(f"note: {problem}; `ivr {what}` without --dry-run refuses it", markup=False)


def _cdk(command: list[str], as_json: bool) -> subprocess.CompletedProcess[str]:
    """Run the CDK CLI, its progress on the terminal (on stderr with --json); a missing CLI exits 2."""
    stage = Stages()
    stage.start(f"{render(command[:3])} (the CDK CLI prints its own progress)")
    try:
        result = run_cdk(command, to_stderr=as_json)
    except CdkCliError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    stage.done(f"exit code {result.returncode}")
    return result


def _preflight_before_deploy(deployment: Deployment, session: boto3.Session) -> None:
    """Run `ivr preflight`; on a failed check or one that could not be made, print the table and exit with its code."""
    from ivr.preflight_cli import clients_of, print_preflight, run_checks

    stage = Stages()
    stage.start("preflight: read-only checks of the account and both regions (`ivr preflight`)")
    report = run_checks(deployment, clients_of(session))
    stage.done()
    if report.exit_code == 0:
        console.print(f"preflight: ok ({len(report.checks)} checks; `ivr preflight` shows them)", markup=False)
        return
    print_preflight(report)
    problem = "a check failed" if report.exit_code == 1 else "a check could not be made"
    err.print(f"error: preflight: {problem}; nothing was deployed. Fix it (the table says how; docs/preflight.md), "
              "or deploy anyway with --skip-preflight", markup=False)  # fmt: skip
    raise typer.Exit(report.exit_code)


Role = Literal["primary", "dr"]


@app.command()
@aws_command(writes=True)
def deploy(
    role: Annotated[Role, typer.Argument(help="Which region's stack: primary or dr")],
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; change nothing")] = False,
    profile: ProfileOption = None,
    require_approval: ApprovalOption = "broadening",
    outputs_file: OutputsFileOption = None,
    context: ContextOption = None,
    as_json: JsonOption = False,
    skip_preflight: Annotated[
        bool, typer.Option("--skip-preflight", help="Deploy without running `ivr preflight` first")
    ] = False,
    no_rollback: Annotated[
        bool,
        typer.Option(
            "--no-rollback",
            help="Keep what a failed deploy created (CDK's --no-rollback), so that a re-run resumes: a first "
            "Global Resiliency deploy whose replication outlasts its window then adopts the replica",
        ),
    ] = False,
) -> None:
    """Deploy one region's stack, after `ivr preflight` passes. Deploy the primary first: in global-resiliency
    mode the DR stack needs it."""
    deployment = deployment_or_exit(config)
    settings = deployment.region(role)
    extra = passthrough(
        profile=profile, require_approval=require_approval, outputs_file=outputs_file, context=check_context(context)
    ) + (["--no-rollback"] if no_rollback else [])
    command = cdk_command("deploy", settings.stack_name, config=config.resolve(), extra=extra)
    note = ""
    if role == "dr" and deployment.dr_mode == "global-resiliency":
        note = (
            "needs the primary stack deployed first: it replicates the instance (Connect then "
            "mirrors its flows and number associations to the replica), replicates the bot, and hands the "
            f"replica's ids over in SSM under /ivr/{deployment.name}/ in {settings.region}. This stack adds "
            "only region-local pieces: functions, integrations on the replica, storage, alarms, drills"
        )
    if dry_run:
        if as_json:
            plan = {"stack": settings.stack_name, "account": deployment.account, "region": settings.region,
                    "command": render(command), "note": note}  # fmt: skip
            typer.echo(json.dumps(plan, indent=2))
            return
        console.print(
            f"would deploy {settings.stack_name} to account {deployment.account}, region "
            f"{settings.region}:\n  {render(command)}",
            markup=False,
        )
        deploy_test_cases(deployment, role, config, dry_run=True)
        if note:
            console.print(f"  note: {note}", markup=False)
    if role == "dr":
        _standalone_notice(deployment)
    if dry_run:
        _placeholder_note(deployment, config, "deploy")
        return
    session = _checked_session(deployment, config, profile, "deployed")
    if not skip_preflight:
        _preflight_before_deploy(deployment, session)
    result = _cdk(command, as_json)
    if result.returncode == 0:  # its own stack: a failure there leaves the IVR deployed
        deploy_test_cases(deployment, role, config, session=session, to_stderr=as_json)
    if as_json:
        typer.echo(json.dumps({"stack": settings.stack_name, "account": deployment.account, "region": settings.region,
                               "command": render(command), "exit_code": result.returncode}, indent=2))  # fmt: skip
    raise typer.Exit(result.returncode)


@app.command()
@aws_command(writes=True)
def destroy(
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    profile: ProfileOption = None,
    context: ContextOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tear down both regions: the DR stack first, then the primary. Numbers marked keep_on_destroy stay claimed."""
    deployment = deployment_or_exit(config)
    extra = passthrough(profile=profile, context=check_context(context))
    commands = [
        cdk_command("destroy", stack, "--force", config=config.resolve(), extra=extra)
        for stack in [*stacks_of_test_cases(deployment), *(deployment.region(r).stack_name for r in ("dr", "primary"))]
    ]
    if dry_run:
        if as_json:
            summary = teardown_summary(deployment)
            typer.echo(json.dumps({"commands": [render(c) for c in commands], "teardown": summary}, indent=2))
            return
        for command in commands:
            console.print(f"would run: {render(command)}", markup=False)
    say = err if as_json else console
    for line in teardown_summary(deployment):
        say.print(line, highlight=False)
    if dry_run:
        _placeholder_note(deployment, config, "destroy")
        return
    _checked_session(deployment, config, profile, "destroyed")
    if not yes and not typer.confirm(
        f"Destroy {deployment.name} in {deployment.dr_region} and "
        f"{deployment.primary_region} (account {deployment.account})?",
        err=as_json,
    ):
        raise typer.Exit(1)
    done: list[str] = []
    for command in commands:
        result = _cdk(command, as_json)
        if result.returncode != 0:
            err.print(f"error: {render(command)} failed; nothing after it ran", markup=False)
            raise typer.Exit(result.returncode)
        done.append(render(command))
    if as_json:
        typer.echo(json.dumps({"destroyed": done, "teardown": teardown_summary(deployment)}, indent=2))


# Last, once every command is registered: each one that reads a deployment file takes --env.
add_env_option(app)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="ivr")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
