"""Turn a flow exported from the Connect console into the kit's format.

ARNs and resource ids become ``%Kind.Name%`` placeholders, named from the resource where the export's
metadata says what it is (``displayName``, ``queue.text`` and the like) and from the ARN otherwise. Volatile
metadata (layout, hashes, status) is dropped; the flow keeps its name, description and type.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from flowkit.language.lint import Finding, lint_flow

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_ARN = re.compile(r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):[a-z0-9-]*:\d{12}:(?P<resource>.+)$")

#: Parameters that hold an id or ARN of a known kind of resource.
ID_PARAMETERS = {
    "QueueId": "QueueArn",
    "HoursOfOperationId": "HoursArn",
    "ContactFlowId": "FlowArn",
    "FlowModuleId": "ModuleArn",
    "PromptId": "PromptArn",
    "LambdaFunctionARN": "FunctionArn",
    "AliasArn": "BotAliasArn",
}
KEPT_METADATA = ("name", "description", "type")


@dataclass
class ImportResult:
    """The converted flow, the placeholders it now needs, and what the linter still finds."""

    doc: dict[str, Any]
    placeholders: dict[str, str] = field(default_factory=dict)  # placeholder -> the value it replaced
    findings: list[Finding] = field(default_factory=list)


def _kind_from_arn(value: str) -> tuple[str, str] | None:
    """(kind, name) for an ARN, or None if it is not one the kit knows how to name."""
    match = _ARN.match(value)
    if not match:
        return None
    service, resource = match.group("service"), match.group("resource")
    if service == "lambda" and resource.startswith("function:"):
        return "FunctionArn", resource.split(":")[1]
    if service == "lex" and resource.startswith("bot-alias/"):
        return "BotAliasArn", ""
    for marker, kind in (("/queue/", "QueueArn"), ("/operating-hours/", "HoursArn"), ("/contact-flow/", "FlowArn"),
                         ("/flow-module/", "ModuleArn"), ("/prompt/", "PromptArn")):  # fmt: skip
        if marker in resource:
            return kind, resource.rsplit("/", 1)[-1]
    return None


def _display_names(meta: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per action, per parameter: the human name the console recorded for the resource."""
    names: dict[str, dict[str, str]] = {}
    for ident, action_meta in (meta.get("ActionMetadata") or {}).items():
        if not isinstance(action_meta, dict):
            continue
        found: dict[str, str] = {}
        for param, info in (action_meta.get("parameters") or {}).items():
            if isinstance(info, dict) and isinstance(info.get("displayName"), str):
                found[param] = info["displayName"]
        for key, param in (("queue", "QueueId"), ("hoursOfOperation", "HoursOfOperationId"),
                           ("contactFlow", "ContactFlowId"), ("lambdaFunction", "LambdaFunctionARN")):  # fmt: skip
            info = action_meta.get(key)
            if isinstance(info, dict) and isinstance(info.get("text"), str):
                found.setdefault(param, info["text"])
        names[ident] = found
    return names


def _placeholder_name(raw: str) -> str:
    name = _SAFE.sub("-", raw.split(":", maxsplit=1)[0]).strip("-")
    return name or "unnamed"


class _Converter:
    """Replaces ARNs and ids by placeholders, one placeholder per distinct resource."""

    def __init__(self, display: dict[str, dict[str, str]], result: ImportResult) -> None:
        self.display = display
        self.result = result
        self.taken: dict[str, str] = {}  # value -> placeholder text

    def placeholder(self, kind: str, label: str, value: str) -> str:
        if value in self.taken:
            return self.taken[value]
        key = kind if kind == "BotAliasArn" and not label else f"{kind}.{_placeholder_name(label)}"
        base, suffix = key, 2
        while key in self.result.placeholders and self.result.placeholders[key] != value:
            key, suffix = f"{base}-{suffix}", suffix + 1
        self.result.placeholders[key] = value
        self.taken[value] = f"%{key}%"
        return self.taken[value]

    def convert(self, ident: str, param: str | None, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.convert(ident, k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.convert(ident, param, v) for v in value]
        if not isinstance(value, str) or value.startswith("$."):
            return value
        label = self.display.get(ident, {}).get(param or "", "")
        by_arn = _kind_from_arn(value)
        if by_arn:
            kind, arn_name = by_arn
            return self.placeholder(kind, label or arn_name, value)
        if param in ID_PARAMETERS and _UUID.match(value):
            return self.placeholder(ID_PARAMETERS[param], label or value[:8], value)
        return value


def import_flow(exported: dict[str, Any], name: str | None = None) -> ImportResult:
    """Convert one exported flow; the input is not modified."""
    doc = copy.deepcopy(exported)
    raw_meta = doc.get("Metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    result = ImportResult(doc=doc)
    converter = _Converter(_display_names(meta), result)
    for action in doc.get("Actions", []):
        if isinstance(action, dict) and isinstance(action.get("Parameters"), dict):
            action["Parameters"] = converter.convert(str(action.get("Identifier")), None, action["Parameters"])
    kept = {k: meta[k] for k in KEPT_METADATA if k in meta}
    if name:
        kept["name"] = name
    doc["Metadata"] = kept
    result.findings = lint_flow(doc, kept.get("name", "imported"))
    return result
