"""``ivr flows``: lint, render, import, load, export and diff contact flows.

Exit codes: 0 clean, 1 findings or differences, 2 a usage error or a file that cannot be read (not UTF-8, not JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from flowkit.language.files import FLOWS_DIR
from flowkit.language.lint import Finding, cap_per_file, duplicate_names, has_errors, lint_path, parse, summary_lines
from flowkit.language.render import to_mermaid
from ivr.aws_options import JsonOption, ProfileOption, RegionOption, aws_command, deployment_session, offline_command
from ivr.output import console, deployment_or_exit, err
from ivr.progress import Stages

if TYPE_CHECKING:
    from flowkit.language.files import FlowFile
    from ivr.stack_outputs import FlowTarget
    from regions.config import Deployment
    from runbooks.flow_loader import FlowLoader, LoadReport

app = typer.Typer(help="Contact flows: lint, render, import, load, export, diff.", no_args_is_help=True)
TYPE_HELP = "Flow type (contactFlow, customerQueue, customerHold, agentWhisper, module...; default: from the file)"


def _check_type(flow_type: str | None) -> str | None:
    from flowkit.language.catalogue import normalise_flow_type

    if flow_type is None:
        return None
    found = normalise_flow_type(flow_type)
    if found is None:
        err.print(f"error: --type {flow_type!r} is not a flow type; use contactFlow, customerQueue, customerHold, "
                  "customerWhisper, agentHold, agentWhisper, outboundWhisper, agentTransfer, queueTransfer or module",
                  markup=False)  # fmt: skip
        raise typer.Exit(2)
    return found


def _read_json(path: Path) -> Any:
    """A JSON file, or exit 2 naming the file and what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            from flowkit.language.documents import read_template_yaml

            return read_template_yaml(text)
        return parse(text)
    except OSError as exc:
        err.print(f"error: {path}: cannot read: {exc.strerror or exc}", markup=False)
    except UnicodeDecodeError as exc:
        err.print(f"error: {path}: not UTF-8 text (byte {exc.start}): flows are JSON in UTF-8", markup=False)
    except ValueError as exc:
        err.print(f"error: {path}: not valid JSON: {exc}", markup=False)
    raise typer.Exit(2)


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


#: Findings printed per file by default in text; the summary below them counts every finding.
MAX_FINDINGS_PER_FILE = 20


def _is_deployed(path: Path) -> bool:
    """Whether the kit deploys this file: it is in the deployment's flows folder (connect/flows)."""
    try:
        return path.resolve().is_relative_to(FLOWS_DIR.resolve())
    except OSError:
        return False


@app.command()
@offline_command
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Flow files or directories (default: connect/flows)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as a JSON list")] = False,
    output_format: Annotated[str, typer.Option("--format", help="text or json (--json is the same as json)")] = "text",
    flow_type: Annotated[str | None, typer.Option("--type", help=TYPE_HELP)] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Also check the placeholders and Lex branches against this deployment"),
    ] = None,
    deploying: Annotated[
        bool | None,
        typer.Option(
            "--deploying/--not-deploying",
            help="Lint as flows the kit deploys to two Regions (a literal ARN, account or Region is an error) or "
            "as flows only linted (those are warnings). Default: deploying for files in connect/flows.",
        ),
    ] = None,
    max_findings: Annotated[
        int | None,
        typer.Option(
            "--max-findings",
            min=0,
            help=f"Findings printed per file, then a count of the rest (default {MAX_FINDINGS_PER_FILE} in text, "
            "all in JSON; 0 for all)",
        ),
    ] = None,
) -> None:
    """Lint flows offline (flow files, DescribeContactFlow responses, CloudFormation templates).

    Exit 0 with no error, 1 with errors, 2 on a usage error or a file that is not UTF-8 JSON.
    """
    if output_format not in ("text", "json"):
        err.print("error: --format must be text or json")
        raise typer.Exit(2)
    as_json = as_json or output_format == "json"
    api_type = _check_type(flow_type)
    findings: list[Finding] = []
    unreadable = 0
    files = _flow_paths(paths or [])
    for path in files:
        try:
            findings += lint_path(path, api_type, deploying=_is_deployed(path) if deploying is None else deploying)
        except OSError as exc:
            err.print(f"error: {path}: cannot read: {exc.strerror or exc}", markup=False)
            unreadable += 1
        except UnicodeDecodeError as exc:
            err.print(f"error: {path}: not UTF-8 text (byte {exc.start}): flows are JSON in UTF-8", markup=False)
            unreadable += 1
    findings += duplicate_names(files)
    if config is not None:  # the deployment checks load the config model and the bot: only when asked
        findings += _deployment_findings(files, config)
    cap = (0 if as_json else MAX_FINDINGS_PER_FILE) if max_findings is None else max_findings
    shown, hidden = cap_per_file(findings, cap)
    if as_json:
        typer.echo(json.dumps([f.as_dict() for f in shown], indent=2))
    else:
        for finding in shown:
            # A Text, not markup: "[Identifier]" in a finding is data, and rich would swallow it as a tag.
            console.print(Text(str(finding), style="red" if finding.severity == "error" else "yellow"))
        for file, count in hidden.items():
            console.print(f"{file}: {count} more findings not shown (--max-findings 0 shows all)", highlight=False,
                          markup=False)  # fmt: skip
        if len({f.file for f in findings}) > 1 or hidden:
            for line in summary_lines(findings):
                console.print(line, highlight=False, markup=False)
        errors = sum(f.severity == "error" for f in findings)
        console.print(f"{errors + unreadable} errors, {len(findings) - errors} warnings", highlight=False,
                      markup=False)  # fmt: skip
    if unreadable or any(f.rule == "json" for f in findings):
        raise typer.Exit(2)
    raise typer.Exit(1 if has_errors(findings) else 0)


def _deployment_findings(paths: list[Path], config: Path) -> list[Finding]:
    """flowkit.language.deployment_checks over the files linted (those that parse), for one deployment file."""
    from flowkit.language.deployment_checks import FlowDoc, check_flows, flow_name
    from lex.model import BotModelError, load_bot_model

    deployment = deployment_or_exit(config)
    try:
        bot = load_bot_model()
    except BotModelError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    docs = []
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # the linter has reported it
        if isinstance(doc, dict):
            docs.append(FlowDoc(str(path), flow_name(doc, path.stem), doc))
    kit = []
    for path in sorted(FLOWS_DIR.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        kit.append(FlowDoc(str(path), flow_name(doc, path.stem), doc))
    return check_flows(docs, deployment, bot, str(config), also_flows=kit)


@app.command()
@offline_command
def render(
    flow: Annotated[str, typer.Argument(help="A kit flow name or a flow file")],
    output_format: Annotated[str, typer.Option("--format", help="mermaid")] = "mermaid",
    output: Annotated[Path | None, typer.Option("-o", help="Write to this file instead of stdout")] = None,
) -> None:
    """Render a flow as a Mermaid flowchart that GitHub displays."""
    if output_format != "mermaid":
        err.print("error: --format supports mermaid")
        raise typer.Exit(2)
    from flowkit.language.documents import DocumentError, looks_like_flow, unwrap

    path = resolve_flow(flow)
    data = _read_json(path)
    try:
        docs = [data] if looks_like_flow(data) else [f.doc for f in unwrap(data)]
    except DocumentError as exc:
        err.print(f"error: {path}: {exc}", markup=False)
        raise typer.Exit(2) from None
    if not docs:
        # An empty chart with exit 0 would pass a non-flow (a JSON array, a package.json) off as a flow.
        err.print(f"error: {path}: no flow found (no Actions, and no flow wrapper around one)", markup=False)
        raise typer.Exit(2)
    chart = "\n".join(to_mermaid(doc) for doc in docs)
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
@aws_command(writes=True, region=True)
def load(
    instance_id: Annotated[str | None, typer.Option("--instance-id", help="Target instance id")] = None,
    region: RegionOption = None,
    stack: Annotated[str | None, typer.Option("--stack", help="A deployed stack of this kit to load into")] = None,
    flows_dir: Annotated[Path, typer.Option("--flows", help="Directory of flow files")] = FLOWS_DIR,
    value: Annotated[list[str] | None, typer.Option("--value", help="KIND.NAME=VALUE for a placeholder")] = None,
    name_suffix: Annotated[str, typer.Option("--name-suffix", help="Appended to every flow name")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff; write nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before writing to the instance")] = False,
    as_json: JsonOption = False,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file (names of queues and hours)")] = (
        FLOWS_DIR.parent.parent / "regions" / "clinic.yaml"
    ),
    profile: ProfileOption = None,
) -> None:
    """Load flows into an existing instance: create missing, update changed, leave unchanged ones alone.

    With --stack of the deployment file, the account is checked against the file's; with --instance-id there is
    no deployment to check against."""
    from runbooks.flow_loader import FlowLoader

    _check_target(instance_id, stack, region)
    flows = _flows_or_exit(flows_dir)
    extra = _parse_values(value or [])
    with _aws_errors("nothing was loaded"):
        client, target = _connect_target(instance_id, region, stack, config, extra, need_values=True,
                                         profile=profile, writes=not dry_run)  # fmt: skip
        loader = FlowLoader(client, target.instance_id, name_suffix=name_suffix or target.name_suffix)
        if not dry_run and not yes:
            _confirm_load(FlowLoader(client, target.instance_id, name_suffix=loader.suffix), flows, target.values,
                          as_json)  # fmt: skip
        stage = Stages()
        stage.start(f"{'comparing' if dry_run else 'loading'} {len(flows)} flow(s) in instance {target.instance_id}")
        report = loader.load(flows, target.values, dry_run=dry_run)
        stage.done(f"{report.calls} API calls")
    _print_report(report, as_json)
    raise typer.Exit(0 if report.ok else 1)


def _confirm_load(preview: FlowLoader, flows: list[FlowFile], values: dict[str, str], as_json: bool) -> None:
    """Show what loading would change and ask, as failover and destroy do; exit when nothing would change."""
    report = preview.load(flows, values, dry_run=True)
    _print_report(report, as_json)
    if all(r.status == "unchanged" for r in report.results):
        raise typer.Exit(0)
    region = preview.client.meta.region_name
    if not typer.confirm(f"Write these flows to instance {preview.instance_id} in {region}?", err=as_json):
        err.print("nothing was loaded")
        raise typer.Exit(1)


def _stack_region(stack: str, config: Path) -> str:
    """The region of a stack of the deployment file (its primary's or its DR's); else the primary region."""
    deployment = deployment_or_exit(config)
    for role in ("primary", "dr"):
        settings = deployment.region(role)
        if settings.stack_name == stack:
            return settings.region
    err.print(f"note: {stack} is not a stack of {config}; using its primary region {deployment.primary_region}",
              markup=False)  # fmt: skip
    return deployment.primary_region


def _owner(stack: str | None, config: Path) -> Deployment | None:
    """The deployment whose stack ``stack`` is (its account is then checked), or None (an instance by id, or a
    stack the file does not name: nothing to check against)."""
    if not stack:
        return None
    deployment = deployment_or_exit(config)
    names = {deployment.region(role).stack_name for role in ("primary", "dr")}
    return deployment if stack in names else None


def _flows_or_exit(flows_dir: Path) -> list[FlowFile]:
    """The folder's flows, checked; on a finding or a bad file, its message and exit 1 (findings) or 2."""
    from flowkit.language.files import FlowError, load_flows

    try:
        return load_flows(flows_dir)
    except FlowError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1 if exc.findings else 2) from None


def _check_target(instance_id: str | None, stack: str | None, region: str | None) -> None:
    if bool(instance_id) == bool(stack) or (instance_id and not region):
        err.print("error: give either --instance-id ID --region R, or --stack NAME [--region R]")
        raise typer.Exit(2)


def _connect_target(instance_id: str | None, region: str | None, stack: str | None, config: Path,
                    extra: dict[str, str], *, need_values: bool, profile: str | None,
                    writes: bool) -> tuple[Any, FlowTarget]:  # fmt: skip
    """A Connect client and the target instance (with placeholder values when ``need_values``), on the session of
    ``profile``, after the account check when the stack is the deployment file's."""
    from ivr.output import session_with_credentials
    from ivr.stack_outputs import FlowTarget, read_outputs, target_from_instance, target_from_outputs
    from runbooks.flow_loader import CONNECT_RETRIES

    if stack and not region:
        region = _stack_region(stack, config)
    owner = _owner(stack, config)
    if owner is not None:
        session = deployment_session(owner, config, profile=profile, region=region, writes=writes,
                                     consequence="nothing was done")  # fmt: skip
    else:
        session = session_with_credentials(profile, region=region, consequence="nothing was done")
    client = session.client("connect", config=CONNECT_RETRIES)
    if stack:
        deployment = deployment_or_exit(config)
        names = {"QueueArn": [q.name for q in deployment.queues], "HoursArn": [h.name for h in deployment.hours]}
        target = target_from_outputs(read_outputs(session.client("cloudformation"), stack), names)
        target.values.update(extra)
        return client, target
    assert instance_id is not None
    if not need_values:
        return client, FlowTarget(instance_id, dict(extra))
    return client, target_from_instance(client, instance_id, extra)


@contextmanager
def _aws_errors(consequence: str) -> Iterator[None]:
    """Turn AWS and stack errors into a message and an exit code (2 setup, 1 an API error)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from ivr.stack_outputs import StackOutputsError

    try:
        yield
    except StackOutputsError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except NoCredentialsError:
        err.print(f"error: no AWS credentials found; {consequence}", markup=False)
        raise typer.Exit(2) from None
    except (ClientError, BotoCoreError) as exc:
        err.print(f"error: {exc} ({consequence} after this call)", markup=False)
        raise typer.Exit(1) from None


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
@offline_command
def import_(
    exported: Annotated[Path, typer.Argument(help="A console export, DescribeContactFlow response or template")],
    output: Annotated[
        Path | None, typer.Option("-o", help="Write the kit flow here (a directory when the file holds several)")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Flow name (default: the export's, else the file's)")
    ] = None,
    flow_type: Annotated[str | None, typer.Option("--type", help=TYPE_HELP)] = None,
) -> None:
    """Convert a flow into the kit's format: placeholders for ARNs and ids, no volatile metadata, name and type set."""
    from flowkit.language.documents import DocumentError
    from flowkit.language.importer import import_document

    data = _read_json(exported)
    try:
        results = import_document(data, name, _check_type(flow_type))
    except DocumentError as exc:
        err.print(f"error: {exported}: {exc}", markup=False)
        raise typer.Exit(2) from None
    if not results:
        err.print(f"error: {exported}: no flow found (no Actions, no ContactFlow, no AWS::Connect::ContactFlow)",
                  markup=False)  # fmt: skip
        raise typer.Exit(2)
    if len(results) > 1 and (output is None or output.suffix == ".json"):
        err.print(f"error: {exported} holds {len(results)} flows: give -o DIRECTORY", markup=False)
        raise typer.Exit(2)
    failed = False
    for result in results:
        meta = result.doc["Metadata"]
        if "name" not in meta:  # the file's own name, so that the result loads without hand edits
            meta["name"] = exported.stem
            result.findings = [f for f in result.findings if f.rule != "flow-name"]
        text = json.dumps(result.doc, indent=2) + "\n"
        target = output / f"{meta['name']}.json" if output and len(results) > 1 else output
        if target:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        else:
            typer.echo(text, nl=False)
        for key, value in sorted(result.placeholders.items()):
            err.print(f"placeholder %{key}% replaces {value}", markup=False)
        for finding in result.findings:
            err.print(f"left to fix: {finding}", markup=False)
        failed = failed or has_errors(result.findings)
        if not has_errors(result.findings):
            warnings = f"; {len(result.findings)} warnings" if result.findings else ""
            err.print(f"{target or meta['name']} lints clean{warnings}", markup=False)
    raise typer.Exit(1 if failed else 0)


@app.command()
@aws_command(writes=False, region=True)
def export(
    out: Annotated[Path, typer.Argument(help="Directory to write the flows and modules to")],
    instance_id: Annotated[str | None, typer.Option("--instance-id", help="Source instance id")] = None,
    region: RegionOption = None,
    stack: Annotated[str | None, typer.Option("--stack", help="A deployed stack of this kit")] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file")] = (
        FLOWS_DIR.parent.parent / "regions" / "clinic.yaml"
    ),
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save every flow and module of a live instance as kit flow files (a backup, or the start of adopting it)."""
    from runbooks.flow_loader import export_instance

    _check_target(instance_id, stack, region)
    if out.exists() and not out.is_dir():
        err.print(f"error: {out}: is a file; export writes a folder of flow files", markup=False)
        raise typer.Exit(2)
    with _aws_errors("some files may have been written"):
        client, target = _connect_target(instance_id, region, stack, config, {}, need_values=False,
                                         profile=profile, writes=False)  # fmt: skip
        stage = Stages()
        stage.start(f"exporting the flows and modules of instance {target.instance_id} into {out}")
        report = export_instance(client, target.instance_id, out)
        stage.done()
    if as_json:
        typer.echo(json.dumps({"written": [str(p) for p in report.written], "left_to_fix": report.left_to_fix,
                               "placeholders": len(report.placeholders), "calls": report.calls}, indent=2,
                              default=str))  # fmt: skip
        return
    for path in report.written:
        console.print(f"wrote {path}", markup=False, highlight=False)
    for problem in report.left_to_fix:
        err.print(f"left to fix: {problem}", markup=False)
    console.print(f"{len(report.written)} flows and modules, {len(report.placeholders)} placeholders; "
                  f"API calls: {report.calls}", markup=False, highlight=False)  # fmt: skip


@app.command()
@aws_command(writes=False, region=True)
def diff(
    flows_dir: Annotated[Path, typer.Argument(help="Directory of flow files")] = FLOWS_DIR,
    instance_id: Annotated[str | None, typer.Option("--instance-id", help="Instance to compare with")] = None,
    region: RegionOption = None,
    stack: Annotated[str | None, typer.Option("--stack", help="A deployed stack of this kit")] = None,
    value: Annotated[list[str] | None, typer.Option("--value", help="KIND.NAME=VALUE for a placeholder")] = None,
    name_suffix: Annotated[str, typer.Option("--name-suffix", help="Appended to every flow name")] = "",
    as_json: JsonOption = False,
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file")] = (
        FLOWS_DIR.parent.parent / "regions" / "clinic.yaml"
    ),
    profile: ProfileOption = None,
) -> None:
    """Compare a folder of flows with a live instance. Exit 0 when they agree, 1 when they differ. Writes nothing."""
    from runbooks.flow_loader import FlowLoader

    _check_target(instance_id, stack, region)
    flows = _flows_or_exit(flows_dir)
    with _aws_errors("nothing was written"):
        client, target = _connect_target(instance_id, region, stack, config, _parse_values(value or []),
                                         need_values=True, profile=profile, writes=False)  # fmt: skip
        stage = Stages()
        stage.start(f"comparing {len(flows)} flow(s) with instance {target.instance_id}")
        report = FlowLoader(client, target.instance_id, name_suffix=name_suffix or target.name_suffix).diff(
            flows, target.values
        )
        stage.done()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        words = {"unchanged": "same", "would-create": "missing on the instance", "would-update": "differs"}
        for result in report.results:
            line = f"{result.name}: {words.get(result.status, result.status)}"
            console.print(line + (f" ({result.message})" if result.message else ""), markup=False, highlight=False)
            if result.diff:
                console.print(result.diff, markup=False, highlight=False)
        for name in report.only_in_instance:
            console.print(f"{name}: only on the instance", markup=False, highlight=False)
    same = all(r.status == "unchanged" for r in report.results) and not report.only_in_instance
    raise typer.Exit(0 if same else 1)
