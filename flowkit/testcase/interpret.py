"""Run a testing-language document against the kit's flows offline, with the engine that runs the scenarios.

Semantics (Admin Guide, "Execute test cases" and the Observe block; the reference's §1): observations that no
other one names are active from the start; an event matches the first active observation it fits; a match runs
the observation's actions and arms its NextObservations. Overrides registered by the TestInitiated observation
serve the next use of their resource, first in, first out. A SendInstruction answers the message its
observation matched: the flow must be waiting for input right then. A caller who is sent nothing stays silent
(the block times out). The run passes when it reaches EndTest with every observation passed; an observation
never matched fails it, as Connect's 5-minute timeout would.

Offline approximations, said where a result is reported: assertions read the call's state as the matched event
happened (attributes, queue); ``Similarity`` is approximated by containment either way, case-insensitive;
PromptId, Media and SubstituteResource cannot be matched or applied offline and fail the run with that reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowkit.language.lint import PLACEHOLDER
from flowkit.simulate.engine import CallResult, Override, Resources
from flowkit.testcase.language import FLOW_ACTIONS, problems_of
from flowkit.testcase.trace import Event, record, region_neutral

MAX_RUNS = 50
SIMULATED_CONTACT = "00000000-0000-4000-8000-000000000000"


class TestCaseError(ValueError):
    """A test-case file that cannot be read or run; the message names the file and the field."""

    __test__ = False  # not a pytest class


@dataclass
class ObservationRecord:
    """Like ListTestCaseExecutionRecords: one observation's status and why."""

    observation: str
    status: str  # PASSED, FAILED
    detail: str = ""


@dataclass
class TestRun:
    __test__ = False

    name: str
    status: str  # PASSED, FAILED
    records: list[ObservationRecord] = field(default_factory=list)
    reason: str = ""
    result: CallResult | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "PASSED"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "records": [r.__dict__ for r in self.records],
        }


def read_test_case(data: Mapping[str, Any], source: str) -> tuple[str, str, dict[str, Any]]:
    """(name, entry flow, document) of a test-case file (``compile.CompiledTestCase.as_file``'s format)."""
    if not isinstance(data, Mapping):
        raise TestCaseError(f"{source}: expected a JSON object (a test-case file), not {type(data).__name__}")
    content = data.get("Content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError as exc:
            raise TestCaseError(f"{source}: Content is not JSON: {exc}") from None
    if not isinstance(content, dict):
        raise TestCaseError(f"{source}: Content: expected the testing-language document")
    entry = data.get("EntryPoint")
    voice = entry.get("VoiceCallEntryPointParameters") if isinstance(entry, Mapping) else None
    flow_id = voice.get("FlowId", "") if isinstance(voice, Mapping) else ""
    match = PLACEHOLDER.fullmatch(str(flow_id))
    if not match or match.group(1) != "FlowId":
        raise TestCaseError(f"{source}: EntryPoint.VoiceCallEntryPointParameters.FlowId: expected %FlowId.<flow>%")
    return str(data.get("Name") or source), match.group(2), content


def _resource(action_type: str, parameters: Mapping[str, Any], queue: str | None) -> str:
    """A key naming the resource an action uses, as overrides name it."""
    if action_type == "TransferContactToQueue":
        wanted: dict[str, Any] = {"QueueId": f"%QueueArn.{queue}%" if queue else ""}
    else:
        wanted = region_neutral({k: parameters.get(k) for k in FLOW_ACTIONS.get(action_type, ()) if k in parameters})
    return json.dumps([action_type, wanted], sort_keys=True)


class _Overrides:
    """Overrides registered at the start, served first in, first out per resource."""

    def __init__(self, actions: list[Mapping[str, Any]]) -> None:
        self.actions = actions
        self.queues: dict[str, list[Mapping[str, Any]]] = {}
        self.unsupported: list[str] = []

    def reset(self) -> None:
        self.queues = {}
        for action in self.actions:
            properties = action["Parameters"]["Behavior"]["Properties"]
            key = _resource(properties["ActionType"], properties.get("ActionParameters") or {}, None)
            if properties["ActionType"] == "TransferContactToQueue":
                key = json.dumps(
                    ["TransferContactToQueue", {"QueueId": properties["ActionParameters"].get("QueueId")}],
                    sort_keys=True,
                )
            self.queues.setdefault(key, []).append(properties["Strategy"])

    def __call__(self, _flow: str, action: Mapping[str, Any], state: Mapping[str, Any]) -> Override | None:
        kind = action["Type"]
        key = _resource(kind, action.get("Parameters") or {}, state.get("queue"))
        waiting = self.queues.get(key)
        if not waiting:
            return None
        strategy = waiting.pop(0)
        response = strategy.get("Response") or {}
        if strategy.get("Type") != "MockResponse":
            self.unsupported.append(f"{kind}: {strategy.get('Type')} cannot be applied offline")
            return None
        if response.get("Type") == "Error":
            return Override(error=response["Error"]["Value"])
        result = response.get("ExecutionResult") or {}
        if kind == "CheckHoursOfOperation":
            return Override(result="True" if result.get("Value") == "InHours" else "False")
        if kind == "InvokeLambdaFunction":
            return Override(external=json.loads(result.get("LoadedData") or "{}"))
        self.unsupported.append(f"{kind}: a mocked result cannot be applied offline")
        return None


def _matches(event_spec: Mapping[str, Any], event: Event) -> bool:
    kind = event_spec.get("Type")
    if kind != event.type:
        return False
    properties = event_spec.get("Properties") or {}
    if kind == "MessageReceived":
        wanted = properties.get("Text") or properties.get("SSML")
        if not isinstance(wanted, str):
            return False  # PromptId and Media cannot be recognised offline
        criteria = (properties.get("MatchingCriteria") or {}).get("Type", "Similarity")
        if criteria == "Inclusion":
            return wanted in event.text
        a, b = wanted.strip().lower(), event.text.strip().lower()
        return a in b or b in a
    if kind == "FlowActionStarted":
        parameters = properties.get("ActionParameters") or {}
        return properties.get("ActionType") == event.action_type and all(
            event.parameters.get(k) == v for k, v in parameters.items()
        )
    return True


def _lookup(namespace: str, event: Event, contact_id: str) -> Any:
    parts = namespace.removeprefix("$.").split(".")
    if parts[0] == "Attributes" and len(parts) == 2:
        return event.attributes.get(parts[1])
    if parts == ["Queue", "Name"]:
        return event.queue
    if parts == ["ContactId"]:
        return contact_id
    return None


def _assertion(parameters: Mapping[str, Any], event: Event, contact_id: str) -> str | None:
    """None when the assertion holds, else why not."""
    found = _lookup(str(parameters.get("Namespace")), event, contact_id)
    operator, operand = parameters.get("Operator"), parameters.get("Operand")
    text = "" if found is None else str(found)
    if operator == "Exists":
        ok = found is not None and text != ""
    elif operator == "Equals":
        ok = found is not None and text == str(operand)
    elif operator in ("TextStartsWith", "TextEndsWith", "TextContains"):
        ok = {"TextStartsWith": text.startswith, "TextEndsWith": text.endswith, "TextContains": text.__contains__}[
            str(operator)
        ](str(operand))
    else:
        try:
            left, right = float(text), float(str(operand))
        except ValueError:
            ok = False
        else:
            ok = {
                "NumberGreaterThan": left > right,
                "NumberGreaterOrEqualTo": left >= right,
                "NumberLessThan": left < right,
                "NumberLessOrEqualTo": left <= right,
            }.get(str(operator), False)
    if ok:
        return None
    return f"assert {parameters.get('Namespace')} {operator} {operand!r}: found {found!r}"


def _answer(action: Mapping[str, Any]) -> str | None:
    instruction = action["Parameters"].get("Instruction") or {}
    properties = instruction.get("Properties") or {}
    if instruction.get("Type") == "DtmfInput":
        return str(properties.get("Value"))
    if instruction.get("Type") == "TextUtterance":
        return str(properties.get("Text") or properties.get("SSML"))
    return None


@dataclass
class _Walk:
    records: dict[str, ObservationRecord]
    intended: list[str]  # what the document answers at each input the call asked for, and at the next one
    ended: bool


def _walk(document: Mapping[str, Any], events: list[Event], contact_id: str, stuck: bool) -> _Walk:
    observations = {o["Identifier"]: o for o in document["Observations"]}
    named = {n for o in observations.values() for n in o["Transitions"]["NextObservations"]}
    active = [i for i in observations if i not in named]
    armed = set(active)
    records: dict[str, ObservationRecord] = {}
    intended: list[str] = []
    pending: tuple[str, str] | None = None  # (observation, answer) sent and not yet taken
    ended = False
    for event in events:
        if event.type == "Input":
            intended.append(pending[1] if pending else "timeout")
            pending = None
            continue
        if event.type == "MessageReceived" and pending is not None:
            records[pending[0]] = ObservationRecord(
                pending[0],
                "FAILED",
                f"its answer {pending[1]!r} was sent while the flow was not "
                f"waiting for input (next: {event.describe()})",
            )
            pending = None
        ident = next((i for i in active if _matches(observations[i]["Event"], event)), None)
        if ident is None:
            continue
        active.remove(ident)
        failure, answer, ended = _act(observations[ident], event, contact_id)
        records[ident] = ObservationRecord(ident, "FAILED" if failure else "PASSED", failure or event.describe())
        if answer is not None and not failure:
            pending = (ident, answer)
        if not failure:
            active += [n for n in observations[ident]["Transitions"]["NextObservations"] if n not in active]
            armed.update(active)
        if ended:
            break
    if stuck and not ended:
        intended.append(pending[1] if pending else "timeout")
    for ident, observation in observations.items():
        if ident not in records and ident not in armed:
            records[ident] = ObservationRecord(ident, "FAILED", "not reached: an earlier observation did not pass")
        elif ident not in records and (observation.get("Usage") or {}).get("Type") not in ("AtMost", "Always"):
            heard = [e.text for e in events if e.type == "MessageReceived"][-3:]
            records[ident] = ObservationRecord(
                ident,
                "FAILED",
                f"never observed: {observation['Event']['Type']} "
                f"{observation['Event'].get('Properties') or ''}; last messages "
                f"heard: {heard}",
            )
    return _Walk(records, intended, ended)


def _act(observation: Mapping[str, Any], event: Event, contact_id: str) -> tuple[str | None, str | None, bool]:
    """Run an observation's actions: (failure, answer to send, whether the test ended)."""
    answer, ended = None, False
    for action in observation.get("Actions") or []:
        kind = action["Type"]
        if kind == "Assert":
            failure = _assertion(action["Parameters"], event, contact_id)
            if failure:
                return failure, None, False
        elif kind == "SendInstruction":
            answer = _answer(action)
            if answer is None:
                return "a Disconnect instruction is not interpreted offline", None, False
        elif kind == "OverrideSystemBehavior" and observation["Event"]["Type"] != "TestInitiated":
            return "overrides outside the TestInitiated observation are not interpreted offline", None, False
        elif kind == "TestControl" and action["Parameters"]["Command"]["Type"] == "EndTest":
            ended = True
    return None, answer, ended


def interpret(
    name: str,
    flow: str,
    document: Mapping[str, Any],
    resources: Resources,
    *,
    at: datetime,
    caller: str | None,
    reset: Callable[[], None] = lambda: None,
) -> TestRun:
    """Run the document's call offline and judge it as Connect would; ``reset`` restores sample data per run."""
    shape = problems_of(document)
    if shape:
        return TestRun(name, "FAILED", reason="invalid test case: " + "; ".join(shape))
    starts = [o for o in document["Observations"] if o["Event"]["Type"] == "TestInitiated"]
    overrides = _Overrides([a for o in starts for a in o["Actions"] if a["Type"] == "OverrideSystemBehavior"])
    inputs: list[str] = []
    for _ in range(MAX_RUNS):
        reset()
        overrides.reset()
        recording = record(resources, flow, inputs, at=at, caller=caller, override=overrides)
        consumed = [e.text for e in recording.events if e.type == "Input"]
        walk = _walk(document, recording.events, SIMULATED_CONTACT, recording.result.outcome.kind == "stuck")
        # Feed the answers the document gives at each prompt: rerun from the first input that differs.
        differs = next((i for i, (a, b) in enumerate(zip(consumed, walk.intended, strict=False)) if a != b), None)
        if differs is not None:
            inputs = walk.intended[: differs + 1]
            continue
        if recording.result.outcome.kind == "stuck" and len(walk.intended) > len(consumed) and not walk.ended:
            inputs = walk.intended
            continue
        break
    else:
        return TestRun(name, "FAILED", reason=f"the call did not settle after {MAX_RUNS} runs")
    records = [walk.records[o["Identifier"]] for o in document["Observations"] if o["Identifier"] in walk.records]
    reason = ""
    if overrides.unsupported:
        reason = "; ".join(overrides.unsupported)
    elif any(r.status != "PASSED" for r in records):
        reason = next(f"{r.observation}: {r.detail}" for r in records if r.status != "PASSED")
    elif not walk.ended:
        reason = "the run never reached EndTest (Connect fails it at its 5-minute limit)"
    status = "PASSED" if not reason else "FAILED"
    return TestRun(name, status, records, reason, recording.result, recording.events)
