"""The testing-language checker: the reference's worked example is well formed; each documented rule can fail."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from flowkit.testcase.language import problems_of

HOURS = "arn:aws:connect:us-east-1:111122223333:instance/INST/operating-hours/HOO"
LAMBDA = "arn:aws:lambda:us-east-1:111122223333:function:patient-lookup"

# The worked example of the reference (§7, after the AWS API Reference's "Example test"), as Connect takes it.
EXAMPLE: dict[str, Any] = {"Version": "2019-10-30", "Metadata": {}, "Observations": [
    {"Identifier": "start", "Usage": {"Type": "Exactly", "Times": 1},
     "Event": {"Identifier": "ev-start", "Type": "TestInitiated", "Actor": "System", "Properties": {}},
     "Actions": [
         {"Identifier": "mock-hours", "Type": "OverrideSystemBehavior", "Parameters": {
             "ActionType": "OverrideSystemBehavior", "Behavior": {"Type": "FlowAction", "Properties": {
                 "ActionType": "CheckHoursOfOperation", "ActionParameters": {"HoursOfOperationId": HOURS},
                 "Strategy": {"Type": "MockResponse", "Response": {"Type": "ExecutionResult",
                                                                   "ExecutionResult": {"Value": "InHours"}}}}}},
          "Transitions": {"NextAction": "mock-lambda"}},
         {"Identifier": "mock-lambda", "Type": "OverrideSystemBehavior", "Parameters": {
             "ActionType": "OverrideSystemBehavior", "Behavior": {"Type": "FlowAction", "Properties": {
                 "ActionType": "InvokeLambdaFunction", "ActionParameters": {"LambdaFunctionARN": LAMBDA},
                 "Strategy": {"Type": "MockResponse", "Response": {"Type": "ExecutionResult", "ExecutionResult": {
                     "DelaySeconds": 0, "LoadedData": "{\"patientFound\":\"true\"}"}}}}}},
          "Transitions": {}}],
     "Transitions": {"NextObservations": ["greeting"]}},
    {"Identifier": "greeting", "Usage": {"Type": "Exactly", "Times": 1},
     "Event": {"Identifier": "ev-greeting", "Type": "MessageReceived", "Actor": "System",
               "Properties": {"Text": "Welcome to the clinic.", "MatchingCriteria": {"Type": "Similarity"}}},
     "Actions": [{"Identifier": "press-1", "Type": "SendInstruction", "Parameters": {
         "ActionType": "SendInstruction", "Actor": "Customer",
         "Instruction": {"Type": "DtmfInput", "Properties": {"Value": 1}}}, "Transitions": {}}],
     "Transitions": {"NextObservations": ["found"]}},
    {"Identifier": "found", "Usage": {"Type": "Exactly", "Times": 1},
     "Event": {"Identifier": "ev-found", "Type": "MessageReceived", "Actor": "System",
               "Properties": {"Text": "we found your record", "MatchingCriteria": {"Type": "Inclusion"}}},
     "Actions": [
         {"Identifier": "check-attr", "Type": "Assert", "Parameters": {
             "Namespace": "$.Attributes.patientFound", "Operator": "Equals", "Operand": "true"},
          "Transitions": {"NextAction": "end"}},
         {"Identifier": "end", "Type": "TestControl",
          "Parameters": {"ActionType": "TestControl", "Command": {"Type": "EndTest"}}, "Transitions": {}}],
     "Transitions": {"NextObservations": []}}]}  # fmt: skip


def test_the_reference_example_is_well_formed() -> None:
    assert problems_of(EXAMPLE) == []


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


OBS = "Observations"
BREAKAGES = {
    "no Version": (lambda d: d.pop("Version"), "Version"),
    "upper-case usage": (_set([OBS, 0, "Usage", "Type"], "EXACTLY"), "Usage.Type"),
    "usage without times": (_set([OBS, 0, "Usage"], {"Type": "AtLeast"}), "Usage.Times"),
    "an undocumented event": (_set([OBS, 1, "Event", "Type"], "AgentJoined"), "Event.Type"),
    "an event of the customer": (_set([OBS, 1, "Event", "Actor"], "Customer"), "Event.Actor"),
    "matching criteria as a bare string": (_set([OBS, 1, "Event", "Properties", "MatchingCriteria"], "Similarity"),
                                           "MatchingCriteria"),
    "an empty NextAction": (_set([OBS, 0, "Actions", 1, "Transitions"], {"NextAction": ""}), "NextAction"),
    "a chain to nowhere": (_set([OBS, 0, "Transitions", "NextObservations"], ["missing"]), "NextObservations"),
    "NotEquals": (_set([OBS, 2, "Actions", 0, "Parameters", "Operator"], "NotEquals"), "Operator"),
    "Exists with an operand": (_set([OBS, 2, "Actions", 0, "Parameters", "Operator"], "Exists"), "Operand"),
    "hours mocked as InHour": (_set([OBS, 0, "Actions", 0, "Parameters", "Behavior", "Properties", "Strategy",
                                     "Response", "ExecutionResult"], {"Value": "InHour"}), "InHours"),
    "a Lambda mock that is not JSON": (_set([OBS, 0, "Actions", 1, "Parameters", "Behavior", "Properties", "Strategy",
                                             "Response", "ExecutionResult", "LoadedData"], "{nope"), "LoadedData"),
    "an error the action cannot raise": (_set([OBS, 0, "Actions", 1, "Parameters", "Behavior", "Properties",
                                               "Strategy", "Response"],
                                              {"Type": "Error", "Error": {"Value": "QueueAtCapacity"}}), "error"),
    "overriding a prompt": (_set([OBS, 0, "Actions", 1, "Parameters", "Behavior", "Properties", "ActionType"],
                                 "MessageParticipant"), "cannot be overridden"),
    "an agent instruction": (_set([OBS, 1, "Actions", 0, "Parameters", "Actor"], "Agent"), "Actor Customer"),
    "duplicate observations": (_set([OBS, 2, "Identifier"], "greeting"), "unique"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_each_rule_catches_its_breakage(case: str) -> None:
    # GIVEN the well-formed example with one documented rule broken
    change, words = BREAKAGES[case]
    document = copy.deepcopy(EXAMPLE)
    change(document)
    # WHEN checked THEN the problem is reported, naming the field
    found = problems_of(document)
    assert any(words in p for p in found), found
