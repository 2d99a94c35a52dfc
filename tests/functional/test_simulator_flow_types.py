"""The simulator runs every flow type the kit can deploy, and the actions that only those flow types use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowkit.simulate.engine import SIMULATED_TYPES, Resources, SimulationError, simulate
from flowkit.simulate.kit import bot_factories
from tests.conftest import ROOT

AT = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
BYE = {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
END = {"Identifier": "End", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}}


def step(ident: str, kind: str, params: dict[str, Any] | None = None, nxt: str | None = None,
         errors: dict[str, str] | None = None, conditions: list[tuple[str, str]] | None = None) -> dict[str, Any]:  # fmt: skip
    transitions: dict[str, Any] = {}
    if nxt:
        transitions["NextAction"] = nxt
    if errors:
        transitions["Errors"] = [{"ErrorType": e, "NextAction": t} for e, t in errors.items()]
    if conditions:
        transitions["Conditions"] = [
            {"NextAction": t, "Condition": {"Operator": "Equals", "Operands": [v]}} for v, t in conditions
        ]
    return {"Identifier": ident, "Type": kind, "Parameters": params or {}, "Transitions": transitions}


def doc(kind: str, *actions: dict[str, Any], name: str = "f") -> dict[str, Any]:
    return {"Version": "2019-10-30", "StartAction": actions[0]["Identifier"],
            "Metadata": {"name": name, "type": kind}, "Actions": list(actions)}  # fmt: skip


def resources(*flows: dict[str, Any], **kw: Any) -> Resources:
    return Resources(
        flows={f["Metadata"]["name"]: f for f in flows}, hours={}, queues={"support": "hours", "overflow": "hours"},
        lambdas={}, lex=None, region="us-east-1", lambda_context=lambda _key: None, **kw,
    )  # fmt: skip


def run(res: Resources, inputs: list[str] | None = None, flow: str = "f", **kw: Any) -> Any:
    return simulate(res, flow, inputs or [], at=AT, caller="+15555550100", **kw)


def test_customer_queue_loop_interrupts_once_then_waits_for_an_agent() -> None:
    # GIVEN a queue flow whose prompt loop is interrupted to check the queue
    loop = step("Loop", "MessageParticipantIteratively",
                {"Messages": [{"Text": "Please hold"}], "InterruptFrequencySeconds": "30"},
                nxt="End", errors={"NoMatchingError": "End"}, conditions=[("MessagesInterrupted", "Check")])  # fmt: skip
    check = step("Check", "CheckMetricData", {"MetricType": "OldestContactInQueueAgeSeconds"}, nxt="Loop",
                 errors={"NoMatchingError": "End", "NoMatchingCondition": "Loop"})  # fmt: skip
    check["Transitions"]["Conditions"] = [
        {"NextAction": "Offer", "Condition": {"Operator": "NumberGreaterThan", "Operands": ["600"]}}
    ]
    offer = step("Offer", "CreateCallbackContact", {"QueueId": "%QueueArn.support%"}, nxt="End",
                 errors={"NoMatchingError": "End"})  # fmt: skip
    res = resources(doc("customerQueue", loop, check, offer, END))
    # WHEN the oldest caller has waited 20 minutes THEN a callback is offered and the flow ends
    long_wait = run(res, metrics={"OldestContactInQueueAgeSeconds": 1200})
    assert [s.action for s in long_wait.steps] == ["Loop", "Check", "Offer", "End"]
    assert long_wait.callbacks == [{"queue": "support", "number": "+15555550100", "delay_seconds": "0"}]
    # WHEN the wait is short THEN the loop comes back and plays until an agent answers
    short = run(res, metrics={"OldestContactInQueueAgeSeconds": 30})
    assert [s.action for s in short.steps] == ["Loop", "Check", "Loop"]
    assert short.outcome.kind == "ended" and "in queue until an agent answers" in short.outcome.detail["reason"]


def test_metrics_not_given_stop_the_call_naming_the_metric() -> None:
    check = step("Check", "CheckMetricData", {"MetricType": "NumberOfAgentsAvailable"}, nxt="Bye",
                 errors={"NoMatchingError": "Bye"})  # fmt: skip
    with pytest.raises(SimulationError, match="--metric NumberOfAgentsAvailable=N"):
        run(resources(doc("contactFlow", check, BYE)))


def test_hold_and_whisper_flows_end_as_their_type_does() -> None:
    hold = step("Loop", "MessageParticipantIteratively", {"Messages": [{"Text": "You are on hold"}]})
    held = run(resources(doc("agentHold", hold)))
    assert held.prompts == ["You are on hold"] and "on hold until the agent resumes" in held.outcome.detail["reason"]
    whisper = run(resources(doc("agentWhisper", step("Say", "MessageParticipant", {"Text": "$.Queue.Name"}, "End"),
                                END)))  # fmt: skip
    assert whisper.outcome.kind == "ended" and [s.action for s in whisper.steps] == ["Say", "End"]


def test_transfer_flows_hand_over_to_an_agent_or_a_queue() -> None:
    to_agent = run(resources(doc("agentTransfer", step("Go", "TransferContactToAgent"))))
    assert to_agent.outcome.kind == "transferred" and to_agent.outcome.detail["to"] == "agent"
    dequeue = step("Move", "DequeueContactAndTransferToQueue", {"QueueId": "%QueueArn.overflow%"}, nxt="End",
                   errors={"QueueAtCapacity": "End", "NoMatchingError": "End"})  # fmt: skip
    moved = run(resources(doc("customerQueue", dequeue, END)))
    assert moved.outcome.kind == "queued" and moved.outcome.detail["queue"] == "overflow"
    full = run(resources(doc("customerQueue", dequeue, END)), queue_full={"overflow"})
    assert full.steps[0].branch == "Error:QueueAtCapacity"


def test_a_module_runs_and_returns_to_its_caller() -> None:
    module = doc("contactFlowModule", step("Tag", "UpdateContactAttributes", {"Attributes": {"via": "module"}},
                                           "Back"),
                 {"Identifier": "Back", "Type": "EndFlowModuleExecution", "Parameters": {}, "Transitions": {}},
                 name="m")  # fmt: skip
    caller = doc("contactFlow", step("Call", "InvokeFlowModule", {"FlowModuleId": "%ModuleArn.m%"}, "Bye",
                                     {"NoMatchingError": "Bye"}), BYE)  # fmt: skip
    result = run(resources(caller, module))
    assert [(s.flow, s.action) for s in result.steps] == [("m", "Tag"), ("m", "Back"), ("f", "Call"), ("f", "Bye")]
    assert result.attributes == {"via": "module"} and result.outcome.kind == "disconnected"


def test_wait_ends_with_the_named_event_or_when_its_time_is_up() -> None:
    wait = step("Wait", "Wait", {"TimeLimitSeconds": "300", "Events": ["CustomerReturned"]}, nxt="Bye",
                errors={"NoMatchingError": "Bye"},
                conditions=[("CustomerReturned", "Back"), ("WaitCompleted", "Bye")])  # fmt: skip
    back = step("Back", "MessageParticipant", {"Text": "Welcome back"}, "Bye")
    res = resources(doc("contactFlow", wait, back, BYE))
    assert run(res, ["CustomerReturned"]).prompts == ["Welcome back"]
    timed_out = run(res, ["1"])
    assert timed_out.prompts == [] and timed_out.steps[0].branch == "Condition:Equals WaitCompleted"


def test_show_view_waits_for_its_user_or_takes_the_action_given() -> None:
    view = step("View", "ShowView", {"ViewResource": {"Id": "checkout"}}, nxt="Bye",
                errors={"NoMatchingError": "Bye"}, conditions=[("Next", "Thanks")])  # fmt: skip
    thanks = step("Thanks", "MessageParticipant", {"Text": "Done: $.Views.Action"}, "Bye")
    res = resources(doc("contactFlow", view, thanks, BYE))
    waiting = run(res)
    assert waiting.outcome.kind == "stuck" and waiting.outcome.detail["waiting_for"] == "view"
    assert run(res, ["Next"]).prompts == ["Done: Next"]


def test_a_third_party_call_that_continues_the_flow_comes_back() -> None:
    call = {"ThirdPartyPhoneNumber": "+15555550123", "ContinueFlowExecution": "True"}
    res = resources(doc("contactFlow", step("Call", "TransferParticipantToThirdParty", call, "After",
                                            {"NoMatchingError": "Bye"}),
                        step("After", "MessageParticipant", {"Text": "Anything else?"}, "Bye"), BYE))  # fmt: skip
    assert run(res).prompts == ["Anything else?"]
    call["ContinueFlowExecution"] = "False"
    gone = run(res)
    assert gone.outcome.kind == "transferred" and gone.outcome.detail["number"] == "+15555550123"


def test_a_flows_own_bot_answers_its_lex_block(tmp_path: Path) -> None:
    # GIVEN a flow whose Lex block names another bot alias, mapped to the kit's bot model file
    lex = step("Ask", "ConnectParticipantWithLexBot", {"Text": "How can I help?",
                                                       "LexV2Bot": {"AliasArn": "%BotAliasArn.frontdesk%"}},
               nxt="Bye", errors={"NoMatchingError": "Bye", "NoMatchingCondition": "Bye"},
               conditions=[("SpeakToReceptionist", "Front")])  # fmt: skip
    front = step("Front", "MessageParticipant", {"Text": "Connecting you"}, "Bye")
    flows = doc("contactFlow", lex, front, BYE)
    with pytest.raises(SimulationError, match=r"no bot to talk to.*--bot"):
        run(resources(flows), ["I want to talk to someone"])
    bots = bot_factories({"%BotAliasArn.frontdesk%": str(ROOT / "lex" / "bot.yaml")}, AT.date)
    result = run(resources(flows, bots=bots), ["I want to talk to someone at the front desk"])
    assert result.steps[0].branch == "Condition:Equals SpeakToReceptionist", result.steps[0]
    assert "Connecting you" in result.prompts


def test_known_types_are_acted_out() -> None:
    # GIVEN a flow that tags the contact WHEN it runs THEN the tag is in the call's contact data (not assumed)
    tag = step("Tag", "TagContact", {"Tags": {"k": "v"}}, "Bye", {"NoMatchingError": "Bye"})
    result = run(resources(doc("contactFlow", tag, BYE)))
    assert result.steps[0].branch == "NextAction" and result.contact["Tags"] == {"k": "v"}
    assert {"Wait", "ShowView", "CheckMetricData", "TransferContactToAgent", "CreateCallbackContact"} <= set(
        SIMULATED_TYPES
    )
