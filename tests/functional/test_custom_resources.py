"""Custom-resource handlers, called in-process with CloudFormation event shapes.

Connect calls go through botocore's Stubber, which validates every request against the real Connect model.
The SSM handoff runs against moto. A handler signals failure by raising: the Provider framework turns that into
FAILED for CloudFormation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.conftest import FakeLambdaContext, load_handler

INSTANCE = "11111111-2222-3333-4444-555555555555"
REPLICA_ARN = f"arn:aws:connect:us-west-2:111111111111:instance/{INSTANCE}"
FLOW_ARN = (
    f"arn:aws:connect:us-east-1:111111111111:instance/{INSTANCE}/contact-flow/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)
NUMBER = "arn:aws:connect:us-east-1:111111111111:phone-number/12345678-1234-1234-1234-123456789012"
NUMBER_2 = "arn:aws:connect:us-east-1:111111111111:phone-number/22345678-1234-1234-1234-123456789012"

replication = load_handler("connect/replication/runtime/handler.py", "replication_handler")
phone = load_handler("connect/phone_numbers/runtime/handler.py", "phone_handler")
handoff = load_handler("stacks/handoff/runtime/handler.py", "handoff_handler")


def cfn_event(
    request: str, props: dict[str, Any], old: dict[str, Any] | None = None, physical: str | None = None
) -> dict[str, Any]:
    from tests.conftest import load_event

    event = load_event("cfnCustomResourceEvent")
    event["RequestType"] = request
    event["ResourceProperties"].update(props)
    if old is not None:
        event["OldResourceProperties"] = {"ServiceToken": event["ServiceToken"], **old}
    if physical is not None:
        event["PhysicalResourceId"] = physical
    return event


class Clients:
    """Stubbed Connect clients per region, with real service models."""

    def __init__(self) -> None:
        self.stubs: dict[str, Stubber] = {}
        self.clients: dict[str, Any] = {}

    def __call__(self, region: str = "us-east-1") -> Any:
        if region not in self.clients:
            client = boto3.client("connect", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
            self.clients[region] = client
            self.stubs[region] = Stubber(client)
            self.stubs[region].activate()
        return self.clients[region]

    def stub(self, region: str) -> Stubber:
        self(region)
        return self.stubs[region]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def connect_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    clients = Clients()
    monkeypatch.setattr(replication, "connect_client", clients)
    monkeypatch.setattr(phone, "connect_client", clients)
    yield clients
    clients.verify()


REPLICA_PROPS = {
    "InstanceId": INSTANCE,
    "SourceRegion": "us-east-1",
    "ReplicaRegion": "us-west-2",
    "ReplicaAlias": "clinic-ivr-dr",
}


def _instance(
    status: str,
    reason: str | None = None,
    *,
    replication: str | None = None,
    alias: str = "clinic-ivr-dr",
) -> dict[str, Any]:
    """DescribeInstance's answer in the replica region: the instance and, once replicating, its status per region."""
    instance: dict[str, Any] = {"Id": INSTANCE, "Arn": REPLICA_ARN, "InstanceStatus": status, "InstanceAlias": alias}
    if reason:
        instance["StatusReason"] = {"Message": reason}
    answer: dict[str, Any] = {"Instance": instance}
    if replication is not None:
        answer["ReplicationConfiguration"] = {
            "SourceRegion": "us-east-1",
            "ReplicationStatusSummaryList": [
                {"Region": "us-east-1", "ReplicationStatus": "INSTANCE_REPLICATION_COMPLETE"},
                {"Region": "us-west-2", "ReplicationStatus": replication, "ReplicationStatusReason": "copying"},
            ],
        }
    return answer


def _not_found(stub: Stubber, method: str = "describe_instance") -> None:
    stub.add_client_error(
        method,
        "ResourceNotFoundException",
        "no such instance",
        404,
        expected_params={"InstanceId": INSTANCE} if method == "describe_instance" else None,
    )


def _replicate(clients: Clients, event: dict[str, Any], props: dict[str, Any] = REPLICA_PROPS) -> None:
    clients.stub(props["SourceRegion"]).add_response(
        "replicate_instance",
        {"Id": INSTANCE, "Arn": REPLICA_ARN},
        {
            "InstanceId": props["InstanceId"],
            "ReplicaRegion": props["ReplicaRegion"],
            "ReplicaAlias": props["ReplicaAlias"],
            "ClientToken": event["RequestId"],
        },
    )


def test_replication_statuses_are_connects_own() -> None:
    # GIVEN the statuses the handler acts on WHEN compared with botocore's Connect model THEN each one exists there
    model = boto3.client("connect", region_name="us-east-1").meta.service_model
    replication_enum = set(model.shape_for("InstanceReplicationStatus").enum)
    instance_enum = set(model.shape_for("InstanceStatus").enum)
    used = {
        replication.REPLICATION_COMPLETE,
        replication.REPLICATION_FAILED,
        replication.REPLICA_DELETING,
        replication.REPLICA_DELETION_FAILED,
        *replication.REPLICATION_WAITING,
    }
    assert used <= replication_enum, used - replication_enum
    # AND the deletion status the handler once used does not exist in either enum
    assert "DELETION_IN_PROGRESS" not in replication_enum | instance_enum


# -- replication ------------------------------------------------------------------------------------------------
def test_create_asks_for_a_replica(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN no replica yet WHEN Create arrives THEN ReplicateInstance is called once with the request id as token
    _not_found(connect_clients.stub("us-west-2"))
    event = cfn_event("Create", REPLICA_PROPS)
    _replicate(connect_clients, event)
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"


def test_retried_create_does_not_replicate_twice(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN the replica already exists (an earlier attempt got through) WHEN Create is retried THEN no second call
    connect_clients.stub("us-west-2").add_response(
        "describe_instance", _instance("CREATION_IN_PROGRESS"), {"InstanceId": INSTANCE}
    )
    assert replication.on_event(cfn_event("Create", REPLICA_PROPS), lambda_context)["PhysicalResourceId"]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_instance("CREATION_IN_PROGRESS"), {"IsComplete": False}),
        (_instance("ACTIVE"), {"IsComplete": False}),
        (_instance("ACTIVE", replication="RESOURCE_REPLICATION_NOT_STARTED"), {"IsComplete": False}),
        (_instance("ACTIVE", replication="INSTANCE_REPLICATION_IN_PROGRESS"), {"IsComplete": False}),
        (
            _instance("ACTIVE", replication="INSTANCE_REPLICATION_COMPLETE"),
            {"IsComplete": True, "Data": {"ReplicaArn": REPLICA_ARN}},
        ),
    ],
    ids=["creating", "active-no-status", "not-started", "in-progress", "complete"],
)
def test_is_complete_waits_for_replication_to_complete(
    connect_clients: Clients, lambda_context: FakeLambdaContext, response: dict[str, Any], expected: dict[str, Any]
) -> None:
    # GIVEN the replica as DescribeInstance reports it WHEN polled THEN it is ready only once replication is complete
    connect_clients.stub("us-west-2").add_response("describe_instance", response, {"InstanceId": INSTANCE})
    assert replication.is_complete(cfn_event("Create", REPLICA_PROPS), lambda_context) == expected


def test_is_complete_asks_again_while_connect_does_not_list_the_replica(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the replica region does not list the replica WHEN polled THEN the same (idempotent) request is repeated
    _not_found(connect_clients.stub("us-west-2"))
    event = cfn_event("Create", REPLICA_PROPS)
    _replicate(connect_clients, event)
    assert replication.is_complete(event, lambda_context) == {"IsComplete": False}


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (_instance("CREATION_FAILED", "alias already taken"), "alias already taken"),
        (_instance("ACTIVE", replication="INSTANCE_REPLICATION_FAILED"), "INSTANCE_REPLICATION_FAILED: copying"),
    ],
)
def test_failed_replica_fails_the_resource(
    connect_clients: Clients, lambda_context: FakeLambdaContext, response: dict[str, Any], message: str
) -> None:
    connect_clients.stub("us-west-2").add_response("describe_instance", response, {"InstanceId": INSTANCE})
    with pytest.raises(replication.ReplicationError, match=message):
        replication.is_complete(cfn_event("Create", REPLICA_PROPS), lambda_context)


def test_create_while_the_old_replica_is_deleting_waits_then_replicates(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the previous stack's replica is still being deleted (INSTANCE_REPLICA_DELETING)
    stub = connect_clients.stub("us-west-2")
    deleting = _instance("ACTIVE", replication="INSTANCE_REPLICA_DELETING")
    stub.add_response("describe_instance", deleting, {"InstanceId": INSTANCE})
    event = cfn_event("Create", REPLICA_PROPS)
    # WHEN Create arrives THEN it does not ask for a replica yet
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"
    # AND while the deletion goes on, polling waits
    stub.add_response("describe_instance", deleting, {"InstanceId": INSTANCE})
    assert replication.is_complete(event, lambda_context) == {"IsComplete": False}
    # AND once the old replica is gone, the poll asks for the new one and keeps waiting
    _not_found(stub)
    _replicate(connect_clients, event)
    assert replication.is_complete(event, lambda_context) == {"IsComplete": False}


def test_api_error_on_create_fails_the_resource(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN Connect refuses (the account has no Global Resiliency access) WHEN Create arrives THEN it raises
    _not_found(connect_clients.stub("us-west-2"))
    connect_clients.stub("us-east-1").add_client_error(
        "replicate_instance", "AccessDeniedException", "not allowlisted for ACGR", 403
    )
    with pytest.raises(Exception, match="AccessDeniedException"):
        replication.on_event(cfn_event("Create", REPLICA_PROPS), lambda_context)


def test_throttling_surfaces_after_retries(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN Connect keeps throttling WHEN the handler polls THEN the error reaches CloudFormation
    connect_clients.stub("us-west-2").add_client_error("describe_instance", "ThrottlingException", "slow down", 429)
    with pytest.raises(Exception, match="ThrottlingException"):
        replication.is_complete(cfn_event("Create", REPLICA_PROPS), lambda_context)


def test_handlers_use_adaptive_retries() -> None:
    # Stubber answers before botocore's retry loop, so the retry policy is asserted on the client config
    for module in (replication, phone, handoff):
        assert module.RETRIES.retries == {"mode": "adaptive", "max_attempts": 8}


def test_update_to_another_region_replaces_the_replica(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a replica in us-west-2 WHEN an Update moves it to eu-west-2
    moved = {**REPLICA_PROPS, "ReplicaRegion": "eu-west-2"}
    event = cfn_event("Update", moved, old=REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    _not_found(connect_clients.stub("eu-west-2"))
    _replicate(connect_clients, event, moved)
    # THEN the new replica is asked for under a new physical id (CloudFormation deletes the old one in clean-up)
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@eu-west-2"


def test_rollback_of_a_region_change_succeeds_and_cleans_up_the_new_replica(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an update moved the replica to eu-west-2 (new physical id) and a later resource failed
    moved = {**REPLICA_PROPS, "ReplicaRegion": "eu-west-2"}
    # WHEN CloudFormation rolls back: an Update back to the old properties, on the new physical id
    rollback = cfn_event("Update", REPLICA_PROPS, old=moved, physical=f"{INSTANCE}@eu-west-2")
    connect_clients.stub("us-west-2").add_response(
        "describe_instance", _instance("ACTIVE", replication="INSTANCE_REPLICATION_COMPLETE"), {"InstanceId": INSTANCE}
    )
    # THEN it succeeds at once with the old replica's id: the old replica was never deleted
    assert replication.on_event(rollback, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"
    connect_clients.stub("us-west-2").add_response(
        "describe_instance", _instance("ACTIVE", replication="INSTANCE_REPLICATION_COMPLETE"), {"InstanceId": INSTANCE}
    )
    rollback["PhysicalResourceId"] = f"{INSTANCE}@us-west-2"
    assert replication.is_complete(rollback, lambda_context)["IsComplete"] is True
    # AND the clean-up Delete of the new id removes the eu-west-2 replica, whatever properties come with it
    cleanup = cfn_event("Delete", REPLICA_PROPS, physical=f"{INSTANCE}@eu-west-2")
    eu = connect_clients.stub("eu-west-2")
    eu.add_response("describe_instance", _instance("ACTIVE", replication="INSTANCE_REPLICATION_IN_PROGRESS"),
                    {"InstanceId": INSTANCE})  # fmt: skip
    eu.add_response("delete_instance", {}, {"InstanceId": INSTANCE})
    assert replication.on_event(cleanup, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@eu-west-2"


def test_alias_change_fails_the_update_but_its_rollback_succeeds(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a replica named clinic-ivr-dr
    renamed = {**REPLICA_PROPS, "ReplicaAlias": "clinic-ivr-backup"}
    stub = connect_clients.stub("us-west-2")
    ready = _instance("ACTIVE", replication="INSTANCE_REPLICATION_COMPLETE")
    # WHEN an Update asks for another alias THEN it fails and says what to do (Connect cannot rename a replica)
    stub.add_response("describe_instance", ready, {"InstanceId": INSTANCE})
    forward = cfn_event("Update", renamed, old=REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    with pytest.raises(replication.ReplicationError, match="cannot rename a replica"):
        replication.on_event(forward, lambda_context)
    # AND CloudFormation's rollback (the old alias again, old and new swapped) succeeds without touching Connect
    stub.add_response("describe_instance", ready, {"InstanceId": INSTANCE})
    rollback = cfn_event("Update", REPLICA_PROPS, old=renamed, physical=f"{INSTANCE}@us-west-2")
    assert replication.on_event(rollback, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"


def test_update_without_change_keeps_the_replica(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    connect_clients.stub("us-west-2").add_response(
        "describe_instance", _instance("ACTIVE", replication="INSTANCE_REPLICATION_COMPLETE"), {"InstanceId": INSTANCE}
    )
    event = cfn_event("Update", REPLICA_PROPS, old=REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"


def test_delete_removes_the_replica_and_waits(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    stub = connect_clients.stub("us-west-2")
    stub.add_response("describe_instance", _instance("ACTIVE"), {"InstanceId": INSTANCE})
    stub.add_response("delete_instance", {}, {"InstanceId": INSTANCE})
    event = cfn_event("Delete", REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"
    deleting = _instance("ACTIVE", replication="INSTANCE_REPLICA_DELETING")
    stub.add_response("describe_instance", deleting, {"InstanceId": INSTANCE})
    assert replication.is_complete(event, lambda_context) == {"IsComplete": False}
    _not_found(stub)
    assert replication.is_complete(event, lambda_context) == {"IsComplete": True}


def test_delete_while_already_deleting_does_not_ask_twice(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN Connect reports the replica as INSTANCE_REPLICA_DELETING WHEN Delete arrives THEN no second DeleteInstance
    connect_clients.stub("us-west-2").add_response(
        "describe_instance", _instance("ACTIVE", replication="INSTANCE_REPLICA_DELETING"), {"InstanceId": INSTANCE}
    )
    event = cfn_event("Delete", REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"


def test_delete_of_a_missing_replica_succeeds(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    _not_found(connect_clients.stub("us-west-2"))
    event = cfn_event("Delete", REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"


def test_delete_after_a_create_that_failed_early_touches_nothing(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a Create that failed before it made a replica (the physical id is not a replica's)
    event = cfn_event("Delete", REPLICA_PROPS, physical="2021/09/01/[$LATEST]0123456789abcdef")
    # WHEN CloudFormation deletes it THEN both handlers succeed without a Connect call (the Stubber has none queued)
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == event["PhysicalResourceId"]
    assert replication.is_complete(event, lambda_context) == {"IsComplete": True}


def test_replication_wait_leaves_margin_under_cloudformations_hour() -> None:
    # GIVEN CloudFormation's one-hour limit for a custom resource WHEN the replica's waiter gives up
    from connect.replication import infrastructure

    limit = infrastructure.CLOUDFORMATION_CUSTOM_RESOURCE_LIMIT.to_seconds()
    wait = infrastructure.REPLICATION_WAIT.to_seconds() + infrastructure.POLL_INTERVAL.to_seconds()
    # THEN it does so with at least five minutes to spare, so CloudFormation gets FAILED, not a timeout
    assert limit == 3600
    assert wait <= limit - 300


def test_each_window_hands_over_before_its_waiter_gives_up() -> None:
    # GIVEN the chained windows of the replica's wait (CloudFormation: one hour per custom resource)
    from connect.replication import infrastructure as infra

    hand_over = infra.HAND_OVER_AFTER.to_seconds()
    # THEN a window hands over at least two polls before its Provider waiter gives up, so the answer is its own
    assert hand_over + 2 * infra.POLL_INTERVAL.to_seconds() <= infra.REPLICATION_WAIT.to_seconds()
    # AND the chain waits longer than any single resource could
    assert infra.REPLICATION_WINDOWS * hand_over > infra.CLOUDFORMATION_CUSTOM_RESOURCE_LIMIT.to_seconds()


def _windowed(window: int = 1) -> dict[str, Any]:
    """The properties the construct gives window ``window`` (1 is the replica resource itself)."""
    from connect.replication import infrastructure as infra

    timing = {
        "Windows": str(infra.REPLICATION_WINDOWS),
        "HandOverAfterSeconds": str(int(infra.HAND_OVER_AFTER.to_seconds())),
    }
    if window == 1:
        return {**REPLICA_PROPS, **timing}
    return {"InstanceId": INSTANCE, "ReplicaRegion": "us-west-2", "Window": str(window), **timing}


def _waited(event: dict[str, Any], started: float) -> dict[str, Any]:
    """is_complete's event as the Provider framework builds it: the request plus on_event's answer."""
    return {**event, "PhysicalResourceId": f"{INSTANCE}@us-west-2", "Data": {"WaitStartedAt": f"{started:.0f}"}}


def test_rerun_adopts_a_replica_still_copying(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN an earlier deploy asked for the replica and gave up while Connect was still copying
    copying = _instance("ACTIVE", replication="INSTANCE_REPLICATION_IN_PROGRESS")
    stub = connect_clients.stub("us-west-2")
    stub.add_response("describe_instance", copying, {"InstanceId": INSTANCE})
    # WHEN the re-run's Create arrives (a new request id) THEN it adopts the replica: no ReplicateInstance is queued,
    # so the Stubber would fail any call to it
    event = cfn_event("Create", _windowed())
    event["RequestId"] = "a-later-request"
    answer = replication.on_event(event, lambda_context)
    assert answer["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"
    # AND is_complete resumes waiting on it
    stub.add_response("describe_instance", copying, {"InstanceId": INSTANCE})
    assert replication.is_complete({**event, **answer}, lambda_context) == {"IsComplete": False}


def test_rerun_adopts_a_complete_replica_at_once(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN Connect finished the replica after an earlier deploy gave up
    done = _instance("ACTIVE", replication="INSTANCE_REPLICATION_COMPLETE")
    stub = connect_clients.stub("us-west-2")
    stub.add_response("describe_instance", done, {"InstanceId": INSTANCE})
    event = cfn_event("Create", _windowed())
    # WHEN the re-run creates the resource THEN it asks for nothing and is complete on the first poll
    answer = replication.on_event(event, lambda_context)
    stub.add_response("describe_instance", done, {"InstanceId": INSTANCE})
    assert replication.is_complete({**event, **answer}, lambda_context) == {
        "IsComplete": True,
        "Data": {"ReplicaArn": REPLICA_ARN},
    }


@pytest.mark.parametrize("window", [1, 2])
def test_a_window_hands_over_when_its_hour_is_nearly_up(
    connect_clients: Clients, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    # GIVEN a window (the replica resource, or a later wait) that began waiting at t0, Connect still copying
    props = _windowed(window)
    hand_over = float(props["HandOverAfterSeconds"])
    t0 = 1_000_000.0
    event = _waited(cfn_event("Create", props), t0)
    copying = _instance("ACTIVE", replication="INSTANCE_REPLICATION_IN_PROGRESS")
    stub = connect_clients.stub("us-west-2")
    # WHEN polled just before its hand-over time THEN it keeps waiting
    monkeypatch.setattr(replication, "now", lambda: t0 + hand_over - 1)
    stub.add_response("describe_instance", copying, {"InstanceId": INSTANCE})
    assert replication.is_complete(event, lambda_context) == {"IsComplete": False}
    # WHEN polled at its hand-over time THEN it completes and says the next window goes on watching
    monkeypatch.setattr(replication, "now", lambda: t0 + hand_over)
    stub.add_response("describe_instance", copying, {"InstanceId": INSTANCE})
    answer = replication.is_complete(event, lambda_context)
    assert answer["IsComplete"] is True
    assert answer["Data"] == {"ReplicaArn": REPLICA_ARN, "HandedOver": "INSTANCE_REPLICATION_IN_PROGRESS"}


def test_the_last_window_fails_with_the_way_to_resume(
    connect_clients: Clients, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the last window, Connect still copying when its hour is nearly up
    from connect.replication import infrastructure as infra

    props = _windowed(infra.REPLICATION_WINDOWS)
    t0 = 2_000_000.0
    monkeypatch.setattr(replication, "now", lambda: t0 + float(props["HandOverAfterSeconds"]))
    connect_clients.stub("us-west-2").add_response(
        "describe_instance",
        _instance("ACTIVE", replication="INSTANCE_REPLICATION_IN_PROGRESS"),
        {"InstanceId": INSTANCE},
    )
    # WHEN polled THEN it fails, saying Connect goes on and how a re-run resumes
    with pytest.raises(replication.ReplicationError) as failed:
        replication.is_complete(_waited(cfn_event("Create", props), t0), lambda_context)
    message = str(failed.value)
    assert "still replicating" in message and "--no-rollback" in message and "deploy again" in message


def test_a_wait_owns_nothing(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN a later window WHEN created THEN it calls nothing and stamps the start of its wait
    created = replication.on_event(cfn_event("Create", _windowed(2)), lambda_context)
    assert created["PhysicalResourceId"] != f"{INSTANCE}@us-west-2"
    assert float(created["Data"]["WaitStartedAt"]) > 0
    # WHEN deleted THEN neither handler touches Connect (no response is queued) and the Delete is done
    delete = cfn_event("Delete", _windowed(2), physical=created["PhysicalResourceId"])
    assert replication.on_event(delete, lambda_context)["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert replication.is_complete(delete, lambda_context) == {"IsComplete": True}


def test_a_wait_fails_if_the_replica_is_gone(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    # GIVEN a later window WHEN Connect no longer lists the replica THEN it fails instead of asking for one
    _not_found(connect_clients.stub("us-west-2"))
    with pytest.raises(replication.ReplicationError, match="gone or being deleted"):
        replication.is_complete(_waited(cfn_event("Create", _windowed(3)), 0), lambda_context)


def test_the_chain_is_in_the_primary_template(gr_synth: Any) -> None:
    # GIVEN the sample (global-resiliency) WHEN synthesized
    from connect.replication import infrastructure as infra

    waits = gr_synth.resources("primary", "Custom::ConnectInstanceReplicaWait")
    replica = next(iter(gr_synth.resources("primary", "Custom::ConnectInstanceReplica")))
    # THEN the replica resource is followed by a wait per further window, each after the one before
    assert sorted(int(w["Properties"]["Window"]) for w in waits.values()) == list(
        range(2, infra.REPLICATION_WINDOWS + 1)
    )
    by_window = {int(w["Properties"]["Window"]): name for name, w in waits.items()}
    previous = {2: replica, **{n: by_window[n - 1] for n in by_window if n > 2}}
    for window, name in by_window.items():
        assert previous[window] in waits[name]["DependsOn"]
    # AND the traffic distribution group waits for the last window
    tdg = next(iter(gr_synth.resources("primary", "AWS::Connect::TrafficDistributionGroup").values()))
    assert by_window[infra.REPLICATION_WINDOWS] in tdg["DependsOn"]


# -- phone number association ------------------------------------------------------------------------------------
PHONE_PROPS = {"InstanceId": INSTANCE, "ContactFlowArn": FLOW_ARN, "PhoneNumberArns": [NUMBER, NUMBER_2]}


def _associate(stub: Stubber, number: str) -> None:
    stub.add_response(
        "associate_phone_number_contact_flow",
        {},
        {"PhoneNumberId": number, "InstanceId": INSTANCE, "ContactFlowId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
    )


def test_create_points_every_number_at_the_flow(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    stub = connect_clients.stub("us-east-1")
    _associate(stub, NUMBER)
    _associate(stub, NUMBER_2)
    result = phone.on_event(cfn_event("Create", PHONE_PROPS), lambda_context)
    assert result["PhysicalResourceId"].startswith(INSTANCE)


def test_update_releases_numbers_that_left(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    stub = connect_clients.stub("us-east-1")
    _associate(stub, NUMBER)
    stub.add_response("disassociate_phone_number_contact_flow", {}, {"PhoneNumberId": NUMBER_2, "InstanceId": INSTANCE})
    event = cfn_event("Update", {**PHONE_PROPS, "PhoneNumberArns": [NUMBER]}, old=PHONE_PROPS, physical="p")
    assert phone.on_event(event, lambda_context) == {"PhysicalResourceId": "p"}


OTHER_INSTANCE = "99999999-2222-3333-4444-555555555555"


def test_update_to_another_instance_replaces_the_association(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN numbers pointed at a flow of one instance
    moved = {**PHONE_PROPS, "InstanceId": OTHER_INSTANCE}
    stub = connect_clients.stub("us-east-1")
    for number in (NUMBER, NUMBER_2):
        stub.add_response(
            "associate_phone_number_contact_flow",
            {},
            {
                "PhoneNumberId": number,
                "InstanceId": OTHER_INSTANCE,
                "ContactFlowId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            },
        )
    # WHEN an Update moves them to another instance
    event = cfn_event("Update", moved, old=PHONE_PROPS, physical=f"{INSTANCE}/InboundNumbers")
    result = phone.on_event(event, lambda_context)
    # THEN the new instance's association gets a new physical id (nothing is released from the new instance)
    assert result["PhysicalResourceId"].startswith(f"{OTHER_INSTANCE}/")
    assert result["PhysicalResourceId"] != event["PhysicalResourceId"]
    # AND CloudFormation's clean-up Delete of the old id releases the old instance's numbers
    for number in (NUMBER, NUMBER_2):
        stub.add_response(
            "disassociate_phone_number_contact_flow", {}, {"PhoneNumberId": number, "InstanceId": INSTANCE}
        )
    cleanup = cfn_event("Delete", PHONE_PROPS, physical=f"{INSTANCE}/InboundNumbers")
    assert phone.on_event(cleanup, lambda_context) == {"PhysicalResourceId": f"{INSTANCE}/InboundNumbers"}


def test_delete_tolerates_numbers_already_released(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    stub = connect_clients.stub("us-east-1")
    stub.add_client_error("disassociate_phone_number_contact_flow", "ResourceNotFoundException", "gone", 404)
    stub.add_response("disassociate_phone_number_contact_flow", {}, {"PhoneNumberId": NUMBER_2, "InstanceId": INSTANCE})
    assert phone.on_event(cfn_event("Delete", PHONE_PROPS, physical="p"), lambda_context) == {"PhysicalResourceId": "p"}


def test_association_failure_names_the_number(connect_clients: Clients, lambda_context: FakeLambdaContext) -> None:
    connect_clients.stub("us-east-1").add_client_error(
        "associate_phone_number_contact_flow", "InvalidParameterException", "flow is not published", 400
    )
    with pytest.raises(phone.AssociationError, match=f"{NUMBER}.*InvalidParameterException.*not published"):
        phone.on_event(cfn_event("Create", PHONE_PROPS), lambda_context)


# -- handoff to the DR region (moto SSM) ------------------------------------------------------------------------
@pytest.fixture
def dr_ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("ssm", region_name="us-west-2")


def _names(client: Any) -> dict[str, str]:
    pages = client.get_parameters_by_path(Path="/ivr/clinic", Recursive=True)["Parameters"]
    return {p["Name"]: p["Value"] for p in pages}


def test_handoff_writes_updates_and_deletes(dr_ssm: Any, lambda_context: FakeLambdaContext) -> None:
    params = {"/ivr/clinic/instance-id": INSTANCE, "/ivr/clinic/queue/appointments": "q-1"}
    # WHEN created THEN the DR region holds the parameters
    created = handoff.on_event(cfn_event("Create", {"Region": "us-west-2", "Parameters": params}), lambda_context)
    assert _names(dr_ssm) == params
    # WHEN a queue is renamed THEN the new one is written and the old one removed
    new = {"/ivr/clinic/instance-id": INSTANCE, "/ivr/clinic/queue/front-desk": "q-2"}
    handoff.on_event(
        cfn_event(
            "Update",
            {"Region": "us-west-2", "Parameters": new},
            old={"Region": "us-west-2", "Parameters": params},
            physical=created["PhysicalResourceId"],
        ),
        lambda_context,
    )
    assert _names(dr_ssm) == new
    # WHEN deleted (twice, as a retry would) THEN nothing is left and nothing fails
    delete = cfn_event("Delete", {"Region": "us-west-2", "Parameters": new}, physical=created["PhysicalResourceId"])
    handoff.on_event(delete, lambda_context)
    handoff.on_event(delete, lambda_context)
    assert _names(dr_ssm) == {}


def test_delete_of_a_replica_that_vanished_is_already_done(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN DescribeInstance still lists the replica, but it is gone by the time DeleteInstance arrives
    # (botocore connect model: DeleteInstance raises ResourceNotFoundException)
    stub = connect_clients.stub("us-west-2")
    stub.add_response("describe_instance", _instance("ACTIVE"), {"InstanceId": INSTANCE})
    stub.add_client_error("delete_instance", "ResourceNotFoundException", "no such instance", 404,
                          expected_params={"InstanceId": INSTANCE})  # fmt: skip
    event = cfn_event("Delete", REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    # WHEN CloudFormation deletes it THEN the Delete succeeds (already deleted)
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"
    # AND the poller sees it gone
    _not_found(stub)
    assert replication.is_complete(event, lambda_context) == {"IsComplete": True}


# -- failure paths (issue 19, item 6) ----------------------------------------------------------------------------
def test_a_replica_connect_cannot_delete_fails_the_delete_and_a_retry_asks_again(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a Delete of the replica that Connect accepted
    stub = connect_clients.stub("us-west-2")
    stub.add_response("describe_instance", _instance("ACTIVE"), {"InstanceId": INSTANCE})
    stub.add_response("delete_instance", {}, {"InstanceId": INSTANCE})
    event = cfn_event("Delete", REPLICA_PROPS, physical=f"{INSTANCE}@us-west-2")
    replication.on_event(event, lambda_context)
    # WHEN Connect then reports INSTANCE_REPLICATION_DELETION_FAILED THEN the poll fails with Connect's reason
    failed = _instance("ACTIVE", replication=replication.REPLICA_DELETION_FAILED)
    stub.add_response("describe_instance", failed, {"InstanceId": INSTANCE})
    with pytest.raises(replication.ReplicationError, match=f"could not delete the replica of {INSTANCE} in us-west-2"):
        replication.is_complete(event, lambda_context)
    # AND CloudFormation's retry of the Delete asks Connect to delete it again (the failed deletion is not "deleting")
    stub.add_response("describe_instance", failed, {"InstanceId": INSTANCE})
    stub.add_response("delete_instance", {}, {"InstanceId": INSTANCE})
    assert replication.on_event(event, lambda_context)["PhysicalResourceId"] == f"{INSTANCE}@us-west-2"


def test_a_create_that_finds_a_replica_whose_deletion_failed_fails_naming_it(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an earlier replica whose deletion failed, still listed in the replica region
    failed = _instance("ACTIVE", replication=replication.REPLICA_DELETION_FAILED)
    stub = connect_clients.stub("us-west-2")
    stub.add_response("describe_instance", failed, {"InstanceId": INSTANCE})
    event = cfn_event("Create", REPLICA_PROPS)
    # WHEN a Create arrives THEN it asks for no replica (none is queued) and its poll fails with the status
    answer = replication.on_event(event, lambda_context)
    stub.add_response("describe_instance", failed, {"InstanceId": INSTANCE})
    with pytest.raises(replication.ReplicationError, match=replication.REPLICA_DELETION_FAILED):
        replication.is_complete({**event, **answer}, lambda_context)


def test_a_create_that_fails_part_way_releases_the_numbers_it_had_pointed(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN two numbers: Connect points the first at the flow and refuses the second
    stub = connect_clients.stub("us-east-1")
    _associate(stub, NUMBER)
    stub.add_client_error("associate_phone_number_contact_flow", "InvalidParameterException", "number in use", 400)
    # WHEN the Create runs THEN it releases the first before failing (the Provider framework never sends the handler
    # the rollback's Delete of a failed Create), and the error names both
    stub.add_response("disassociate_phone_number_contact_flow", {}, {"PhoneNumberId": NUMBER, "InstanceId": INSTANCE})
    with pytest.raises(phone.AssociationError) as failed:
        phone.on_event(cfn_event("Create", PHONE_PROPS), lambda_context)
    message = str(failed.value)
    assert f"cannot point {NUMBER_2}" in message and f"released {NUMBER}" in message


def test_a_number_that_cannot_be_released_after_a_partial_create_is_named(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the first number pointed, the second refused, and the release of the first refused too
    stub = connect_clients.stub("us-east-1")
    _associate(stub, NUMBER)
    stub.add_client_error("associate_phone_number_contact_flow", "InvalidParameterException", "number in use", 400)
    stub.add_client_error("disassociate_phone_number_contact_flow", "AccessDeniedException", "no", 403)
    # WHEN the Create fails THEN the error says which number still points at the flow and how to release it
    with pytest.raises(phone.AssociationError, match=f"{NUMBER} could not be released and still point"):
        phone.on_event(cfn_event("Create", PHONE_PROPS), lambda_context)


def test_a_failed_update_is_undone_by_cloudformations_rollback(
    connect_clients: Clients, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN one number on the old flow; an Update adds a second number and points both at a new flow
    new_flow = FLOW_ARN.replace("aaaaaaaa-bbbb", "bbbbbbbb-bbbb")
    old = {**PHONE_PROPS, "PhoneNumberArns": [NUMBER]}
    new = {**PHONE_PROPS, "ContactFlowArn": new_flow}
    stub = connect_clients.stub("us-east-1")
    stub.add_response("associate_phone_number_contact_flow", {},
                      {"PhoneNumberId": NUMBER, "InstanceId": INSTANCE, "ContactFlowId": "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee"})  # fmt: skip
    stub.add_client_error("associate_phone_number_contact_flow", "InvalidParameterException", "number in use", 400)
    # WHEN the Update fails part-way THEN it raises without releasing anything (no disassociation is queued)
    with pytest.raises(phone.AssociationError, match=NUMBER_2):
        phone.on_event(cfn_event("Update", new, old=old, physical=f"{INSTANCE}/InboundNumbers"), lambda_context)
    # AND CloudFormation's rollback (an Update back to the old properties) points the first number at the old flow
    # again and releases the number the update added
    _associate(stub, NUMBER)
    stub.add_response("disassociate_phone_number_contact_flow", {}, {"PhoneNumberId": NUMBER_2, "InstanceId": INSTANCE})
    rollback = cfn_event("Update", old, old=new, physical=f"{INSTANCE}/InboundNumbers")
    assert phone.on_event(rollback, lambda_context) == {"PhysicalResourceId": f"{INSTANCE}/InboundNumbers"}


def test_handoff_moved_to_another_region_writes_there_and_clears_the_old_one(
    dr_ssm: Any, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the hand-off written in us-west-2
    params = {"/ivr/clinic/instance-id": INSTANCE, "/ivr/clinic/queue/appointments": "q-1"}
    created = handoff.on_event(cfn_event("Create", {"Region": "us-west-2", "Parameters": params}), lambda_context)
    # WHEN the DR region changes to eu-west-2
    moved = cfn_event("Update", {"Region": "eu-west-2", "Parameters": params},
                      old={"Region": "us-west-2", "Parameters": params}, physical=created["PhysicalResourceId"])  # fmt: skip
    handoff.on_event(moved, lambda_context)
    # THEN the new region holds every parameter and the old one none
    assert _names(boto3.client("ssm", region_name="eu-west-2")) == params
    assert _names(dr_ssm) == {}


class _Unreachable:
    """An SSM client of a region that does not answer: every call fails to connect."""

    def __init__(self, region: str) -> None:
        self.meta = boto3.client("ssm", region_name=region).meta

    def __getattr__(self, operation: str) -> Any:
        from botocore.exceptions import EndpointConnectionError

        def call(**_kwargs: Any) -> Any:
            raise EndpointConnectionError(endpoint_url=f"https://ssm.{self.meta.region_name}.amazonaws.com")

        return call


def _down(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    real = handoff.ssm_client
    monkeypatch.setattr(handoff, "ssm_client", lambda r: _Unreachable(r) if r == region else real(r))


def test_handoff_to_an_unreachable_region_fails_the_write(
    dr_ssm: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the DR region does not answer WHEN the hand-off is created THEN it fails naming the endpoint
    _down(monkeypatch, "us-west-2")
    from botocore.exceptions import EndpointConnectionError

    with pytest.raises(EndpointConnectionError, match=r"ssm\.us-west-2"):
        handoff.on_event(cfn_event("Create", {"Region": "us-west-2", "Parameters": {"/ivr/clinic/x": "1"}}),
                         lambda_context)  # fmt: skip


def test_handoff_moving_away_from_an_unreachable_region_succeeds(
    dr_ssm: Any, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the hand-off in us-west-2, which then stops answering
    params = {"/ivr/clinic/instance-id": INSTANCE}
    created = handoff.on_event(cfn_event("Create", {"Region": "us-west-2", "Parameters": params}), lambda_context)
    _down(monkeypatch, "us-west-2")
    # WHEN the DR region moves to eu-west-2 THEN the update succeeds: written there, the old ones left (logged)
    moved = cfn_event("Update", {"Region": "eu-west-2", "Parameters": params},
                      old={"Region": "us-west-2", "Parameters": params}, physical=created["PhysicalResourceId"])  # fmt: skip
    assert handoff.on_event(moved, lambda_context) == {"PhysicalResourceId": created["PhysicalResourceId"]}
    assert _names(boto3.client("ssm", region_name="eu-west-2")) == params
    # AND a Delete while the region is down succeeds, so that the primary stack can be torn down in that outage
    delete = cfn_event("Delete", {"Region": "us-west-2", "Parameters": params}, physical=created["PhysicalResourceId"])
    assert handoff.on_event(delete, lambda_context) == {"PhysicalResourceId": created["PhysicalResourceId"]}
