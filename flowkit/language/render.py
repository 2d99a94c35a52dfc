"""Mermaid flowcharts of flows, for README files and reviews (GitHub renders ```mermaid blocks).

Any JSON value renders: actions without an Identifier, transitions of the wrong shape and the like are left out of
the chart rather than stopping it, so a half-written flow can still be looked at.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _node_ids(identifiers: list[str]) -> dict[str, str]:
    """Mermaid node ids; identifiers that differ only in characters ids cannot hold get a checksum to stay apart."""
    safe = {i: "n_" + _SAFE.sub("_", i) for i in identifiers}
    counts: dict[str, int] = {}
    for node in safe.values():
        counts[node] = counts.get(node, 0) + 1
    return {i: node if counts[node] == 1 else f"{node}_{zlib.crc32(i.encode())}" for i, node in safe.items()}


def _label(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    for char, entity in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"), ("`", "#96;")):
        text = text.replace(char, entity)
    return text


def _describe(ident: str, action: dict[str, Any]) -> str:
    raw = action.get("Parameters")
    params: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kind = str(action.get("Type"))
    detail = params.get("Text") or params.get("ComparisonValue") or params.get("LoopCount") or ""
    if kind == "InvokeLambdaFunction":
        detail = params.get("LambdaFunctionARN", "")
    if not isinstance(detail, str | int | float):
        detail = type(detail).__name__  # an object or list where text belongs: say so, do not print it whole
    return f"{_label(ident, 50)}<br/><i>{_label(kind, 50)}</i>" + (f"<br/>{_label(str(detail))}" if detail else "")


def _edges(transitions: Any) -> list[tuple[str, str]]:
    if not isinstance(transitions, dict):
        return []
    edges: list[tuple[str, str]] = []
    conditions = transitions.get("Conditions")
    for cond in conditions if isinstance(conditions, list) else []:
        if not isinstance(cond, dict) or not isinstance(cond.get("NextAction"), str):
            continue
        c: dict[str, Any] = cond["Condition"] if isinstance(cond.get("Condition"), dict) else {}
        operands: list[Any] = c["Operands"] if isinstance(c.get("Operands"), list) else []
        edges.append((f"{c.get('Operator', '')} {' '.join(map(str, operands))}", cond["NextAction"]))
    errors = transitions.get("Errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and isinstance(error.get("NextAction"), str):
            edges.append((str(error.get("ErrorType")), error["NextAction"]))
    if isinstance(transitions.get("NextAction"), str) and transitions["NextAction"]:
        edges.append(("", transitions["NextAction"]))
    return edges


def to_mermaid(doc: Any) -> str:
    """A ``flowchart TD`` with one node per action and edges labelled with the condition or error."""
    lines = ["flowchart TD", "  start((Start))"]
    raw_actions = doc.get("Actions") if isinstance(doc, dict) else None
    actions = [
        a
        for a in (raw_actions if isinstance(raw_actions, list) else [])
        if isinstance(a, dict) and isinstance(a.get("Identifier"), str)
    ]
    known = {a["Identifier"] for a in actions}
    targets = [t for a in actions for _, t in _edges(a.get("Transitions"))]
    ids = _node_ids(sorted(known | set(targets)))
    start = doc.get("StartAction") if isinstance(doc, dict) else None
    for action in actions:
        # Actions that end the flow (no transitions) are drawn as stadiums, the others as boxes.
        opening, closing = ('(["', '"])') if not _edges(action.get("Transitions")) else ('["', '"]')
        lines.append(f"  {ids[action['Identifier']]}{opening}{_describe(action['Identifier'], action)}{closing}")
    if isinstance(start, str) and start in known:
        lines.append(f"  start --> {ids[start]}")
    missing: set[str] = set()
    for action in actions:
        source = ids[action["Identifier"]]
        for label, target in _edges(action.get("Transitions")):
            if target not in known and target not in missing:
                missing.add(target)
                lines.append(f'  {ids[target]}{{{{"missing: {_label(target, 40)}"}}}}')
            arrow = f" -->|{_label(label, 40)}| " if label else " --> "
            lines.append(f"  {source}{arrow}{ids[target]}")
    return "\n".join(lines) + "\n"
