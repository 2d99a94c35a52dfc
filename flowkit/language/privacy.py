"""Patient data stays out of flow logs and traces: a check over the flows and the functions' code.

Connect logs every block that runs while flow logging is on, with its parameters and, for Lambda and Lex blocks,
what goes to them and comes back (Connect admin guide, "Data in flow logs stored in an Amazon CloudWatch log
group"); a Set logging behavior block switches logging for the rest of the contact, across flows ("Enable flow
logs"). So a flow may log a block only if the block touches no field the deployment marks sensitive
(``data.sensitive_fields``). Since a flow can be entered with logging on from another flow, each flow is checked
as if it started with logging on.

Powertools' tracer records a handler's response in X-Ray unless ``POWERTOOLS_TRACER_CAPTURE_RESPONSE`` is
false, and ``put_annotation``/``put_metadata`` record what they are given (Powertools docs, Tracer).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from flowkit.language.files import FlowFile
from flowkit.language.lint import Finding, string_values

#: Where a flow reads a field by name: contact attributes, a Lambda's answer, Lex session attributes.
_REFERENCE = re.compile(
    r"\$\.(?:Attributes|FlowAttributes|External|Lex\.SessionAttributes|Lex\.Slots)\.([A-Za-z0-9_]+)"
)
_FUNCTION = re.compile(r"%FunctionArn\.([A-Za-z0-9]+)%")


def touched_fields(action: Mapping[str, Any], answers: Mapping[str, Iterable[str]]) -> set[str]:
    """The fields a block reads, sets or receives: references, attribute names it sets, a function's answer."""
    params = action.get("Parameters") if isinstance(action.get("Parameters"), Mapping) else {}
    assert isinstance(params, Mapping)
    found: set[str] = set()
    for text in string_values(params):
        found |= set(_REFERENCE.findall(text))
        for key in _FUNCTION.findall(text):
            found |= set(answers.get(key, ()))
    for name in ("Attributes", "LexSessionAttributes"):
        if isinstance(params.get(name), Mapping):
            found |= {str(k) for k in params[name]}
    return found


def _next_actions(action: Mapping[str, Any]) -> Iterator[str]:
    transitions = action.get("Transitions")
    if not isinstance(transitions, Mapping):
        return
    if isinstance(transitions.get("NextAction"), str):
        yield transitions["NextAction"]
    for kind in ("Conditions", "Errors"):
        for item in transitions.get(kind) or []:
            if isinstance(item, Mapping) and isinstance(item.get("NextAction"), str):
                yield item["NextAction"]


def logged_actions(doc: Mapping[str, Any]) -> set[str]:
    """Identifiers of the blocks that may run with flow logging on, entering the flow with logging on."""
    actions = {a["Identifier"]: a for a in doc.get("Actions", []) if isinstance(a, Mapping) and "Identifier" in a}
    start = doc.get("StartAction")
    logging_on: set[str] = set()
    seen: set[tuple[str, bool]] = set()
    pending: list[tuple[str, bool]] = [(start, True)] if isinstance(start, str) else []
    while pending:
        ident, on = pending.pop()
        if (ident, on) in seen or ident not in actions:
            continue
        seen.add((ident, on))
        action = actions[ident]
        if on:
            logging_on.add(ident)
        after = on
        if action.get("Type") == "UpdateFlowLoggingBehavior":
            behaviour = (action.get("Parameters") or {}).get("FlowLoggingBehavior")
            after = behaviour != "Disabled"
        pending += [(nxt, after) for nxt in _next_actions(action)]
    return logging_on


def flow_log_findings(
    flows: Iterable[FlowFile], sensitive: Iterable[str], answers: Mapping[str, Iterable[str]]
) -> list[Finding]:
    """A finding for each block that may log a sensitive field."""
    marked = set(sensitive)
    findings: list[Finding] = []
    for flow in flows:
        actions = {a["Identifier"]: a for a in flow.doc.get("Actions", []) if "Identifier" in a}
        for ident in sorted(logged_actions(flow.doc)):
            leaked = touched_fields(actions[ident], answers) & marked
            if leaked:
                findings.append(
                    Finding(
                        str(flow.path),
                        ident,
                        "sensitive-field-logged",
                        "error",
                        f"{actions[ident].get('Type')} handles {', '.join(sorted(leaked))} (marked sensitive in "
                        "data.sensitive_fields) while flow logging may be on; put an UpdateFlowLoggingBehavior "
                        "block with Disabled before it",
                    )
                )
    return findings


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def trace_findings(
    runtime_dir: Path, environment: Mapping[str, str], sensitive: Iterable[str], answers: Mapping[str, Iterable[str]]
) -> list[Finding]:
    """A finding when the functions may record a sensitive field in X-Ray.

    ``environment`` is what every clinic function gets; ``answers`` the fields each function answers.
    """
    marked = set(sensitive)
    names = marked | {_snake(n) for n in marked}
    findings: list[Finding] = []
    answering = sorted(key for key, fields in answers.items() if set(fields) & marked)
    if answering and environment.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "true").lower() != "false":
        findings.append(
            Finding(
                "lambdas/infrastructure.py",
                "",
                "sensitive-response-traced",
                "error",
                f"{', '.join(answering)} answer sensitive fields and the tracer records responses: set "
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE=false",
            )
        )
    for path in sorted(runtime_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr in ("put_annotation", "put_metadata"):
                key = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "key"), None)
                if isinstance(key, ast.Constant) and str(key.value) in names:
                    findings.append(
                        Finding(
                            str(path),
                            f"line {node.lineno}",
                            "sensitive-field-traced",
                            "error",
                            f"tracer.{node.func.attr} records {key.value!r}, marked sensitive",
                        )
                    )
            for keyword in node.keywords:
                if (
                    keyword.arg == "capture_response"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value is True
                ):
                    findings.append(
                        Finding(
                            str(path),
                            f"line {node.lineno}",
                            "sensitive-response-traced",
                            "error",
                            "capture_response=True records the response in X-Ray",
                        )
                    )
    return findings


def unknown_sensitive_fields(
    fields: Iterable[str], flows: Iterable[FlowFile], answers: Mapping[str, Iterable[str]], also: Iterable[str] = ()
) -> list[str]:
    """Each sensitive field named nowhere: in no flow, no function answer and none of ``also`` (the bot's slots).

    A misspelt field (``patientID`` for ``patientId``) protects nothing while the real one goes unchecked, so each
    is reported with the nearest name the deployment does use.
    """
    import difflib

    known = {name for answer in answers.values() for name in answer} | set(also)
    for flow in flows:
        known |= set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", " ".join(string_values(flow.doc))))
    problems = []
    for field in fields:
        if field in known:
            continue
        near = difflib.get_close_matches(field, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        problems.append(
            f"data.sensitive_fields: {field!r} appears in no flow, function answer or bot slot, so it protects "
            f"nothing and a misspelt field leaves the real one unchecked{hint}"
        )
    return problems
