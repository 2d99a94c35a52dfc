"""The kit's flow files: loading, placeholders, and the order flows must be created in.

A flow file is flow-language JSON whose ``Metadata`` carries ``name``, ``type`` (console style, such as
``contactFlow``) and ``description``. References to resources are ``%Kind.Name%`` placeholders, filled per region:
``%FunctionArn.CallerLookup%``, ``%BotAliasArn%``, ``%QueueArn.appointments%``, ``%HoursArn.clinic-hours%``,
``%FlowArn.after-hours%``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from flowkit.language import lint
from flowkit.language.catalogue import MODULE
from flowkit.language.lint import PLACEHOLDER, Finding, deployed_name, flow_type_of, has_errors, lint_flow

#: The kit's flows are data of the contact-center unit, ``connect/flows/``.
FLOWS_DIR = Path(__file__).resolve().parents[2] / "connect" / "flows"
#: The placeholder kinds the kit fills (defined beside the linter, which checks them).
PLACEHOLDER_KINDS = lint.PLACEHOLDER_KINDS


class FlowError(ValueError):
    """A flow file that cannot be deployed; the message lists each finding."""

    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = findings or []


@dataclass(frozen=True)
class FlowFile:
    """One flow as the kit deploys it."""

    name: str
    type: str
    description: str
    path: Path
    doc: dict[str, Any]

    @cached_property
    def placeholders(self) -> set[str]:
        """Every placeholder of the flow, read once: ordering, levels and checks ask for them many times."""
        return placeholders_in(self.doc)

    @property
    def flow_references(self) -> set[str]:
        """Names of the kit flows this flow transfers to or hooks."""
        return {p.split(".", 1)[1] for p in self.placeholders if p.startswith("FlowArn.")}

    @property
    def module_references(self) -> set[str]:
        """Names of the kit's flow modules this flow invokes (``%ModuleArn.name%``)."""
        return {p.split(".", 1)[1] for p in self.placeholders if p.startswith("ModuleArn.")}

    @property
    def references(self) -> set[str]:
        """Every kit flow or module that must exist before this one is published."""
        return self.flow_references | self.module_references

    @property
    def is_module(self) -> bool:
        return self.type == MODULE

    @property
    def module_settings(self) -> str | None:
        """A module's Settings (``FlowModuleSettings``, a JSON string in the connect model) from
        ``Metadata.settings``, as ``ivr flows export`` writes it; None when the file has none."""
        value = (self.doc.get("Metadata") or {}).get("settings")
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def content(self) -> dict[str, Any]:
        """What Connect receives: the flow without the kit's Metadata."""
        return {k: v for k, v in self.doc.items() if k != "Metadata"}


def placeholders_in(value: Any) -> set[str]:
    """Every ``Kind.Name`` (or ``Kind``) placeholder in a flow document."""
    text = json.dumps(value)
    return {m.group(1) + (f".{m.group(2)}" if m.group(2) else "") for m in PLACEHOLDER.finditer(text)}


def fill(value: Any, values: Mapping[str, str]) -> Any:
    """Replace placeholders by their values; a placeholder without a value is an error naming it."""
    missing = sorted(placeholders_in(value) - set(values))
    if missing:
        raise FlowError(
            f"no value for placeholder(s) {', '.join('%' + m + '%' for m in missing)}; "
            f"known: {', '.join(sorted(values))}"
        )

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return PLACEHOLDER.sub(lambda m: values[m.group(1) + (f".{m.group(2)}" if m.group(2) else "")], item)
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value)  # a new document: walk rebuilds every dict and list, and the rest is immutable


def load_flow(path: Path) -> FlowFile:
    """Read, lint and describe one flow file; errors raise FlowError with the linter's findings."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlowError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise FlowError(f"{path}: not valid JSON: {exc}") from None
    findings = lint_flow(doc, str(path), deploying=True)  # the kit deploys it to both Regions
    if has_errors(findings):
        errors = [f for f in findings if f.severity == "error"]
        raise FlowError("flow lint failed:\n" + "\n".join(f"  {f}" for f in errors), findings)
    meta = doc.get("Metadata") or {}
    flow_type = flow_type_of(doc)
    if flow_type is None:
        raise FlowError(f"{path}: Metadata.type must name the flow type (for example contactFlow, customerQueue)")
    return FlowFile(
        name=deployed_name(doc, str(path)) or path.stem,
        type=flow_type,
        description=str(meta.get("description") or ""),
        path=path,
        doc=doc,
    )


def load_flows(directory: Path = FLOWS_DIR) -> list[FlowFile]:
    """All flow files of a directory, checked, by name; ``creation_order`` sorts them for CloudFormation."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise FlowError(f"{directory}: no flow files (*.json)")
    flows = [load_flow(p) for p in files]
    names = [f.name for f in flows]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise FlowError(f"{directory}: flow names used twice: {', '.join(sorted(duplicates))}")
    flow_names = {f.name for f in flows if not f.is_module}
    module_names = {f.name for f in flows if f.is_module}
    for flow in flows:
        for kind, wanted, known in (
            ("flow", flow.flow_references, flow_names),
            ("module", flow.module_references, module_names),
        ):
            unknown = wanted - known
            if unknown:
                raise FlowError(
                    f"{flow.path}: references {kind}(s) {', '.join(sorted(unknown))}, which the kit does not have "
                    f"({kind}s: {', '.join(sorted(known)) or 'none'})"
                )
    return sorted(flows, key=lambda f: f.name)


def creation_order(flows: list[FlowFile]) -> list[FlowFile]:
    """Referenced flows first. CloudFormation cannot create flows that reference each other in a cycle."""
    by_name = {f.name: f for f in flows}
    ordered: list[FlowFile] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise FlowError(
                f"flows reference each other in a cycle ({cycle}); break it with a contact attribute "
                "or load them with `ivr flows load`, which creates first and fills after"
            )
        visiting.append(name)
        for ref in sorted(by_name[name].references):
            visit(ref)
        visiting.pop()
        ordered.append(by_name[name])
        done.add(name)

    for flow in sorted(flows, key=lambda f: f.name):
        visit(flow.name)
    return ordered
