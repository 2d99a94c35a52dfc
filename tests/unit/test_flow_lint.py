"""The flow linter: every rule catches its violation and leaves the valid form alone."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit.language.files import FLOWS_DIR
from flowkit.language.lint import Finding, lint_flow, lint_path, lint_text
from tests.conftest import ROOT

EXPORT = ROOT / "tests" / "flows" / "console-export.json"


def action(
    ident: str,
    kind: str,
    params: dict[str, Any] | None = None,
    nxt: str | None = "End",
    errors: dict[str, str] | None = None,
    conditions: list[tuple[str, str, str]] | None = None,
) -> dict[str, Any]:
    transitions: dict[str, Any] = {}
    if nxt:
        transitions["NextAction"] = nxt
    if errors:
        transitions["Errors"] = [{"ErrorType": e, "NextAction": t} for e, t in errors.items()]
    if conditions:
        transitions["Conditions"] = [
            {"NextAction": t, "Condition": {"Operator": op, "Operands": [v]}} for op, v, t in conditions
        ]
    return {"Identifier": ident, "Type": kind, "Parameters": params or {}, "Transitions": transitions}


END = {"Identifier": "End", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}


def flow(*actions: dict[str, Any], flow_type: str = "contactFlow") -> dict[str, Any]:
    return {
        "Version": "2019-10-30",
        "StartAction": actions[0]["Identifier"],
        "Metadata": {"type": flow_type},
        "Actions": [*actions, END],
    }


def rules(findings: list[Finding], severity: str | None = None) -> set[str]:
    return {f.rule for f in findings if severity is None or f.severity == severity}


SAY = action("Say", "MessageParticipant", {"Text": "Hello"}, errors={"NoMatchingError": "End"})
MENU_OK = action(
    "Menu",
    "GetParticipantInput",
    {"Text": "Press 1", "InputTimeLimitSeconds": "5", "StoreInput": "False"},
    nxt=None,
    errors={"NoMatchingError": "End", "NoMatchingCondition": "End", "InputTimeLimitExceeded": "End"},
    conditions=[("Equals", "1", "End")],
)


def add_spin(doc: dict[str, Any]) -> None:
    """Two prompts that lead to each other and nowhere else, reached from the first action's error branch."""
    doc["Actions"].extend(
        [
            action("Ping", "MessageParticipant", {"Text": "a"}, nxt="Pong"),
            action("Pong", "MessageParticipant", {"Text": "b"}, nxt="Ping"),
        ]
    )
    doc["Actions"][0]["Transitions"]["Errors"][0]["NextAction"] = "Ping"


# (rule, valid flow, mutation that breaks exactly that rule)
CASES: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], None]]] = [
    ("flow-version", flow(SAY), lambda f: f.update(Version="2020-01-01")),
    ("start-action", flow(SAY), lambda f: f.update(StartAction="Nowhere")),
    (
        "identifier",
        flow(SAY),
        lambda f: (f["Actions"][0].update(Identifier="Say:hello"), f.update(StartAction="Say:hello")),
    ),
    ("identifier", flow(SAY), lambda f: (f["Actions"][0].update(Identifier="x" * 51), f.update(StartAction="x" * 51))),
    (
        "identifier",
        flow(SAY),
        lambda f: (f["Actions"][0].update(Identifier="constructor"), f.update(StartAction="constructor")),
    ),
    ("duplicate-identifier", flow(SAY), lambda f: f["Actions"].append(copy.deepcopy(END))),
    (
        "too-many-actions",
        flow(SAY),
        lambda f: f["Actions"].extend(action(f"A{i}", "MessageParticipant", {"Text": "x"}) for i in range(250)),
    ),
    ("unknown-action-type", flow(SAY), lambda f: f["Actions"][0].update(Type="PlayPrompt")),
    ("missing-parameter", flow(SAY), lambda f: f["Actions"][0]["Parameters"].pop("Text")),
    ("exclusive-parameters", flow(SAY), lambda f: f["Actions"][0]["Parameters"].update(SSML="<speak>x</speak>")),
    (
        "static-parameter",
        flow(MENU_OK),
        lambda f: f["Actions"][0]["Parameters"].update(InputTimeLimitSeconds="$.Attributes.t"),
    ),
    (
        "jsonpath",
        flow(
            action(
                "Cmp",
                "Compare",
                {"ComparisonValue": "$.Attributes.x"},
                nxt=None,
                errors={"NoMatchingCondition": "End"},
                conditions=[("Equals", "a", "End")],
            )
        ),
        lambda f: f["Actions"][0]["Parameters"].update(ComparisonValue="$.BadValue"),
    ),
    (
        "number-range",
        flow(
            action(
                "Fn",
                "InvokeLambdaFunction",
                {"LambdaFunctionARN": "%FunctionArn.X%", "InvocationTimeLimitSeconds": "8"},
                errors={"NoMatchingError": "End"},
            )
        ),
        lambda f: f["Actions"][0]["Parameters"].update(InvocationTimeLimitSeconds="9"),
    ),
    (
        "enum-value",
        flow(action("Log", "UpdateFlowLoggingBehavior", {"FlowLoggingBehavior": "Enabled"})),
        lambda f: f["Actions"][0]["Parameters"].update(FlowLoggingBehavior="On"),
    ),
    (
        "input-validation",
        flow(MENU_OK),
        lambda f: f["Actions"][0]["Parameters"].update(InputValidation={"CustomValidation": {"MaximumLength": "4"}}),
    ),
    ("transition-target", flow(SAY), lambda f: f["Actions"][0]["Transitions"].update(NextAction="Gone")),
    ("terminal-transitions", flow(SAY), lambda f: f["Actions"][-1]["Transitions"].update(NextAction="Say")),
    ("missing-next-action", flow(SAY), lambda f: f["Actions"][0]["Transitions"].pop("NextAction")),
    (
        "error-type",
        flow(SAY),
        lambda f: f["Actions"][0]["Transitions"]["Errors"].append(
            {"ErrorType": "QueueAtCapacity", "NextAction": "End"}
        ),
    ),
    (
        "missing-error-branch",
        flow(MENU_OK),
        lambda f: f["Actions"][0]["Transitions"].update(
            Errors=[{"ErrorType": "NoMatchingCondition", "NextAction": "End"}]
        ),
    ),
    (
        "condition",
        flow(MENU_OK),
        lambda f: f["Actions"][0]["Transitions"]["Conditions"][0]["Condition"].update(Operands=["12"]),
    ),
    (
        "condition",
        flow(MENU_OK),
        lambda f: f["Actions"][0]["Parameters"].update(
            StoreInput="True", InputValidation={"CustomValidation": {"MaximumLength": "4"}}
        ),
    ),
    (
        "condition",
        flow(
            action(
                "Hours",
                "CheckHoursOfOperation",
                {},
                nxt=None,
                errors={"NoMatchingError": "End"},
                conditions=[("Equals", "True", "End"), ("Equals", "False", "End")],
            )
        ),
        lambda f: f["Actions"][0]["Transitions"]["Conditions"].pop(),
    ),
    (
        "condition",
        flow(
            action(
                "L",
                "Loop",
                {"LoopCount": "3"},
                nxt=None,
                conditions=[("Equals", "ContinueLooping", "End"), ("Equals", "DoneLooping", "End")],
            )
        ),
        lambda f: f["Actions"][0]["Transitions"]["Conditions"][0]["Condition"].update(Operands=["Again"]),
    ),
    (
        "condition",
        flow(SAY),
        lambda f: f["Actions"][0]["Transitions"].update(
            Conditions=[{"NextAction": "End", "Condition": {"Operator": "Equals", "Operands": ["x"]}}]
        ),
    ),
    (
        "flow-type",
        flow(SAY),
        lambda f: f["Actions"].insert(0, {**copy.deepcopy(END), "Identifier": "Stop", "Type": "EndFlowExecution"}),
    ),
    (
        "dr-literal-arn",
        flow(SAY),
        lambda f: f["Actions"][0]["Parameters"].update(Text="arn:aws:lambda:us-east-1:123456789012:function:x"),
    ),
    ("dr-literal-account", flow(SAY), lambda f: f["Actions"][0]["Parameters"].update(Text="account 123456789012")),
    ("dr-literal-region", flow(SAY), lambda f: f["Actions"][0]["Parameters"].update(Text="we run in eu-west-2")),
    (
        "lex-without-prompt",
        flow(
            action(
                "Bot",
                "ConnectParticipantWithLexBot",
                {"Text": "How can I help?", "LexV2Bot": {"AliasArn": "%BotAliasArn%"}},
                nxt=None,
                errors={"NoMatchingError": "End", "NoMatchingCondition": "End"},
                conditions=[("Equals", "Book", "End")],
            )
        ),
        lambda f: f["Actions"][0]["Parameters"].pop("Text"),
    ),
    (
        "event-hooks",
        flow(
            action(
                "Hook",
                "UpdateContactEventHooks",
                {"EventHooks": {"CustomerQueue": "%FlowArn.q%"}},
                errors={"NoMatchingError": "End"},
            )
        ),
        lambda f: f["Actions"][0]["Parameters"]["EventHooks"].update(AgentWhisper="%FlowArn.w%"),
    ),
    (
        "unreachable-action",
        flow(SAY),
        lambda f: f["Actions"].append(action("Orphan", "MessageParticipant", {"Text": "?"})),
    ),
    (
        "cycle-without-exit",
        flow(SAY),
        add_spin,
    ),
    (
        "path-never-ends",
        flow(SAY),
        add_spin,
    ),
]


@pytest.mark.parametrize(("rule", "valid", "mutate"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_catches_violation_and_passes_valid_form(rule: str, valid: dict[str, Any], mutate) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a valid flow THEN it lints clean
    assert lint_flow(valid, "valid.json") == []
    # WHEN the one thing the rule checks is broken THEN that rule reports it
    broken = copy.deepcopy(valid)
    mutate(broken)
    findings = lint_flow(broken, "broken.json")
    assert rule in rules(findings), findings
    hit = next(f for f in findings if f.rule == rule)
    assert hit.file == "broken.json" and hit.message


def test_kit_flows_lint_clean() -> None:
    for path in sorted(FLOWS_DIR.glob("*.json")):
        assert lint_path(path) == [], path


def test_console_export_is_read_and_only_its_literal_arns_are_errors() -> None:
    # GIVEN a flow as the console exports it (UUIDs, layout metadata, literal ARNs)
    findings = lint_path(EXPORT)
    # THEN the only errors are the DR-unsafe literals, each naming its action
    assert rules(findings) == {"dr-literal-arn"}
    assert {f.action for f in findings} == {
        "2e9b6c1d-3f4a-4b5c-9d8e-7f6a5b4c3d2e",
        "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
    }


def test_not_json_is_a_finding() -> None:
    assert rules(lint_text("{nope", "x.json")) == {"json"}


def test_warnings_are_not_errors() -> None:
    valid = flow(SAY)
    valid["Actions"].append(action("Orphan", "MessageParticipant", {"Text": "?"}))
    assert rules(lint_flow(valid), "error") == set()


# -- property tests ---------------------------------------------------------------------------------------------
@st.composite
def valid_flows(draw: st.DrawFn) -> dict[str, Any]:
    """A chain of prompts, menus and loops that always ends: every transition points forward or to End."""
    count = draw(st.integers(min_value=1, max_value=12))
    ids = [f"Step{i}" for i in range(count)]
    actions = []
    for index, ident in enumerate(ids):
        later = [*ids[index + 1 :], "End"]
        nxt = later[0]
        kind = draw(st.sampled_from(["say", "menu", "attrs", "compare"]))
        if kind == "say":
            actions.append(
                action(
                    ident,
                    "MessageParticipant",
                    {"Text": draw(st.text(min_size=1, max_size=20).filter(str.isalpha))},
                    nxt=nxt,
                    errors={"NoMatchingError": draw(st.sampled_from(later))},
                )
            )
        elif kind == "menu":
            digits = draw(st.lists(st.sampled_from(list("0123456789*#")), min_size=1, max_size=4, unique=True))
            actions.append(
                action(
                    ident,
                    "GetParticipantInput",
                    {"Text": "Choose", "InputTimeLimitSeconds": "5", "StoreInput": "False"},
                    nxt=None,
                    errors={"NoMatchingError": nxt, "NoMatchingCondition": nxt},
                    conditions=[("Equals", d, draw(st.sampled_from(later))) for d in digits],
                )
            )
        elif kind == "attrs":
            actions.append(
                action(
                    ident,
                    "UpdateContactAttributes",
                    {"Attributes": {"k": "$.External.v"}},
                    nxt=nxt,
                    errors={"NoMatchingError": nxt},
                )
            )
        else:
            actions.append(
                action(
                    ident,
                    "Compare",
                    {"ComparisonValue": "$.Attributes.k"},
                    nxt=None,
                    errors={"NoMatchingCondition": nxt},
                    conditions=[("Equals", "yes", draw(st.sampled_from(later)))],
                )
            )
    return flow(*actions)


@settings(max_examples=60, deadline=None)
@given(valid_flows())
def test_generated_valid_flows_lint_clean(doc: dict[str, Any]) -> None:
    assert rules(lint_flow(doc), "error") == set()


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "transition-target": lambda f: f["Actions"][0]["Transitions"].update(NextAction="Missing"),
    "unknown-action-type": lambda f: f["Actions"][0].update(Type="SetVoice"),
    "start-action": lambda f: f.update(StartAction="Missing"),
    "terminal-transitions": lambda f: f["Actions"][-1]["Transitions"].update(NextAction=f["Actions"][0]["Identifier"]),
    "dr-literal-account": lambda f: f["Actions"][0]["Parameters"].update(Note="call 210987654321"),
    "flow-version": lambda f: f.update(Version="1"),
}


@settings(max_examples=60, deadline=None)
@given(valid_flows(), st.sampled_from(sorted(MUTATIONS)))
def test_random_mutations_are_caught(doc: dict[str, Any], rule: str) -> None:
    broken = json.loads(json.dumps(doc))
    MUTATIONS[rule](broken)
    assert rule in rules(lint_flow(broken), "error")
