"""What every ``ivr`` command shares: where it prints, and loading the deployment file or exiting with why."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    import boto3

    from regions.config import Deployment

console = Console(soft_wrap=True)
#: Errors go to stderr unwrapped, so that a long message (a file and field, a list of pairs) stays on one line.
err = Console(stderr=True, soft_wrap=True, highlight=False)


def deployment_or_exit(config: Path, env: str | None = None) -> Deployment:
    """The validated deployment file, as the environment ``env`` (default: the one ``--env`` chose) sees it; on a
    bad file or an unknown environment, its message (file and field) and exit code 2."""
    # Imported here: the deployment model (pydantic, YAML) costs a fifth of a second, and not every command reads it.
    from ivr.cdk_options import chosen_env
    from regions.config import ConfigError, load_deployment

    try:
        return load_deployment(config, env or chosen_env())
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def role_or_exit(role: str | None, region: str | None, command: str) -> str:
    """The role from ``--role``, or from the deprecated ``--region primary|dr`` (``--region`` means an AWS region)."""
    if region is not None:
        if region not in ("primary", "dr") or role is not None:
            err.print(f"error: --region must be primary or dr, not {region!r} (it is deprecated here: use --role)")
            raise typer.Exit(2)
        err.print(f"note: `--region primary|dr` is deprecated for {command}; use `--role primary|dr`")
    return role or region or "primary"


#: How to give ``ivr`` credentials, said the same way by every command that reads or changes the account.
NO_CREDENTIALS = (
    "no AWS credentials found (set AWS_PROFILE or --profile, run `aws sso login`, "
    "or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
)


def aws_session(
    profile: str | None = None, *, region: str | None = None, consequence: str = "nothing was changed"
) -> boto3.Session:
    """A boto3 session; a profile that is not in the AWS config (from ``--profile`` or AWS_PROFILE) exits 2 naming it.

    botocore raises ProfileNotFound from the session itself when the profile named by ``--profile`` or the
    environment does not exist; every ``ivr`` command goes through here so that the message is the same everywhere.
    Credentials are not looked up here (that may query the instance metadata service): see
    :func:`session_with_credentials`.
    """
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        _profile_not_found(profile, exc.kwargs.get("profile"), consequence)


def session_with_credentials(
    profile: str | None = None, *, region: str | None = None, consequence: str = "nothing was changed", hint: str = ""
) -> boto3.Session:
    """:func:`aws_session`, and exit 2 saying how to give credentials (and ``consequence``) when there are none."""
    from botocore.exceptions import ProfileNotFound

    session = aws_session(profile, region=region, consequence=consequence)
    try:
        credentials = session.get_credentials()
    except ProfileNotFound as exc:  # a source_profile the named profile points to
        _profile_not_found(profile, exc.kwargs.get("profile"), consequence)
    if credentials is None:
        err.print(f"error: {NO_CREDENTIALS}; {consequence}." + (f" {hint}" if hint else ""), markup=False)
        raise typer.Exit(2)
    return session


def _profile_not_found(given: str | None, missing: object, consequence: str) -> NoReturn:
    name = missing or given or os.environ.get("AWS_PROFILE")
    source = "--profile" if given else "the AWS_PROFILE environment variable"
    err.print(f"error: AWS profile {name!r} is not in your AWS config (it comes from {source}); {consequence}",
              markup=False)  # fmt: skip
    raise typer.Exit(2)
