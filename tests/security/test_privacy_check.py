"""The checks that keep patient data where the deployment says: out of flow logs and traces (issue 12, §1), and
followed by data flow from its sources to every sink (issue 19, item 5)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowkit.language.files import FLOWS_DIR, FlowError, load_flows
from flowkit.language.privacy import (
    BUILT_IN_SOURCES,
    FlowSource,
    PrivacyPolicy,
    data_flow_findings,
    flow_log_findings,
    flow_sources,
    logged_actions,
    trace_findings,
    unknown_privacy_marks,
)
from lambdas.infrastructure import ANSWERS, RUNTIME_DIR, TRACE_PRIVACY
from regions.config import load_deployment
from tests.conftest import ROOT

DEPLOYMENT = load_deployment(ROOT / "regions" / "clinic.yaml")
SENSITIVE = DEPLOYMENT.data.sensitive_fields


def _copy_flows(tmp_path: Path) -> Path:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    return flows


def _logging_always_on(flows: Path) -> None:
    """Every Set logging behavior block of every flow switched to Enabled: what the kit shipped before."""
    for path in flows.glob("*.json"):
        doc = json.loads(path.read_text())
        for action in doc["Actions"]:
            if action["Type"] == "UpdateFlowLoggingBehavior":
                action["Parameters"]["FlowLoggingBehavior"] = "Enabled"
        path.write_text(json.dumps(doc))


def test_the_shipped_flows_log_no_sensitive_field() -> None:
    # GIVEN the kit's flows and the sample's sensitive fields WHEN checked THEN nothing sensitive is logged
    assert flow_log_findings(load_flows(), SENSITIVE, ANSWERS) == []


def test_a_flow_that_logs_patient_data_is_found(tmp_path: Path) -> None:
    # GIVEN the kit's flows with logging left on throughout
    flows = _copy_flows(tmp_path)
    _logging_always_on(flows)
    # WHEN checked THEN each block that handles a sensitive field is named, with the fields
    findings = flow_log_findings(load_flows(flows), SENSITIVE, ANSWERS)
    found = {(Path(f.file).name, f.action) for f in findings}
    assert ("inbound-menu.json", "LookupCaller") in found  # the function answers patientId and firstName
    assert ("inbound-menu.json", "HoldPatient") in found  # holds them as flow attributes
    assert ("inbound-menu.json", "AskBot") in found  # greets by $.FlowAttributes.firstName
    assert all(f.rule == "sensitive-field-logged" and f.severity == "error" for f in findings)


def test_a_flow_that_logs_patient_data_stops_the_synth(tmp_path: Path) -> None:
    import app as kit_app

    flows = _copy_flows(tmp_path)
    _logging_always_on(flows)
    with pytest.raises(FlowError, match="sensitive-field-logged") as failure:
        kit_app.build_app(ROOT / "regions" / "clinic.yaml", str(tmp_path / "out"), flows_dir=flows)
    assert "inbound-menu.json [LookupCaller]" in str(failure.value)
    assert not (tmp_path / "out").exists()


def test_logging_is_followed_along_every_path_including_error_branches() -> None:
    # GIVEN a flow that turns logging off on its main path but reaches a block through an error branch
    doc: dict[str, Any] = {
        "StartAction": "Hours",
        "Actions": [
            {"Identifier": "Hours", "Type": "CheckHoursOfOperation", "Parameters": {},
             "Transitions": {"Conditions": [{"NextAction": "Off", "Condition": {}}],
                             "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Lookup"}]}},
            {"Identifier": "Off", "Type": "UpdateFlowLoggingBehavior",
             "Parameters": {"FlowLoggingBehavior": "Disabled"}, "Transitions": {"NextAction": "Lookup"}},
            {"Identifier": "Lookup", "Type": "InvokeLambdaFunction", "Parameters": {}, "Transitions": {}},
        ],
    }  # fmt: skip
    # WHEN the blocks that may run with logging on are listed THEN the error path counts
    assert logged_actions(doc) == {"Hours", "Off", "Lookup"}


def test_the_functions_trace_nothing_sensitive() -> None:
    assert trace_findings(RUNTIME_DIR, TRACE_PRIVACY, SENSITIVE, ANSWERS) == []


def test_response_capture_left_on_is_found() -> None:
    # GIVEN the functions' environment without POWERTOOLS_TRACER_CAPTURE_RESPONSE=false
    environment = {k: v for k, v in TRACE_PRIVACY.items() if k != "POWERTOOLS_TRACER_CAPTURE_RESPONSE"}
    findings = trace_findings(RUNTIME_DIR, environment, SENSITIVE, ANSWERS)
    # THEN the functions that answer sensitive fields are named
    assert [f.rule for f in findings] == ["sensitive-response-traced"]
    assert "CallerLookup" in findings[0].message and "Appointments" in findings[0].message


def test_a_sensitive_annotation_or_a_captured_response_in_code_is_found(tmp_path: Path) -> None:
    # GIVEN handler code that annotates a trace with a patient id and captures a method's response
    runtime = tmp_path / "runtime"
    shutil.copytree(RUNTIME_DIR, runtime, ignore=shutil.ignore_patterns("__pycache__"))
    extra = runtime / "clinic" / "leaky.py"
    extra.write_text(
        "from clinic.observability import tracer\n\n\n"
        "@tracer.capture_method(capture_response=True)\n"
        "def f(patient_id: str) -> str:\n"
        "    tracer.put_annotation('patient_id', patient_id)\n"
        "    return patient_id\n"
    )
    # WHEN checked THEN both are reported with their line
    findings = trace_findings(runtime, TRACE_PRIVACY, SENSITIVE, ANSWERS)
    assert sorted((f.rule, f.action) for f in findings) == [
        ("sensitive-field-traced", "line 6"),
        ("sensitive-response-traced", "line 4"),
    ]


def test_answers_are_what_the_handlers_answer() -> None:
    # GIVEN the real handlers with a real event WHEN they answer THEN ANSWERS lists exactly their keys
    from flowkit.simulate.functions import LocalContext, local_clinic
    from tests.conftest import load_event

    with local_clinic("America/New_York", backend="memory") as clinic:
        for key in ("CallerLookup", "Callback"):
            answer = clinic.handlers[key](load_event("connectContactFlowEvent"), LocalContext(key))
            assert tuple(answer) == ANSWERS[key]
        answer = clinic.handlers["Appointments"](load_event("lexV2CodeHookEvent"), LocalContext("Appointments"))
        assert tuple(answer["sessionState"]["sessionAttributes"]) == ANSWERS["Appointments"]


def test_a_misspelt_sensitive_field_is_refused_with_the_nearest_real_one() -> None:
    # GIVEN the kit's flows and function answers, and a sensitive field with a typo beside a correct one
    from flowkit.language.files import load_flows
    from flowkit.language.privacy import unknown_sensitive_fields
    from lambdas.infrastructure import ANSWERS

    flows = load_flows()
    # WHEN the fields are checked THEN only the misspelt one is reported, with the name the kit uses
    found = unknown_sensitive_fields(["patientID", "firstName"], flows, ANSWERS)
    assert len(found) == 1 and "'patientID'" in found[0] and "did you mean 'patientId'?" in found[0]
    assert unknown_sensitive_fields(["patientId", "firstName"], flows, ANSWERS) == []


# -- the data-flow guard (issue 19, item 5) --------------------------------------------------------------------------


def _sample_policy() -> PrivacyPolicy:
    import app as kit_app

    return kit_app.privacy_policy(DEPLOYMENT)


def _flow(name: str, *blocks: tuple[str, str, dict[str, Any]], logging: str = "Disabled") -> FlowSource:
    """A generated flow: a logging block, then ``blocks`` in a row (identifier, type, parameters)."""
    chain = [("Logging", "UpdateFlowLoggingBehavior", {"FlowLoggingBehavior": logging}), *blocks]
    actions = [
        {"Identifier": ident, "Type": kind, "Parameters": params,
         "Transitions": {"NextAction": chain[i + 1][0]} if i + 1 < len(chain) else {}}
        for i, (ident, kind, params) in enumerate(chain)
    ]  # fmt: skip
    return FlowSource(name, f"{name}.json", {"StartAction": "Logging", "Actions": actions})


def _hold(value: str) -> tuple[str, str, dict[str, Any]]:
    """The value passed through a flow attribute and then a contact attribute of harmless names."""
    return ("Hold", "UpdateFlowAttributes", {"FlowAttributes": {"held": {"Value": value}}})


#: A sink block for each kind of sink, reading the value it is given (a reference to the held attribute).
SINKS: dict[str, tuple[str, Any]] = {
    "sensitive-value-stored": ("UpdateContactAttributes", lambda ref: {"Attributes": {"note": ref}}),
    "sensitive-value-spoken": ("MessageParticipant", lambda ref: {"Text": f"We have {ref} on file."}),
    "sensitive-value-to-function": (
        "InvokeLambdaFunction",
        lambda ref: {"LambdaFunctionARN": "%FunctionArn.Callback%", "LambdaInvocationAttributes": {"who": ref}},
    ),
    "sensitive-value-logged": ("Compare", lambda ref: {"ComparisonValue": ref}),
}
#: The callback blocks, which put a number on a contact record (UpdateContactCallbackNumber, CreateCallbackContact).
CALLBACK_SINKS: dict[str, Any] = {
    "UpdateContactCallbackNumber": lambda ref: {"CallbackNumber": ref},
    "CreateCallbackContact": lambda ref: {"CallbackNumber": ref, "InitialCallDelaySeconds": "60"},
}
SOURCES = [
    "$.CustomerEndpoint.Address",
    "$.Lex.Slots.AppointmentDate",
    "$.External.patientId",
    "$.Attributes.firstName",
    "$.Lex.SessionAttributes.patientId",
]


@pytest.mark.parametrize("sink", sorted(SINKS))
@pytest.mark.parametrize("source", SOURCES)
def test_a_new_source_to_sink_path_is_caught_with_file_block_source_and_sink(source: str, sink: str) -> None:
    # GIVEN a generated flow that holds a sensitive value in a flow attribute, then hands it to a sink
    kind, params = SINKS[sink]
    flow = _flow("generated", _hold(source), ("Sink", kind, params("$.FlowAttributes.held")),
                 logging="Enabled" if sink == "sensitive-value-logged" else "Disabled")  # fmt: skip
    # WHEN the guard follows the sample's policy through it
    findings = [f for f in data_flow_findings([flow], _sample_policy()) if f.action == "Sink"]
    # THEN the sink block is named, with the rule for its sink and the source the value came from
    assert [(f.file, f.rule) for f in findings] == [("generated.json", sink)]
    assert f"$.FlowAttributes.held (from {source})" in findings[0].message


@pytest.mark.parametrize("sink", sorted(SINKS))
def test_a_clean_flow_is_not_flagged(sink: str) -> None:
    # GIVEN the same shapes carrying a value nobody marks sensitive (a callback reference)
    kind, params = SINKS[sink]
    flow = _flow("clean", _hold("$.External.reference"), ("Sink", kind, params("$.FlowAttributes.held")),
                 logging="Enabled")  # fmt: skip
    # WHEN checked THEN nothing is reported
    assert data_flow_findings([flow], _sample_policy()) == []


def test_the_shipped_flows_send_patient_data_only_where_the_deployment_allows() -> None:
    # GIVEN the kit's flows and the sample's data: section WHEN the guard runs THEN nothing is reported
    policy = _sample_policy()
    assert data_flow_findings(flow_sources(load_flows()), policy, ANSWERS) == []
    # AND without the sample's two allowances, the greetings it lets speak (one per language) and the bot blocks
    # that pass the patient id as a session attribute are the findings
    bare = PrivacyPolicy(policy.sensitive, policy.sources, bot_functions=policy.bot_functions)
    found = {(Path(f.file).name, f.action, f.rule) for f in data_flow_findings(flow_sources(load_flows()), bare)}
    spoken = {
        (f"{entry.split('/')[0]}.json", entry.split("/")[1], "sensitive-value-spoken") for entry in policy.speak_back
    }
    to_bot = {
        (flow.path.name, action["Identifier"], "sensitive-value-to-function")
        for flow in load_flows()
        for action in flow.doc["Actions"]
        if action["Type"] == "ConnectParticipantWithLexBot" and action["Parameters"].get("LexSessionAttributes")
    }
    assert len(spoken) >= 2 and len(to_bot) >= 2  # English and Spanish
    assert found == spoken | to_bot


def test_patient_data_stored_as_contact_attributes_is_caught(tmp_path: Path) -> None:
    # GIVEN the kit's flows as they were: the lookup's patient id and first name set as contact attributes
    flows = _copy_flows(tmp_path)
    path = flows / "inbound-menu.json"
    doc = json.loads(path.read_text())
    for action in doc["Actions"]:
        if action["Type"] == "UpdateFlowAttributes":
            action["Type"] = "UpdateContactAttributes"
            action["Parameters"] = {
                "Attributes": {k: v["Value"] for k, v in action["Parameters"]["FlowAttributes"].items()}
            }
    path.write_text(json.dumps(doc))
    # WHEN checked THEN the block that stores them is named with each source
    findings = data_flow_findings(flow_sources(load_flows(flows)), _sample_policy())
    stored = [f for f in findings if f.rule == "sensitive-value-stored"]
    assert {f.action for f in stored} == {"HoldPatient"}
    assert {"$.External.patientId", "$.External.firstName"} <= {m for f in stored for m in f.message.split(" ")}


def test_speak_back_and_receivers_allow_exactly_the_blocks_and_functions_they_name() -> None:
    # GIVEN two prompts and two functions that get the caller's first name
    name = "$.External.firstName"
    flow = _flow(
        "greet",
        ("Greet", "MessageParticipant", {"Text": f"Hello {name}"}),
        ("Again", "MessageParticipant", {"Text": f"Goodbye {name}"}),
        ("ToCallback", "InvokeLambdaFunction",
         {"LambdaFunctionARN": "%FunctionArn.Callback%", "LambdaInvocationAttributes": {"n": name}}),
        ("ToLookup", "InvokeLambdaFunction",
         {"LambdaFunctionARN": "%FunctionArn.CallerLookup%", "LambdaInvocationAttributes": {"n": name}}),
    )  # fmt: skip
    # WHEN only greet/Greet may speak it and only CallerLookup may receive it
    policy = PrivacyPolicy(frozenset({"firstName"}), speak_back=frozenset({"greet/Greet"}),
                           receivers=frozenset({"CallerLookup"}))  # fmt: skip
    # THEN the others are reported, naming the function
    findings = data_flow_findings([flow], policy)
    assert sorted((f.action, f.rule) for f in findings) == [
        ("Again", "sensitive-value-spoken"),
        ("ToCallback", "sensitive-value-to-function"),
    ]
    assert "Callback" in next(f.message for f in findings if f.action == "ToCallback")


def test_a_contact_attribute_carries_its_source_into_other_flows_and_a_flow_attribute_does_not() -> None:
    # GIVEN one flow that puts the caller's number in a contact attribute and in a flow attribute
    first = _flow("first", ("Keep", "UpdateContactAttributes", {"Attributes": {"ref": "$.CustomerEndpoint.Address"}}),
                  ("Hold", "UpdateFlowAttributes", {"FlowAttributes": {"ref": {"Value": "$.CustomerEndpoint.Address"}}}))  # fmt: skip
    # AND another flow that speaks both attributes of the same name
    second = _flow("second", ("SayContact", "MessageParticipant", {"Text": "$.Attributes.ref"}),
                   ("SayFlow", "MessageParticipant", {"Text": "$.FlowAttributes.ref"}))  # fmt: skip
    # WHEN checked THEN the contact attribute is followed across flows; the other flow's flow attribute is not
    found = {(f.file, f.action, f.rule) for f in data_flow_findings([first, second], _sample_policy())}
    assert found == {
        ("first.json", "Keep", "sensitive-value-stored"),
        ("second.json", "SayContact", "sensitive-value-spoken"),
    }


def test_a_source_the_deployment_does_not_track_is_not_followed() -> None:
    # GIVEN the caller's number stored as a contact attribute
    flow = _flow("number", ("Keep", "UpdateContactAttributes", {"Attributes": {"n": "$.CustomerEndpoint.Address"}}))
    # WHEN the deployment tracks the built-in sources, and when it tracks none
    tracked = PrivacyPolicy(frozenset(), frozenset(BUILT_IN_SOURCES))
    untracked = PrivacyPolicy(frozenset(), frozenset())
    # THEN only the first reports it
    assert [f.rule for f in data_flow_findings([flow], tracked)] == ["sensitive-value-stored"]
    assert data_flow_findings([flow], untracked) == []


def test_the_guard_reads_the_flow_corpus_without_error_and_finds_a_planted_leak() -> None:
    from flowkit.language.documents import unwrap

    corpus = ROOT / "tests" / "corpus" / "flows"
    flows = [
        FlowSource(found.name or path.stem, str(path), found.doc)
        for path in sorted(corpus.glob("*.json"))
        for found in unwrap(json.loads(path.read_text(encoding="utf-8")))
    ]
    assert len(flows) >= len(list(corpus.glob("*.json")))
    # GIVEN flows whose data the sample deployment does not declare sensitive WHEN checked THEN nothing is found
    assert data_flow_findings(flows, _sample_policy(), ANSWERS) == []
    # GIVEN one of them that also stores the caller's number THEN that block is found
    planted = copy.deepcopy(dict(flows[0].doc))
    planted["Actions"] = [*planted["Actions"], {"Identifier": "Planted", "Type": "UpdateContactAttributes",
                          "Parameters": {"Attributes": {"n": "$.CustomerEndpoint.Address"}}, "Transitions": {}}]  # fmt: skip
    found = data_flow_findings([FlowSource(flows[0].name, flows[0].file, planted)], _sample_policy())
    assert [(f.action, f.rule) for f in found] == [("Planted", "sensitive-value-stored")]


def test_a_prompt_that_speaks_patient_data_stops_the_synth(tmp_path: Path) -> None:
    import app as kit_app

    # GIVEN the sample deployment without its speak_back allowance
    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text())
    raw["data"]["speak_back"] = []
    config = tmp_path / "clinic.yaml"
    config.write_text(yaml.safe_dump(raw))
    # WHEN the app is built THEN the synth stops naming the block, its source and the marker that would allow it
    with pytest.raises(FlowError, match="sensitive-value-spoken") as failure:
        kit_app.build_app(config, str(tmp_path / "out"))
    assert "inbound-menu.json [AskBot]" in str(failure.value) and "$.External.firstName" in str(failure.value)
    assert "data.speak_back" in str(failure.value)
    assert not (tmp_path / "out").exists()


def test_an_allowance_that_names_nothing_is_refused() -> None:
    # GIVEN allowances with a misspelt block and an unknown function
    policy = PrivacyPolicy(frozenset(), speak_back=frozenset({"inbound-menu/AskBott", "inbound-menu/AskBot"}),
                           receivers=frozenset({"Appointment", "Appointments"}))  # fmt: skip
    # WHEN checked against the kit's flows and functions THEN each stale one is named, the real ones are not
    from regions.functions import load_functions

    problems = unknown_privacy_marks(policy, flow_sources(load_flows()), list(load_functions().keys))
    assert len(problems) == 2
    assert "'inbound-menu/AskBott'" in problems[0] and "'Appointment'" in problems[1]


def test_speak_back_entries_must_name_a_flow_and_a_block(tmp_path: Path) -> None:
    from regions.config import ConfigError

    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text())
    raw["data"]["speak_back"] = ["AskBot"]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"data\.speak_back"):
        load_deployment(path)


@pytest.mark.parametrize("kind", sorted(CALLBACK_SINKS))
@pytest.mark.parametrize("source", SOURCES)
def test_a_sensitive_value_made_a_callback_number_is_stored(kind: str, source: str) -> None:
    # GIVEN a generated flow that holds a sensitive value, then makes it a callback's number
    flow = _flow("callback", _hold(source), ("Sink", kind, CALLBACK_SINKS[kind]("$.FlowAttributes.held")))
    # WHEN the guard follows the sample's policy through it
    findings = [f for f in data_flow_findings([flow], _sample_policy()) if f.action == "Sink"]
    # THEN the callback block is reported as storing it on a contact record
    assert [(f.file, f.rule) for f in findings] == [("callback.json", "sensitive-value-stored")]
    assert f"(from {source})" in findings[0].message


@pytest.mark.parametrize("kind", sorted(CALLBACK_SINKS))
def test_a_callback_to_a_number_nobody_marks_sensitive_is_not_flagged(kind: str) -> None:
    # GIVEN the same callback carrying a value nobody marks sensitive WHEN checked THEN nothing is reported
    flow = _flow(
        "callback", _hold("$.External.reference"), ("Sink", kind, CALLBACK_SINKS[kind]("$.FlowAttributes.held"))
    )
    assert data_flow_findings([flow], _sample_policy()) == []
