"""Find the flow documents inside a JSON file, whatever wraps them.

Flows reach the kit in several shapes, all of them real:

- a flow-language document (``Version``, ``StartAction``, ``Actions``), as the console exports it;
- a DescribeContactFlow or DescribeContactFlowModule response (``ContactFlow`` / ``ContactFlowModule`` holding
  ``Name``, ``Type`` and ``Content`` as a JSON string; botocore connect model);
- one flow as a SearchContactFlows item or as deployment pipelines keep it (``Name``, ``Type``, ``Content``);
- a CloudFormation template whose ``AWS::Connect::ContactFlow`` / ``AWS::Connect::ContactFlowModule`` resources
  carry ``Content`` as a string, an ``Fn::Sub`` of a string, or an object (cfn-lint resource schemas).

``unwrap`` returns each flow with its name and API flow type where the wrapper says them, and never raises for a
document it does not recognise: it returns nothing and says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flowkit.language.catalogue import CONSOLE_TYPES, FLOW_TYPES, normalise_flow_type

CFN_TYPES = {"AWS::Connect::ContactFlow": None, "AWS::Connect::ContactFlowModule": "MODULE"}


@dataclass(frozen=True)
class FlowDocument:
    """One flow found in a file."""

    doc: Any
    name: str | None
    type: str | None  # API enum, such as CUSTOMER_QUEUE, when known
    wrapper: str  # "flow", "describe", "content", "cloudformation"
    where: str = ""  # inside the file: the resource or key that held it
    description: str = ""


class DocumentError(ValueError):
    """A wrapper whose flow content cannot be read; the message says where."""


def looks_like_flow(doc: Any) -> bool:
    return isinstance(doc, dict) and ("Actions" in doc or "StartAction" in doc)


def type_of(doc: Any, hint: str | None = None) -> str | None:
    """The API flow type: the hint, the Metadata, or a module's tell-tale Settings or return action."""
    if hint:
        found = normalise_flow_type(hint)
        if found:
            return found
    if not isinstance(doc, dict):
        return None
    meta = doc.get("Metadata")
    raw = meta.get("type") if isinstance(meta, dict) else None
    if isinstance(raw, str):
        if raw in CONSOLE_TYPES:
            return CONSOLE_TYPES[raw]
        if raw in FLOW_TYPES:
            return raw
    actions = doc.get("Actions")
    if isinstance(doc.get("Settings"), dict) or (
        isinstance(actions, list)
        and any(isinstance(a, dict) and a.get("Type") == "EndFlowModuleExecution" for a in actions)
    ):
        return "MODULE"
    return None


def _token(part: Any) -> str:
    """A CloudFormation intrinsic inside an Fn::Join, written as the ${...} token Fn::Sub would use for it."""
    if isinstance(part, dict) and isinstance(part.get("Ref"), str):
        return "${" + str(part["Ref"]) + "}"
    if isinstance(part, dict) and isinstance(part.get("Fn::GetAtt"), list):
        return "${" + ".".join(str(p) for p in part["Fn::GetAtt"]) + "}"
    return "${" + (str(next(iter(part))) if isinstance(part, dict) and part else "value") + "}"


def _joined(args: Any) -> str | None:
    """The text of an Fn::Join (CDK writes a flow with resource ARNs in it so), its intrinsics as ${...} tokens."""
    if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], list)):
        return None
    return args[0].join(p if isinstance(p, str) else _token(p) for p in args[1])


def _content(raw: Any, where: str) -> Any:
    """Flow content given as a JSON string, an Fn::Sub or Fn::Join of one, or an object."""
    if isinstance(raw, dict) and "Fn::Sub" in raw:
        sub = raw["Fn::Sub"]
        raw = sub[0] if isinstance(sub, list) and sub else sub
    elif isinstance(raw, dict) and "Fn::Join" in raw:
        raw = _joined(raw["Fn::Join"]) or raw
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{where}: Content is not valid JSON: {exc}") from None
    if isinstance(raw, dict):
        return raw
    raise DocumentError(f"{where}: Content must be a JSON string or object, not {type(raw).__name__}")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_template_yaml(text: str) -> Any:
    """A CloudFormation template in YAML, its short-form tags (!Sub, !Ref, !GetAtt...) as their long forms.

    Raises ValueError for text that is not YAML.
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}

    _Loader.add_multi_constructor("!", tagged)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass that adds only the CFN tags
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None


def unwrap(data: Any) -> list[FlowDocument]:
    """Every flow in a parsed JSON file; an empty list when the file holds none."""
    if looks_like_flow(data):
        meta = data.get("Metadata") if isinstance(data, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        return [
            FlowDocument(
                data, _text(meta.get("name")), type_of(data), "flow", description=_text(meta.get("description")) or ""
            )
        ]
    if not isinstance(data, dict):
        return []
    for key, forced in (("ContactFlow", None), ("ContactFlowModule", "MODULE")):
        inner = data.get(key)
        if isinstance(inner, dict) and "Content" in inner:
            doc = _content(inner["Content"], key)
            return [
                FlowDocument(
                    doc,
                    _text(inner.get("Name")),
                    forced or type_of(doc, _text(inner.get("Type"))),
                    "describe",
                    key,
                    _text(inner.get("Description")) or "",
                )
            ]
    if "Content" in data and ("Name" in data or "Type" in data):
        doc = _content(data["Content"], "Content")
        hint = _text(data.get("Type")) or _text(data.get("ContactFlowType"))
        return [
            FlowDocument(
                doc,
                _text(data.get("Name")),
                type_of(doc, hint),
                "content",
                "Content",
                _text(data.get("Description")) or "",
            )
        ]
    resources = data.get("Resources")
    if isinstance(resources, dict):
        found = []
        for logical_id, resource in resources.items():
            if not isinstance(resource, dict) or str(resource.get("Type")) not in CFN_TYPES:
                continue
            props = resource.get("Properties")
            if not isinstance(props, dict) or "Content" not in props:
                continue
            doc = _content(props["Content"], f"Resources.{logical_id}.Properties.Content")
            forced = CFN_TYPES[str(resource.get("Type"))]
            name = _text(props.get("Name")) or str(logical_id)
            found.append(
                FlowDocument(
                    doc,
                    name,
                    forced or type_of(doc, _text(props.get("Type"))),
                    "cloudformation",
                    f"Resources.{logical_id}",
                    _text(props.get("Description")) or "",
                )
            )
        return found
    return []
