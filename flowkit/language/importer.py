"""Turn a flow from elsewhere into the kit's format.

Accepted: a console export, a DescribeContactFlow / DescribeContactFlowModule response, a pipeline's
``{"Name", "Type", "Content"}`` file, or a CloudFormation template with ``AWS::Connect::ContactFlow`` resources
(``flowkit.language.documents``). ARNs and resource ids become ``%Kind.Name%`` placeholders, named from the
resource where the export's metadata says what it is (``displayName``, ``queue.text`` and the like) and from the
ARN otherwise; ARNs templated for other tools (``${REGION}``, ``{ACCOUNT_ID}``, ``{{lambdaFunctions.x.arn}}``,
``<<REGION>>``, ``$.AwsRegion``) become placeholders too. Volatile metadata (layout, hashes, status) is dropped; the
flow keeps its name, description and type (from the wrapper, the export or ``--type``), so the result loads with
``ivr flows load`` as it is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowkit.language.catalogue import CONSOLE_TYPES
from flowkit.language.documents import FlowDocument, type_of, unwrap
from flowkit.language.lint import MAX_DEPTH, TEMPLATE, Finding, depth, lint_flow

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
#: An ARN whose region and account may be literal or templated (${REGION}, {ACCOUNT_ID}, $.AwsRegion, <<X>>).
_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[^:]*):"
    r"(?P<account>\d{12}|aws|[^:]*[${<%\x00][^:]*):(?P<resource>.+)$"
)
#: A value that is wholly one template token: its inner words name the resource.
_WHOLE_TEMPLATE = re.compile(
    r"^(?:\$\{(?P<a>[^}]*)\}|\{\{(?P<b>[^}]*)\}\}|<<(?P<c>[^>]*)>>|REPLACE_WITH_(?P<d>[A-Z0-9_]+))$"
)
API_TO_CONSOLE = {v: k for k, v in CONSOLE_TYPES.items()}

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
    # Template tokens may hold colons (CloudFormation's ${AWS::Region}): set them aside while splitting the ARN.
    tokens: list[str] = []

    def aside(found: re.Match[str]) -> str:
        tokens.append(found.group(0))
        return f"\x00{len(tokens) - 1}\x00"

    match = _ARN.match(TEMPLATE.sub(aside, value))
    if not match:
        return None
    service = match.group("service")
    resource = re.sub("\x00(\\d+)\x00", lambda m: tokens[int(m.group(1))], match.group("resource"))
    if service == "lambda" and resource.startswith("function:"):
        return "FunctionArn", _resource_name(resource.split(":")[1])
    if service == "lex" and resource.startswith("bot-alias/"):
        return "BotAliasArn", ""
    # A view: an AWS managed one, arn:aws:connect:REGION:aws:view/form:1, or the instance's own,
    # arn:...:instance/ID/view/VIEW_ID (Connect API reference, View; ShowView takes its id or ARN in ViewResource.Id).
    if service == "connect" and (resource.startswith("view/") or "/view/" in resource):
        return "ViewArn", _resource_name(resource.rsplit("view/", 1)[1].split(":")[0])
    for marker, kind in (("/queue/", "QueueArn"), ("/operating-hours/", "HoursArn"), ("/contact-flow/", "FlowArn"),
                         ("/flow-module/", "ModuleArn"), ("/prompt/", "PromptArn")):  # fmt: skip
        if marker in resource:
            return kind, _resource_name(resource.split(marker, 1)[1])
    return None


def _resource_name(raw: str) -> str:
    """The words that name a resource inside a template token (``${F:support:F}``, ``{{flows.main.arn}}``)."""
    match = TEMPLATE.search(raw)
    if not match:
        return raw
    inner = match.group(0).strip("${}<>")
    if ":" in inner:  # ${F:name:F}: kind letters around the name
        parts = [p for p in inner.split(":") if len(p) > 2] or [inner]
        return parts[0]
    if "." in inner:  # {{contactFlows.name.arn}}: a collection, the name, an attribute
        parts = [p for p in inner.split(".") if p.lower() not in ("arn", "id")]
        return parts[1] if len(parts) >= 2 else parts[0]
    return inner


def _template_name(value: str) -> str | None:
    """The resource name of a value that is wholly one template token, or None."""
    match = _WHOLE_TEMPLATE.match(value)
    if not match:
        return None
    token = next(g for g in match.groups() if g is not None)
    return _resource_name("${" + token + "}") if match.group("d") is None else token


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

    def __init__(
        self, display: dict[str, dict[str, str]], result: ImportResult, known: Mapping[str, str] | None = None
    ) -> None:
        self.display = display
        self.known = known or {}
        self.result = result
        self.taken: dict[str, str] = {}  # value -> placeholder text

    def placeholder(self, kind: str, label: str, value: str) -> str:
        if value in self.taken:
            return self.taken[value]
        key = kind if kind == "BotAliasArn" and not label else f"{kind}.{_placeholder_name(label)}"
        if key == "BotAliasArn" and key in self.result.placeholders and self.result.placeholders[key] != value:
            key = f"BotAliasArn.{_placeholder_name(value.rsplit('/', 2)[-2] if value.count('/') >= 2 else value)}"
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
        label = self.display.get(ident, {}).get(param or "", "") or self.known.get(value, "")
        by_arn = _kind_from_arn(value)
        if by_arn:
            kind, arn_name = by_arn
            return self.placeholder(kind, label or arn_name, value)
        if param in ID_PARAMETERS and _UUID.match(value):
            return self.placeholder(ID_PARAMETERS[param], label or value[:8], value)
        templated = _template_name(value)
        if param in ID_PARAMETERS and templated:
            return self.placeholder(ID_PARAMETERS[param], label or templated, value)
        return value


def import_flow(
    exported: dict[str, Any],
    name: str | None = None,
    flow_type: str | None = None,
    known_names: Mapping[str, str] | None = None,
) -> ImportResult:
    """Convert one flow document; the input is not modified. ``flow_type`` (API or console name) wins.

    ``known_names`` maps ARNs and ids to resource names (an instance's queues, hours, flows) for the placeholders.
    """
    if depth(exported) > MAX_DEPTH:
        label = name or "imported"
        return ImportResult(
            doc={"Metadata": {"name": label}},
            findings=[Finding(label, "", "flow-structure", "error", f"nests over {MAX_DEPTH} levels: not a flow")],
        )
    doc = copy.deepcopy(exported)
    raw_meta = doc.get("Metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    result = ImportResult(doc=doc)
    converter = _Converter(_display_names(meta), result, known_names)
    actions = doc.get("Actions")
    for action in actions if isinstance(actions, list) else []:
        if isinstance(action, dict) and isinstance(action.get("Parameters"), dict):
            action["Parameters"] = converter.convert(str(action.get("Identifier")), None, action["Parameters"])
    kept = {k: meta[k] for k in KEPT_METADATA if isinstance(meta.get(k), str)}
    if name:
        kept["name"] = name
    api_type = type_of(doc, flow_type)
    if api_type:
        kept["type"] = API_TO_CONSOLE.get(api_type, api_type)
    doc["Metadata"] = kept
    label = str(kept.get("name", "imported"))
    result.findings = lint_flow(doc, label, deploying=True)  # an import is made for the kit to deploy
    if "type" not in kept:
        result.findings.append(
            Finding(
                label,
                "",
                "flow-type",
                "error",
                "the flow type is unknown: pass --type (contactFlow, customerQueue, customerHold, "
                "customerWhisper, agentHold, agentWhisper, outboundWhisper, agentTransfer, queueTransfer, "
                "module)",
            )
        )
    if "name" not in kept:
        result.findings.append(Finding(label, "", "flow-name", "error", "the flow has no name: pass --name"))
    return result


def import_document(
    data: Any, name: str | None = None, flow_type: str | None = None, known_names: Mapping[str, str] | None = None
) -> list[ImportResult]:
    """Convert every flow in a file: a flow, a DescribeContactFlow response, a pipeline file, a template.

    Raises ``flowkit.language.documents.DocumentError`` for a wrapper whose content cannot be read.
    """
    found: list[FlowDocument] = unwrap(data)
    results = []
    for item in found:
        if not isinstance(item.doc, dict) or depth(item.doc) > MAX_DEPTH:
            results.append(import_flow(item.doc if isinstance(item.doc, dict) else {}, name or item.name))
            continue
        doc = copy.deepcopy(item.doc)
        meta: dict[str, Any] = doc["Metadata"] if isinstance(doc.get("Metadata"), dict) else {}
        if item.name and not meta.get("name"):
            meta["name"] = item.name
        if item.description and not meta.get("description"):
            meta["description"] = item.description
        doc["Metadata"] = meta
        results.append(import_flow(doc, name if len(found) == 1 else None, flow_type or item.type, known_names))
    return results
