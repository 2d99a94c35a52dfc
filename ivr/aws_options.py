"""One behaviour for every ``ivr`` command that talks to AWS: the shared options, the marker that says which commands
talk to AWS, and the account check before any change.

Every command of the app is marked, by the decorators here, either :func:`aws_command` (it calls AWS) or
:func:`offline_command` (it never does); ``tests/ops/test_aws_options.py`` walks the app and fails when a command
is unmarked, or an AWS command lacks ``--profile``, ``--json`` or (where it addresses one instance or stack)
``--region``, or spells one of them otherwise than here.

The account check (:func:`deployment_session`): the deployment file must not hold a placeholder account, and STS
GetCallerIdentity on the very session the command then uses must answer the deployment's account. A command that
changes something refuses a mismatch (exit 2, before any write); a read-only one warns and goes on, since what it
reads then says plainly that the stacks are not there.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ivr.output import err, session_with_credentials
from ivr.progress import Stages

if TYPE_CHECKING:
    import boto3

    from regions.config import Deployment

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="AWS profile (~/.aws/config) for every AWS call of this command, and of the CDK CLI it runs; "
        "overrides AWS_PROFILE",
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="AWS region of the instance or stack; overrides the deployment file's region (for --stack) and "
        "AWS_REGION / the profile's region (for --instance-id)",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Machine output: the result as JSON on stdout, errors as JSON objects ({"error": ...}) on stdout '
        "too; progress stays on stderr",
    ),
]

#: What the --help of a command that changes something says of the account check.
REFUSES = (
    "Account check: before any change, STS GetCallerIdentity on the session this command uses; credentials of "
    "another account than the deployment file's, or a file that still holds a placeholder account, are refused "
    "(exit 2)."
)
#: What the --help of a read-only command says of it.
WARNS = (
    "Account check: STS GetCallerIdentity on the session this command uses; as it only reads, credentials of "
    "another account than the deployment file's (or a placeholder account in the file) get a warning, not a refusal."
)

#: What the --help of a command without --region says of regions.
REGIONS = "Regions: the deployment file's primary_region and dr_region (no --region: there is nothing to override)."

ATTRIBUTE = "__ivr_aws__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AwsCommand:
    """How a command talks to AWS: whether it can change something, and whether ``--region`` means anything to it
    (it does for a command that addresses one instance or stack; the others take both regions from the file)."""

    writes: bool
    region: bool = False


def aws_command(*, writes: bool, region: bool = False) -> Callable[[F], F]:
    """Mark a command as one that talks to AWS, and add what its account check does to its --help."""

    def mark(command: F) -> F:
        setattr(command, ATTRIBUTE, AwsCommand(writes=writes, region=region))
        doc = inspect.cleandoc(command.__doc__ or "")  # its own indentation gone, so the sentence added lines up
        command.__doc__ = f"{doc}\n\n{REFUSES if writes else WARNS}" + ("" if region else f" {REGIONS}")
        return command

    return mark


def offline_command(command: F) -> F:
    """Mark a command that never calls AWS (it may need no credentials at all)."""
    setattr(command, ATTRIBUTE, None)
    return command


def profile_label(profile: str | None) -> str:
    """Where the credentials come from, as a message names it."""
    if profile:
        return f"profile {profile!r} (--profile)"
    if os.environ.get("AWS_PROFILE"):
        return f"profile {os.environ['AWS_PROFILE']!r} (AWS_PROFILE)"
    return "the default credentials (no --profile, no AWS_PROFILE)"


def sts_client(session: boto3.Session, region: str) -> Any:
    """The STS client of ``session`` in ``region`` (regional endpoint); the tests hand in a Stubber's client here."""
    return session.client("sts", region_name=region)


def check_account(
    sts: Any, deployment: Deployment, config: Path, *, profile: str | None, writes: bool, consequence: str
) -> str | None:
    """The account the credentials belong to (None when it could not be read and the command only reads).

    Exits 2 when the command ``writes`` and the account is not the deployment's, or cannot be read.
    Source: STS API reference, GetCallerIdentity ("No permissions are required to perform this operation").
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from runbooks.aws_steps import api_error

    stage = Stages()
    stage.start(f"checking the account of {profile_label(profile)} (STS GetCallerIdentity)")
    try:
        account = str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        why = f"cannot confirm the account of {profile_label(profile)}: {api_error(exc)}"
        if writes:
            err.print(f"error: {why}; {consequence}", markup=False)
            raise typer.Exit(2) from None
        err.print(f"warning: {why}", markup=False)
        return None
    if account != deployment.account:
        why = (
            f"{profile_label(profile)} is of account {account}, but {config} deploys to account "
            f"{deployment.account} (its account: field)"
        )
        if writes:
            err.print(f"error: {why}; {consequence}. Use credentials of account {deployment.account}", markup=False)
            raise typer.Exit(2)
        err.print(f"warning: {why}; what follows is read from account {account}", markup=False)
    stage.done(f"account {account}")
    return account


def refuse_placeholder(deployment: Deployment, config: Path, consequence: str, *, writes: bool = True) -> None:
    """Exit 2 when the deployment file still holds a placeholder account (offline; before any AWS call); a
    read-only command (``writes`` False) is warned instead."""
    from regions.config import placeholder_account_problem

    problem = placeholder_account_problem(deployment, config)
    if problem and writes:
        err.print(f"error: {problem}; {consequence}", markup=False)
        raise typer.Exit(2)
    if problem:
        err.print(f"warning: {problem}", markup=False)


def deployment_session(
    deployment: Deployment,
    config: Path,
    *,
    profile: str | None,
    writes: bool,
    consequence: str,
    region: str | None = None,
    hint: str = "",
) -> boto3.Session:
    """The session a command uses for ``deployment``, after the account check; every failure exits 2 with one line.

    In order: the profile exists and gives credentials; the file holds no placeholder account; STS answers the
    deployment's account (refused when the command ``writes``, warned otherwise).
    """
    session = session_with_credentials(profile, region=region, consequence=consequence, hint=hint)
    refuse_placeholder(deployment, config, consequence, writes=writes)
    sts = sts_client(session, region or deployment.primary_region)
    check_account(sts, deployment, config, profile=profile, writes=writes, consequence=consequence)
    return session
