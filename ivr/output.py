"""What every ``ivr`` command shares: where it prints, and loading the deployment file or exiting with why."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from regions.config import Deployment

console = Console(soft_wrap=True)
#: Errors go to stderr unwrapped, so that a long message (a file and field, a list of pairs) stays on one line.
err = Console(stderr=True, soft_wrap=True, highlight=False)


def deployment_or_exit(config: Path) -> Deployment:
    """The validated deployment file; on a bad file, its message (file and field) and exit code 2."""
    # Imported here: the deployment model (pydantic, YAML) costs a fifth of a second, and not every command reads it.
    from regions.config import ConfigError, load_deployment

    try:
        return load_deployment(config)
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
