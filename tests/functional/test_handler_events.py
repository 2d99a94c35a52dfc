"""The clinic functions answer every event, however malformed (issue 12, finding 5).

Real event shapes from ``tests/events/`` are mutated (a key removed, a value replaced by any JSON value) and
handed to the real handlers in-process, against moto's DynamoDB. A contact-flow function must answer a flat map
of strings with an error flag; the Lex code hook must answer a valid Lex V2 response.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit.simulate.functions import LocalClinic, LocalContext, local_clinic
from tests.conftest import load_event

ZONE = "America/New_York"
#: Lex V2 RecognizeText/code-hook response enumerations (Lex V2 API reference: DialogAction, Intent).
DIALOG_ACTIONS = {"Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot"}
INTENT_STATES = {"Failed", "Fulfilled", "InProgress", "ReadyForFulfillment", "Waiting", "FulfillmentInProgress"}
CONFIRMATION_STATES = {"Confirmed", "Denied", "None"}
#: The keys each contact-flow function always answers (the flows branch on them).
CONNECT_KEYS = {
    "CallerLookup": {"patientFound", "patientId", "firstName", "error"},
    "Callback": {"callbackQueued", "reason", "reference", "error"},
}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def clinic() -> Iterator[LocalClinic]:
    with local_clinic(ZONE, backend="moto") as running:
        running.set_time(datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo(ZONE)))
        running.seed(datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo(ZONE)))
        yield running


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a JSON document."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    for key, child in children:
        found.append((*prefix, key))
        found += _paths(child, (*prefix, key))
    return found


@st.composite
def mutated(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A real event with one to three of its keys removed or their values replaced by any JSON value."""
    event = load_event(name)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(event)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = event
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON)
    return event


def assert_flow_answer(function: str, answer: Any) -> None:
    """What InvokeLambdaFunction with STRING_MAP validation accepts, with the kit's keys and error flag."""
    assert isinstance(answer, dict), answer
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in answer.items()), answer
    assert set(answer) == CONNECT_KEYS[function], answer
    assert answer["error"] in ("true", "false"), answer


def assert_lex_response(answer: Any) -> None:
    """A Lex V2 code-hook response Lex accepts: a dialog action of its enumeration, an intent with a name
    where the action needs one, string session attributes, plain-text messages."""
    assert isinstance(answer, dict), answer
    state = answer["sessionState"]
    action = state["dialogAction"]
    assert action["type"] in DIALOG_ACTIONS, action
    if action["type"] == "ElicitSlot":
        assert isinstance(action["slotToElicit"], str) and action["slotToElicit"]
    if action["type"] != "ElicitIntent":
        intent = state["intent"]
        assert isinstance(intent["name"], str) and intent["name"], intent
        assert intent.get("state", "InProgress") in INTENT_STATES, intent
        assert intent.get("confirmationState", "None") in CONFIRMATION_STATES, intent
        for slot in (intent.get("slots") or {}).values():
            assert slot is None or isinstance(slot["value"]["interpretedValue"], str), slot
    attributes = state.get("sessionAttributes", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()), attributes
    for message in answer.get("messages", []):
        assert message["contentType"] == "PlainText" and isinstance(message["content"], str) and message["content"]


def _connect(clinic: LocalClinic, function: str, event: Any) -> Any:
    return clinic.handlers[function](event, LocalContext(function_name=f"clinic-{function}"))


def _without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return changed


def _with(event: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


CONNECT = load_event("connectContactFlowEvent")
LEX = load_event("lexV2CodeHookEvent")
NAMED_CONNECT_CASES = {
    "no CustomerEndpoint": _without(CONNECT, "Details", "ContactData", "CustomerEndpoint"),
    "no ContactId": _without(CONNECT, "Details", "ContactData", "ContactId"),
    "float address": _with(CONNECT, 15555550100.0, "Details", "ContactData", "CustomerEndpoint", "Address"),
    "address not E.164": _with(CONNECT, "call me", "Details", "ContactData", "CustomerEndpoint", "Address"),
    "no Details": _without(CONNECT, "Details"),
    "ContactData a list": _with(CONNECT, [], "Details", "ContactData"),
}


@pytest.mark.parametrize("function", sorted(CONNECT_KEYS))
@pytest.mark.parametrize("case", sorted(NAMED_CONNECT_CASES))
def test_contact_flow_functions_answer_malformed_events(clinic: LocalClinic, function: str, case: str) -> None:
    # GIVEN a Connect event with a known defect
    event = copy.deepcopy(NAMED_CONNECT_CASES[case])
    # WHEN the function is invoked THEN it answers the flow's flat string map with its error flag
    assert_flow_answer(function, _connect(clinic, function, event))


def test_a_callback_is_not_stored_for_a_malformed_number(clinic: LocalClinic) -> None:
    # GIVEN an after-hours call whose address is not a telephone number
    event = copy.deepcopy(NAMED_CONNECT_CASES["address not E.164"])
    # WHEN the callback function is invoked THEN it refuses to store the malformed number
    answer = _connect(clinic, "Callback", event)
    assert answer["callbackQueued"] == "false" and answer["reason"] == "NoCallerNumber"


def test_a_contact_without_data_is_flagged_as_an_error(clinic: LocalClinic) -> None:
    # GIVEN an event that is not Connect-shaped WHEN the caller is looked up THEN the flow sees error=true
    answer = _connect(clinic, "CallerLookup", copy.deepcopy(NAMED_CONNECT_CASES["no Details"]))
    assert answer == {"patientFound": "false", "patientId": "", "firstName": "", "error": "true"}


@pytest.mark.parametrize(
    "event",
    [
        _with(LEX, ["patientId", "P-1001"], "sessionState", "sessionAttributes"),
        _with(LEX, {"patientId": 1001}, "sessionState", "sessionAttributes"),
        _without(LEX, "sessionState", "intent"),
        _with(LEX, "FulfillmentCodeHook", "invocationSource") | {"sessionState": {"sessionAttributes": []}},
        _with(LEX, "Somewhere", "invocationSource"),
        _with(LEX, {"AppointmentDate": {"value": ["2026-12-04"]}}, "sessionState", "intent", "slots"),
    ],
    ids=["attributes a list", "attribute not a string", "no intent", "no state", "unknown source", "bad slot"],
)
def test_the_code_hook_answers_malformed_events(clinic: LocalClinic, event: dict[str, Any]) -> None:
    # GIVEN a Lex V2 event with a known defect WHEN the code hook is invoked THEN Lex gets a valid response
    assert_lex_response(_connect(clinic, "Appointments", copy.deepcopy(event)))


@pytest.mark.parametrize("function", sorted(CONNECT_KEYS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_contact_flow_functions_answer_any_mutation_of_a_real_event(
    clinic: LocalClinic, function: str, data: st.DataObject
) -> None:
    # GIVEN a real Connect event with keys removed or values replaced
    event = data.draw(mutated("connectContactFlowEvent"))
    # WHEN the function is invoked THEN it answers the flow's flat string map with its error flag
    assert_flow_answer(function, _connect(clinic, function, event))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=mutated("lexV2CodeHookEvent"), source=st.sampled_from(["DialogCodeHook", "FulfillmentCodeHook"]))
def test_the_code_hook_answers_any_mutation_of_a_real_event(clinic: LocalClinic, event: Any, source: str) -> None:
    # GIVEN a real Lex V2 event (dialog or fulfillment) with keys removed or values replaced
    if isinstance(event.get("invocationSource"), str):
        event["invocationSource"] = source
    # WHEN the code hook is invoked THEN Lex gets a valid response
    assert_lex_response(_connect(clinic, "Appointments", event))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=JSON)
def test_the_functions_answer_any_json_at_all(clinic: LocalClinic, event: Any) -> None:
    # GIVEN any JSON value as the event WHEN each function is invoked THEN each answers in its contract
    for function in CONNECT_KEYS:
        assert_flow_answer(function, _connect(clinic, function, copy.deepcopy(event)))
    assert_lex_response(_connect(clinic, "Appointments", copy.deepcopy(event)))
