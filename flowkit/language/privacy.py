"""Patient data goes only where the deployment says: checks over the flows and the functions' code.

Two checks of the flows: by name (``flow_log_findings``: a block that handles a field marked sensitive while flow
logging may be on) and by data flow (``data_flow_findings``: a sensitive value followed from where it enters, the
caller's number, Lex slots, function results or a sensitive-named field, through every attribute it is copied to,
to every sink: contact attributes and contact data, prompt text, Lambda parameters and the bot's session, logged
blocks). A third reads the functions' code for traces (``trace_findings``).

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
from dataclasses import dataclass
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


# -- the data-flow guard ------------------------------------------------------------------------------------------
#: Where a flow reads a value: ``$.<root>.<name>``. Attribute names may hold '-' (Connect allows it in keys).
_VALUE = re.compile(
    r"\$\.(Attributes|FlowAttributes|External|Lex\.SessionAttributes|Lex\.Slots|CustomerEndpoint)\.([A-Za-z0-9_-]+)"
)
#: Values that are personal whatever their name, when the deployment lists them in ``data.sensitive_sources``:
#: the caller's number and what the caller says to the bot.
BUILT_IN_SOURCES = ("CustomerEndpoint.Address", "Lex.Slots")
#: Parameters that Connect speaks or writes to the caller (MessageParticipant, GetParticipantInput,
#: ConnectParticipantWithLexBot: Text or SSML; MessageParticipantIteratively: each of Messages).
_PROMPTS = ("Text", "SSML")
#: Actions whose parameters Connect keeps with the contact after the call: contact attributes (kept in contact
#: records for 24 months, Connect API reference, UpdateContactAttributes), contact data (Name, Description,
#: References: the contact record, Connect API reference, UpdateContactData) and tags (TagContact).
#: Flow attributes are not a sink: they are "restricted to the flow in which they are configured", meant for
#: sensitive data that need not persist (admin guide, "Flow block: Set contact attributes", Flow).
#: A callback puts a number on a contact record too: UpdateContactCallbackNumber sets the number Connect calls back
#: (Connect flow language, UpdateContactCallbackNumber: CallbackNumber), and CreateCallbackContact creates a new
#: contact, with its own record, that dials it (CreateCallbackContact; admin guide, "Flow block: Transfer to queue",
#: callbacks).
_STORED = {"UpdateContactAttributes": "contact attributes", "UpdateContactData": "contact data",
           "TagContact": "contact tags", "UpdateContactCallbackNumber": "the contact's callback number",
           "CreateCallbackContact": "a callback contact"}  # fmt: skip


@dataclass(frozen=True)
class PrivacyPolicy:
    """What a deployment calls sensitive and where it lets such a value go.

    ``sensitive``: field names (``data.sensitive_fields``), a source wherever they are read. ``sources``: the
    built-in sources the deployment tracks (``data.sensitive_sources``, from ``BUILT_IN_SOURCES``).
    ``speak_back``: ``flow/Block`` prompts allowed to speak a sensitive value to the caller (``data.speak_back``).
    ``receivers``: functions allowed to receive one as a Lambda parameter or, for the bot's code hooks
    (``bot_functions``), as a Lex session attribute (``data.sensitive_receivers``).
    """

    sensitive: frozenset[str]
    sources: frozenset[str] = frozenset(BUILT_IN_SOURCES)
    speak_back: frozenset[str] = frozenset()
    receivers: frozenset[str] = frozenset()
    bot_functions: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlowSource:
    """A flow as the guard reads it: its name (the scope of its flow attributes), the file to name, the content."""

    name: str
    file: str
    doc: Mapping[str, Any]


_Var = tuple[str, str, str]  # (root, flow name for flow attributes else "", attribute name)


def _actions(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = doc.get("Actions")
    return (
        [a for a in raw if isinstance(a, Mapping) and isinstance(a.get("Identifier"), str)]
        if isinstance(raw, list)
        else []
    )


def _params(action: Mapping[str, Any]) -> Mapping[str, Any]:
    params = action.get("Parameters")
    return params if isinstance(params, Mapping) else {}


def _assignments(flow: FlowSource) -> Iterator[tuple[_Var, str]]:
    """Each (attribute, value text) a flow assigns: contact, flow and Lex session attributes."""
    for action in _actions(flow.doc):
        kind, params = action.get("Type"), _params(action)
        if kind == "UpdateContactAttributes" and isinstance(params.get("Attributes"), Mapping):
            for key, value in params["Attributes"].items():
                yield ("Attributes", "", str(key)), " ".join(string_values(value))
        elif kind == "UpdateFlowAttributes" and isinstance(params.get("FlowAttributes"), Mapping):
            for key, value in params["FlowAttributes"].items():
                yield ("FlowAttributes", flow.name, str(key)), " ".join(string_values(value))
        elif kind == "ConnectParticipantWithLexBot" and isinstance(params.get("LexSessionAttributes"), Mapping):
            # The code hook sees them and may answer them back as $.Lex.SessionAttributes.
            for key, value in params["LexSessionAttributes"].items():
                yield ("Lex.SessionAttributes", "", str(key)), " ".join(string_values(value))


class _Taint:
    """Which values carry which sources, followed through every assignment of every flow to a fixed point.

    The analysis is flow-insensitive (an attribute assigned a sensitive value anywhere is sensitive everywhere it
    is read: contact attributes in every flow, flow attributes in their flow): it may over-report a name reused for
    other data, never under-report.
    """

    def __init__(self, flows: list[FlowSource], policy: PrivacyPolicy) -> None:
        self.policy = policy
        self.carried: dict[_Var, frozenset[str]] = {}
        assignments = [item for flow in flows for item in _assignments(flow)]
        changed = True
        while changed:
            changed = False
            for var, text in assignments:
                origins = self.origins(text, var[1])
                if origins - self.carried.get(var, frozenset()):
                    self.carried[var] = self.carried.get(var, frozenset()) | origins
                    changed = True

    def _var(self, root: str, name: str, flow: str) -> _Var:
        return (root, flow if root == "FlowAttributes" else "", name)

    def origins_of(self, root: str, name: str, flow: str) -> frozenset[str]:
        """Where the value ``$.root.name`` read in ``flow`` may come from, when sensitive; empty otherwise."""
        found: set[str] = set(self.carried.get(self._var(root, name, flow), frozenset()))
        if name in self.policy.sensitive and root != "CustomerEndpoint":
            found.add(f"$.{root}.{name}")
        if root == "CustomerEndpoint" and name == "Address" and "CustomerEndpoint.Address" in self.policy.sources:
            found.add("$.CustomerEndpoint.Address")
        if root == "Lex.Slots" and "Lex.Slots" in self.policy.sources:
            found.add(f"$.Lex.Slots.{name}")
        return frozenset(found)

    def origins(self, text: str, flow: str) -> frozenset[str]:
        return frozenset(o for root, name in _VALUE.findall(text) for o in self.origins_of(root, name, flow))

    def describe(self, text: str, flow: str) -> list[str]:
        """Each sensitive value a text reads, with where it came from: ``$.FlowAttributes.x (from $.External.x)``."""
        described = []
        for root, name in dict.fromkeys(_VALUE.findall(text)):
            origins = self.origins_of(root, name, flow)
            if not origins:
                continue
            read = f"$.{root}.{name}"
            others = sorted(origins - {read})
            described.append(f"{read} (from {', '.join(others)})" if others else read)
        return described


def _prompt_texts(params: Mapping[str, Any]) -> Iterator[str]:
    for key in _PROMPTS:
        if isinstance(params.get(key), str):
            yield params[key]
    for message in params.get("Messages") or [] if isinstance(params.get("Messages"), list) else []:
        if isinstance(message, Mapping):
            yield from (message[k] for k in _PROMPTS if isinstance(message.get(k), str))


def _function_of(params: Mapping[str, Any]) -> str:
    arn = params.get("LambdaFunctionARN")
    if not isinstance(arn, str):
        return "an unnamed function"
    keys = _FUNCTION.findall(arn)
    return keys[0] if keys else arn


_Leak = tuple[str, list[str], str]  # (rule, the sensitive values with their sources, what happens to them)


def _stored(kind: str, params: Mapping[str, Any], flow: FlowSource, taint: _Taint) -> Iterator[_Leak]:
    entries = params.get("Attributes") if kind == "UpdateContactAttributes" else params
    for key, value in (entries if isinstance(entries, Mapping) else {}).items():
        values = taint.describe(" ".join(string_values(value)), flow.name)
        if kind == "UpdateContactAttributes" and str(key) in taint.policy.sensitive:
            values = values or [f"a value named {key!r} (data.sensitive_fields)"]
        if values:
            yield (
                "sensitive-value-stored",
                values,
                f"goes into {_STORED[kind]} ({key}), which Connect keeps with the contact record (24 months for "
                "contact attributes): hold it in a flow attribute (UpdateFlowAttributes) or in the function that "
                "needs it",
            )


def _spoken(ident: str, params: Mapping[str, Any], flow: FlowSource, taint: _Taint) -> Iterator[_Leak]:
    spoken = [v for text in _prompt_texts(params) for v in taint.describe(text, flow.name)]
    if spoken and f"{flow.name}/{ident}" not in taint.policy.speak_back:
        yield (
            "sensitive-value-spoken",
            list(dict.fromkeys(spoken)),
            f"is spoken to the caller; if the flow means to say it, add {flow.name}/{ident} to data.speak_back",
        )


def _sent(kind: str, params: Mapping[str, Any], flow: FlowSource, taint: _Taint) -> Iterator[_Leak]:
    policy = taint.policy
    if kind == "InvokeLambdaFunction":
        sent = taint.describe(" ".join(string_values(params.get("LambdaInvocationAttributes"))), flow.name)
        function = _function_of(params)
        if sent and function not in policy.receivers:
            yield (
                "sensitive-value-to-function",
                sent,
                f"is passed to {function}, which is not in data.sensitive_receivers",
            )
    elif kind == "ConnectParticipantWithLexBot":
        sent = taint.describe(" ".join(string_values(params.get("LexSessionAttributes"))), flow.name)
        hooks = [f for f in policy.bot_functions if f not in policy.receivers]
        if not policy.bot_functions:
            hooks = ["the bot (no code hook known)"]
        if sent and hooks:
            yield (
                "sensitive-value-to-function",
                sent,
                f"is passed as a Lex session attribute to {', '.join(hooks)}, not in data.sensitive_receivers",
            )


def data_flow_findings(
    flows: Iterable[FlowSource], policy: PrivacyPolicy, answers: Mapping[str, Iterable[str]] | None = None
) -> list[Finding]:
    """A finding for each place a sensitive value reaches a sink it may not reach, naming source and sink.

    Sources: fields named sensitive (as contact, flow or Lex session attributes, function results or Lex slots),
    the caller's number and Lex slots (when in ``policy.sources``), and every attribute assigned from one of them.
    Sinks: contact attributes, contact data and tags (kept with the contact record); prompt text (unless the block
    is in ``policy.speak_back``); Lambda parameters and Lex session attributes (unless the function is in
    ``policy.receivers``); any block that may run with flow logging on (a block that reads a field by a
    sensitive name is ``flow_log_findings``' to report, so it is not reported twice).
    """
    listed = list(flows)
    taint = _Taint(listed, policy)
    findings: list[Finding] = []
    for flow in listed:
        logged = logged_actions(flow.doc)
        for action in _actions(flow.doc):
            ident, kind, params = action["Identifier"], str(action.get("Type")), _params(action)
            leaks = list(_spoken(ident, params, flow, taint)) + list(_sent(kind, params, flow, taint))
            if kind in _STORED:
                leaks += _stored(kind, params, flow, taint)
            if ident in logged and not touched_fields(action, answers or {}) & policy.sensitive:
                read = taint.describe(" ".join(string_values(params)), flow.name)
                if read:
                    leaks.append(
                        (
                            "sensitive-value-logged",
                            read,
                            "is read while flow logging may be on (flow logs record each block's parameters): put "
                            "an UpdateFlowLoggingBehavior block with Disabled before it",
                        )
                    )
            findings += [
                Finding(flow.file, ident, rule, "error", f"{', '.join(values)} {sink}") for rule, values, sink in leaks
            ]
    return findings


def flow_sources(flows: Iterable[FlowFile]) -> list[FlowSource]:
    """The kit's flows as the data-flow guard reads them."""
    return [FlowSource(f.name, str(f.path), f.doc) for f in flows]


def unknown_privacy_marks(policy: PrivacyPolicy, flows: Iterable[FlowSource], functions: Iterable[str]) -> list[str]:
    """Each ``speak_back`` block and each receiver that names nothing in the deployment: a stale allowance."""
    blocks = {f"{flow.name}/{a['Identifier']}" for flow in flows for a in _actions(flow.doc)}
    known = set(functions)
    problems = [
        f"data.speak_back: {mark!r} names no block (flow/Identifier) of the flows" for mark in sorted(policy.speak_back)
        if mark not in blocks
    ]  # fmt: skip
    problems += [
        f"data.sensitive_receivers: {name!r} is not a function of the deployment ({', '.join(sorted(known))})"
        for name in sorted(policy.receivers) if name not in known
    ]  # fmt: skip
    return problems
