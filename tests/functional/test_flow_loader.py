"""`ivr flows load` logic against botocore's Stubber (the real Connect model validates every request).

The loader is tested on a fixed set of flows (``tests/flows/loader``: a copy of the kit's three flows as they were
when these tests were written), so that a change to the kit's own flows does not change what these tests expect.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from flowkit.language.files import FLOWS_DIR, creation_order, fill
from flowkit.language.files import load_flows as load_flow_dir
from runbooks.flow_loader import STUB, FlowLoader, Pacer, canonical

LOADER_FLOWS = Path(__file__).parents[1] / "flows" / "loader"


def load_flows() -> list[Any]:
    """The loader's fixed flow set."""
    return load_flow_dir(LOADER_FLOWS)


INSTANCE = "11111111-2222-3333-4444-555555555555"
BASE = f"arn:aws:connect:us-east-1:111111111111:instance/{INSTANCE}"
VALUES = {
    "FunctionArn.CallerLookup": "arn:aws:lambda:us-east-1:111111111111:function:clinic-CallerLookup:live",
    "FunctionArn.Callback": "arn:aws:lambda:us-east-1:111111111111:function:clinic-Callback:live",
    "FunctionArn.Appointments": "arn:aws:lambda:us-east-1:111111111111:function:clinic-Appointments:live",
    "BotAliasArn": "arn:aws:lex:us-east-1:111111111111:bot-alias/ABCDEFGHIJ/KLMNOPQRST",
    "QueueArn.appointments": f"{BASE}/queue/q1",
    "HoursArn.clinic-hours": f"{BASE}/operating-hours/h1",
}


def flow_id(name: str) -> str:
    return {"after-hours": "a" * 8, "customer-queue": "c" * 8, "inbound-menu": "i" * 8, "a": "1" * 8, "b": "2" * 8}[
        name
    ]


def arn(name: str) -> str:
    return f"{BASE}/contact-flow/{flow_id(name)}"


class NoWait(Pacer):
    def __init__(self) -> None:
        super().__init__(0.5, clock=lambda: 0.0, sleep=lambda _s: None)


@pytest.fixture
def connect() -> tuple[Any, Stubber]:
    client = boto3.client("connect", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    yield client, stub
    stub.assert_no_pending_responses()


def summaries(names: list[str], contents: dict[str, str | None] | None = None) -> dict[str, Any]:
    """A SearchContactFlows page: each flow with the content the instance holds (the kit's, unless given)."""
    flows = []
    for n in names:
        flow: dict[str, Any] = {"Id": flow_id(n), "Arn": arn(n), "Name": n, "Type": "CONTACT_FLOW"}
        content = contents[n] if contents and n in contents else deployed(n)
        if content is not None:
            flow["Content"] = content
        flows.append(flow)
    return {"ContactFlows": flows}


SEARCH = {"InstanceId": INSTANCE, "MaxResults": 100, "SearchCriteria": {"StateCondition": "ACTIVE"}}


def deployed(name: str) -> str:
    """The content the kit would have deployed for a flow, with this instance's ARNs."""
    flow = next(f for f in load_flows() if f.name == name)
    values = {**VALUES, **{f"FlowArn.{n}": arn(n) for n in ("after-hours", "customer-queue", "inbound-menu")}}
    return json.dumps(fill(flow.content(), values))


def test_first_load_creates_referenced_flows_first(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    # GIVEN an instance without the kit's flows
    stub.add_response("search_contact_flows", summaries([]), SEARCH)
    # THEN after-hours and customer-queue are created before inbound-menu, which references both
    for name, kind in (
        ("after-hours", "CONTACT_FLOW"),
        ("customer-queue", "CUSTOMER_QUEUE"),
        ("inbound-menu", "CONTACT_FLOW"),
    ):
        stub.add_response(
            "create_contact_flow",
            {"ContactFlowId": flow_id(name), "ContactFlowArn": arn(name)},
            {"InstanceId": INSTANCE, "Name": name, "Type": kind, "Content": ANY, "Description": ANY},
        )
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES)
    assert [(r.name, r.status) for r in report.results] == [
        ("after-hours", "created"),
        ("customer-queue", "created"),
        ("inbound-menu", "created"),
    ]
    assert report.ok and report.calls == {"search_contact_flows": 1, "create_contact_flow": 3}


def test_created_inbound_flow_carries_the_real_arns(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    stub.add_response("search_contact_flows", summaries(["after-hours", "customer-queue"]))
    # missing flows are created first, then existing ones are compared with what the search returned
    stub.add_response(
        "create_contact_flow",
        {"ContactFlowId": flow_id("inbound-menu"), "ContactFlowArn": arn("inbound-menu")},
        {
            "InstanceId": INSTANCE,
            "Name": "inbound-menu",
            "Type": "CONTACT_FLOW",
            "Content": deployed("inbound-menu"),
            "Description": ANY,
        },
    )
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES)
    assert {r.name: r.status for r in report.results} == {
        "after-hours": "unchanged",
        "customer-queue": "unchanged",
        "inbound-menu": "created",
    }


def test_unchanged_reload_makes_no_write_call(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    names = ["after-hours", "customer-queue", "inbound-menu"]
    # Connect returns its own JSON formatting; the loader compares documents, not text
    pretty = {n: json.dumps(json.loads(deployed(n)), indent=4) for n in names}
    stub.add_response("search_contact_flows", summaries(names, pretty), SEARCH)
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES)
    assert {r.status for r in report.results} == {"unchanged"}
    # THEN one read covers every flow: no describe per flow, no write
    assert report.writes == 0 and report.calls == {"search_contact_flows": 1}


def test_content_hash_alone_proves_a_flow_unchanged(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    names = ["after-hours", "customer-queue", "inbound-menu"]
    # GIVEN a search page whose flows carry FlowContentSha256 of exactly what the kit sends (and other formatting)
    page = summaries(names, {n: json.dumps(json.loads(deployed(n)), indent=1) for n in names})
    for flow in page["ContactFlows"]:
        flow["FlowContentSha256"] = hashlib.sha256(deployed(flow["Name"]).encode()).hexdigest()
    stub.add_response("search_contact_flows", page, SEARCH)
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES)
    assert {r.status for r in report.results} == {"unchanged"} and report.calls == {"search_contact_flows": 1}


def test_more_than_a_page_of_flows_follows_the_token(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    first = summaries(["after-hours", "customer-queue"])
    first["NextToken"] = "page-2"
    stub.add_response("search_contact_flows", first, SEARCH)
    stub.add_response("search_contact_flows", summaries(["inbound-menu"]), {**SEARCH, "NextToken": "page-2"})
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES)
    assert {r.status for r in report.results} == {"unchanged"} and report.calls == {"search_contact_flows": 2}


def test_changed_flow_is_updated_and_dry_run_only_diffs(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    names = ["after-hours", "customer-queue", "inbound-menu"]
    old = deployed("after-hours").replace("Thank you for calling the clinic. Goodbye.", "Bye.")
    for dry_run in (True, False):
        stub.add_response("search_contact_flows", summaries(names, {"after-hours": old}))
        if not dry_run:
            stub.add_response(
                "update_contact_flow_content",
                {},
                {"InstanceId": INSTANCE, "ContactFlowId": flow_id("after-hours"), "Content": deployed("after-hours")},
            )
        report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES, dry_run=dry_run)
        after_hours = report.results[0]
        if dry_run:
            assert after_hours.status == "would-update" and report.writes == 0
            assert '-        "Text": "Bye."' in after_hours.diff
            assert '+        "Text": "Thank you for calling the clinic. Goodbye."' in after_hours.diff
        else:
            assert after_hours.status == "updated" and report.writes == 1


def _cycle_flows(tmp_path: Path) -> list[Any]:
    for name, other in (("a", "b"), ("b", "a")):
        doc = {"Version": "2019-10-30", "StartAction": "Go", "Metadata": {"name": name, "type": "contactFlow"},
               "Actions": [{"Identifier": "Go", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": f"%FlowArn.{other}%"},
                            "Transitions": {"NextAction": "End", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "End"}]}},
                           {"Identifier": "End", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}  # fmt: skip
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    return load_flow_dir(tmp_path)


def test_flows_that_reference_each_other_are_created_then_filled(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    client, stub = connect
    flows = _cycle_flows(tmp_path)
    stub.add_response("search_contact_flows", summaries([]))
    # a is saved as a stub, which lets b be created with a's ARN; then a gets its content with b's ARN
    stub.add_response(
        "create_contact_flow",
        {"ContactFlowId": flow_id("a"), "ContactFlowArn": arn("a")},
        {"InstanceId": INSTANCE, "Name": "a", "Type": "CONTACT_FLOW", "Content": json.dumps(STUB), "Status": "SAVED"},
    )
    stub.add_response(
        "create_contact_flow",
        {"ContactFlowId": flow_id("b"), "ContactFlowArn": arn("b")},
        {"InstanceId": INSTANCE, "Name": "b", "Type": "CONTACT_FLOW", "Content": ANY},
    )
    stub.add_response(
        "update_contact_flow_content", {}, {"InstanceId": INSTANCE, "ContactFlowId": flow_id("a"), "Content": ANY}
    )
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(flows, {})
    assert [(r.name, r.status) for r in report.results] == [("a", "created"), ("b", "created")]


def test_invalid_flow_reports_connects_problems_and_every_flows_state(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    stub.add_response("search_contact_flows", summaries([]))
    stub.add_response(
        "create_contact_flow", {"ContactFlowId": flow_id("after-hours"), "ContactFlowArn": arn("after-hours")}
    )
    stub.add_client_error(
        "create_contact_flow",
        "InvalidContactFlowException",
        "",
        400,
        modeled_fields={
            "problems": [
                {"message": "Invalid Lex bot alias: not associated with the instance"},
                {"message": "Queue q1 does not exist"},
            ]
        },
    )
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES)
    states = {r.name: r for r in report.results}
    assert states["after-hours"].status == "created"
    assert states["customer-queue"].status == "failed"
    assert states["customer-queue"].problems == [
        "Invalid Lex bot alias: not associated with the instance",
        "Queue q1 does not exist",
    ]
    assert states["inbound-menu"].status == "skipped" and "customer-queue" in states["inbound-menu"].message
    assert not report.ok


def test_throttling_that_outlasts_retries_fails_only_that_flow(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    names = ["after-hours", "customer-queue", "inbound-menu"]
    # GIVEN a search page that left out one flow's content: the loader reads that flow on its own
    stub.add_response("search_contact_flows", summaries(names, {"after-hours": None}))
    stub.add_client_error("describe_contact_flow", "ThrottlingException", "Rate exceeded", 429)
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), VALUES)
    assert [(r.name, r.status) for r in report.results] == [
        ("after-hours", "failed"),
        ("customer-queue", "unchanged"),
        ("inbound-menu", "unchanged"),
    ]
    assert "ThrottlingException" in report.results[0].message


def test_missing_placeholder_value_fails_the_flow_with_its_name(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    stub.add_response("search_contact_flows", summaries([]))
    stub.add_response(
        "create_contact_flow", {"ContactFlowId": flow_id("customer-queue"), "ContactFlowArn": arn("customer-queue")}
    )
    values = {k: v for k, v in VALUES.items() if k != "FunctionArn.Callback"}
    report = FlowLoader(client, INSTANCE, pacer=NoWait()).load(load_flows(), values)
    states = {r.name: r for r in report.results}
    assert states["after-hours"].status == "failed" and "%FunctionArn.Callback%" in states["after-hours"].message
    assert states["inbound-menu"].status == "skipped"


def test_pacer_keeps_two_requests_per_second() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(0.5, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
        now[0] += 0.1  # the call itself
    assert slept == pytest.approx([0.4, 0.4, 0.4, 0.4])


def test_canonical_ignores_formatting() -> None:
    assert canonical('{"b": 1, "a": [1, 2]}') == canonical({"a": [1, 2], "b": 1})
    assert canonical('{"a": 1}') != canonical('{"a": 2}')


def test_kit_flows_load_in_name_order_with_referenced_flows_created_first() -> None:
    flows = load_flow_dir(FLOWS_DIR)
    names = [f.name for f in flows]
    assert names == sorted(names) and len(names) == len(list(FLOWS_DIR.glob("*.json")))
    order = [f.name for f in creation_order(flows)]
    for flow in flows:
        assert all(order.index(ref) < order.index(flow.name) for ref in flow.flow_references)
