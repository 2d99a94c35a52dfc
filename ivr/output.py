"""What every ``ivr`` command shares: where it prints, and loading the deployment file or exiting with why."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

if TYPE_CHECKING:
    import boto3

    from regions.config import Deployment

console = Console(soft_wrap=True)


class _Errors(Console):
    """stderr; but when the command line holds ``--json``, an ``error: ...`` line goes to stdout as a JSON object
    (``{"error": "..."}``), so that a program reading the JSON output reads the failure too."""

    json_mode = False

    def print(self, *objects: Any, **kwargs: Any) -> None:
        first = objects[0] if objects else None
        if self.json_mode and isinstance(first, str) and first.startswith("error: "):
            typer.echo(json.dumps({"error": " ".join(map(str, objects)).removeprefix("error: ")}))
            return
        super().print(*objects, **kwargs)


#: Errors go to stderr unwrapped, so that a long message (a file and field, a list of pairs) stays on one line.
err = _Errors(stderr=True, soft_wrap=True, highlight=False)


class JsonErrorsGroup(TyperGroup):
    """The ``ivr`` command group: with ``--json`` on the command line, errors are JSON on stdout (see ``_Errors``),
    the parser's own (a bad option value, a missing argument) included."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        import sys

        given = list(args) if args is not None else sys.argv[1:]
        err.json_mode = "--json" in given
        return super().main(given, *rest, **kwargs)

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context (typer._click), not public
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:  # the parser's UsageError and BadParameter (typer's own click)
            message = getattr(exc, "format_message", None)
            if not err.json_mode or message is None:
                raise
            err.print(f"error: {message()}")
            raise typer.Exit(int(getattr(exc, "exit_code", 2))) from None


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
