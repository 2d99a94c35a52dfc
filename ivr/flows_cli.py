"""``ivr flows``: lint, render, import and load contact flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from connect.flow_files import FLOWS_DIR
from connect.flow_lint import Finding, has_errors, lint_path
from connect.flow_render import to_mermaid

app = typer.Typer(help="Contact flows: lint, render, import, load.", no_args_is_help=True)
console = Console()
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _flow_paths(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths or [FLOWS_DIR]:
        if path.is_dir():
            found += sorted(path.glob("*.json"))
        elif path.exists():
            found.append(path)
        else:
            err.print(f"error: {path}: no such file or directory")
            raise typer.Exit(2)
    if not found:
        err.print(f"error: no flow files (*.json) in {', '.join(map(str, paths or [FLOWS_DIR]))}")
        raise typer.Exit(2)
    return found


def resolve_flow(name_or_path: str) -> Path:
    """A kit flow by name (``inbound-menu``) or a path to a flow file."""
    path = Path(name_or_path)
    if path.exists():
        return path
    candidate = FLOWS_DIR / f"{name_or_path}.json"
    if candidate.exists():
        return candidate
    kit = ", ".join(sorted(p.stem for p in FLOWS_DIR.glob("*.json")))
    err.print(f"error: {name_or_path!r} is neither a file nor a kit flow (kit flows: {kit})")
    raise typer.Exit(2)


@app.command()
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Flow files or directories (default: connect/flows)")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Lint flows offline. Exit 0 with no error, 1 with errors, 2 on a usage or read error."""
    if output_format not in ("text", "json"):
        err.print("error: --format must be text or json")
        raise typer.Exit(2)
    findings: list[Finding] = []
    for path in _flow_paths(paths or []):
        try:
            findings += lint_path(path)
        except (OSError, UnicodeDecodeError) as exc:
            err.print(f"error: {path}: cannot read: {exc}")
            raise typer.Exit(2) from None
    if output_format == "json":
        typer.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            style = "red" if finding.severity == "error" else "yellow"
            console.print(f"[{style}]{finding}[/{style}]", highlight=False)
        errors = sum(f.severity == "error" for f in findings)
        console.print(f"{errors} errors, {len(findings) - errors} warnings", highlight=False)
    raise typer.Exit(1 if has_errors(findings) else 0)


@app.command()
def render(
    flow: Annotated[str, typer.Argument(help="A kit flow name or a flow file")],
    output_format: Annotated[str, typer.Option("--format", help="mermaid")] = "mermaid",
    output: Annotated[Path | None, typer.Option("-o", help="Write to this file instead of stdout")] = None,
) -> None:
    """Render a flow as a Mermaid flowchart that GitHub displays."""
    if output_format != "mermaid":
        err.print("error: --format supports mermaid")
        raise typer.Exit(2)
    path = resolve_flow(flow)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        err.print(f"error: {path}: {exc}")
        raise typer.Exit(2) from None
    chart = to_mermaid(doc)
    if output:
        output.write_text(chart, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        typer.echo(chart, nl=False)
