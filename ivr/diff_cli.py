"""``ivr diff [primary|dr]``: what a deploy would change: the CDK diff of the stack, then each flow's content
against what the instance runs (read-only; the same comparison ``ivr flows load --dry-run`` makes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session
from ivr.cdk_cli import ROOT, CdkCliError, cdk_command, passthrough, render, run_cdk
from ivr.cdk_options import ContextOption, check_context
from ivr.output import console, deployment_or_exit, err
from ivr.progress import Stages

if TYPE_CHECKING:
    from regions.config import Deployment
    from runbooks.flow_loader import LoadReport

DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
Role = Literal["primary", "dr"]


class DeployedFlowsError(RuntimeError):
    """The deployed flows could not be read; the message says which stack or call and why."""


def deployed_flow_report(session: Any, deployment: Deployment, role: str, *, pacer: Any = None) -> LoadReport:
    """Each kit flow compared with the instance of ``role``'s stack: unchanged, would-update (with a diff) or
    would-create. Reads stack outputs, lists and describes flows; writes nothing."""
    from botocore.exceptions import BotoCoreError, ClientError

    from flowkit.language.files import FlowError, creation_order, load_flows
    from ivr.stack_outputs import StackOutputsError, read_outputs, target_from_outputs
    from runbooks.flow_loader import CONNECT_RETRIES, FlowLoader

    settings = deployment.region(role)  # type: ignore[arg-type]
    try:
        flows = creation_order(load_flows())
        outputs = read_outputs(session.client("cloudformation", region_name=settings.region), settings.stack_name)
        names = {"QueueArn": [q.name for q in deployment.queues], "HoursArn": [h.name for h in deployment.hours]}
        target = target_from_outputs(outputs, names)
        client = session.client("connect", region_name=settings.region, config=CONNECT_RETRIES)
        loader = FlowLoader(client, target.instance_id, name_suffix=target.name_suffix, pacer=pacer)
        return loader.load(flows, target.values, dry_run=True)
    except (FlowError, StackOutputsError) as exc:
        raise DeployedFlowsError(str(exc)) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise DeployedFlowsError(
            f"{exc.operation_name} in {settings.region}: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise DeployedFlowsError(f"{settings.region}: {exc}") from None


@aws_command(writes=False)
def diff_command(
    role: Annotated[Role | None, typer.Argument(help="primary or dr (default: both)")] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file (YAML) under regions/")] = (
        DEFAULT_CONFIG
    ),
    profile: ProfileOption = None,
    context: ContextOption = None,
    flows_only: Annotated[bool, typer.Option("--flows-only", help="Skip the CDK diff; compare flows only")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show what deploying would change: `cdk diff` of the stack, then a per-flow content diff against the instance.

    Exit 0 when nothing differs, 1 when something does, 2 when it could not be read.
    """
    deployment = deployment_or_exit(config)
    roles: list[Role] = [role] if role else ["primary", "dr"]
    session = deployment_session(
        deployment,
        config,
        profile=profile,
        writes=False,
        consequence="`ivr diff` compares with what is deployed",
        hint="`ivr synth` checks a change offline.",
    )
    extra = passthrough(profile=profile, context=check_context(context))
    changed, unreadable = False, False
    summary: dict[str, Any] = {}
    for each in roles:
        settings = deployment.region(each)
        entry: dict[str, Any] = {"stack": settings.stack_name, "region": settings.region}
        if not flows_only:
            outcome = _cdk_diff(settings.stack_name, settings.region, config, extra, entry, quiet=as_json)
            changed |= outcome == "differs"
            unreadable |= outcome == "failed"
        if not settings.owns_flows:
            entry["flows_note"] = "the replica runs the flows Connect mirrors from the primary: see `ivr diff primary`"
            if not as_json:
                console.print(f"== {settings.stack_name}: flows: {entry['flows_note']}", markup=False)
            summary[each] = entry
            continue
        stage = Stages()
        stage.start(f"comparing each flow with the instance of {settings.stack_name} ({settings.region})")
        try:
            report = deployed_flow_report(session, deployment, each)
            stage.done()
        except DeployedFlowsError as exc:
            entry["flows_error"] = str(exc)
            unreadable = True
            if not as_json:
                err.print(f"{settings.stack_name}: flows not compared: {exc}", markup=False)
        else:
            entry["flows"] = [{"name": r.name, "status": r.status, "diff": r.diff, "message": r.message}
                              for r in report.results]  # fmt: skip
            changed |= any(r.status != "unchanged" for r in report.results)
            if not as_json:
                _print_flows(settings.stack_name, report)
        summary[each] = entry
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    raise typer.Exit(2 if unreadable else 1 if changed else 0)


def _cdk_diff(stack: str, region: str, config: Path, extra: list[str], entry: dict[str, Any], *, quiet: bool) -> str:
    """Run `cdk diff --fail` on one stack; record and return "no differences", "differs" or "failed"."""
    command = cdk_command("diff", stack, "--fail", config=config.resolve(), extra=extra)
    if not quiet:
        console.print(f"== {stack} ({region}): {render(command)}", markup=False, highlight=False)
    try:
        result = run_cdk(command, capture=quiet)
    except CdkCliError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    # `cdk diff --fail` exits 1 when the stack differs; anything else is a failure to diff.
    outcome = {0: "no differences", 1: "differs"}.get(result.returncode, "failed")
    entry["cdk_diff"] = outcome
    if quiet:
        entry["cdk_output"] = (result.stdout or "") + (result.stderr or "")
    return outcome


def _print_flows(stack: str, report: LoadReport) -> None:
    console.print(f"[bold]== {stack}: flows against the instance[/bold]")
    for result in report.results:
        status = {"would-update": "differs", "would-create": "not deployed"}.get(result.status, result.status)
        console.print(f"  {result.name}: {status}" + (f" ({result.message})" if result.message else ""),
                      markup=False, highlight=False)  # fmt: skip
        if result.diff:
            console.print(result.diff, markup=False, highlight=False)
