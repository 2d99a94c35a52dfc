"""The flow linter: every rule catches its violation and leaves the valid form alone."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
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
    findings = lint_flow(broken, "broken.json", deploying=True)
    assert rule in rules(findings), findings
    hit = next(f for f in findings if f.rule == rule)
    assert hit.file == "broken.json" and hit.message


def test_kit_flows_lint_clean() -> None:
    for path in sorted(FLOWS_DIR.glob("*.json")):
        assert lint_path(path, deploying=True) == [], path


def test_console_export_literal_arns_are_errors_only_where_the_kit_deploys_it() -> None:
    # GIVEN a flow as the console exports it (UUIDs, layout metadata, literal ARNs)
    literal_actions = {"2e9b6c1d-3f4a-4b5c-9d8e-7f6a5b4c3d2e", "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"}
    # WHEN it is only linted THEN Connect accepts it: the DR-unsafe literals are warnings, each naming its action
    linted = lint_path(EXPORT)
    assert rules(linted, "error") == set()
    assert rules(linted) == {"dr-literal-arn"}
    assert {f.action for f in linted} == literal_actions
    assert all("deploys to two Regions" in f.message for f in linted)
    # WHEN it is linted for deploying to two Regions THEN the same literals are errors
    deploying = lint_path(EXPORT, deploying=True)
    assert rules(deploying, "error") == {"dr-literal-arn"}
    assert {f.action for f in deploying} == literal_actions


@pytest.mark.parametrize("text", ["Your booking reference is 210987654321.", "Ref 123456789012, thank you"])
def test_a_bare_twelve_digit_number_is_a_warning_even_in_a_deployed_flow(text: str) -> None:
    # GIVEN a prompt that reads a 12-digit booking reference to the caller, in a flow the kit deploys to two Regions
    doc = copy.deepcopy(flow(SAY))
    doc["Actions"][0]["Parameters"]["Text"] = text
    # WHEN linted for deploying THEN it is a warning, not an error
    findings = lint_flow(doc, "booking.json", deploying=True)
    assert rules(findings, "error") == set(), findings
    assert rules(findings, "warning") == {"dr-literal-account"}
    # AND the same digits as an ARN's account stay an error
    doc["Actions"][0]["Parameters"]["Text"] = "arn:aws:lambda:us-east-1:210987654321:function:x"
    assert rules(lint_flow(doc, "booking.json", deploying=True), "error") == {"dr-literal-arn"}


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
    "dr-literal-arn": lambda f: f["Actions"][0]["Parameters"].update(
        Note="arn:aws:lambda:us-east-1:210987654321:function:x"
    ),
    "flow-version": lambda f: f.update(Version="1"),
}


@settings(max_examples=60, deadline=None)
@given(valid_flows(), st.sampled_from(sorted(MUTATIONS)))
def test_random_mutations_are_caught(doc: dict[str, Any], rule: str) -> None:
    broken = json.loads(json.dumps(doc))
    MUTATIONS[rule](broken)
    assert rule in rules(lint_flow(broken, deploying=True), "error")


# -- templates of other tools, Connect's content limits ------------------------------------------------------------
QUEUE = action(
    "SetQueue", "UpdateContactTargetQueue", {"QueueId": "%QueueArn.sales%"}, errors={"NoMatchingError": "End"}
)


@pytest.mark.parametrize(
    "value",
    ["${support_queue_arn}", "${QueueArn}", "{{queues.sales.arn}}", "<<SALES_QUEUE>>", "{QUEUE_ARN}"],
)
def test_a_template_token_is_recognised_and_not_read_as_jsonpath(value: str) -> None:
    # GIVEN a queue id that another tool fills before deploying (Terraform templatefile, Fn::Sub, Handlebars...)
    doc = copy.deepcopy(flow(QUEUE))
    doc["Actions"][0]["Parameters"]["QueueId"] = value
    # WHEN it is linted THEN nothing is an error (it is not a JSONPath) and one warning names what fills it
    findings = lint_flow(doc, "templated.json")
    assert rules(findings, "error") == set(), findings
    assert rules(findings) == {"templated-value"}
    # AND a real JSONPath that is malformed is still refused
    doc["Actions"][0]["Parameters"]["QueueId"] = "$.Attributes.a b"
    assert "jsonpath" in rules(lint_flow(doc), "error")


def test_a_templated_number_is_not_a_static_jsonpath() -> None:
    # GIVEN a menu whose static-only timeout is a ${...} token
    menu = copy.deepcopy(MENU_OK)
    menu["Parameters"]["InputTimeLimitSeconds"] = "${timeout}"
    # THEN it is not refused as a JSONPath (the tool fills a number), while a JSONPath there is
    assert rules(lint_flow(flow(menu)), "error") == set()
    menu["Parameters"]["InputTimeLimitSeconds"] = "$.Attributes.t"
    assert "static-parameter" in rules(lint_flow(flow(menu)), "error")


def _padded(size: int) -> dict[str, Any]:
    """A valid flow whose prompt makes its compact content about ``size`` characters."""
    doc = copy.deepcopy(flow(SAY))
    base = len(json.dumps({k: v for k, v in doc.items() if k != "Metadata"}, separators=(",", ":")))
    doc["Actions"][0]["Parameters"]["Text"] = "x" * (size - base + len("Hello"))
    return doc


def test_content_over_256000_characters_is_refused() -> None:
    from flowkit.language.catalogue import MAX_CONTENT

    # GIVEN flows just inside and just over Connect's content limit (CreateContactFlow Content)
    inside, over = _padded(MAX_CONTENT), _padded(MAX_CONTENT + 1)
    # THEN only the larger one is an error, and the message gives its size and the limit
    assert "content-too-long" not in rules(lint_flow(inside))
    found = [f for f in lint_flow(over) if f.rule == "content-too-long"]
    assert [f.severity for f in found] == ["error"]
    assert f"{MAX_CONTENT + 1:,}" in found[0].message and f"{MAX_CONTENT:,}" in found[0].message


def test_placeholders_that_fill_past_the_limit_are_a_warning() -> None:
    from flowkit.language.catalogue import MAX_CONTENT
    from flowkit.language.lint import FILLED_ARN

    placeholders = "%QueueArn.sales%" * 10
    growth = 10 * (FILLED_ARN - len("%QueueArn.sales%"))

    def with_placeholders(size: int) -> dict[str, Any]:
        doc = _padded(size)
        text = doc["Actions"][0]["Parameters"]["Text"]
        doc["Actions"][0]["Parameters"]["Text"] = text[: -len(placeholders)] + placeholders
        return doc

    # GIVEN a flow whose placeholders, once filled with ARNs, take it past the limit, and one they do not
    over, inside = with_placeholders(MAX_CONTENT - growth // 2), with_placeholders(MAX_CONTENT - growth * 2)
    # THEN only the first is warned about (the unfilled file itself is inside the limit)
    found = [f for f in lint_flow(over) if f.rule == "content-too-long"]
    assert [f.severity for f in found] == ["warning"] and "once its placeholders are filled" in found[0].message
    assert "content-too-long" not in rules(lint_flow(inside))


def test_console_metadata_that_pushes_content_over_the_limit_is_a_warning() -> None:
    from flowkit.language.catalogue import MAX_CONTENT

    # GIVEN a flow that fits without its Metadata, and layout Metadata that takes it over the limit
    doc = _padded(MAX_CONTENT - 10)
    doc["Metadata"]["ActionMetadata"] = {"Say": {"note": "y" * 100}}
    # THEN that is a warning (the kit sends the flow without Metadata), not an error
    found = [f for f in lint_flow(doc) if f.rule == "content-too-long"]
    assert [f.severity for f in found] == ["warning"]


def test_name_and_description_lengths() -> None:
    from flowkit.language.catalogue import MAX_DESCRIPTION, MAX_NAME

    doc = copy.deepcopy(flow(SAY))
    doc["Metadata"].update(name="n" * MAX_NAME, description="d" * MAX_DESCRIPTION)
    assert rules(lint_flow(doc)) == set()
    doc["Metadata"].update(name="n" * (MAX_NAME + 1), description="d" * (MAX_DESCRIPTION + 1))
    findings = {f.rule: f.severity for f in lint_flow(doc)}
    assert findings == {"name-too-long": "error", "description-too-long": "warning"}


def test_event_hooks_configuration_alone_is_accepted_and_an_empty_hook_action_is_not() -> None:
    # GIVEN the console's "Set whisper flow: disable" form: EventHooksConfiguration without EventHooks
    hook = action(
        "NoWhisper",
        "UpdateContactEventHooks",
        {"EventHooksConfiguration": {"CustomerWhisper": {"DisableExecution": "true"}}},
        errors={"NoMatchingError": "End"},
    )
    assert rules(lint_flow(flow(hook)), "error") == set()
    # WHEN neither is given THEN the action is refused
    hook["Parameters"] = {}
    assert "missing-parameter" in rules(lint_flow(flow(hook)), "error")


def test_a_view_id_longer_than_connect_allows_is_refused() -> None:
    from flowkit.language.catalogue import MAX_VIEW_ID

    view = action(
        "Show", "ShowView", {"ViewResource": {"Id": "%ViewArn.claim-form%", "Version": "1"}},
        errors={"NoMatchingError": "End"},
    )  # fmt: skip
    assert "view-id" not in rules(lint_flow(flow(view)))
    view["Parameters"]["ViewResource"]["Id"] = "v" * (MAX_VIEW_ID + 1)
    assert "view-id" in rules(lint_flow(flow(view)), "error")


def test_without_metadata_name_the_file_name_is_checked_as_the_deployed_name(tmp_path: Path) -> None:
    from flowkit.language.catalogue import MAX_NAME
    from flowkit.language.files import FlowError, load_flow

    # GIVEN a flow without Metadata.name, saved under a file name one character longer than Connect allows
    doc = copy.deepcopy(flow(SAY))
    doc.get("Metadata", {}).pop("name", None)
    long_file = tmp_path / f"{'n' * (MAX_NAME + 1)}.json"
    long_file.write_text(json.dumps(doc), encoding="utf-8")
    # WHEN linted THEN the name the kit would deploy (the stem) is too long, and loading it for a deploy refuses it
    findings = lint_path(long_file)
    assert "name-too-long" in rules(findings, "error")
    assert "file name" in next(f for f in findings if f.rule == "name-too-long").message
    with pytest.raises(FlowError, match="name-too-long"):
        load_flow(long_file)
    # AND a file name of exactly the limit is fine
    fits = tmp_path / f"{'n' * MAX_NAME}.json"
    fits.write_text(json.dumps(doc), encoding="utf-8")
    assert "name-too-long" not in rules(lint_path(fits))
