"""A simulated call as the testing language sees it: a stream of events, recorded through the engine's hook.

Events are those the language documents (TestInitiated, MessageReceived, FlowActionStarted, TestCompleted), in
the order the call raised them, plus ``Input`` markers for what the caller said or pressed (or ``timeout``), so
that the interpreter can check that each instruction answers the message it was meant for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from flowkit.simulate.engine import CallResult, LambdaHandler, Override, Resources, simulate

REGION_PATH = "$.AwsRegion"
#: How a test case names the region a flow reads at run time: a placeholder filled per region, like the ARNs.
REGION_PLACEHOLDER = "%AwsRegion%"


def region_neutral(value: Any) -> Any:
    """Flow parameters with ``$.AwsRegion`` (Global Resiliency flows resolve regional resources with it) as the
    ``%AwsRegion%`` placeholder: Connect reports the resolved value, which differs per region."""
    if isinstance(value, str):
        return value.replace(REGION_PATH, REGION_PLACEHOLDER)
    if isinstance(value, dict):
        return {k: region_neutral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [region_neutral(v) for v in value]
    return value


@dataclass
class Event:
    type: str  # TestInitiated, MessageReceived, FlowActionStarted, TestCompleted, Input
    text: str = ""
    action_type: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    queue: str | None = None
    #: A MessageReceived's prompts, in the order played (one message holds all prompts before an input).
    parts: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.type == "MessageReceived":
            return f"message {self.text!r}"
        if self.type == "FlowActionStarted":
            return f"{self.action_type} {self.parameters}"
        if self.type == "Input":
            return f"caller input {self.text!r}"
        return self.type


@dataclass
class Started:
    """One action start seen by the hook."""

    steps_before: int
    flow: str
    action: str
    type: str
    parameters: dict[str, Any]
    attributes: dict[str, str]
    queue: str | None


@dataclass
class LambdaCall:
    key: str
    response: Any = None
    error: str | None = None


@dataclass
class Recording:
    """A call with everything the compiler and the interpreter read from it."""

    result: CallResult
    started: list[Started]
    lambda_calls: list[LambdaCall]
    events: list[Event]


Hook = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Override | None]


def record(
    resources: Resources,
    flow: str,
    inputs: list[str],
    *,
    at: datetime,
    caller: str | None,
    queue_full: set[str] | None = None,
    seed: int = 0,
    failures: Mapping[str, str] | None = None,
    override: Hook | None = None,
    outside: Mapping[str, Mapping[str, Any]] | None = None,
) -> Recording:
    """Run one call and record its action starts, Lambda calls and events; ``override`` may replace actions."""
    started: list[Started] = []
    calls: list[LambdaCall] = []

    def hook(flow_name: str, action: Mapping[str, Any], state: Mapping[str, Any]) -> Override | None:
        started.append(
            Started(
                state["steps"],
                flow_name,
                action["Identifier"],
                action["Type"],
                dict(action.get("Parameters") or {}),
                dict(state["attributes"]),
                state["queue"],
            )
        )
        return override(flow_name, action, state) if override else None

    def recording(key: str, handler: LambdaHandler) -> LambdaHandler:
        def invoke(event: dict[str, Any], context: Any) -> Any:
            try:
                response = handler(event, context)
            except Exception as exc:
                calls.append(LambdaCall(key, error=type(exc).__name__))
                raise
            calls.append(LambdaCall(key, response=response))
            return response

        return invoke

    hooked = replace(resources, on_action=hook, lambdas={k: recording(k, h) for k, h in resources.lambdas.items()})
    result = simulate(hooked, flow, inputs, at=at, caller=caller, queue_full=queue_full, seed=seed, failures=failures,
                      outside=outside)  # fmt: skip
    return Recording(result, started, calls, events_of(result, started))


def events_of(result: CallResult, started: list[Started]) -> list[Event]:
    """The call's events in order: each action's FlowActionStarted, then what its step said and heard."""
    events = [Event("TestInitiated")]
    attributes: dict[str, str] = {}
    queue: str | None = None
    by_step: dict[int, list[Started]] = {}
    for item in started:
        by_step.setdefault(item.steps_before, []).append(item)
    for index in range(len(result.steps) + 1):
        for item in by_step.get(index, []):
            attributes, queue = item.attributes, item.queue
            parameters = region_neutral(dict(item.parameters))
            if item.type == "TransferContactToQueue" and queue:
                parameters = {"QueueId": f"%QueueArn.{queue}%"}
            events.append(
                Event(
                    "FlowActionStarted",
                    action_type=item.type,
                    parameters=parameters,
                    attributes=attributes,
                    queue=queue,
                )
            )
        if index == len(result.steps):
            break
        step = result.steps[index]
        if step.dialog:
            for who, text in step.dialog:
                events.append(
                    Event("MessageReceived", text=text, attributes=attributes, queue=queue)
                    if who == "IVR"
                    else Event("Input", text=text, action_type=step.type)
                )
            continue
        for text in (step.prompt or "").split(" / "):
            if text:
                events.append(Event("MessageReceived", text=text, attributes=attributes, queue=queue))
        if step.type == "GetParticipantInput" and step.input and not step.input.startswith("("):
            events.append(Event("Input", text=step.input, action_type=step.type))
    if result.outcome.kind != "stuck":
        events.append(Event("TestCompleted", attributes=dict(result.attributes), queue=queue))
    return one_message_per_input(events)


#: How the prompts of one message are joined offline (Connect's own joining is not documented; test cases
#: match one prompt of a message with Inclusion, so the separator never decides a match).
PROMPT_JOIN = " "


def one_message_per_input(events: list[Event]) -> list[Event]:
    """Each run of prompts with no caller input between them as ONE MessageReceived, where its last prompt was.

    connect-testing.md §2 ([3p] field report): "prompts before an input arrive as one message" on Connect, so an
    observation per prompt would take the combined message with the first and never see the next (the test
    then times out). The offline trace presents prompts the same way, so that offline runs behave like Connect.
    Runs end at an input and at the end of the call (what Connect sends before a transfer or disconnect with no
    input is unconfirmed; the kit treats it the same way).
    """
    merged: list[Event] = []
    run: list[int] = []  # indexes in ``merged`` of the prompts since the last input
    for event in events:
        if event.type == "Input":
            _merge(merged, run)
            run = []
        if event.type == "MessageReceived":
            run.append(len(merged))
        merged.append(replace(event, parts=[event.text]) if event.type == "MessageReceived" else event)
    _merge(merged, run)
    return [e for e in merged if e.type != "_merged"]


def _merge(events: list[Event], run: list[int]) -> None:
    if len(run) < 2:
        return
    parts = [p for i in run for p in events[i].parts]
    last = events[run[-1]]
    events[run[-1]] = replace(last, text=PROMPT_JOIN.join(parts), parts=parts)
    for index in run[:-1]:
        events[index] = Event("_merged")
