"""Agents and traffic when the primary (the traffic distribution group's region) is down or still busy.

Connect's rules relied on (botocore connect model): AssociateTrafficDistributionGroupUser "can be called only in
the Region where the traffic distribution group is created"; UpdateTrafficDistribution lists
ResourceConflictException (an update still in progress). Connect calls go through botocore's Stubber; the
unreachable region is a real client pointed at a closed local port (a real EndpointConnectionError).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from regions.config import Deployment
from runbooks import aws_steps
from runbooks.failover import DrOperations, failover
from tests.functional.aws_fakes import INSTANCE, TDG, FakeAws

PRIMARY, DR = "us-east-1", "us-west-2"
AGENTS = {"U1": "RP1", "U2": "RP1", "U3": "RP-OTHER"}
FRONT_DESK = {"routingProfiles": ["clinic-front-desk"], "users": []}


def _connect(region: str) -> tuple[Any, Stubber]:
    client = boto3.client("connect", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    return client, stub


def _down(region: str) -> Any:
    """A Connect client of a region that does not answer: nothing listens on the port."""
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1)
    return boto3.client("connect", region_name=region, endpoint_url="http://127.0.0.1:9", config=config,
                        aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip


def _users_and_group(stub: Stubber, in_group: set[str]) -> None:
    stub.add_response("list_routing_profiles", {"RoutingProfileSummaryList": [
        {"Id": "RP1", "Name": "clinic-front-desk"}, {"Id": "RP-OTHER", "Name": "Basic"}]}, {"InstanceId": INSTANCE})  # fmt: skip
    stub.add_response("search_users", {"Users": [
        {"Id": u, "Username": f"agent-{u}", "RoutingProfileId": rp} for u, rp in AGENTS.items()]},
        {"InstanceId": INSTANCE})  # fmt: skip
    _group(stub, in_group)


def _group(stub: Stubber, in_group: set[str]) -> None:
    stub.add_response("list_traffic_distribution_group_users",
                      {"TrafficDistributionGroupUserSummaryList": [{"UserId": u} for u in sorted(in_group)]},
                      {"TrafficDistributionGroupId": TDG})  # fmt: skip


def test_the_endpoint_error_of_a_region_that_does_not_answer_is_recognised() -> None:
    # GIVEN a client of a region nothing answers for WHEN it is called THEN botocore raises a connection error
    with pytest.raises(EndpointConnectionError) as raised:
        _down(PRIMARY).associate_traffic_distribution_group_user(
            TrafficDistributionGroupId=TDG, UserId="U2", InstanceId=INSTANCE
        )
    # AND the kit counts it as the region being unreachable, unlike a refusal
    assert aws_steps.unreachable(raised.value)
    denied = ClientError({"Error": {"Code": "AccessDeniedException"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "X")
    assert not aws_steps.unreachable(denied)


def test_agents_already_in_the_group_follow_when_the_primary_is_down() -> None:
    # GIVEN agent U1 in the group, U2 not, and the group's region (the primary) not answering
    connect, stub = _connect(DR)
    _users_and_group(stub, {"U1"})
    _group(stub, {"U1"})
    # WHEN the agents step runs
    status, detail, checks = aws_steps.ensure_agents(
        connect, _down, TDG, INSTANCE, {**FRONT_DESK, "required": True}, sleep=lambda _s: None
    )
    # THEN it goes on, with a failed but non-blocking check naming the agent who could not be moved
    stub.assert_no_pending_responses()
    assert status == "ok" and "agent-U2" in detail and "1 of 2" in detail
    assert [(c.ok, c.blocking) for c in checks] == [(False, False)]


def test_required_agents_stop_the_failover_when_none_would_follow() -> None:
    # GIVEN no front-desk agent in the group and the primary not answering
    connect, stub = _connect(DR)
    _users_and_group(stub, set())
    _group(stub, set())
    # WHEN the agents step runs with agents.required (the default: calls need an agent to take them)
    status, detail, checks = aws_steps.ensure_agents(connect, _down, TDG, INSTANCE, {**FRONT_DESK, "required": True})
    # THEN it fails: no agent at all would follow the calls
    assert status == "failed" and "agents.required" in detail
    assert [(c.ok, c.blocking) for c in checks] == [(False, True)]


def test_agents_not_required_let_calls_move_without_any() -> None:
    # GIVEN no front-desk agent in the group, the primary down, and agents.required false (an IVR-only service)
    connect, stub = _connect(DR)
    _users_and_group(stub, set())
    _group(stub, set())
    status, detail, checks = aws_steps.ensure_agents(connect, _down, TDG, INSTANCE, {**FRONT_DESK, "required": False})
    # THEN the step goes on and names both agents not moved
    assert status == "ok" and "agent-U1" in detail and "agent-U2" in detail
    assert [(c.ok, c.blocking) for c in checks] == [(False, False)]


def test_a_refusal_of_the_association_still_fails_the_step() -> None:
    # GIVEN the primary answers, but refuses (AccessDenied is not an outage)
    connect, stub = _connect(DR)
    _users_and_group(stub, {"U1"})
    home, home_stub = _connect(PRIMARY)
    home_stub.add_client_error("associate_traffic_distribution_group_user", "AccessDeniedException", "no", 403)
    # WHEN the agents step runs THEN the error surfaces
    with pytest.raises(ClientError, match="AccessDenied"):
        aws_steps.ensure_agents(connect, lambda _r: home, TDG, INSTANCE, {**FRONT_DESK, "required": True})


def test_the_read_back_waits_for_connect_to_list_new_associations() -> None:
    # GIVEN both agents associated, and Connect listing U2 only at the second read-back
    connect, stub = _connect(DR)
    _users_and_group(stub, set())
    home, home_stub = _connect(PRIMARY)
    for user in ("U1", "U2"):
        home_stub.add_response("associate_traffic_distribution_group_user", {},
                               {"TrafficDistributionGroupId": TDG, "UserId": user, "InstanceId": INSTANCE})  # fmt: skip
    _group(stub, {"U1"})
    _group(stub, {"U1", "U2"})
    slept: list[float] = []
    # WHEN the agents step runs
    status, _detail, checks = aws_steps.ensure_agents(
        connect, lambda _r: home, TDG, INSTANCE, {**FRONT_DESK, "required": True}, sleep=slept.append
    )
    # THEN it read again after a short wait and found both
    assert status == "ok" and all(c.ok for c in checks) and slept == [aws_steps.READ_BACK_DELAYS[0]]


def test_an_agent_never_listed_is_missing_after_a_bounded_wait() -> None:
    connect, stub = _connect(DR)
    _users_and_group(stub, {"U1"})
    home, home_stub = _connect(PRIMARY)
    home_stub.add_response("associate_traffic_distribution_group_user", {})
    for _ in range(len(aws_steps.READ_BACK_DELAYS) + 1):
        _group(stub, {"U1"})
    slept: list[float] = []
    _status, _detail, checks = aws_steps.ensure_agents(
        connect, lambda _r: home, TDG, INSTANCE, {**FRONT_DESK, "required": True}, sleep=slept.append
    )
    assert [c.ok for c in checks] == [False] and "agent-U2" in checks[0].detail
    assert slept == list(aws_steps.READ_BACK_DELAYS)


def test_failover_moves_calls_when_the_primary_cannot_associate(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a healthy DR region, U1 already in the group, and the primary answering 5xx to the association of U2
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated={"U1"}, dry_run=True)
    aws.stub("connect", "primary").add_client_error(
        "associate_traffic_distribution_group_user", "InternalServiceException", "unavailable", 500
    )
    aws.stub("connect", "dr").add_response(
        "list_traffic_distribution_group_users",
        {"TrafficDistributionGroupUserSummaryList": [{"UserId": "U1"}]},
        {"TrafficDistributionGroupId": TDG},
    )
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr")
    # THEN the calls moved, and the agent step records who stayed behind
    assert report.ok, [(s.name, s.status, s.detail) for s in report.steps]
    agents = next(s for s in report.steps if s.name.startswith("agents follow"))
    assert agents.status == "ok" and [c.ok for c in agents.checks] == [False] and "agent-U2" in agents.detail
    assert [s.name for s in report.steps][-2:] == ["shift traffic to dr", "verify traffic"]


def _split(stub: Stubber, split: dict[str, int]) -> None:
    config = {"Distributions": [{"Region": r, "Percentage": p} for r, p in split.items()]}
    stub.add_response("get_traffic_distribution", {"TelephonyConfig": config, "AgentConfig": config}, {"Id": TDG})


def test_a_shift_waits_for_an_update_still_in_progress() -> None:
    # GIVEN an earlier UpdateTrafficDistribution still in progress (ResourceConflictException, in the model)
    connect, stub = _connect(DR)
    _split(stub, {PRIMARY: 0, DR: 100})
    desired = {PRIMARY: 100, DR: 0}
    update = {"Id": TDG, "TelephonyConfig": {"Distributions": [{"Region": r, "Percentage": p} for r, p in desired.items()]},
              "AgentConfig": {"Distributions": [{"Region": r, "Percentage": p} for r, p in desired.items()]}}  # fmt: skip
    stub.add_client_error("update_traffic_distribution", "ResourceConflictException", "in progress", 409,
                          expected_params=update)  # fmt: skip
    stub.add_response("update_traffic_distribution", {}, update)
    slept: list[float] = []
    # WHEN the calls are shifted back THEN the update is asked again after a wait, and succeeds
    assert aws_steps.shift(connect, TDG, desired, sleep=slept.append) is True
    stub.assert_no_pending_responses()
    assert slept == [aws_steps.UPDATE_CONFLICT_DELAYS[0]]


def test_a_conflict_that_lasts_fails_after_a_bounded_wait() -> None:
    connect, stub = _connect(DR)
    _split(stub, {PRIMARY: 0, DR: 100})
    for _ in range(len(aws_steps.UPDATE_CONFLICT_DELAYS) + 1):
        stub.add_client_error("update_traffic_distribution", "ResourceConflictException", "in progress", 409)
    slept: list[float] = []
    with pytest.raises(ClientError, match="ResourceConflictException"):
        aws_steps.shift(connect, TDG, {PRIMARY: 100, DR: 0}, sleep=slept.append)
    assert slept == list(aws_steps.UPDATE_CONFLICT_DELAYS)
