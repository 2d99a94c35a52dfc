"""Every action type is acted out: what an action sets reaches later blocks and the call's result; an action that
needs the outside world takes the scenario's result, else its documented default."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from flowkit.language.catalogue import all_types
from flowkit.simulate.effects import CONTACT_DATA, OUTSIDE, REFUSED, contact_defaults
from flowkit.simulate.engine import SIMULATED_TYPES, Resources, SimulationError, simulate
from flowkit.simulate.scenarios import Scenario, check, load_scenarios, outside_results

AT = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
BYE = {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}


def act(ident: str, kind: str, params: dict[str, Any] | None = None, nxt: str = "Bye",
        conditions: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    transitions: dict[str, Any] = {"NextAction": nxt} if nxt else {}
    transitions["Errors"] = [{"ErrorType": e, "NextAction": t} for e, t in (errors or {}).items()]
    transitions["Conditions"] = [{"NextAction": t, "Condition": {"Operator": "Equals", "Operands": [v]}}
                                 for v, t in (conditions or {}).items()]  # fmt: skip
    return {"Identifier": ident, "Type": kind, "Parameters": params or {}, "Transitions": transitions}


def say(ident: str, text: str, nxt: str = "Bye") -> dict[str, Any]:
    return act(ident, "MessageParticipant", {"Text": text}, nxt)


def flow(name: str, *actions: dict[str, Any], kind: str = "contactFlow") -> dict[str, Any]:
    return {"Version": "2019-10-30", "StartAction": actions[0]["Identifier"],
            "Metadata": {"name": name, "type": kind}, "Actions": [*actions, BYE]}  # fmt: skip


def resources(*flows: dict[str, Any]) -> Resources:
    return Resources(flows={f["Metadata"]["name"]: f for f in flows}, hours={}, queues={"support": "hours"},
                     lambdas={}, lex=None, region="us-east-1", lambda_context=lambda _key: None)  # fmt: skip


#: Types whose answer a scenario or the command line supplies (a metric, a bot, a function), without which the call
#: stops and says which option supplies it. Each is run with its answer in tests/functional/test_simulator*.py.
NEEDS_SUPPLIED = {
    "CheckMetricData": "metrics:",
    "ConnectParticipantWithLexBot": "--bot",
    "InvokeLambdaFunction": "--lambda",
}


def call(res: Resources, name: str = "f", **kw: Any) -> Any:
    return simulate(res, name, [], at=AT, caller="+15555550100", **kw)


def test_every_catalogue_type_is_acted_out_or_refused_with_a_reason() -> None:
    # GIVEN every action type the flow language catalogue knows
    # WHEN the simulator's tables are consulted THEN each is acted out, or refused with a reason
    unhandled = sorted(t for t in all_types() if t not in SIMULATED_TYPES and not REFUSED.get(t, "").strip())
    assert unhandled == [], f"action types neither acted out nor refused with a reason: {unhandled}"


@pytest.mark.parametrize("kind", sorted(all_types()))
def test_each_catalogue_type_runs_without_being_assumed(kind: str) -> None:
    # GIVEN a flow whose first block is this type, with a NextAction and a NoMatchingError branch
    res = resources(flow("f", act("X", kind, errors={"NoMatchingError": "Bye"})))
    # WHEN a call runs it
    if kind in REFUSED or kind in NEEDS_SUPPLIED:
        # THEN a refused type stops with its reason, and one whose answer comes from the scenario asks for it
        with pytest.raises(SimulationError, match=REFUSED.get(kind) or NEEDS_SUPPLIED[kind]):
            call(res)
        return
    result = call(res)
    # THEN the block is a step of the call with a branch of its own, and nothing says it was assumed
    first = result.steps[0]
    assert first.type == kind and first.branch
    assert "assumed" not in str(first.input)


def test_flow_attributes_reach_a_later_compare_and_the_result() -> None:
    # GIVEN a flow that sets a flow attribute (API shape and console shape) and then checks it
    setter = act("Set", "UpdateFlowAttributes",
                 {"FlowAttributes": {"tier": {"Value": "gold"}, "plain": "x"}}, "Check")  # fmt: skip
    check_it = act("Check", "Compare", {"ComparisonValue": "$.FlowAttributes.tier"}, "Other",
                   conditions={"gold": "Gold"}, errors={"NoMatchingCondition": "Other"})  # fmt: skip
    res = resources(flow("f", setter, check_it, say("Gold", "Gold line"), say("Other", "Other line")))
    # WHEN the call runs THEN the Compare sees the value, and the result carries both attributes
    result = call(res)
    assert result.prompts == ["Gold line"]
    assert result.flow_attributes == {"tier": "gold", "plain": "x"}
    assert result.attributes == {}  # flow attributes are not contact attributes


def test_flow_attributes_do_not_cross_a_transfer_and_a_module_keeps_its_own() -> None:
    # GIVEN flow f that sets a flow attribute, invokes a module that sets another, then transfers to flow g
    module = flow("m", act("MSet", "UpdateFlowAttributes", {"FlowAttributes": {"inner": {"Value": "1"}}}, "Back"),
                  act("Back", "EndFlowModuleExecution", nxt=""), kind="contactFlowModule")  # fmt: skip
    first = flow("f", act("Set", "UpdateFlowAttributes", {"FlowAttributes": {"outer": {"Value": "1"}}}, "Mod"),
                 act("Mod", "InvokeFlowModule", {"FlowModuleId": "%ModuleArn.m%"}, "Say",
                     errors={"NoMatchingError": "Bye"}),
                 say("Say", "outer=$.FlowAttributes.outer inner=$.FlowAttributes.inner", "Go"),
                 act("Go", "TransferToFlow", {"ContactFlowId": "%FlowArn.g%"}, errors={"NoMatchingError": "Bye"}))  # fmt: skip
    second = flow("g", say("Hear", "in g outer=$.FlowAttributes.outer"))
    # WHEN a call runs through all three
    result = call(resources(first, module, second))
    # THEN after the module the caller's attributes are back and the module's are gone; g starts with none
    assert result.prompts == ["outer=1 inner=", "in g outer="]
    assert result.flow_attributes == {}


def test_contact_data_language_voice_and_tags_are_visible_later_and_to_functions() -> None:
    # GIVEN a flow that sets the language, the voice and a tag, then reads them back and calls a function
    seen: list[dict[str, Any]] = []

    def function(event: dict[str, Any], _context: Any) -> dict[str, str]:
        seen.append(event["Details"]["ContactData"])
        return {}

    res = resources(flow(
        "f",
        act("Lang", "UpdateContactData", {"LanguageCode": "es-US", "Name": "Ana", "TargetContact": "Current"}, "Voice"),
        act("Voice", "UpdateContactTextToSpeechVoice", {"TextToSpeechVoice": "Lupe", "TextToSpeechEngine": "Neural"},
            "Tag"),
        act("Tag", "TagContact", {"Tags": {"dept": "billing", "tmp": "1"}}, "Untag"),
        act("Untag", "UnTagContact", {"TagKeys": ["tmp"]}, "Fn"),
        act("Fn", "InvokeLambdaFunction", {"LambdaFunctionARN": "fn"}, "Say", errors={"NoMatchingError": "Bye"}),
        say("Say", "$.LanguageCode $.TextToSpeechVoice $.Tags.dept $.Name"),
    ))  # fmt: skip
    res.lambdas["fn"] = function
    # WHEN the call runs
    result = call(res)
    # THEN later blocks, the function's event and the call's result all see what was set
    assert result.prompts == ["es-US Lupe billing Ana"]
    assert seen[0]["LanguageCode"] == "es-US"
    assert result.contact["Tags"] == {"dept": "billing"}
    assert (result.contact["TextToSpeechVoice"], result.contact["TextToSpeechEngine"]) == ("Lupe", "Neural")
    assert "TargetContact" not in result.contact
    # AND a call that sets nothing has Connect's defaults
    assert call(resources(flow("f", say("S", "$.LanguageCode")))).prompts == [str(contact_defaults()["LanguageCode"])]


def test_recording_routing_hooks_and_logging_are_stored() -> None:
    # GIVEN one block of each contact-data kind the kit's flows use
    recording = {"RecordedParticipants": ["Agent", "Customer"]}
    res = resources(flow(
        "f",
        act("Rec", "UpdateContactRecordingBehavior", {"RecordingBehavior": recording}, "Route"),
        act("Route", "UpdateContactRoutingBehavior", {"QueuePriority": "1"}, "Hook"),
        act("Hook", "UpdateContactEventHooks", {"EventHooks": {"CustomerQueue": "%FlowArn.q%"}}, "Log"),
        act("Log", "UpdateFlowLoggingBehavior", {"FlowLoggingBehavior": "Enabled"}, "Bye"),
    ))  # fmt: skip
    # WHEN the call runs THEN each is in the contact data, under the parameter's name
    contact = call(res).contact
    assert contact["RecordingBehavior"] == recording
    assert contact["QueuePriority"] == "1"
    assert contact["EventHooks"] == {"CustomerQueue": "%FlowArn.q%"}
    assert contact["FlowLoggingBehavior"] == "Enabled"


@pytest.mark.parametrize(("number", "branch"), [("+15555550123", "NextAction"),
                                                ("555-0123", "Error:InvalidCallbackNumber")])  # fmt: skip
def test_a_callback_number_is_checked_and_used_by_the_callback(number: str, branch: str) -> None:
    # GIVEN a flow that sets the callback number and then queues a callback
    res = resources(flow(
        "f",
        act("Num", "UpdateContactCallbackNumber", {"CallbackNumber": number}, "Cb",
            errors={"InvalidCallbackNumber": "Bye", "CallbackNumberNotDialable": "Bye"}),
        act("Cb", "CreateCallbackContact", {"QueueId": "%QueueArn.support%"}, "Bye"),
    ))  # fmt: skip
    # WHEN the call runs THEN a valid E.164 number is kept and called back; another takes InvalidCallbackNumber
    result = call(res)
    assert result.steps[0].branch == branch
    assert [c["number"] for c in result.callbacks] == ([number] if branch == "NextAction" else [])


def _profile_flow() -> dict[str, Any]:
    return flow(
        "f",
        act("Get", "GetCustomerProfile", {}, "", conditions={"Found": "Hello"}, errors={"NoMatchingError": "Sorry"}),
        say("Hello", "Hello $.Customer.FirstName"),
        say("Sorry", "Sorry"),
    )


def test_an_outside_action_takes_the_supplied_result_error_and_data() -> None:
    res = resources(_profile_flow())
    # GIVEN a supplied result with data WHEN the call runs THEN the condition is taken and the data is visible
    found = call(res, outside={"Get": {"result": "Found", "data": {"Customer": {"FirstName": "Ana"}}}})
    assert found.prompts == ["Hello Ana"] and found.contact["Customer"] == {"FirstName": "Ana"}
    # GIVEN a supplied error (keyed by type this time) THEN its error branch is taken
    assert call(res, outside={"GetCustomerProfile": {"error": "NoMatchingError"}}).prompts == ["Sorry"]


def test_an_outside_action_with_only_conditions_and_no_result_says_what_to_supply() -> None:
    # GIVEN a profile lookup with conditions and no NextAction, and no supplied result
    # WHEN the call reaches it THEN it stops naming the block, what it reaches and the scenario field
    with pytest.raises(SimulationError, match=r"\[Get\]: GetCustomerProfile reaches Customer Profiles.*outside:"):
        call(resources(_profile_flow()))


def test_an_outside_action_by_default_succeeds_and_a_created_contact_is_recorded() -> None:
    # GIVEN a flow that creates a task, with no supplied result
    res = resources(flow("f", act("Task", "CreateTask", {"Name": "follow up"}, "Bye")))
    # WHEN the call runs THEN the default (success, NextAction) is taken and the task is in the result
    result = call(res)
    assert result.steps[0].branch == "NextAction" and "default" in str(result.steps[0].input)
    assert result.created == [{"kind": "task", "flow": "f", "action": "Task", "parameters": {"Name": "follow up"}}]


def test_scenarios_assert_flow_attributes_and_contact_data(tmp_path: Path) -> None:
    # GIVEN a scenario file with an outside result and expectations on flow attributes and contact data
    body = {
        "name": "profile", "flow": "f", "at": AT.isoformat(),
        "outside": {"Get": {"result": "Found", "data": {"Customer": {"FirstName": "Ana"}}}},
        "expect": {"outcome": "disconnected", "flow_attributes": {"seen": "yes"},
                   "contact": {"Customer.FirstName": "Ana", "LanguageCode": "en-US", "Tags": {}}},
    }  # fmt: skip
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    [(_, scenario)] = load_scenarios(tmp_path)
    doc = _profile_flow()
    doc["Actions"][1] = act("Hello", "UpdateFlowAttributes", {"FlowAttributes": {"seen": {"Value": "yes"}}})
    res = resources(doc)
    # WHEN it runs THEN it passes
    result = call(res, outside=outside_results(scenario))
    assert check(scenario, result) == []
    # AND WHEN the expectations differ THEN each mismatch is named
    wrong = Scenario.model_validate({**body, "expect": {"outcome": "disconnected", "flow_attributes": {"seen": "no"},
                                                        "contact": {"Customer.LastName": "Y", "LanguageCode": "fr"}}})  # fmt: skip
    problems = check(wrong, result)
    assert any("flow attribute seen='yes', expected 'no'" in p for p in problems)
    assert any("contact data Customer.LastName is absent" in p for p in problems)
    assert any("contact data LanguageCode is 'en-US', expected 'fr'" in p for p in problems)


def test_the_tables_do_not_overlap() -> None:
    # GIVEN the contact-data, outside-world and refused tables THEN a type is in at most one of them
    assert not (set(CONTACT_DATA) & set(OUTSIDE)) and not (set(REFUSED) & (set(CONTACT_DATA) | set(OUTSIDE)))
