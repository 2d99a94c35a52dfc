"""Options ``ivr`` passes through to the CDK CLI (deploy, destroy, diff, bootstrap).

``--profile``, ``--region`` and ``--json``, which every command that talks to AWS shares, are in
``ivr/aws_options.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

#: The CDK CLI's ``--require-approval`` levels (``cdk deploy --help``).
Approval = Literal["never", "any-change", "broadening"]

ApprovalOption = Annotated[
    Approval, typer.Option("--require-approval", help="When the CDK CLI asks before deploying security changes")
]
OutputsFileOption = Annotated[
    Path | None, typer.Option("--outputs-file", help="Write the stack outputs to this JSON file (cdk deploy)")
]
ContextOption = Annotated[
    list[str] | None, typer.Option("--context", help="KEY=VALUE context for the CDK app (repeat)")
]


def check_context(pairs: list[str] | None) -> list[str]:
    """``--context`` values, each ``KEY=VALUE``; a bad one exits 2 naming it."""
    from ivr.output import err

    for pair in pairs or []:
        key, sep, _ = pair.partition("=")
        if not sep or not key:
            err.print(f"error: --context takes KEY=VALUE, not {pair!r}", markup=False)
            raise typer.Exit(2)
    return list(pairs or [])
