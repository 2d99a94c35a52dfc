"""The Amazon Connect testing language: the shapes a test-case document may take, and a checker for them.

Sources (see /work/shared/reference/connect-testing.md, which tags each fact): the Connect API Reference
"Testing language" pages, the Developer Guide "Observations" page, the Admin Guide "Override system behavior
actions", and the botocore ``connect`` model (CreateTestCase ``Content`` is the document as a JSON string).
Where sources disagree, this module follows the AWS documentation and says which shape it chose.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: The four documented events (API Reference, testing-language events). All are raised by the "System" actor.
EVENT_TYPES = ("TestInitiated", "TestCompleted", "MessageReceived", "FlowActionStarted")
#: Observation usage types (Developer Guide, Observations); ``Times`` is required except with Always.
USAGE_TYPES = ("Exactly", "AtLeast", "AtMost", "Always")
#: Action types: SendInstruction, Assert, OverrideSystemBehavior, TestControl (API Reference, actions).
ACTION_TYPES = ("SendInstruction", "Assert", "OverrideSystemBehavior", "TestControl")
#: Assert operators; there is no NotEquals. ``Exists`` takes no Operand.
OPERATORS = (
    "Equals",
    "TextStartsWith",
    "TextEndsWith",
    "TextContains",
    "NumberGreaterThan",
    "NumberGreaterOrEqualTo",
    "NumberLessThan",
    "NumberLessOrEqualTo",
    "Exists",
)
#: FlowActionStarted / OverrideSystemBehavior action types documented, with their ActionParameters keys.
FLOW_ACTIONS: dict[str, tuple[str, ...]] = {
    "InvokeLambdaFunction": ("LambdaFunctionARN",),
    "CheckHoursOfOperation": ("HoursOfOperationId",),
    "TransferContactToQueue": ("QueueId", "AgentId"),
    "ConnectParticipantWithLexBot": ("LexV2Bot",),
}
#: Error values an override may return, per action (Admin Guide, "Override system behavior actions").
OVERRIDE_ERRORS: dict[str, tuple[str, ...]] = {
    "InvokeLambdaFunction": ("TimeLimitExceeded", "NoMatchingError"),
    "CheckHoursOfOperation": ("NoMatchingError",),
    "ConnectParticipantWithLexBot": ("TimeLimitExceeded", "NoMatchingError"),
    "TransferContactToQueue": ("QueueAtCapacity", "NoMatchingError"),
    # connect-testing.md §3: the same errors as TransferContactToQueue (its ActionParameters are undocumented).
    "DequeueAndTransferToQueue": ("QueueAtCapacity", "NoMatchingError"),
}
#: Hours-of-operation mock values (documented; a third party reports "InHour").
HOURS_VALUES = ("InHours", "OutOfHours")
INSTRUCTIONS = ("DtmfInput", "TextUtterance", "Disconnect")
MATCHING = ("Similarity", "Inclusion")
#: CloudFormation AWS::Connect::TestCase: Content at most 256000 characters, Name at most 127 (cfn-lint schema).
MAX_CONTENT = 256_000
MAX_NAME = 127


def problems_of(document: Mapping[str, Any]) -> list[str]:
    """Everything in a document that breaks the documented shapes; an empty list means it is well formed."""
    found: list[str] = []
    if not isinstance(document, Mapping):
        return ["the document is not a JSON object"]
    extra = set(document) - {"Version", "Metadata", "Observations"}
    if extra:
        found.append(f"unknown top-level keys {sorted(extra)}")
    if not isinstance(document.get("Version"), str):
        found.append("Version: missing (a string such as 2019-10-30)")
    if "Metadata" in document and not isinstance(document["Metadata"], Mapping):
        found.append("Metadata: must be an object")
    observations = document.get("Observations")
    if not isinstance(observations, list) or not observations:
        return [*found, "Observations: must be a non-empty list"]
    ids = [o.get("Identifier") if isinstance(o, Mapping) else None for o in observations]
    if len(set(ids)) != len(ids):
        found.append("Observations: identifiers must be unique")
    for index, observation in enumerate(observations):
        where = f"Observations[{index}]"
        if not isinstance(observation, Mapping):
            found.append(f"{where}: must be an object")
            continue
        where = f"observation {observation.get('Identifier', index)!r}"
        found += [f"{where}: {p}" for p in _observation_problems(observation, set(ids))]
    if len(json.dumps(document)) > MAX_CONTENT:
        found.append(f"the document is longer than {MAX_CONTENT} characters (CloudFormation's limit)")
    return found


def _observation_problems(observation: Mapping[str, Any], ids: set[Any]) -> list[str]:
    found: list[str] = []
    if not isinstance(observation.get("Identifier"), str) or not observation["Identifier"]:
        found.append("Identifier: missing")
    usage = observation.get("Usage")
    if usage is not None:
        if not isinstance(usage, Mapping) or usage.get("Type") not in USAGE_TYPES:
            found.append(f"Usage.Type must be one of {', '.join(USAGE_TYPES)} (case-sensitive)")
        elif usage["Type"] != "Always" and not (isinstance(usage.get("Times"), int) and usage["Times"] >= 0):
            found.append("Usage.Times: a count is needed except with Always")
    found += _event_problems(observation.get("Event"))
    actions = observation.get("Actions")
    if not isinstance(actions, list):
        found.append("Actions: must be a list (it may be empty)")
        actions = []
    action_ids = {a.get("Identifier") for a in actions if isinstance(a, Mapping)}
    for action in actions:
        found += _action_problems(action, action_ids)
    transitions = observation.get("Transitions")
    following = transitions.get("NextObservations") if isinstance(transitions, Mapping) else None
    if not isinstance(following, list):
        found.append("Transitions.NextObservations: must be a list of observation ids ([] ends the chain)")
    else:
        found += [f"Transitions.NextObservations: {n!r} is not an observation" for n in following if n not in ids]
    return found


def _event_problems(event: Any) -> list[str]:
    if not isinstance(event, Mapping):
        return ["Event: missing"]
    found = []
    kind = event.get("Type")
    if kind not in EVENT_TYPES:
        return [f"Event.Type {kind!r} is not one of {', '.join(EVENT_TYPES)}"]
    if not event.get("Identifier"):
        found.append("Event.Identifier: missing (the console needs it)")
    if event.get("Actor") != "System":
        found.append("Event.Actor: events are raised by System")
    properties = event.get("Properties")
    if not isinstance(properties, Mapping):
        return [*found, "Event.Properties: must be an object"]
    if kind == "MessageReceived":
        given = [k for k in ("Text", "SSML", "PromptId", "Media") if k in properties]
        if len(given) != 1:
            found.append("MessageReceived: give exactly one of Text, SSML, PromptId or Media")
        criteria = properties.get("MatchingCriteria")
        # The events page nests the criteria as an object; a third party reports that only this form matches.
        if criteria is not None and not (isinstance(criteria, Mapping) and criteria.get("Type") in MATCHING):
            found.append(f"MessageReceived.MatchingCriteria: an object with Type {' or '.join(MATCHING)}")
    elif kind == "FlowActionStarted":
        action_type = properties.get("ActionType")
        if action_type not in FLOW_ACTIONS:
            found.append(f"FlowActionStarted.ActionType {action_type!r} is not documented ({', '.join(FLOW_ACTIONS)})")
        elif not set(properties.get("ActionParameters") or {}) <= set(FLOW_ACTIONS[action_type]):
            found.append(f"FlowActionStarted.ActionParameters: {action_type} takes {FLOW_ACTIONS[action_type]}")
    return found


def _action_problems(action: Any, action_ids: set[Any]) -> list[str]:
    if not isinstance(action, Mapping):
        return ["Actions: each action must be an object"]
    where = f"action {action.get('Identifier')!r}"
    found = []
    if not action.get("Identifier"):
        found.append(f"{where}: Identifier missing")
    kind = action.get("Type")
    parameters = action.get("Parameters")
    if kind not in ACTION_TYPES:
        return [f"{where}: Type {kind!r} is not one of {', '.join(ACTION_TYPES)}"]
    if not isinstance(parameters, Mapping):
        return [f"{where}: Parameters must be an object"]
    transitions = action.get("Transitions")
    if not isinstance(transitions, Mapping):
        found.append(f"{where}: Transitions must be an object ({{}} on the last action)")
    elif "NextAction" in transitions and transitions["NextAction"] not in action_ids:
        # The docs end with "NextAction": ""; a third party reports PUBLISH rejects it, so {} is the end.
        found.append(f"{where}: NextAction {transitions['NextAction']!r} is not an action of this observation")
    checker = {
        "SendInstruction": _instruction_problems,
        "Assert": _assert_problems,
        "OverrideSystemBehavior": _override_problems,
        "TestControl": _control_problems,
    }[kind]
    return found + [f"{where}: {p}" for p in checker(parameters)]


def _instruction_problems(p: Mapping[str, Any]) -> list[str]:
    if p.get("ActionType") != "SendInstruction" or p.get("Actor") != "Customer":
        return ["SendInstruction needs ActionType SendInstruction and Actor Customer"]
    instruction = p.get("Instruction")
    if not isinstance(instruction, Mapping) or instruction.get("Type") not in INSTRUCTIONS:
        return [f"Instruction.Type must be one of {', '.join(INSTRUCTIONS)}"]
    properties = instruction.get("Properties") or {}
    if instruction["Type"] == "DtmfInput" and not isinstance(properties.get("Value"), int | str):
        return ["DtmfInput needs Properties.Value"]
    if instruction["Type"] == "TextUtterance" and not (properties.get("Text") or properties.get("SSML")):
        return ["TextUtterance needs Properties.Text or SSML"]
    return []


def _assert_problems(p: Mapping[str, Any]) -> list[str]:
    found = []
    if not isinstance(p.get("Namespace"), str) or not p["Namespace"].startswith("$."):
        found.append("Assert.Namespace must be a path such as $.Queue.Name")
    if p.get("Operator") not in OPERATORS:
        found.append(f"Assert.Operator {p.get('Operator')!r} is not one of {', '.join(OPERATORS)}")
    elif (p["Operator"] == "Exists") == ("Operand" in p):
        found.append("Assert.Operand: required, except with Exists (which takes none)")
    return found


def _override_problems(p: Mapping[str, Any]) -> list[str]:
    behavior = p.get("Behavior")
    if p.get("ActionType") != "OverrideSystemBehavior" or not isinstance(behavior, Mapping):
        return ["OverrideSystemBehavior needs ActionType OverrideSystemBehavior and a Behavior"]
    properties = behavior.get("Properties")
    if behavior.get("Type") != "FlowAction" or not isinstance(properties, Mapping):
        return ["Behavior must be {Type: FlowAction, Properties: {...}}"]
    action_type = properties.get("ActionType")
    if action_type not in OVERRIDE_ERRORS:
        return [f"Behavior.Properties.ActionType {action_type!r} cannot be overridden ({', '.join(OVERRIDE_ERRORS)})"]
    strategy = properties.get("Strategy")
    if not isinstance(strategy, Mapping):
        return ["Behavior.Properties.Strategy: missing"]
    if strategy.get("Type") == "SubstituteResource":
        return [] if strategy.get("SubstituteArn") else ["SubstituteResource needs SubstituteArn"]
    if strategy.get("Type") != "MockResponse":
        return ["Strategy.Type must be MockResponse or SubstituteResource"]
    return _response_problems(action_type, strategy.get("Response") or {})


def _response_problems(action_type: str, response: Mapping[str, Any]) -> list[str]:
    if response.get("Type") == "Error":
        value = (response.get("Error") or {}).get("Value")
        allowed = OVERRIDE_ERRORS[action_type]
        return [] if value in allowed else [f"{action_type} error {value!r} is not one of {', '.join(allowed)}"]
    if response.get("Type") != "ExecutionResult" or not isinstance(response.get("ExecutionResult"), Mapping):
        return ["Strategy.Response must be an ExecutionResult or an Error"]
    result = response["ExecutionResult"]
    if action_type == "CheckHoursOfOperation" and result.get("Value") not in HOURS_VALUES:
        return [f"CheckHoursOfOperation mock Value must be {' or '.join(HOURS_VALUES)}"]
    if action_type in ("InvokeLambdaFunction", "ConnectParticipantWithLexBot"):
        if not isinstance(result.get("LoadedData"), str):
            return ["a Lambda or bot mock needs ExecutionResult.LoadedData (serialized JSON)"]
        try:
            json.loads(result["LoadedData"])
        except ValueError:
            return ["ExecutionResult.LoadedData is not serialized JSON"]
    if action_type == "TransferContactToQueue":
        return ["TransferContactToQueue has no documented success mock; use an Error or SubstituteResource"]
    return []


def _control_problems(p: Mapping[str, Any]) -> list[str]:
    command = p.get("Command")
    if p.get("ActionType") != "TestControl" or not isinstance(command, Mapping):
        return ["TestControl needs ActionType TestControl and a Command"]
    if command.get("Type") not in ("EndTest", "LogData"):
        return [f"TestControl Command.Type {command.get('Type')!r} is not EndTest or LogData"]
    return []
