"""``ivr flows``: lint, render, import and load contact flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flowkit.language.files import FLOWS_DIR
from flowkit.language.lint import Finding, has_errors, lint_path
from flowkit.language.render import to_mermaid
from ivr.output import console, deployment_or_exit, err

if TYPE_CHECKING:
    from runbooks.flow_loader import LoadReport

app = typer.Typer(help="Contact flows: lint, render, import, load.", no_args_is_help=True)


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


def _parse_values(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            err.print(
                f"error: --value takes KIND.NAME=VALUE (for example FunctionArn.CallerLookup=arn:...), not {pair!r}"
            )
            raise typer.Exit(2)
        values[key] = value
    return values


@app.command()
def load(
    instance_id: Annotated[str | None, typer.Option("--instance-id", help="Target instance id")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region of the instance or stack")] = None,
    stack: Annotated[str | None, typer.Option("--stack", help="A deployed stack of this kit to load into")] = None,
    flows_dir: Annotated[Path, typer.Option("--flows", help="Directory of flow files")] = FLOWS_DIR,
    value: Annotated[list[str] | None, typer.Option("--value", help="KIND.NAME=VALUE for a placeholder")] = None,
    name_suffix: Annotated[str, typer.Option("--name-suffix", help="Appended to every flow name")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff; write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file (names of queues and hours)")] = (
        FLOWS_DIR.parent.parent / "regions" / "clinic.yaml"
    ),
) -> None:
    """Load flows into an existing instance: create missing, update changed, leave unchanged ones alone."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from flowkit.language.files import FlowError, load_flows
    from ivr.stack_outputs import StackOutputsError, read_outputs, target_from_instance, target_from_outputs
    from runbooks.flow_loader import CONNECT_RETRIES, FlowLoader

    if bool(instance_id) == bool(stack) or (instance_id and not region):
        err.print("error: give either --instance-id ID --region R, or --stack NAME [--region R]")
        raise typer.Exit(2)
    try:
        flows = load_flows(flows_dir)
    except FlowError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1 if exc.findings else 2) from None
    extra = _parse_values(value or [])
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        err.print("error: no AWS credentials found (set AWS_PROFILE or run `aws sso login`); nothing was loaded")
        raise typer.Exit(2)
    client = session.client("connect", config=CONNECT_RETRIES)
    try:
        if stack:
            deployment = deployment_or_exit(config)
            names = {"QueueArn": [q.name for q in deployment.queues], "HoursArn": [h.name for h in deployment.hours]}
            target = target_from_outputs(read_outputs(session.client("cloudformation"), stack), names)
            target.values.update(extra)
        else:
            assert instance_id is not None
            target = target_from_instance(client, instance_id, extra)
        report = FlowLoader(client, target.instance_id, name_suffix=name_suffix or target.name_suffix).load(
            flows, target.values, dry_run=dry_run
        )
    except StackOutputsError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    except NoCredentialsError:
        err.print("error: no AWS credentials found; nothing was loaded")
        raise typer.Exit(2) from None
    except (ClientError, BotoCoreError) as exc:
        err.print(f"error: {exc} (nothing was written before this call)")
        raise typer.Exit(1) from None
    _print_report(report, as_json)
    raise typer.Exit(0 if report.ok else 1)


def _print_report(report: LoadReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    for result in report.results:
        line = f"{result.name}: {result.status}" + (f" ({result.message})" if result.message else "")
        console.print(line, markup=False, highlight=False)
        for problem in result.problems:
            console.print(f"    problem: {problem}", markup=False, highlight=False)
        if result.diff:
            console.print(result.diff, markup=False, highlight=False)
    console.print(f"API calls: {report.calls}", markup=False, highlight=False)


@app.command("import")
def import_(
    exported: Annotated[Path, typer.Argument(help="A flow exported from the Connect console")],
    output: Annotated[Path | None, typer.Option("-o", help="Write the kit flow here (default: stdout)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Flow name (default: the export's)")] = None,
) -> None:
    """Convert a console export into the kit's format: placeholders for ARNs and ids, no volatile metadata."""
    from flowkit.language.importer import import_flow

    try:
        exported_doc = json.loads(exported.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        err.print(f"error: {exported}: {exc}")
        raise typer.Exit(2) from None
    if not isinstance(exported_doc, dict) or "Actions" not in exported_doc:
        err.print(f"error: {exported}: not a flow (no Actions)")
        raise typer.Exit(2)
    result = import_flow(exported_doc, name)
    text = json.dumps(result.doc, indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)
    for key, value in sorted(result.placeholders.items()):
        err.print(f"placeholder %{key}% replaces {value}")
    for finding in result.findings:
        err.print(f"left to fix: {finding}")
    if not has_errors(result.findings):
        err.print(
            f"{output or 'the flow'} lints clean" + (f"; {len(result.findings)} warnings" if result.findings else "")
        )
    raise typer.Exit(1 if has_errors(result.findings) else 0)
