"""`ivr flows export` and `ivr flows diff` against botocore's Stubber (the real Connect model checks each call)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from flowkit.language.files import fill, load_flows, placeholders_in
from runbooks.flow_loader import FlowLoader, export_instance
from tests.functional.test_flow_loader import INSTANCE, VALUES, NoWait, arn, deployed, flow_id, summaries
from tests.functional.test_flow_loader import load_flows as loader_flows

BASE = f"arn:aws:connect:us-east-1:111111111111:instance/{INSTANCE}"
QUEUE = f"{BASE}/queue/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
MODULE_ID = "99999999-8888-7777-6666-555555555555"


@pytest.fixture
def connect() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("connect", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    yield client, stub
    stub.assert_no_pending_responses()


def live_flow(name: str, kind: str, actions: list[dict[str, Any]], state: str = "ACTIVE") -> dict[str, Any]:
    content = {"Version": "2019-10-30", "StartAction": actions[0]["Identifier"], "Actions": actions}
    return {"Id": flow_id(name), "Arn": arn(name), "Name": name, "Type": kind, "State": state,
            "Content": json.dumps(content)}  # fmt: skip


def test_export_saves_every_flow_and_module_as_kit_files_that_load(
    connect: tuple[Any, Stubber], tmp_path: Path
) -> None:
    client, stub = connect
    # GIVEN an instance with an inbound flow that sets a queue and transfers to another flow, and a module
    inbound = live_flow("a", "CONTACT_FLOW", [
        {"Identifier": "Q", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": QUEUE},
         "Transitions": {"NextAction": "T", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}},
        {"Identifier": "T", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": arn("b")},
         "Transitions": {"NextAction": "Bye", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}},
        {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
    ])  # fmt: skip
    other = live_flow("b", "CONTACT_FLOW", [
        {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}])  # fmt: skip
    module_content = {"Version": "2019-10-30", "StartAction": "Back", "Actions": [
        {"Identifier": "Back", "Type": "EndFlowModuleExecution", "Parameters": {}, "Transitions": {}}]}  # fmt: skip
    module = {"Id": MODULE_ID, "Arn": f"{BASE}/flow-module/{MODULE_ID}", "Name": "greeting", "State": "ACTIVE",
              "Content": json.dumps(module_content), "Settings": "{}"}  # fmt: skip
    # (only active flows and modules are asked for: the request's StateCondition, checked by the Stubber)
    search = {"InstanceId": INSTANCE, "MaxResults": 100, "SearchCriteria": {"StateCondition": "ACTIVE"}}
    stub.add_response("search_contact_flows", {"ContactFlows": [inbound, other]}, search)
    stub.add_response("search_contact_flow_modules", {"ContactFlowModules": [module]}, search)
    stub.add_response("list_queues", {"QueueSummaryList": [{"Id": QUEUE.rsplit("/", 1)[1], "Arn": QUEUE,
                                                           "Name": "support"}]},
                      {"InstanceId": INSTANCE, "MaxResults": 1000})  # fmt: skip
    stub.add_response("list_hours_of_operations", {"HoursOfOperationSummaryList": []},
                      {"InstanceId": INSTANCE, "MaxResults": 1000})  # fmt: skip
    # WHEN exported
    report = export_instance(client, INSTANCE, tmp_path, pacer=NoWait())
    # THEN active flows and the module are files, ARNs are placeholders named after the resources
    assert sorted(p.relative_to(tmp_path).as_posix() for p in report.written) == ["a.json", "b.json",
                                                                                  "greeting.json"]  # fmt: skip
    assert report.left_to_fix == []
    flows = {f.name: f for f in load_flows(tmp_path)}
    assert set(flows) == {"a", "b", "greeting"} and flows["a"].flow_references == {"b"}
    assert placeholders_in(flows["a"].doc) == {"QueueArn.support", "FlowArn.b"}
    assert flows["greeting"].type == "MODULE"
    assert report.calls == {"search_contact_flows": 1, "search_contact_flow_modules": 1, "list_queues": 1,
                            "list_hours_of_operations": 1}  # fmt: skip


def test_diff_names_what_differs_what_is_missing_and_what_only_the_instance_has(
    connect: tuple[Any, Stubber],
) -> None:
    client, stub = connect
    # GIVEN an instance where after-hours differs, customer-queue is missing and a flow "b" is not in the folder
    changed = deployed("after-hours").replace("Goodbye.", "Bye.")
    page = summaries(["after-hours", "inbound-menu", "b"], {"after-hours": changed, "b": json.dumps({"x": 1})})
    stub.add_response("search_contact_flows", page)
    # WHEN compared THEN nothing is written and each difference is named
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).diff(loader_flows(), VALUES)  # the loader tests' set
    statuses = {r.name: r.status for r in report.results}
    assert statuses == {"after-hours": "would-update", "customer-queue": "would-create", "inbound-menu": "would-update"}
    assert report.only_in_instance == ["b"] and report.writes == 0
    assert '-        "Text": "Thank you for calling the clinic. Bye."' in report.results[0].diff


def test_diff_of_an_instance_that_matches_is_empty(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    stub.add_response("search_contact_flows", summaries(["after-hours", "customer-queue", "inbound-menu"]))
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).diff(loader_flows(), VALUES)  # the loader tests' set
    assert {r.status for r in report.results} == {"unchanged"} and report.only_in_instance == []


def _module_folder(tmp_path: Path) -> list[Any]:
    module = {
        "Version": "2019-10-30",
        "StartAction": "Back",
        "Metadata": {"name": "greeting", "type": "contactFlowModule"},
        "Actions": [{"Identifier": "Back", "Type": "EndFlowModuleExecution", "Parameters": {}, "Transitions": {}}],
    }
    caller = {"Version": "2019-10-30", "StartAction": "Call", "Metadata": {"name": "a", "type": "contactFlow"},
              "Actions": [{"Identifier": "Call", "Type": "InvokeFlowModule", "Parameters": {"FlowModuleId": "%ModuleArn.greeting%"},
                           "Transitions": {"NextAction": "Bye", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}},
                          {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}  # fmt: skip
    (tmp_path / "greeting.json").write_text(json.dumps(module))
    (tmp_path / "a.json").write_text(json.dumps(caller))
    return load_flows(tmp_path)


def test_modules_load_through_the_module_api_before_the_flows_that_invoke_them(
    connect: tuple[Any, Stubber], tmp_path: Path
) -> None:
    client, stub = connect
    flows = _module_folder(tmp_path)
    module_arn = f"{BASE}/flow-module/{MODULE_ID}"
    stub.add_response("search_contact_flows", {"ContactFlows": []})
    stub.add_response("search_contact_flow_modules", {"ContactFlowModules": []},
                      {"InstanceId": INSTANCE, "MaxResults": 100, "SearchCriteria": {"StateCondition": "ACTIVE"}})  # fmt: skip
    stub.add_response("create_contact_flow_module", {"Id": MODULE_ID, "Arn": module_arn},
                      {"InstanceId": INSTANCE, "Name": "greeting", "Content": ANY})  # fmt: skip
    # the flow that invokes the module is created after it, with the module's ARN in its content
    with_module = json.dumps(fill({f.name: f for f in flows}["a"].content(), {"ModuleArn.greeting": module_arn}))
    stub.add_response("create_contact_flow", {"ContactFlowId": flow_id("a"), "ContactFlowArn": arn("a")},
                      {"InstanceId": INSTANCE, "Name": "a", "Type": "CONTACT_FLOW", "Content": with_module})  # fmt: skip
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(flows, {})
    assert [(r.name, r.status) for r in report.results] == [("a", "created"), ("greeting", "created")]
    assert report.calls["create_contact_flow_module"] == 1


def test_an_unchanged_folder_with_modules_reloads_in_two_reads(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    client, stub = connect
    flows = {f.name: f for f in _module_folder(tmp_path)}
    module_arn = f"{BASE}/flow-module/{MODULE_ID}"
    caller = json.dumps(fill(flows["a"].content(), {"ModuleArn.greeting": module_arn}))
    stub.add_response("search_contact_flows", {"ContactFlows": [{"Id": flow_id("a"), "Arn": arn("a"), "Name": "a",
                                                                 "Content": caller}]})  # fmt: skip
    stub.add_response("search_contact_flow_modules", {"ContactFlowModules": [
        {"Id": MODULE_ID, "Arn": module_arn, "Name": "greeting", "Content": json.dumps(flows["greeting"].content())}]})  # fmt: skip
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(list(flows.values()), {})
    assert {r.status for r in report.results} == {"unchanged"}
    assert report.calls == {"search_contact_flows": 1, "search_contact_flow_modules": 1}


def _with_settings(tmp_path: Path, settings: str) -> dict[str, Any]:
    _module_folder(tmp_path)
    doc = json.loads((tmp_path / "greeting.json").read_text())
    doc["Metadata"]["settings"] = settings  # as `ivr flows export` writes a module's Settings
    (tmp_path / "greeting.json").write_text(json.dumps(doc))
    return {f.name: f for f in load_flows(tmp_path)}


SETTINGS = json.dumps({"InputParameters": [{"Name": "greeting", "Type": "String"}]})


def test_a_modules_settings_are_sent_when_it_is_created(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    client, stub = connect
    # GIVEN a module file whose Metadata holds its Settings, not yet in the instance
    flows = _with_settings(tmp_path, SETTINGS)
    module_arn = f"{BASE}/flow-module/{MODULE_ID}"
    stub.add_response("search_contact_flows", {"ContactFlows": []})
    stub.add_response("search_contact_flow_modules", {"ContactFlowModules": []})
    # THEN CreateContactFlowModule carries them (the Stubber checks the request against the model)
    stub.add_response("create_contact_flow_module", {"Id": MODULE_ID, "Arn": module_arn},
                      {"InstanceId": INSTANCE, "Name": "greeting", "Content": ANY, "Settings": SETTINGS})  # fmt: skip
    stub.add_response("create_contact_flow", {"ContactFlowId": flow_id("a"), "ContactFlowArn": arn("a")})
    # WHEN loaded
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(list(flows.values()), {})
    assert {r.status for r in report.results} == {"created"}


@pytest.mark.parametrize("held", [None, json.dumps({"InputParameters": []})])
def test_a_module_whose_settings_differ_is_updated_with_them(
    connect: tuple[Any, Stubber], tmp_path: Path, held: str | None
) -> None:
    client, stub = connect
    # GIVEN a module whose content is the kit's but whose Settings are missing or older in the instance
    flows = _with_settings(tmp_path, SETTINGS)
    module_arn = f"{BASE}/flow-module/{MODULE_ID}"
    caller = json.dumps(fill(flows["a"].content(), {"ModuleArn.greeting": module_arn}))
    stub.add_response("search_contact_flows", {"ContactFlows": [{"Id": flow_id("a"), "Arn": arn("a"), "Name": "a",
                                                                 "Content": caller}]})  # fmt: skip
    module = {"Id": MODULE_ID, "Arn": module_arn, "Name": "greeting",
              "Content": json.dumps(flows["greeting"].content())}  # fmt: skip
    if held is not None:
        module["Settings"] = held
    stub.add_response("search_contact_flow_modules", {"ContactFlowModules": [module]})
    # THEN UpdateContactFlowModuleContent sends the content with the file's Settings
    stub.add_response("update_contact_flow_module_content", {},
                      {"InstanceId": INSTANCE, "ContactFlowModuleId": MODULE_ID,
                       "Content": json.dumps(flows["greeting"].content()), "Settings": SETTINGS})  # fmt: skip
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(list(flows.values()), {})
    assert {r.name: r.status for r in report.results} == {"a": "unchanged", "greeting": "updated"}


def test_a_module_with_the_same_settings_is_not_written(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    client, stub = connect
    # GIVEN the instance holds the module's content and the same Settings (spaced differently)
    flows = _with_settings(tmp_path, SETTINGS)
    module_arn = f"{BASE}/flow-module/{MODULE_ID}"
    caller = json.dumps(fill(flows["a"].content(), {"ModuleArn.greeting": module_arn}))
    stub.add_response("search_contact_flows", {"ContactFlows": [{"Id": flow_id("a"), "Arn": arn("a"), "Name": "a",
                                                                 "Content": caller}]})  # fmt: skip
    stub.add_response("search_contact_flow_modules", {"ContactFlowModules": [
        {"Id": MODULE_ID, "Arn": module_arn, "Name": "greeting", "Content": json.dumps(flows["greeting"].content()),
         "Settings": json.dumps(json.loads(SETTINGS), indent=2)}]})  # fmt: skip
    # WHEN loaded THEN nothing is written
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(list(flows.values()), {})
    assert {r.status for r in report.results} == {"unchanged"} and report.writes == 0


def test_archived_flows_are_left_out_by_the_search_itself(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    # GIVEN an instance that holds the kit's flows (an archived flow of the same name would shadow the active one)
    page = summaries(["after-hours", "customer-queue", "inbound-menu"])
    active_only = {"InstanceId": INSTANCE, "MaxResults": 100, "SearchCriteria": {"StateCondition": "ACTIVE"}}
    stub.add_response("search_contact_flows", page, active_only)
    # WHEN loaded THEN the search asked Connect for ACTIVE flows only (the Stubber checks the request), and the
    # flows found are the ones compared: all unchanged, nothing written
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(loader_flows(), VALUES)
    assert {r.status for r in report.results} == {"unchanged"} and report.writes == 0
