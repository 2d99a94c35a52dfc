"""Scenario → Amazon Connect test case: a testing-language document compiled from a scenario and its offline run.

The scenario's offline run (``trace.record``) says which prompt each caller input answers and what each Lambda
returned, so the compiled document chains one observation per prompt that matters:

- the start (TestInitiated) registers the overrides: the scenario's time as CheckHoursOfOperation mocks, its
  Lambdas as InvokeLambdaFunction mocks (the response recorded offline) or errors, full queues as
  QueueAtCapacity, forced bot or transfer errors;
- each message with an expected prompt or that the caller answers is a MessageReceived observation (Inclusion),
  with the caller's answer as SendInstruction (DTMF or an utterance; silence sends nothing); a message holds all
  prompts played before an input (connect-testing.md §2, [3p]), so it matches one of them;
- the outcome is the last observation: FlowActionStarted TransferContactToQueue for ``queued`` (ending the test
  there keeps it from reaching a live agent), TestCompleted otherwise; expected attributes and the queue become
  assertions on it; it ends the test (EndTest).

What the language cannot say is reported per scenario in ``problems`` and the scenario is not compiled; what
compiles but may behave differently on AWS is listed in ``caveats``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flowkit.language.lint import PLACEHOLDER
from flowkit.simulate.scenarios import Scenario, check
from flowkit.testcase.language import MAX_NAME, OVERRIDE_ERRORS, problems_of
from flowkit.testcase.trace import Event, Recording, Started, region_neutral
from regions.config import FlowTestSettings

#: Actions that transfer to a queue, which an override names by QueueId (connect-testing.md §3).
QUEUE_TRANSFERS = ("TransferContactToQueue", "DequeueAndTransferToQueue")
#: The file format of a compiled test case: CreateTestCase's fields, Content as an object, plus the kit's context.
FILE_FORMAT = "ivr-test-case/1"


@dataclass
class CompiledTestCase:
    """One scenario's test case, or why it has none."""

    scenario: str  # the scenario file's stem: the test case's name
    description: str
    flow: str
    region: str
    at: datetime
    caller: str | None
    content: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scenario[:MAX_NAME]

    @property
    def compiled(self) -> bool:
        return self.content is not None

    def entry_point(self) -> dict[str, Any]:
        """A voice call into the flow; no phone numbers (the E.164 pattern in the published schema is broken)."""
        return {"Type": "VOICE_CALL", "VoiceCallEntryPointParameters": {"FlowId": f"%FlowId.{self.flow}%"}}

    def as_file(self, status: str = "PUBLISHED") -> dict[str, Any]:
        """The JSON file ``ivr simulate --test-case`` reads: CreateTestCase's fields and the kit's context."""
        return {
            "Format": FILE_FORMAT,
            "Name": self.name,
            "Description": self.description,
            "Status": status,
            "EntryPoint": self.entry_point(),
            "Content": self.content,
            "Kit": {
                "scenario": self.scenario,
                "flow": self.flow,
                "region": self.region,
                "at": self.at.isoformat(),
                "caller": self.caller,
                "caveats": self.caveats,
            },
        }


class _Builder:
    def __init__(self, settings: FlowTestSettings) -> None:
        self.settings = settings
        self.observations: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}

    def ident(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]}"

    def observation(self, ident: str, event: dict[str, Any], actions: list[dict[str, Any]]) -> None:
        chained = [dict(a) for a in actions]
        for index, action in enumerate(chained):
            # The last action ends with {}: the docs' "NextAction": "" is reported to fail PUBLISH.
            action["Transitions"] = {"NextAction": chained[index + 1]["Identifier"]} if index + 1 < len(chained) else {}
        item: dict[str, Any] = {"Identifier": ident}
        if self.settings.usage:
            item["Usage"] = {"Type": "Exactly", "Times": 1}
        item |= {
            "Event": {"Identifier": f"ev-{ident}", "Actor": "System", **event},
            "Actions": chained,
            "Transitions": {"NextObservations": []},
        }
        if self.observations:
            self.observations[-1]["Transitions"]["NextObservations"] = [ident]
        self.observations.append(item)

    def override(self, action_type: str, parameters: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
        return {
            "Identifier": self.ident("override"),
            "Type": "OverrideSystemBehavior",
            "Parameters": {
                "ActionType": "OverrideSystemBehavior",
                "Behavior": {
                    "Type": "FlowAction",
                    "Properties": {
                        "ActionType": action_type,
                        "ActionParameters": parameters,
                        "Strategy": {"Type": "MockResponse", "Response": response},
                    },
                },
            },
        }

    def document(self) -> dict[str, Any]:
        return {"Version": self.settings.version, "Metadata": {}, "Observations": self.observations}


def _error(value: str) -> dict[str, Any]:
    return {"Type": "Error", "Error": {"Value": value}}


def _result(result: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "ExecutionResult", "ExecutionResult": result}


def _forced(scenario: Scenario, item: Started) -> str | None:
    return scenario.fail.get(f"{item.flow}:{item.action}") or scenario.fail.get(item.action)


def _overrides(
    scenario: Scenario,
    recording: Recording,
    builder: _Builder,
    problems: list[str],
) -> list[dict[str, Any]]:
    """The overrides to register at the start, in the order the call uses each resource (FIFO per resource)."""
    settings = builder.settings
    calls = iter(recording.lambda_calls)
    actions: list[dict[str, Any]] = []
    for item in recording.started:
        forced = _forced(scenario, item)
        if forced and item.type not in OVERRIDE_ERRORS:
            problems.append(
                f"fail {item.action}: {forced}: a test case cannot make a {item.type} block fail "
                f"(overrides exist for {', '.join(OVERRIDE_ERRORS)})"
            )
            continue
        if forced and forced not in OVERRIDE_ERRORS[item.type]:
            problems.append(
                f"fail {item.action}: {forced}: a {item.type} override can only return "
                f"{', '.join(OVERRIDE_ERRORS[item.type])}"
            )
            continue
        parameters = _resource_of(item)
        if item.type == "InvokeLambdaFunction":
            call = None if forced else next(calls, None)
            mapped = _function_key(item) in scenario.lambdas
            if forced:
                actions.append(builder.override(item.type, parameters, _error(forced)))
            elif call is not None and (settings.functions == "recorded" or mapped or call.error):
                failed = call.error is not None or _branch_of(recording, item).startswith("Error:")
                actions.append(builder.override(item.type, parameters, _lambda_response(call.response, failed)))
        elif item.type == "CheckHoursOfOperation" and (forced or settings.hours == "mock"):
            # What the check answered offline: its hours at the scenario's time (or an error without hours).
            branch = _branch_of(recording, item)
            if forced or not branch.startswith("Condition:"):
                actions.append(builder.override(item.type, parameters, _error(forced or "NoMatchingError")))
            else:
                value = "InHours" if branch.endswith(" True") else "OutOfHours"
                actions.append(builder.override(item.type, parameters, _result({"Value": value})))
        elif item.type == "ConnectParticipantWithLexBot" and forced:
            actions.append(builder.override(item.type, parameters, _error(forced)))
        elif item.type in QUEUE_TRANSFERS and (forced or (item.queue and item.queue in scenario.queue_full)):
            if not parameters.get("QueueId"):
                # An override names its queue; an empty QueueId would match no queue (or be rejected).
                problems.append(
                    f"{item.action}: the queue {item.type} transfers to is not known offline, so an override "
                    "cannot name it"
                )
                continue
            actions.append(builder.override(item.type, parameters, _error(forced or "QueueAtCapacity")))
    return actions


def _lambda_response(response: Any, failed: bool) -> dict[str, Any]:
    """The recorded answer: its data, or (raised, too slow, not a string map: the error branch) an error."""
    if failed:
        return _error("NoMatchingError")
    return _result({"DelaySeconds": 0, "LoadedData": json.dumps(response, sort_keys=True)})


def _branch_of(recording: Recording, item: Started) -> str:
    """The branch the action took offline (its step is the first one recorded after it started)."""
    steps = recording.result.steps
    step = steps[item.steps_before] if item.steps_before < len(steps) else None
    return step.branch if step is not None and step.action == item.action else ""


def _resource_of(item: Started) -> dict[str, Any]:
    """The ActionParameters that name the resource an override applies to (placeholders, filled per region)."""
    named: dict[str, Any] = region_neutral(_named(item))
    return named


def _named(item: Started) -> dict[str, Any]:
    if item.type == "InvokeLambdaFunction":
        return {"LambdaFunctionARN": item.parameters.get("LambdaFunctionARN", "")}
    if item.type == "CheckHoursOfOperation":
        return {"HoursOfOperationId": item.parameters.get("HoursOfOperationId", "")}
    if item.type == "ConnectParticipantWithLexBot":
        return {"LexV2Bot": item.parameters.get("LexV2Bot", {})}
    if item.type == "DequeueAndTransferToQueue":
        # Its ActionParameters are undocumented (connect-testing.md §3): the block's own QueueId is assumed.
        queue = item.parameters.get("QueueId", "")
        return {"QueueId": queue} if queue else {}
    return {"QueueId": f"%QueueArn.{item.queue}%"} if item.queue else {}


def _function_key(item: Started) -> str:
    target = str(item.parameters.get("LambdaFunctionARN", ""))
    return _placeholder(target, "FunctionArn") or target


def _placeholder(value: Any, kind: str) -> str | None:
    match = PLACEHOLDER.fullmatch(value) if isinstance(value, str) else None
    return match.group(2) if match and match.group(1) == kind else None


def _input_languages(recording: Recording, language: str) -> dict[int, str]:
    """The contact's language at each caller input (by the input event's id): ``language`` until an
    UpdateContactData that succeeded sets ``LanguageCode`` (the caller chose Spanish, say), as Connect then talks
    to the bot in that language's locale (docs/languages.md)."""
    found: dict[int, str] = {}
    starts = iter(recording.started)  # one FlowActionStarted event per start, in order (trace.events_of)
    for event in recording.events:
        if event.type == "FlowActionStarted":
            item = next(starts, None)
            code = item.parameters.get("LanguageCode") if item and item.type == "UpdateContactData" else None
            if item and isinstance(code, str) and code and _branch_of(recording, item) == "NextAction":
                language = code
        elif event.type == "Input":
            found[id(event)] = language
    return found


def _instruction(event: Event, language: str) -> tuple[dict[str, Any] | None, str | None]:
    """The SendInstruction for a caller input, None for silence, or a problem."""
    text = event.text.strip()
    if text.lower() == "timeout":
        return None, None  # silence: send nothing and let the block time out
    if event.action_type == "GetParticipantInput":
        if not text.isdigit() or (len(text) > 1 and text.startswith("0")):
            return None, f"input {text!r}: a DTMF answer must be digits without a leading zero"
        # DTMF as a number: the docs allow a string or a number; a third party reports only a number works.
        instruction: dict[str, Any] = {"Type": "DtmfInput", "Properties": {"Value": int(text)}}
    else:
        instruction = {"Type": "TextUtterance", "Properties": {"Text": text, "LanguageCode": language}}
    action = {
        "Identifier": "",
        "Type": "SendInstruction",
        "Parameters": {"ActionType": "SendInstruction", "Actor": "Customer", "Instruction": instruction},
    }
    return action, None


def _messages(
    scenario: Scenario, events: list[Event], problems: list[str], caveats: list[str]
) -> list[tuple[str, Event | None]]:
    """(text to match, the input that answers it) for each message that matters, in order.

    A message holds every prompt played since the last input (``trace.one_message_per_input``, as Connect sends
    them), so one observation stands for all of them: it matches, with Inclusion, the last expected prompt in it,
    else its last prompt (the one the caller answers). The other prompts are not checked on Connect: caveats.
    """
    wanted: dict[int, dict[str, Any]] = {}
    last_message: int | None = None
    for index, event in enumerate(events):
        if event.type == "MessageReceived":
            last_message = index
        elif event.type == "Input":
            if last_message is None:
                problems.append(f"input {event.text!r} answers no prompt that a test case could observe")
                continue
            wanted.setdefault(last_message, {})["input"] = event
            last_message = None
    heard = [i for i, e in enumerate(events) if e.type == "MessageReceived"]
    at, after = 0, 0  # the message, and the first of its prompts, where the next expected prompt is looked for
    for expected in scenario.expect.prompts:
        found: tuple[int, int] | None = None
        for position in range(at, len(heard)):
            parts = _parts(events[heard[position]])
            start = after if position == at else 0
            part = next((j for j in range(start, len(parts)) if expected in parts[j]), None)
            if part is not None:
                found = (position, part)
                break
        if found is None:
            problems.append(f"expected prompt {expected!r} is not heard offline")
            break
        wanted.setdefault(heard[found[0]], {}).setdefault("expect", []).append(expected)
        at, after = found[0], found[1] + 1
    messages: list[tuple[str, Event | None]] = []
    for index, want in sorted(wanted.items()):
        parts = _parts(events[index])
        text = want["expect"][-1] if want.get("expect") else parts[-1]
        others = [p for p in parts if text not in p]
        if others:
            caveats.append(
                f"the prompts before an input arrive on Connect as one message ([3p]); its observation matches "
                f"{text!r} only, so these are checked offline only: {others}"
            )
        messages.append((text, want.get("input")))
    return messages


def _parts(event: Event) -> list[str]:
    return event.parts or [event.text]


def compile_scenario(
    path: Path,
    scenario: Scenario,
    recording: Recording,
    *,
    flows: Mapping[str, Mapping[str, Any]],
    settings: FlowTestSettings,
    language: str = "en-US",
) -> CompiledTestCase:
    """Compile one scenario, given its offline run; the result has content, or problems that say why not.

    ``language`` is the contact's language when the call starts, as a language code (``en_US`` -> ``en-US``), for
    the caller's utterances; a flow that sets another (UpdateContactData LanguageCode) changes it from there on.
    """
    case = CompiledTestCase(
        path.stem, scenario.name[:500], scenario.flow, scenario.region, scenario.at, scenario.caller
    )
    problems = case.problems
    if not scenario.test_case:
        problems.append("opted out (test_case: false)")
        return case
    offline = check(scenario, recording.result)
    if offline:
        problems.append("the scenario fails offline: " + "; ".join(offline))
    flow_type = (flows.get(scenario.flow, {}).get("Metadata") or {}).get("type", "contactFlow")
    if flow_type != "contactFlow":
        problems.append(
            f"flow {scenario.flow} is a {flow_type} flow; a test case starts a voice call at a contact flow"
        )
    outcome = scenario.expect.outcome
    if outcome not in ("queued", "disconnected", "ended"):
        problems.append(f"outcome {outcome}: the testing language has no event for it")
    builder = _Builder(settings)
    overrides = _overrides(scenario, recording, builder, problems)
    merged: list[str] = []
    messages = _messages(scenario, recording.events, problems, merged)
    if problems:
        return case
    builder.observation("start", {"Type": "TestInitiated", "Properties": {}}, overrides)
    spoken = _input_languages(recording, language)
    for text, answer in messages:
        actions = []
        if answer is not None:
            action, problem = _instruction(answer, spoken.get(id(answer), language))
            if problem:
                problems.append(problem)
            elif action is not None:
                actions.append(action | {"Identifier": builder.ident("answer")})
        builder.observation(
            builder.ident("prompt"),
            {"Type": "MessageReceived", "Properties": {"Text": text, "MatchingCriteria": {"Type": "Inclusion"}}},
            actions,
        )
    builder.observation("outcome", *_outcome(scenario, recording, builder))
    if problems:
        return case
    document = builder.document()
    shape = problems_of(document)
    if shape:  # a compiler bug, not the scenario's: say so rather than hand Connect a broken document
        problems += [f"compiled document is malformed: {p}" for p in shape]
        return case
    case.content = document
    case.caveats = _caveats(scenario, recording, settings) + merged
    return case


def _outcome(scenario: Scenario, recording: Recording, builder: _Builder) -> tuple[dict[str, Any], list[Any]]:
    asserts: list[dict[str, Any]] = []
    if scenario.expect.outcome == "queued":
        queue = scenario.expect.queue or recording.result.outcome.detail.get("queue", "")
        # Matched on the action type only: whether Connect reports the queue's ARN or its id in
        # ActionParameters.QueueId is unconfirmed; the queue is checked by $.Queue.Name (documented, §3).
        event = {"Type": "FlowActionStarted", "Properties": {"ActionType": "TransferContactToQueue"}}
        asserts.append({"Namespace": "$.Queue.Name", "Operator": "Equals", "Operand": queue})
    else:
        event = {"Type": "TestCompleted", "Properties": {}}
    # $.Attributes.<key> follows the flow language's paths; the testing docs only show $.Queue.Name and $.ContactId.
    asserts += [
        {"Namespace": f"$.Attributes.{k}", "Operator": "Equals", "Operand": v}
        for k, v in scenario.expect.attributes.items()
    ]
    actions: list[Any] = [{"Identifier": builder.ident("assert"), "Type": "Assert", "Parameters": a} for a in asserts]
    actions.append(
        {
            "Identifier": "end-test",
            "Type": "TestControl",
            "Parameters": {"ActionType": "TestControl", "Command": {"Type": "EndTest"}},
        }
    )
    return event, actions


def _caveats(scenario: Scenario, recording: Recording, settings: FlowTestSettings) -> list[str]:
    caveats = []
    if any(e.type == "Input" and e.action_type == "ConnectParticipantWithLexBot" for e in recording.events):
        caveats.append(
            f"the bot runs live: its replies depend on Lex's NLU, the region's data and the date "
            f"(offline the call is at {scenario.at.isoformat()}); its code hook reads and writes the region's "
            "table (it may book or cancel appointments of the patient the call names)"
        )
    if settings.functions == "live" and recording.lambda_calls:
        caveats.append("the flow's functions run live, with the region's data (no caller number is set)")
    if settings.hours == "live" and any(s.type == "CheckHoursOfOperation" for s in recording.started):
        caveats.append("the hours check uses the region's clock, not the scenario's time")
    if scenario.expect.attributes:
        caveats.append(
            "the $.Attributes.<key> assertions ("
            + ", ".join(sorted(scenario.expect.attributes))
            + ") follow the flow language's paths; the testing docs document only $.Queue.Name and $.ContactId "
            "(connect-testing.md §3: unconfirmed)"
        )
    return caveats
