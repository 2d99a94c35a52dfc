"""Options ``ivr`` passes through to the CDK CLI (deploy, destroy, diff, bootstrap), and the credentials check.

Kept free of heavy imports: boto3 is imported inside the functions that need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

#: The CDK CLI's ``--require-approval`` levels (``cdk deploy --help``).
Approval = Literal["never", "any-change", "broadening"]

ProfileOption = Annotated[
    str | None, typer.Option("--profile", help="AWS profile for the CDK CLI and ivr's own calls (~/.aws/config)")
]
ApprovalOption = Annotated[
    Approval, typer.Option("--require-approval", help="When the CDK CLI asks before deploying security changes")
]
OutputsFileOption = Annotated[
    Path | None, typer.Option("--outputs-file", help="Write the stack outputs to this JSON file (cdk deploy)")
]
ContextOption = Annotated[
    list[str] | None, typer.Option("--context", help="KEY=VALUE context for the CDK app (repeat)")
]
JsonPlanOption = Annotated[bool, typer.Option("--json", help="With --dry-run: print the plan as JSON")]


def check_context(pairs: list[str] | None) -> list[str]:
    """``--context`` values, each ``KEY=VALUE``; a bad one exits 2 naming it."""
    from ivr.output import err

    for pair in pairs or []:
        key, sep, _ = pair.partition("=")
        if not sep or not key:
            err.print(f"error: --context takes KEY=VALUE, not {pair!r}", markup=False)
            raise typer.Exit(2)
    return list(pairs or [])


def credentials_missing(profile: str | None = None) -> bool:
    """True when boto3 finds no credentials (for ``profile``, if given); an unknown profile exits 2 naming it."""
    from ivr.output import aws_session

    return aws_session(profile).get_credentials() is None
