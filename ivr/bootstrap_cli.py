"""``ivr bootstrap``: prepare the account in both regions of a deployment for the CDK (once per account and region)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session
from ivr.cdk_cli import ROOT, CdkCliError, cdk_command, passthrough, render, run_cdk
from ivr.cdk_options import ContextOption, check_context
from ivr.output import console, deployment_or_exit, err
from ivr.progress import Stages

DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"


@aws_command(writes=True)
def bootstrap_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file (YAML) under regions/")] = (
        DEFAULT_CONFIG
    ),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; change nothing")] = False,
    profile: ProfileOption = None,
    context: ContextOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bootstrap the CDK in the primary and the DR region of the deployment's account (`cdk bootstrap`)."""
    deployment = deployment_or_exit(config)
    environments = [f"aws://{deployment.account}/{r}" for r in (deployment.primary_region, deployment.dr_region)]
    command = cdk_command(
        "bootstrap", *environments, config=config.resolve(),
        extra=passthrough(profile=profile, context=check_context(context)),
    )  # fmt: skip
    if dry_run:
        if as_json:
            typer.echo(json.dumps({"environments": environments, "command": render(command)}, indent=2))
        else:
            console.print(f"would bootstrap {', '.join(environments)}:\n  {render(command)}", markup=False)
        return
    deployment_session(deployment, config, profile=profile, writes=True, consequence="nothing was bootstrapped",
                       hint="Use --dry-run to see what would run.")  # fmt: skip
    stage = Stages()
    stage.start(f"cdk bootstrap {' '.join(environments)} (the CDK CLI prints its own progress)")
    try:
        code = run_cdk(command, to_stderr=as_json).returncode
    except CdkCliError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    stage.done(f"exit code {code}")
    if as_json:
        typer.echo(json.dumps({"environments": environments, "command": render(command), "exit_code": code}, indent=2))
    raise typer.Exit(code)
