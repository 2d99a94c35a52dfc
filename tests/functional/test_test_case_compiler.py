"""Scenarios compiled into Connect test cases, and those run offline by the interpreter on the same engine."""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flowkit.simulate.scenarios import Expect, Scenario, load_scenarios
from flowkit.testcase.compile import CompiledTestCase
from flowkit.testcase.kit import SCENARIOS_DIR, OfflineKit, compile_kit, compile_with, offline_kit, run_offline
from flowkit.testcase.language import OVERRIDE_ERRORS, problems_of
from flowkit.testcase.trace import record
from regions.config import Deployment, load_deployment
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def sample() -> Deployment:
    return load_deployment(ROOT / "regions" / "clinic.yaml")


@pytest.fixture(scope="module")
def kit(sample: Deployment) -> Iterator[OfflineKit]:
    with offline_kit(sample) as running:
        yield running


@pytest.fixture(scope="module")
def cases(sample: Deployment) -> list[CompiledTestCase]:
    return compile_kit(sample)


def run(kit: OfflineKit, case: CompiledTestCase, content: dict[str, Any] | None = None) -> Any:
    document = content if content is not None else case.content
    assert document is not None
    return run_offline(kit, case.as_file(), name=case.name, flow=case.flow, document=document, role=case.region)


def test_every_scenario_is_compiled_or_says_why(cases: list[CompiledTestCase]) -> None:
    # GIVEN the kit's scenario files WHEN compiled
    files = sorted(p.stem for p, _ in load_scenarios(SCENARIOS_DIR))
    # THEN each file gives one result: a well-formed document, or problems that name what cannot be expressed
    assert sorted(c.scenario for c in cases) == files
    for case in cases:
        assert case.compiled != bool(case.problems), case.scenario
        if case.compiled:
            assert problems_of(case.content or {}) == [], case.scenario
    assert any(c.compiled for c in cases), "no scenario compiles: the comparison below would prove nothing"


def test_what_cannot_be_expressed_names_the_scenario_field(cases: list[CompiledTestCase]) -> None:
    # GIVEN the scenarios that do not compile
    scenarios = {p.stem: s for p, s in load_scenarios(SCENARIOS_DIR)}
    for case in (c for c in cases if not c.compiled):
        scenario = scenarios[case.scenario]
        # THEN every problem points at a forced failure, the entry flow, the outcome or the opt-out it has
        for problem in case.problems:
            named = [a for a in scenario.fail if problem.startswith(f"fail {a.split(':')[-1]}:")]
            assert named or scenario.flow in problem or scenario.expect.outcome in problem or "opted out" in problem


def test_a_host_that_pauses_the_process_changes_no_compiled_case(
    sample: Deployment, cases: list[CompiledTestCase], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a wall clock that jumps 10 s at every reading (a loaded host, parallel workers, pausing the process)
    assert any(c.compiled and "InvokeLambdaFunction" in json.dumps(c.content) for c in cases), "no function is mocked"
    ticks = itertools.count(0.0, 10.0)
    monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
    # WHEN the scenarios are compiled again
    paused = compile_kit(sample)
    # THEN no function "took longer" than its flow's limit: every result is the undisturbed compilation's
    assert [(c.scenario, c.problems, c.content) for c in paused] == [(c.scenario, c.problems, c.content) for c in cases]


def test_every_compiled_kit_scenario_passes_offline(kit: OfflineKit, cases: list[CompiledTestCase]) -> None:
    # GIVEN every scenario that compiles WHEN its test case runs against the kit's flows offline
    results = {c.scenario: run(kit, c) for c in cases if c.compiled}
    # THEN each passes, and each of its observations passed
    assert {name: r.reason for name, r in results.items() if not r.passed} == {}
    for name, result in results.items():
        assert result.records and all(r.status == "PASSED" for r in result.records), name


def _first(cases: list[CompiledTestCase], wanted: str) -> tuple[CompiledTestCase, dict[str, Any]]:
    for case in cases:
        if case.compiled and wanted in json.dumps(case.content):
            return case, copy.deepcopy(case.content or {})
    pytest.skip(f"no compiled scenario has {wanted}")


def test_a_wrong_expected_prompt_fails_the_test_case(kit: OfflineKit, cases: list[CompiledTestCase]) -> None:
    # GIVEN a compiled test case whose first expected message is changed to words the flows never say
    case, content = _first(cases, "MessageReceived")
    observation = next(o for o in content["Observations"] if o["Event"]["Type"] == "MessageReceived")
    observation["Event"]["Properties"]["Text"] = "words no flow of the kit ever says"
    # WHEN it runs offline THEN it fails at that observation, and the ones after it are not reached
    result = run(kit, case, content)
    assert not result.passed
    failed = {r.observation: r.detail for r in result.records if r.status == "FAILED"}
    assert failed[observation["Identifier"]].startswith("never observed")
    assert result.reason.startswith(observation["Identifier"])


def test_prompts_before_one_input_are_one_message_offline() -> None:
    from flowkit.testcase.trace import Event, one_message_per_input

    # GIVEN a call that plays two prompts (a function runs between them) before an input, then one before the end
    events = [Event("TestInitiated"), Event("MessageReceived", text="Welcome."),
              Event("FlowActionStarted", action_type="InvokeLambdaFunction"), Event("MessageReceived", text="Press 1."),
              Event("Input", text="1"), Event("MessageReceived", text="Bye."), Event("TestCompleted")]  # fmt: skip
    # WHEN presented as Connect sends it
    shown = one_message_per_input(events)
    # THEN the prompts before the input are ONE message, where the last of them was, and the later one its own
    assert [(e.type, e.parts) for e in shown] == [
        ("TestInitiated", []), ("FlowActionStarted", []), ("MessageReceived", ["Welcome.", "Press 1."]),
        ("Input", []), ("MessageReceived", ["Bye."]), ("TestCompleted", [])]  # fmt: skip
    assert "Welcome." in shown[2].text and "Press 1." in shown[2].text


def test_an_observation_per_prompt_before_one_input_fails_as_on_connect(
    kit: OfflineKit, cases: list[CompiledTestCase]
) -> None:
    # GIVEN a compiled test case whose message holds several prompts (its caveat says which are not matched)
    case = next((c for c in cases if c.compiled and any("one message" in v for v in c.caveats)), None)
    if case is None:
        pytest.skip("no kit scenario plays two prompts before an input")
    assert case.content is not None
    merged = next(e for e in run(kit, case).events if e.type == "MessageReceived" and len(e.parts) > 1)
    content = copy.deepcopy(case.content)
    observations = content["Observations"]
    at = next(i for i, o in enumerate(observations) if o["Event"]["Type"] == "MessageReceived"
              and o["Event"]["Properties"]["Text"] in merged.parts[-1])  # fmt: skip
    # WHEN an observation of its first prompt is chained before it (one observation per prompt, as before)
    first = copy.deepcopy(observations[at])
    first.update(
        Identifier="first-prompt", Actions=[], Transitions={"NextObservations": [observations[at]["Identifier"]]}
    )
    first["Event"] = dict(first["Event"], Identifier="ev-first-prompt")
    first["Event"]["Properties"] = dict(first["Event"]["Properties"], Text=merged.parts[0])
    observations[at - 1]["Transitions"]["NextObservations"] = ["first-prompt"]
    observations.insert(at, first)
    assert problems_of(content) == []
    # THEN offline, as on Connect, the first observation takes the one message and the next does not see it:
    # the test fails, or (a flow that replays its menu after silence) the answer is sent only after a timeout
    compiled, split = run(kit, case), run(kit, case, content)
    assert compiled.passed
    inputs = [[e.text for e in r.events if e.type == "Input"] for r in (compiled, split)]
    assert not split.passed or inputs[0] != inputs[1], (split.reason, inputs)
    if split.passed:
        assert inputs[1][0] == "timeout" and "timeout" not in inputs[0][:1]


def test_a_wrong_assertion_fails_the_test_case(kit: OfflineKit, cases: list[CompiledTestCase]) -> None:
    # GIVEN a compiled test case with an assertion whose operand is changed
    case, content = _first(cases, '"Type": "Assert"')
    observation = next(o for o in content["Observations"] if any(a["Type"] == "Assert" for a in o["Actions"]))
    action = next(a for a in observation["Actions"] if a["Type"] == "Assert")
    action["Parameters"]["Operand"] = "not-the-value"
    # WHEN it runs offline THEN the observation with the assertion fails and says what was found
    result = run(kit, case, content)
    record = next(r for r in result.records if r.observation == observation["Identifier"])
    assert (result.passed, record.status) == (False, "FAILED")
    assert "not-the-value" in record.detail and "found" in record.detail


def test_a_wrong_dtmf_answer_fails_the_test_case(kit: OfflineKit, cases: list[CompiledTestCase]) -> None:
    # GIVEN a compiled test case whose DTMF answer is changed to a key that takes another path
    case, content = _first(cases, "DtmfInput")
    action = next(a for o in content["Observations"] for a in o["Actions"] if a["Type"] == "SendInstruction"
                  and a["Parameters"]["Instruction"]["Type"] == "DtmfInput")  # fmt: skip
    action["Parameters"]["Instruction"]["Properties"]["Value"] = 7 if action["Parameters"]["Instruction"][
        "Properties"]["Value"] != 7 else 8  # fmt: skip
    # WHEN it runs offline THEN it fails
    assert not run(kit, case, content).passed


def test_an_invalid_document_is_rejected_before_running(kit: OfflineKit, cases: list[CompiledTestCase]) -> None:
    # GIVEN a compiled test case with a usage type Connect does not know (case-sensitive)
    case, content = _first(cases, "Usage")
    content["Observations"][0]["Usage"]["Type"] = "EXACTLY"
    # WHEN run THEN it fails as invalid, naming the field
    result = run(kit, case, content)
    assert not result.passed and "Usage.Type" in result.reason and not result.records


def test_a_scenario_can_opt_out(kit: OfflineKit, sample: Deployment) -> None:
    # GIVEN a scenario that compiles, marked test_case: false
    path, scenario = next((p, s) for p, s in load_scenarios(SCENARIOS_DIR)
                          if compile_with(kit, p, s, sample.test_cases).compiled)  # fmt: skip
    opted = scenario.model_copy(update={"test_case": False})
    # WHEN compiled THEN it has no test case and says it opted out
    case = compile_with(kit, path, opted, sample.test_cases)
    assert not case.compiled and case.problems == ["opted out (test_case: false)"]


def test_settings_shape_the_document(kit: OfflineKit, sample: Deployment) -> None:
    # GIVEN a scenario that checks the hours, compiled with the version, usage and hours settings changed
    path, scenario = next(
        (p, s) for p, s in load_scenarios(SCENARIOS_DIR)
        if "CheckHoursOfOperation" in json.dumps(compile_with(kit, p, s, sample.test_cases).content))  # fmt: skip
    changed = sample.test_cases.model_copy(update={"version": "2025-06-21", "usage": False, "hours": "live"})
    content = compile_with(kit, path, scenario, changed).content or {}
    # THEN the version is the setting's, no observation has a Usage, and no hours override is registered
    assert content["Version"] == "2025-06-21"
    assert all("Usage" not in o for o in content["Observations"])
    assert "CheckHoursOfOperation" not in json.dumps(content["Observations"][0])


# -- generated scenarios ----------------------------------------------------------------------------------------
FLOWS = ["inbound-menu", "after-hours"]
WORDS = ["1", "2", "5", "timeout", "book a checkup", "friday", "10 am", "yes", "no", "agent",
         "when is my appointment", "I need to cancel my appointment", "purple elephants"]  # fmt: skip
CALLERS = ["+15555550100", "+15555550101", "+15555550123", None]
ACTIONS = ["LookupCaller", "CheckHours", "AskBot", "ToQueue", "Closed", "RequestCallback", "Goodbye"]
ERRORS = sorted({e for errors in OVERRIDE_ERRORS.values() for e in errors})


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    day, hour = draw(st.integers(1, 7)), draw(st.integers(0, 23))
    return {
        "name": "generated",
        "flow": draw(st.sampled_from(FLOWS)),
        "region": draw(st.sampled_from(["primary", "dr"])),
        "at": f"2026-12-{day:02d}T{hour:02d}:00:00-05:00",
        "caller": draw(st.sampled_from(CALLERS)),
        "inputs": draw(st.lists(st.sampled_from(WORDS), max_size=5)),
        "queue_full": draw(st.sampled_from([[], ["appointments"]])),
        "fail": draw(
            st.one_of(st.just({}), st.dictionaries(st.sampled_from(ACTIONS), st.sampled_from(ERRORS), max_size=2))
        ),
        "lambdas": draw(st.sampled_from([{}, {"CallerLookup": "flowkit.simulate.functions:unavailable"}])),
        "prompts": draw(st.integers(0, 3)),
        "attributes": draw(st.booleans()),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=scenarios())
def test_generated_scenarios_compile_to_valid_documents_that_pass_offline(
    kit: OfflineKit, sample: Deployment, raw: dict[str, Any]
) -> None:
    # GIVEN a generated call whose expectations are what the simulator does with it (a true scenario)
    prompts, attributes = raw.pop("prompts"), raw.pop("attributes")
    scenario = Scenario.model_validate({**raw, "expect": {"outcome": "ended"}})
    kit.at(scenario.at)
    try:
        done = record(kit.resources(scenario.region, scenario.lambdas), scenario.flow, scenario.inputs, at=scenario.at,
                      caller=scenario.caller, queue_full=set(scenario.queue_full), failures=scenario.fail).result  # fmt: skip
    except Exception as exc:  # an error branch the flow lacks: not a scenario anyone could write
        pytest.skip(f"not simulatable: {exc}")
    heard = [p for s in done.steps if s.prompt for p in s.prompt.split(" / ")]
    expect = Expect(outcome=done.outcome.kind, queue=done.outcome.detail.get("queue"),  # type: ignore[arg-type]
                    prompts=heard[:: max(1, len(heard) // max(prompts, 1))][:prompts],
                    attributes=dict(list(done.attributes.items())[:2]) if attributes else {})  # fmt: skip
    scenario = scenario.model_copy(update={"expect": expect})
    # WHEN it is compiled
    case = compile_with(kit, Path("generated.yaml"), scenario, sample.test_cases)
    # THEN it is a valid document by the reference's shapes, or it says why not; and a compiled one passes offline
    event("compiled" if case.compiled else f"not compiled: {case.problems[0][:25]}")
    if case.compiled:
        assert problems_of(case.content or {}) == []
        result = run(kit, case)
        assert result.passed, (result.reason, scenario.model_dump())
    else:
        assert case.problems


# -- flows that resolve regional resources at run time ---------------------------------------------------------
REGIONAL_FLOW: dict[str, Any] = {
    "Version": "2019-10-30", "StartAction": "Lookup", "Metadata": {"name": "regional", "type": "contactFlow"},
    "Actions": [
        {"Identifier": "Lookup", "Type": "InvokeLambdaFunction",
         "Parameters": {"LambdaFunctionARN": "arn:aws:lambda:$.AwsRegion:111111111111:function:clinic-CallerLookup",
                        "InvocationTimeLimitSeconds": "3"},
         "Transitions": {"NextAction": "Greet", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}},
        {"Identifier": "Greet", "Type": "MessageParticipant", "Parameters": {"Text": "Hello $.External.name"},
         "Transitions": {"NextAction": "Bye", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}},
        {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
    ],
}  # fmt: skip


def regional_resources(region: str, name: str) -> Any:
    from flowkit.simulate.engine import Resources

    arn = f"arn:aws:lambda:{region}:111111111111:function:clinic-CallerLookup"
    return Resources(flows={"regional": REGIONAL_FLOW}, hours={}, queues={}, lex=None, region=region,
                     lambdas={arn: lambda _event, _context: {"name": name}}, lambda_context=lambda _key: None)  # fmt: skip


def test_a_region_resolved_function_is_overridden_in_every_region(sample: Deployment) -> None:
    from flowkit.testcase.compile import compile_scenario
    from flowkit.testcase.interpret import interpret
    from runbooks.native_tests import filled, placeholder_values

    # GIVEN a flow that names its function with $.AwsRegion, and a scenario recorded in the primary region
    scenario = Scenario.model_validate({"name": "regional", "flow": "regional", "at": "2026-12-01T10:00:00-05:00",
                                        "expect": {"outcome": "disconnected", "prompts": ["Hello Ada"]}})  # fmt: skip
    primary = regional_resources("us-east-1", "Ada")
    recording = record(primary, "regional", [], at=scenario.at, caller=None)
    case = compile_scenario(Path("regional.yaml"), scenario, recording, flows=primary.flows,
                            settings=sample.test_cases)  # fmt: skip
    # WHEN compiled THEN the override names the function with the region as a placeholder
    assert case.compiled, case.problems
    assert "arn:aws:lambda:%AwsRegion%:111111111111:function:clinic-CallerLookup" in json.dumps(case.content)
    # AND run in the DR region, where the function would answer otherwise, the mock still applies: it passes
    dr = interpret(case.name, "regional", case.content or {}, regional_resources("us-west-2", "Bob"),
                   at=scenario.at, caller=None)  # fmt: skip
    assert dr.passed, dr.reason
    # AND filled for the DR region, the ARN is the DR region's
    content, _entry = filled(case.as_file(), placeholder_values({"Region": "us-west-2"}, {}, "us-west-2")
                             | {"FlowId.regional": "f-1"})  # fmt: skip
    assert "arn:aws:lambda:us-west-2:111111111111:function:clinic-CallerLookup" in content


def test_live_functions_mock_only_the_mapped_or_failing_ones(kit: OfflineKit, sample: Deployment) -> None:
    # GIVEN the kit's scenarios whose calls reach a Lambda, compiled with functions: live
    live = sample.test_cases.model_copy(update={"functions": "live"})
    compiled = [(s, compile_with(kit, p, s, live)) for p, s in load_scenarios(SCENARIOS_DIR)]
    compiled = [(s, c) for s, c in compiled if c.compiled]
    assert compiled
    for scenario, case in compiled:
        start = json.dumps(case.content["Observations"][0]) if case.content else ""
        # THEN a function is overridden only where the scenario maps it (to a failing one, in the kit's scenarios)
        assert ("InvokeLambdaFunction" in start) == bool(scenario.lambdas), case.scenario


# -- the queued outcome, queue overrides and unconfirmed paths (connect-testing.md §2, §3) ---------------------------
def test_a_queued_outcome_matches_the_transfer_and_asserts_the_queue_by_name(cases: list[CompiledTestCase]) -> None:
    # GIVEN the kit's compiled scenarios that end queued
    scenarios = {p.stem: s for p, s in load_scenarios(SCENARIOS_DIR)}
    queued = [c for c in cases if c.compiled and scenarios[c.scenario].expect.outcome == "queued"]
    if not queued:
        pytest.skip("no compiled scenario ends queued")
    for case in queued:
        outcome = (case.content or {})["Observations"][-1]
        # THEN the outcome waits for the transfer without naming the queue's ARN or id (unconfirmed which) ...
        assert outcome["Event"]["Properties"] == {"ActionType": "TransferContactToQueue"}, case.name
        # ... and the queue is checked by its name, the documented path
        names = [a["Parameters"] for a in outcome["Actions"] if a["Type"] == "Assert"]
        assert any(n["Namespace"] == "$.Queue.Name" and n["Operator"] == "Equals" for n in names), case.name


def test_attribute_assertions_are_listed_as_unconfirmed(cases: list[CompiledTestCase]) -> None:
    # GIVEN the compiled scenarios that expect attributes
    scenarios = {p.stem: s for p, s in load_scenarios(SCENARIOS_DIR)}
    with_attributes = [c for c in cases if c.compiled and scenarios[c.scenario].expect.attributes]
    if not with_attributes:
        pytest.skip("no compiled scenario expects attributes")
    # THEN each says its $.Attributes assertions are unconfirmed, naming the keys
    for case in with_attributes:
        keys = scenarios[case.scenario].expect.attributes
        caveat = next((c for c in case.caveats if "$.Attributes" in c), "")
        assert caveat and all(k in caveat for k in keys), case.name


def test_a_queue_override_for_an_unknown_queue_is_a_problem_not_an_empty_id() -> None:
    from datetime import UTC, datetime

    from flowkit.simulate.engine import CallResult
    from flowkit.testcase.compile import _Builder, _overrides
    from flowkit.testcase.trace import Recording, Started
    from regions.config import FlowTestSettings

    # GIVEN a transfer whose queue the offline run does not know, and a scenario that forces it to fail
    scenario = Scenario(name="s", flow="f", at=datetime(2026, 12, 1, 10, tzinfo=UTC), fail={"ToQueue": "QueueAtCapacity"},
                        expect=Expect(outcome="disconnected"))  # fmt: skip
    started = [Started(0, "f", "ToQueue", "TransferContactToQueue", {}, {}, None)]
    recording = Recording(result=CallResult.__new__(CallResult), started=started, lambda_calls=[], events=[])
    problems: list[str] = []
    # WHEN its overrides are compiled
    actions = _overrides(scenario, recording, _Builder(FlowTestSettings()), problems)
    # THEN no override with an empty QueueId is emitted; the problem names the block
    assert actions == [] and any("ToQueue" in p and "queue" in p for p in problems), problems


@pytest.mark.parametrize("action", ["TransferContactToQueue", "DequeueAndTransferToQueue"])
def test_queue_transfers_can_be_overridden_with_the_documented_errors(action: str) -> None:
    # GIVEN a test case whose start overrides a queue transfer with QueueAtCapacity (connect-testing.md §3)
    override = {"Identifier": "o-1", "Type": "OverrideSystemBehavior", "Transitions": {}, "Parameters": {
        "ActionType": "OverrideSystemBehavior", "Behavior": {"Type": "FlowAction", "Properties": {
            "ActionType": action, "ActionParameters": {"QueueId": "%QueueArn.appointments%"},
            "Strategy": {"Type": "MockResponse", "Response": {"Type": "Error", "Error": {"Value": "QueueAtCapacity"}}}}}}}  # fmt: skip
    document = {"Version": "2019-10-30", "Metadata": {}, "Observations": [
        {"Identifier": "start", "Event": {"Identifier": "ev-start", "Type": "TestInitiated", "Actor": "System",
                                          "Properties": {}}, "Actions": [override], "Transitions": {"NextObservations": []}}]}  # fmt: skip
    # THEN the document is well formed
    assert problems_of(document) == []
