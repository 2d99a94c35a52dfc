"""``ivr bootstrap``: prepare the account in both regions of a deployment for the CDK (once per account and region)
and, with ``--github-repo``, for the GitHub Actions pipeline: the GitHub OIDC provider and the environment's deploy
role (stacks/pipeline_access.py), so that the pipeline deploys with short-lived credentials only."""

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
    github_repo: Annotated[
        str | None,
        typer.Option(
            "--github-repo",
            help="owner/repo of the pipeline: also deploy the GitHub OIDC provider and the environment's deploy role",
        ),
    ] = None,
) -> None:
    """Bootstrap the CDK in the primary and the DR region of the deployment's account (`cdk bootstrap`); with
    --github-repo, then give the repository's GitHub Actions jobs of this environment a deploy role (OIDC)."""
    from regions.environments import deploy_role_name, pipeline_stack_name

    deployment = deployment_or_exit(config)
    environments = [f"aws://{deployment.account}/{r}" for r in (deployment.primary_region, deployment.dr_region)]
    extra = passthrough(profile=profile, context=check_context(context))
    commands = [cdk_command("bootstrap", *environments, config=config.resolve(), extra=extra)]
    if github_repo is not None:
        access = pipeline_stack_name(deployment.name)
        commands.append(cdk_command("deploy", access, "--exclusively", config=config.resolve(),
                                    extra=[*extra, "--context", f"github_repo={github_repo}"]))  # fmt: skip
    role = f"arn:aws:iam::{deployment.account}:role/{deploy_role_name(deployment.name)}"
    if dry_run:
        if as_json:
            plan = {"environments": environments, "command": render(commands[0]),
                    "commands": [render(c) for c in commands]}  # fmt: skip
            if github_repo is not None:
                plan["deploy_role"] = role
            typer.echo(json.dumps(plan, indent=2))
        else:
            console.print(f"would bootstrap {', '.join(environments)}:\n  {render(commands[0])}", markup=False)
            if github_repo is not None:
                console.print(f"would then deploy the GitHub Actions access of {github_repo}:\n  {render(commands[1])}"
                              f"\n  deploy role (IVR_DEPLOY_ROLE_ARN): {role}", markup=False)  # fmt: skip
        return
    deployment_session(deployment, config, profile=profile, writes=True, consequence="nothing was bootstrapped",
                       hint="Use --dry-run to see what would run.")  # fmt: skip
    code = 0
    for command in commands:
        stage = Stages()
        stage.start(f"cdk {command[1]} {' '.join(environments) if command[1] == 'bootstrap' else command[2]} "
                    "(the CDK CLI prints its own progress)")  # fmt: skip
        try:
            code = run_cdk(command, to_stderr=as_json).returncode
        except CdkCliError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(2) from None
        stage.done(f"exit code {code}")
        if code != 0:
            err.print(f"error: {render(command)} failed; nothing after it ran", markup=False)
            break
    if as_json:
        result = {"environments": environments, "command": render(commands[0]), "exit_code": code}
        if github_repo is not None:
            result["deploy_role"] = role
        typer.echo(json.dumps(result, indent=2))
    elif github_repo is not None and code == 0:
        console.print(f"deploy role of the {deployment.environment or 'default'} GitHub environment: {role}",
                      markup=False)  # fmt: skip
    raise typer.Exit(code)
