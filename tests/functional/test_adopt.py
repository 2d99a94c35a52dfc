"""`ivr adopt` against botocore's Stubber: a console-built instance, answered in the real Connect response shapes
(the Stubber checks every request and answer against the model), read, written as a deployment, loaded back,
linted, synthesized, and compared with the recording (no difference after a clean adoption)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from typer.testing import CliRunner

from flowkit.language.files import load_flows
from flowkit.language.lint import has_errors, lint_path
from runbooks import adopt as adopt_module
from runbooks.adopt import (
    ACTIONS,
    AdoptError,
    InstanceReads,
    adopted_differences,
    kit_name,
    read_instance,
    write_adoption,
)
from tests.functional.test_flow_loader import NoWait

INSTANCE = "11111111-2222-3333-4444-555555555555"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BASE = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE}"
PAGE = {"InstanceId": INSTANCE, "MaxResults": 1000}


def ident(n: int) -> str:
    return f"{n:08d}-aaaa-bbbb-cccc-dddddddddddd"


def wav(seconds: float = 0.5) -> bytes:
    """An 8 kHz mono U-Law WAV (what Connect plays)."""
    frames = bytes([0xFF]) * int(8000 * seconds)
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def step(name: str, kind: str, params: dict[str, Any], nxt: str | None = None) -> dict[str, Any]:
    moves: dict[str, Any] = {}
    if nxt:
        moves = {"NextAction": nxt, "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}
    return {"Identifier": name, "Type": kind, "Parameters": params, "Transitions": moves}


def content(*actions: dict[str, Any]) -> str:
    bye = {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
    # The console keeps block positions in Metadata: volatile, dropped by the kit, never a difference.
    layout = {"entryPointPosition": {"x": 40, "y": 40}, "ActionMetadata": {}}
    return json.dumps({"Version": "2019-10-30", "StartAction": actions[0]["Identifier"] if actions else "Bye",
                       "Metadata": layout, "Actions": [*actions, bye]})  # fmt: skip


@dataclass
class Console:
    """A console-built instance as Connect describes it, object by object (Describe* answers)."""

    identity: str = "SAML"
    flows: list[dict[str, Any]] = field(default_factory=list)
    modules: list[dict[str, Any]] = field(default_factory=list)
    hours: list[dict[str, Any]] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    audio: dict[str, bytes] = field(default_factory=dict)
    security: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)
    routing: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    quick: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)


def clinic() -> Console:
    """A small clinic built in the console: two hours, two queues (one with a name the kit spells otherwise), a
    prompt, a menu that plays it and invokes a module, transfer flows, profiles, a hierarchy, a custom status,
    quick connects of the three kinds the kit has, and two SAML users."""
    c = Console()
    hours_arn = [f"{BASE}/operating-hours/{ident(n)}" for n in (1, 2)]
    week = [{"Day": d, "StartTime": {"Hours": 8, "Minutes": 0}, "EndTime": {"Hours": 18, "Minutes": 0}}
            for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]  # fmt: skip
    c.hours = [
        {"HoursOfOperationId": ident(1), "HoursOfOperationArn": hours_arn[0], "Name": "Clinic Hours",
         "TimeZone": "America/New_York", "Config": week},
        {"HoursOfOperationId": ident(2), "HoursOfOperationArn": hours_arn[1], "Name": "Nurse line",
         "TimeZone": "America/Chicago",
         "Config": [{"Day": "SATURDAY", "StartTime": {"Hours": 9, "Minutes": 30}, "EndTime": {"Hours": 13, "Minutes": 0}},
                    {"Day": "SUNDAY", "StartTime": {"Hours": 9, "Minutes": 30}, "EndTime": {"Hours": 13, "Minutes": 0}}]},
    ]  # fmt: skip
    queue_arn = [f"{BASE}/queue/{ident(n)}" for n in (11, 12)]
    c.queues = [
        {"QueueId": ident(11), "QueueArn": queue_arn[0], "Name": "Front Desk", "Description": "Appointments",
         "HoursOfOperationId": ident(1), "MaxContacts": 20, "Status": "ENABLED"},
        {"QueueId": ident(12), "QueueArn": queue_arn[1], "Name": "nurses", "HoursOfOperationId": ident(2),
         "Status": "ENABLED"},
    ]  # fmt: skip
    prompt_arn = f"{BASE}/prompt/{ident(21)}"
    c.prompts = [{"PromptARN": prompt_arn, "PromptId": ident(21), "Name": "welcome.wav", "Description": "Hello"}]
    c.audio = {ident(21): wav()}
    module_arn = f"{BASE}/flow-module/{ident(31)}"
    c.modules = [{"Arn": module_arn, "Id": ident(31), "Name": "consent", "State": "ACTIVE", "Status": "PUBLISHED",
                  "Content": content(step("Say", "MessageParticipant", {"Text": "This call may be recorded."}, "End"),
                                     {"Identifier": "End", "Type": "EndFlowModuleExecution", "Parameters": {},
                                      "Transitions": {}}),
                  "Settings": "{}"}]  # fmt: skip
    flow_arn = {n: f"{BASE}/contact-flow/{ident(40 + i)}" for i, n in enumerate(
        ["Main menu", "Agent transfer", "Queue transfer"])}  # fmt: skip
    c.flows = [
        {"Arn": flow_arn["Main menu"], "Id": ident(40), "Name": "Main menu", "Type": "CONTACT_FLOW",
         "State": "ACTIVE", "Status": "PUBLISHED", "Description": "The clinic's main line",
         "Content": content(
             step("Hello", "MessageParticipant", {"PromptId": prompt_arn}, "Consent"),
             step("Consent", "InvokeFlowModule", {"FlowModuleId": module_arn}, "Hours"),
             {**step("Hours", "CheckHoursOfOperation", {"HoursOfOperationId": hours_arn[0]}, "Queue"),
              "Transitions": {"NextAction": "Bye", "Conditions": [
                  {"NextAction": "Queue", "Condition": {"Operator": "Equals", "Operands": ["True"]}},
                  {"NextAction": "Bye", "Condition": {"Operator": "Equals", "Operands": ["False"]}}],
                  "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}},
             step("Queue", "UpdateContactTargetQueue", {"QueueId": queue_arn[0]}, "Transfer"),
             {**step("Transfer", "TransferContactToQueue", {}, "Bye"),
              "Transitions": {"NextAction": "Bye", "Errors": [{"ErrorType": "QueueAtCapacity", "NextAction": "Bye"},
                                                              {"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}})},
        {"Arn": flow_arn["Agent transfer"], "Id": ident(41), "Name": "Agent transfer", "Type": "AGENT_TRANSFER",
         "State": "ACTIVE", "Status": "PUBLISHED", "Content": content(
             {**step("Transfer", "TransferContactToQueue", {}, "Bye"),
              "Transitions": {"NextAction": "Bye", "Errors": [{"ErrorType": "QueueAtCapacity", "NextAction": "Bye"},
                                                              {"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}})},
        {"Arn": flow_arn["Queue transfer"], "Id": ident(42), "Name": "Queue transfer", "Type": "QUEUE_TRANSFER",
         "State": "ACTIVE", "Status": "PUBLISHED", "Content": content(
             {**step("Transfer", "TransferContactToQueue", {}, "Bye"),
              "Transitions": {"NextAction": "Bye", "Errors": [{"ErrorType": "QueueAtCapacity", "NextAction": "Bye"},
                                                              {"ErrorType": "NoMatchingError", "NextAction": "Bye"}]}})},
    ]  # fmt: skip
    c.security = [
        ({"Id": ident(51), "Arn": f"{BASE}/security-profile/{ident(51)}", "SecurityProfileName": "Front desk agent",
          "Description": "Takes calls"}, ["BasicAgentAccess", "OutboundCallAccess"]),
        ({"Id": ident(52), "Arn": f"{BASE}/security-profile/{ident(52)}", "SecurityProfileName": "Supervisor"},
         ["BasicAgentAccess", "RealtimeMetrics.Access"]),
    ]  # fmt: skip
    c.routing = [
        ({"InstanceId": INSTANCE, "Name": "Front desk", "RoutingProfileArn": f"{BASE}/routing-profile/{ident(61)}",
          "RoutingProfileId": ident(61), "Description": "Voice, one at a time", "DefaultOutboundQueueId": ident(11),
          "MediaConcurrencies": [{"Channel": "VOICE", "Concurrency": 1}, {"Channel": "CHAT", "Concurrency": 2}]},
         [{"QueueId": ident(11), "QueueArn": queue_arn[0], "QueueName": "Front Desk", "Priority": 1, "Delay": 0,
           "Channel": "VOICE"},
          {"QueueId": ident(12), "QueueArn": queue_arn[1], "QueueName": "nurses", "Priority": 2, "Delay": 30,
           "Channel": "CHAT"}]),
    ]  # fmt: skip
    c.levels = ["Site", "Team"]
    level = {name: {"Id": ident(70 + i), "Arn": f"{BASE}/agent-group/{ident(70 + i)}", "Name": name}
             for i, name in enumerate(["Main clinic", "Desk team"])}  # fmt: skip
    c.groups = [
        {"Id": ident(71), "Arn": level["Desk team"]["Arn"], "Name": "Desk team", "LevelId": "2",
         "HierarchyPath": {"LevelOne": level["Main clinic"], "LevelTwo": level["Desk team"]}},
        {"Id": ident(70), "Arn": level["Main clinic"]["Arn"], "Name": "Main clinic", "LevelId": "1",
         "HierarchyPath": {"LevelOne": level["Main clinic"]}},
    ]  # fmt: skip
    c.statuses = [{"AgentStatusARN": f"{BASE}/agent-state/{ident(81)}", "AgentStatusId": ident(81), "Name": "Lunch",
                   "Description": "Away", "Type": "CUSTOM", "DisplayOrder": 3, "State": "ENABLED"}]  # fmt: skip
    c.users = [
        {"Id": ident(91), "Arn": f"{BASE}/agent/{ident(91)}", "Username": "ana@clinic.example",
         "IdentityInfo": {"FirstName": "Ana", "LastName": "Lopez", "Email": "ana.lopez@mail.example"},
         "PhoneConfig": {"PhoneType": "SOFT_PHONE", "AutoAccept": False, "AfterContactWorkTimeLimit": 0},
         "SecurityProfileIds": [ident(51)], "RoutingProfileId": ident(61), "HierarchyGroupId": ident(71)},
        {"Id": ident(92), "Arn": f"{BASE}/agent/{ident(92)}", "Username": "sam",
         "IdentityInfo": {"FirstName": "Sam", "LastName": "Okafor"},
         "PhoneConfig": {"PhoneType": "DESK_PHONE", "AutoAccept": True, "AfterContactWorkTimeLimit": 30,
                         "DeskPhoneNumber": "+15555550100"},
         "SecurityProfileIds": [ident(51), ident(52)], "RoutingProfileId": ident(61), "HierarchyGroupId": ident(70)},
    ]  # fmt: skip
    c.quick = [
        {"QuickConnectARN": f"{BASE}/transfer-destination/{ident(101)}", "QuickConnectId": ident(101),
         "Name": "Supervisor", "QuickConnectConfig": {"QuickConnectType": "USER",
                                                      "UserConfig": {"UserId": ident(92), "ContactFlowId": ident(41)}}},
        {"QuickConnectARN": f"{BASE}/transfer-destination/{ident(102)}", "QuickConnectId": ident(102),
         "Name": "Nurses", "Description": "The nurse queue",
         "QuickConnectConfig": {"QuickConnectType": "QUEUE",
                                "QueueConfig": {"QueueId": ident(12), "ContactFlowId": ident(42)}}},
        {"QuickConnectARN": f"{BASE}/transfer-destination/{ident(103)}", "QuickConnectId": ident(103),
         "Name": "On-call", "QuickConnectConfig": {"QuickConnectType": "PHONE_NUMBER",
                                                   "PhoneConfig": {"PhoneNumber": "+15555550199"}}},
    ]  # fmt: skip
    return c


def stub_instance(stub: Stubber, c: Console, *, denied: str = "") -> None:
    """The answers of every call ``read_instance`` makes, in order, with the requests it must send; ``denied``
    makes that kind's first call answer AccessDeniedException."""

    def listed(kind: str, op: str, key: str, items: list[dict[str, Any]], **request: Any) -> bool:
        if kind and kind == denied:
            stub.add_client_error(
                op, "AccessDeniedException", "not authorized", 403, expected_params={**PAGE, **request}
            )
            return False
        stub.add_response(op, {key: items}, {**PAGE, **request})
        return True

    def summary(item: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {k: item[k] for k in keys if k in item}

    stub.add_response("describe_instance", {"Instance": {
        "Id": INSTANCE, "Arn": BASE, "IdentityManagementType": c.identity, "InstanceAlias": "Clinic-Console",
        "InstanceStatus": "ACTIVE"}}, {"InstanceId": INSTANCE})  # fmt: skip
    if listed("flows", "list_contact_flows", "ContactFlowSummaryList",
              [{"Id": f["Id"], "Arn": f["Arn"], "Name": f["Name"], "ContactFlowType": f["Type"],
                "ContactFlowState": "ACTIVE"} for f in c.flows]):  # fmt: skip
        for f in c.flows:
            stub.add_response("describe_contact_flow", {"ContactFlow": f}, {"InstanceId": INSTANCE,
                                                                            "ContactFlowId": f["Id"]})  # fmt: skip
    if listed("modules", "list_contact_flow_modules", "ContactFlowModulesSummaryList",
              [summary(m, "Id", "Arn", "Name", "State") for m in c.modules],
              ContactFlowModuleState="ACTIVE"):  # fmt: skip
        for m in c.modules:
            stub.add_response("describe_contact_flow_module", {"ContactFlowModule": m},
                              {"InstanceId": INSTANCE, "ContactFlowModuleId": m["Id"]})  # fmt: skip
    if listed(
        "hours",
        "list_hours_of_operations",
        "HoursOfOperationSummaryList",
        [{"Id": h["HoursOfOperationId"], "Arn": h["HoursOfOperationArn"], "Name": h["Name"]} for h in c.hours],
    ):
        for h in c.hours:
            stub.add_response("describe_hours_of_operation", {"HoursOfOperation": h},
                              {"InstanceId": INSTANCE, "HoursOfOperationId": h["HoursOfOperationId"]})  # fmt: skip
    if listed("queues", "list_queues", "QueueSummaryList",
              [{"Id": q["QueueId"], "Arn": q["QueueArn"], "Name": q["Name"], "QueueType": "STANDARD"} for q in c.queues],
              QueueTypes=["STANDARD"]):  # fmt: skip
        for q in c.queues:
            stub.add_response("describe_queue", {"Queue": q}, {"InstanceId": INSTANCE, "QueueId": q["QueueId"]})
    if listed("prompts", "list_prompts", "PromptSummaryList",
              [{"Id": p["PromptId"], "Arn": p["PromptARN"], "Name": p["Name"]} for p in c.prompts]):  # fmt: skip
        for p in c.prompts:
            request = {"InstanceId": INSTANCE, "PromptId": p["PromptId"]}
            stub.add_response("describe_prompt", {"Prompt": p}, request)
            stub.add_response("get_prompt_file", {"PromptPresignedUrl": f"https://s3.example/{p['PromptId']}"},
                              request)  # fmt: skip
    if listed(
        "security_profiles",
        "list_security_profiles",
        "SecurityProfileSummaryList",
        [{"Id": p["Id"], "Arn": p["Arn"], "Name": p["SecurityProfileName"]} for p, _ in c.security],
    ):
        for p, permissions in c.security:
            request = {"InstanceId": INSTANCE, "SecurityProfileId": p["Id"]}
            stub.add_response("describe_security_profile", {"SecurityProfile": p}, request)
            stub.add_response("list_security_profile_permissions", {"Permissions": permissions},
                              {**request, "MaxResults": 100})  # fmt: skip
    if listed(
        "routing_profiles",
        "list_routing_profiles",
        "RoutingProfileSummaryList",
        [{"Id": p["RoutingProfileId"], "Arn": p["RoutingProfileArn"], "Name": p["Name"]} for p, _ in c.routing],
    ):
        for p, queues in c.routing:
            request = {"InstanceId": INSTANCE, "RoutingProfileId": p["RoutingProfileId"]}
            stub.add_response("describe_routing_profile", {"RoutingProfile": p}, request)
            stub.add_response("list_routing_profile_queues", {"RoutingProfileQueueConfigSummaryList": queues},
                              {**request, "MaxResults": 100})  # fmt: skip
    if denied == "hierarchy":
        stub.add_client_error("describe_user_hierarchy_structure", "AccessDeniedException", "not authorized", 403)
    else:
        levels = ("LevelOne", "LevelTwo", "LevelThree", "LevelFour", "LevelFive")
        structure = {lvl: {"Id": str(i + 1), "Arn": f"{BASE}/agent-group-level/{i + 1}", "Name": name}
                     for i, (lvl, name) in enumerate(zip(levels, c.levels, strict=False))}  # fmt: skip
        stub.add_response("describe_user_hierarchy_structure", {"HierarchyStructure": structure},
                          {"InstanceId": INSTANCE})  # fmt: skip
        listed("", "list_user_hierarchy_groups", "UserHierarchyGroupSummaryList",
               [summary(g, "Id", "Arn", "Name") for g in c.groups])  # fmt: skip
        for g in c.groups:
            stub.add_response("describe_user_hierarchy_group", {"HierarchyGroup": g},
                              {"InstanceId": INSTANCE, "HierarchyGroupId": g["Id"]})  # fmt: skip
    if listed("agent_statuses", "list_agent_statuses", "AgentStatusSummaryList",
              [{"Id": s["AgentStatusId"], "Arn": s["AgentStatusARN"], "Name": s["Name"], "Type": "CUSTOM"}
               for s in c.statuses], AgentStatusTypes=["CUSTOM"]):  # fmt: skip
        for s in c.statuses:
            stub.add_response("describe_agent_status", {"AgentStatus": s},
                              {"InstanceId": INSTANCE, "AgentStatusId": s["AgentStatusId"]})  # fmt: skip
    if listed("quick_connects", "list_quick_connects", "QuickConnectSummaryList",
              [{"Id": q["QuickConnectId"], "Arn": q["QuickConnectARN"], "Name": q["Name"],
                "QuickConnectType": q["QuickConnectConfig"]["QuickConnectType"]} for q in c.quick]):  # fmt: skip
        for q in c.quick:
            stub.add_response("describe_quick_connect", {"QuickConnect": q},
                              {"InstanceId": INSTANCE, "QuickConnectId": q["QuickConnectId"]})  # fmt: skip
    if listed("users", "list_users", "UserSummaryList",
              [summary(u, "Id", "Arn", "Username") for u in c.users]):  # fmt: skip
        for u in c.users:
            stub.add_response("describe_user", {"User": u}, {"InstanceId": INSTANCE, "UserId": u["Id"]})


@pytest.fixture
def connect() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("connect", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    yield client, stub
    stub.assert_no_pending_responses()


def record(connect: tuple[Any, Stubber], console: Console, *, denied: str = "") -> InstanceReads:
    client, stub = connect
    stub_instance(stub, console, denied=denied)
    urls = {f"https://s3.example/{k}": v for k, v in console.audio.items()}
    return read_instance(client, INSTANCE, pacer=NoWait(), download=urls.__getitem__)


def written_files(out: Path, reads: InstanceReads, **kwargs: Any) -> Any:
    return write_adoption(reads, out, name="adopted", account=ACCOUNT, dr_region="us-west-2",
                          dr_mode="global-resiliency", **kwargs)  # fmt: skip


def loaded(written: Any) -> Any:
    from regions.config import load_deployment

    return load_deployment(written.config)


def test_an_adopted_instance_loads_lints_and_diffs_clean(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    # GIVEN a console-built instance, recorded through every read call
    console = clinic()
    reads = record(connect, console)
    # WHEN it is written as a deployment
    written = written_files(tmp_path / "out", reads)
    # THEN nothing was left out, the deployment loads, and it holds every object of the instance by kit name
    assert written.skipped == [] and reads.unreadable == {}
    deployment = loaded(written)
    assert [q.name for q in deployment.queues] == [kit_name(q["Name"]) for q in console.queues]
    assert [h.name for h in deployment.hours] == [kit_name(h["Name"]) for h in console.hours]
    staff = deployment.staff
    assert [p.name for p in staff.security_profiles] == [p["SecurityProfileName"] for p, _ in console.security]
    assert [p.name for p in staff.routing_profiles] == [p["Name"] for p, _ in console.routing]
    assert staff.hierarchy is not None and staff.hierarchy.levels == console.levels
    assert sorted(staff.group_names) == sorted(g["Name"] for g in console.groups)
    assert [s.name for s in staff.agent_statuses] == [s["Name"] for s in console.statuses]
    assert [q.name for q in staff.quick_connects] == [q["Name"] for q in console.quick]
    assert [u.username for u in staff.users] == [u["Username"] for u in console.users]
    # identity only: no password, no email anywhere in the files
    text = written.staff.read_text() + written.config.read_text()
    assert not any(u["IdentityInfo"].get("Email", "@@") in text for u in console.users)
    # the flows and modules are kit flow files that lint clean, with placeholders for every ARN
    flows = load_flows(written.flows_dir)
    assert len(flows) == len(console.flows) + len(console.modules)
    for path in written.flows_dir.glob("*.json"):
        assert not has_errors(lint_path(path, None, deploying=True)), path
        assert BASE not in path.read_text() and ACCOUNT not in path.read_text()
    # the prompts' audio is in connect/prompts, as downloaded
    assert sorted(p.read_bytes() for p in written.prompts_dir.glob("*.wav")) == sorted(console.audio.values())
    # AND the recording and the files agree, as `ivr diff` would see them
    assert adopted_differences(reads, deployment, flows_dir=written.flows_dir, prompts_dir=written.prompts_dir) == []


def test_the_diff_names_what_was_changed_in_the_files(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    # GIVEN an adopted instance
    reads = record(connect, clinic())
    written = written_files(tmp_path / "out", reads)
    # WHEN a queue's capacity and a flow's text are edited in the files, and a prompt's audio replaced
    config = yaml.safe_load(written.config.read_text())
    config["queues"][0]["max_contacts"] = 999
    written.config.write_text(yaml.safe_dump(config))
    flow = next(written.flows_dir.glob("Main-menu.json"))
    flow.write_text(flow.read_text().replace("Consent", "Consent2"))
    prompt = next(written.prompts_dir.glob("*.wav"))
    prompt.write_bytes(wav(0.25))
    # THEN each is a difference, by name
    differences = adopted_differences(reads, loaded(written), flows_dir=written.flows_dir,
                                      prompts_dir=written.prompts_dir)  # fmt: skip
    queue = config["queues"][0]["name"]
    assert f"queue {queue}: differs (max_contacts)" in differences
    assert "flow Main-menu: content differs" in differences
    assert f"prompt {prompt.stem}: audio differs" in differences
    assert len(differences) == 3


def test_access_denied_on_one_kind_is_reported_and_the_rest_is_adopted(
    connect: tuple[Any, Stubber], tmp_path: Path
) -> None:
    # GIVEN credentials that may not list users
    console = clinic()
    reads = record(connect, console, denied="users")
    # WHEN adopted
    written = written_files(tmp_path / "out", reads)
    # THEN users are reported as not read, with the API's reason; the rest is written and loads
    assert list(reads.unreadable) == ["users"] and "AccessDeniedException" in reads.unreadable["users"]
    assert any(line.startswith("users: not read: AccessDeniedException") for line in written.skipped)
    deployment = loaded(written)
    assert deployment.staff.users == [] and len(deployment.queues) == len(console.queues)
    # the user quick connect cannot point at a user that was not read: it is left out, saying why
    assert "quick connect Supervisor: its user was not adopted" in written.skipped
    differences = adopted_differences(reads, deployment, flows_dir=written.flows_dir, prompts_dir=written.prompts_dir)
    assert any(d.startswith("not compared: users: not read") for d in differences)


def test_what_the_kit_cannot_hold_is_listed_with_why_and_shows_in_the_diff(
    connect: tuple[Any, Stubber], tmp_path: Path
) -> None:
    # GIVEN an instance with a FLOW quick connect and a prompt in a format Connect may hold but the kit refuses
    console = clinic()
    console.quick.append({"QuickConnectARN": f"{BASE}/transfer-destination/{ident(109)}", "QuickConnectId": ident(109),
                          "Name": "Survey", "QuickConnectConfig": {"QuickConnectType": "FLOW",
                                                                   "FlowConfig": {"ContactFlowId": ident(40)}}})  # fmt: skip
    console.prompts.append({"PromptARN": f"{BASE}/prompt/{ident(22)}", "PromptId": ident(22), "Name": "music.mp3"})
    console.audio[ident(22)] = b"ID3 not a wav"
    reads = record(connect, console)
    # WHEN adopted
    written = written_files(tmp_path / "out", reads)
    # THEN both are listed as not written, with why, and the rest loads
    assert any(s.startswith("quick connect Survey: a FLOW quick connect") for s in written.skipped)
    assert any(s.startswith("prompt music.mp3: not a WAV file") for s in written.skipped)
    deployment = loaded(written)
    differences = adopted_differences(reads, deployment, flows_dir=written.flows_dir, prompts_dir=written.prompts_dir)
    assert sorted(differences) == sorted(f"only on the instance: {s}" for s in written.skipped)


def test_users_of_an_instance_without_saml_stay_in_the_console(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    # GIVEN an instance whose users Connect manages (they have passwords)
    console = clinic()
    console.identity = "CONNECT_MANAGED"
    reads = record(connect, console)
    # WHEN adopted THEN no user is written (a password never goes in config), and why is said
    written = write_adoption(reads, tmp_path / "out", name="adopted", account=ACCOUNT, dr_region="us-west-2",
                             dr_mode="standalone")  # fmt: skip
    assert any(s.startswith(f"users ({len(console.users)}): the instance's identity management is CONNECT_MANAGED")
               for s in written.skipped)  # fmt: skip
    assert loaded(written).staff.users == []


def test_existing_files_are_kept_unless_forced(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    # GIVEN an output folder that already holds the deployment file
    reads = record(connect, clinic())
    out = tmp_path / "out"
    (out / "regions").mkdir(parents=True)
    (out / "regions" / "adopted.yaml").write_text("mine: true\n")
    # WHEN adopted without --force THEN nothing is written
    with pytest.raises(AdoptError, match=r"adopted\.yaml exists"):
        written_files(out, reads)
    assert (out / "regions" / "adopted.yaml").read_text() == "mine: true\n"
    assert not (out / "connect").exists()
    # AND with force it is replaced
    written = written_files(out, reads, force=True)
    assert loaded(written).name == "adopted"


def test_reads_are_paced(connect: tuple[Any, Stubber]) -> None:
    # GIVEN a pacer that records its waits
    client, stub = connect
    console = clinic()
    stub_instance(stub, console)
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    from runbooks.flow_loader import Pacer

    # WHEN the instance is read
    reads = read_instance(client, INSTANCE, pacer=Pacer(0.5, clock=lambda: now[0], sleep=sleep),
                          download=lambda _url: wav())  # fmt: skip
    # THEN every call after the first waited its turn
    assert len(waits) == sum(reads.calls.values()) - 1


def test_the_documented_policy_names_every_call_the_reads_make(connect: tuple[Any, Stubber]) -> None:
    # GIVEN the calls a full read makes
    reads = record(connect, clinic())
    called = {"connect:" + "".join(w.capitalize() for w in op.split("_")) for op in reads.calls}
    # THEN each is in ACTIONS (the policy docs/adopt.md shows), and each of ACTIONS is documented there
    assert called <= set(ACTIONS), called - set(ACTIONS)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "adopt.md").read_text(encoding="utf-8")
    assert [a for a in ACTIONS if f'"{a}"' not in docs] == []
    # and nothing beyond what is called (least privilege), STS's account check aside
    assert set(ACTIONS) - called == {"sts:GetCallerIdentity"}


def test_the_adopted_deployment_synthesizes(
    connect: tuple[Any, Stubber], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app as kit_app
    from regions import prompts

    # GIVEN an adopted instance, its prompts where the stacks read them
    written = written_files(tmp_path / "out", record(connect, clinic()))
    monkeypatch.setattr(prompts, "PROMPTS_DIR", written.prompts_dir)
    monkeypatch.setattr(prompts.load_prompts, "__defaults__", (written.prompts_dir,))
    monkeypatch.setattr(prompts.prompt_names, "__defaults__", (written.prompts_dir,))
    # WHEN both regions are synthesized with its flows (cdk-nag packs attached)
    assembly = kit_app.build_app(written.config, str(tmp_path / "cdk.out"), flows_dir=written.flows_dir,
                                 cache=None).synth()  # fmt: skip
    # THEN every queue, flow and user of the files is in the primary's templates
    deployment = loaded(written)
    text = "".join(p.read_text() for p in Path(assembly.directory).glob("*.json"))
    for name in [q.name for q in deployment.queues] + [u.username for u in deployment.staff.users]:
        assert name in text, name


def test_the_command_writes_the_folder_and_a_summary(
    connect: tuple[Any, Stubber], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ivr.adopt_cli as cli_module
    from ivr.cli import app

    # GIVEN credentials of an account and the instance answering through the Stubber
    client, stub = connect
    console = clinic()
    stub_instance(stub, console)
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    sts_stub = Stubber(sts)
    sts_stub.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/a",
                                                  "UserId": "AIDA"}, {})  # fmt: skip
    sts_stub.activate()

    class Session:
        def client(self, service: str, **_kwargs: Any) -> Any:
            assert service == "connect"
            return client

    monkeypatch.setattr(cli_module, "session_with_credentials", lambda *_a, **_k: Session())
    monkeypatch.setattr(cli_module, "sts_client", lambda _session, _region: sts)
    monkeypatch.setattr(adopt_module, "Pacer", NoWait)
    monkeypatch.setattr(adopt_module, "download_url", lambda url: console.audio[url.rsplit("/", 1)[1]])
    out = tmp_path / "adopted"
    # WHEN adopted with --json
    result = CliRunner().invoke(app, ["adopt", "--instance-id", INSTANCE, "--region", REGION, "--out", str(out),
                                      "--json"])  # fmt: skip
    # THEN it exits 0 with the files listed, a progress line per kind on stderr, and the deployment loads
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["not_written"] == [] and all(Path(p).exists() for p in summary["written"])
    from regions.config import load_deployment

    deployment = load_deployment(summary["config"])
    assert deployment.account == ACCOUNT and deployment.name == kit_name("Clinic-Console")
    for kind in adopt_module.KINDS:
        assert f"{kind}: " in result.stderr, kind
    # AND run again into the same folder, it refuses before reading anything (exit 2, one line, no traceback)
    again = CliRunner().invoke(app, ["adopt", "--instance-id", INSTANCE, "--region", REGION, "--out", str(out)])
    assert again.exit_code == 2 and "is not empty" in again.stderr and "Traceback" not in again.output


def test_users_never_point_at_what_could_not_be_read(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    # GIVEN credentials that may not read the hierarchy, which the users are placed in
    console = clinic()
    reads = record(connect, console, denied="hierarchy")
    # WHEN adopted
    written = written_files(tmp_path / "out", reads)
    # THEN each user in a group is left out saying why, and the deployment still loads
    placed = [u["Username"] for u in console.users if u.get("HierarchyGroupId")]
    assert [s for s in written.skipped if s.endswith("its hierarchy group was not adopted")] == [
        f"user {name}: its hierarchy group was not adopted" for name in placed
    ]
    assert [u.username for u in loaded(written).staff.users] == [
        u["Username"] for u in console.users if u["Username"] not in placed
    ]


@pytest.mark.parametrize("arguments", [["--name", "My Clinic"], ["--out", "FILE"], ["--out", "FULL"]])
def test_bad_arguments_are_one_line_before_any_aws_call(
    arguments: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ivr.adopt_cli as cli_module
    from ivr.cli import app

    # GIVEN a name that is not a deployment name, an --out that is a file, or a folder that already holds files
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "kept.yaml").write_text("x")
    values = {"FILE": str(tmp_path / "file"), "FULL": str(tmp_path / "full")}
    given = [values.get(a, a) for a in arguments]
    out = [] if "--out" in given else ["--out", str(tmp_path / "new")]

    def no_session(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("AWS was called")

    monkeypatch.setattr(cli_module, "session_with_credentials", no_session)
    # WHEN adopt runs THEN it exits 2 with one line and nothing is written
    result = CliRunner().invoke(app, ["adopt", "--instance-id", INSTANCE, "--region", REGION, *out, *given])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert (tmp_path / "full" / "kept.yaml").read_text() == "x" and not (tmp_path / "new").exists()


def test_a_prompt_whose_audio_cannot_be_fetched_is_reported(connect: tuple[Any, Stubber], tmp_path: Path) -> None:
    # GIVEN a presigned URL that cannot be fetched (expired, or no network)
    client, stub = connect
    console = clinic()
    stub_instance(stub, console)

    def expired(url: str) -> bytes:
        raise OSError(f"HTTP Error 403: Forbidden ({url})")

    # WHEN the instance is read and adopted
    reads = read_instance(client, INSTANCE, pacer=NoWait(), download=expired)
    written = written_files(tmp_path / "out", reads)
    # THEN each prompt is reported with the reason, nothing else is lost, and no audio file is written
    assert [s for s in written.skipped if s.startswith("prompt ")] == [
        f"prompt {p['Name']}: its audio could not be downloaded: HTTP Error 403: Forbidden "
        f"(https://s3.example/{p['PromptId']})"
        for p in console.prompts
    ]
    assert len(written.skipped) == len(console.prompts) and not list(written.prompts_dir.glob("*.wav"))
