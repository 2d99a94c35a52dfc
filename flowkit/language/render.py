"""Mermaid flowcharts of flows, for README files and reviews (GitHub renders ```mermaid blocks)."""

from __future__ import annotations

import re
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _node_id(identifier: str) -> str:
    return "n_" + _SAFE.sub("_", identifier)


def _label(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace('"', "#quot;")


def _describe(action: dict[str, Any]) -> str:
    params = action.get("Parameters") or {}
    kind = str(action.get("Type"))
    detail = params.get("Text") or params.get("ComparisonValue") or params.get("LoopCount") or ""
    if kind == "InvokeLambdaFunction":
        detail = params.get("LambdaFunctionARN", "")
    return f"{action['Identifier']}<br/><i>{kind}</i>" + (f"<br/>{_label(str(detail))}" if detail else "")


def to_mermaid(doc: dict[str, Any]) -> str:
    """A ``flowchart TD`` with one node per action and edges labelled with the condition or error."""
    lines = ["flowchart TD"]
    actions = [a for a in doc.get("Actions", []) if isinstance(a, dict) and "Identifier" in a]
    start = doc.get("StartAction")
    lines.append("  start((Start))")
    for action in actions:
        # Actions that end the flow (no transitions) are drawn as stadiums, the others as boxes.
        opening, closing = ('(["', '"])') if not action.get("Transitions") else ('["', '"]')
        text = _describe(action).replace('"', "#quot;")
        lines.append(f"  {_node_id(action['Identifier'])}{opening}{text}{closing}")
    if isinstance(start, str):
        lines.append(f"  start --> {_node_id(start)}")
    for action in actions:
        source = _node_id(action["Identifier"])
        transitions = action.get("Transitions") or {}
        edges: list[tuple[str, str]] = []
        for cond in transitions.get("Conditions") or []:
            c = cond.get("Condition", {})
            edges.append((f"{c.get('Operator', '')} {' '.join(map(str, c.get('Operands', [])))}", cond["NextAction"]))
        for error in transitions.get("Errors") or []:
            edges.append((str(error.get("ErrorType")), error["NextAction"]))
        if transitions.get("NextAction"):
            edges.append(("", transitions["NextAction"]))
        for label, target in edges:
            arrow = f" -->|{_label(label, 40)}| " if label else " --> "
            lines.append(f"  {source}{arrow}{_node_id(target)}")
    return "\n".join(lines) + "\n"
