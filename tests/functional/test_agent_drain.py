"""Agent drain before the agents move: Offline status in the region the calls leave, a bounded wait for their
contacts to end (GetCurrentUserData), the statuses given back where calls arrive, and the timings of the run.

Connect's calls go through botocore's Stubber, which checks each request against the Connect service model.
"""

from __future__ import annotations

from typing import Any

import pytest

from regions.config import Deployment
from runbooks import agent_drain
from runbooks.failover import DrOperations, Readiness, failover
from tests.functional.aws_fakes import INSTANCE, FakeAws, FakeClock
from tests.functional.conftest import QUIET_HOUR

PRIMARY, DR = "us-east-1", "us-west-2"
#: U1 and U2 are front desk (RP1, the configured profile), U3 is not and is never drained.
AGENTS = {"U1": "RP1", "U2": "RP1", "U3": "RP-OTHER"}
STATUSES = {"Available": ("S-AV", "ROUTABLE"), "Offline": ("S-OFF", "OFFLINE"), "Lunch": ("S-L", "CUSTOM")}
DEADLINE, POLL = 30, 10


def status_arn(region: str, name: str) -> str:
    return f"arn:aws:connect:{region}:111111111111:instance/{INSTANCE}/agent-state/{STATUSES[name][0]}"


def user_data(user: str, status: str, contacts: dict[str, str]) -> dict[str, Any]:
    """One GetCurrentUserData entry: ``contacts`` contact id -> AgentContactState."""
    return {"User": {"Id": user, "Arn": f"arn:aws:connect:{PRIMARY}:111111111111:instance/{INSTANCE}/agent/{user}"},
            "Status": {"StatusName": status, "StatusArn": status_arn(PRIMARY, status)},
            "Contacts": [{"ContactId": c, "Channel": "VOICE", "AgentContactState": s} for c, s in contacts.items()]}  # fmt: skip


@pytest.fixture
def draining(deployment: Deployment) -> Deployment:
    """The sample with a drain of DEADLINE seconds."""
    return deployment.model_copy(update={"agents": deployment.agents.model_copy(update={"drain_seconds": DEADLINE})})


class Instance:
    """Queues the Connect answers of a drain on the fake AWS, by role."""

    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def users(self, role: str) -> None:
        connect = self.aws.stub("connect", role)
        connect.add_response("list_routing_profiles", {"RoutingProfileSummaryList": [
            {"Id": "RP1", "Name": "clinic-front-desk"}, {"Id": "RP-OTHER", "Name": "Basic"}]}, {"InstanceId": INSTANCE})  # fmt: skip
        connect.add_response("search_users", {"Users": [
            {"Id": u, "Username": f"agent-{u}", "RoutingProfileId": rp} for u, rp in AGENTS.items()]},
            {"InstanceId": INSTANCE})  # fmt: skip

    def current(self, role: str, asked: list[str], entries: list[dict[str, Any]]) -> None:
        self.aws.stub("connect", role).add_response(
            "get_current_user_data", {"UserDataList": entries, "ApproximateTotalCount": len(entries)},
            {"InstanceId": INSTANCE, "Filters": {"Agents": asked}})  # fmt: skip

    def statuses(self, role: str) -> None:
        region = self.aws.deployment.region(role).region  # type: ignore[arg-type]
        self.aws.stub("connect", role).add_response("list_agent_statuses", {"AgentStatusSummaryList": [
            {"Id": sid, "Arn": status_arn(region, name), "Name": name, "Type": kind}
            for name, (sid, kind) in STATUSES.items()]}, {"InstanceId": INSTANCE})  # fmt: skip

    def put(self, role: str, user: str, status: str) -> None:
        self.aws.stub("connect", role).add_response(
            "put_user_status", {}, {"UserId": user, "InstanceId": INSTANCE, "AgentStatusId": STATUSES[status][0]}
        )


def ready_to_move(aws: FakeAws) -> None:
    """The DR region healthy and ready, the agents put in the group, and the primary stack readable."""
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated={"U1", "U2"})
    aws.stack("primary")


def moved(aws: FakeAws) -> None:
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})


def run(ops: DrOperations, clock: FakeClock) -> Any:
    readiness = Readiness(poll=20, drain_poll=POLL, sleep=clock.sleep, now=lambda: QUIET_HOUR)
    return failover(ops, "dr", readiness=readiness, clock=clock)


def test_agents_on_calls_are_drained_before_they_move(aws: FakeAws, draining: Deployment) -> None:
    # GIVEN agent U1 on a call that ends after one wait, and U2 available in after-contact work (ENDED)
    ready_to_move(aws)
    primary = Instance(aws)
    primary.users("primary")
    primary.current("primary", ["U1", "U2"], [user_data("U1", "Available", {"C-1": "CONNECTED"}),
                                              user_data("U2", "Available", {"C-2": "ENDED"})])  # fmt: skip
    primary.statuses("primary")
    primary.put("primary", "U1", "Offline")
    primary.put("primary", "U2", "Offline")
    primary.current("primary", ["U1"], [user_data("U1", "Offline", {})])
    moved(aws)
    primary.statuses("dr")
    primary.put("dr", "U1", "Available")
    primary.put("dr", "U2", "Available")
    clock = FakeClock()
    # WHEN failing over
    report = run(DrOperations(draining, aws), clock)
    # THEN the drain came after the agents were put in the group and before the calls moved, waiting one poll
    names = [s.name for s in report.steps]
    assert names.index("agents follow the calls to dr") < names.index("drain agents in primary")
    assert names.index("drain agents in primary") < names.index("shift traffic to dr")
    drain = report.steps[names.index("drain agents in primary")]
    assert (drain.status, drain.waited, drain.deadline) == ("ok", POLL, DEADLINE)
    # AND both were drained, nobody moved on a call, and their statuses were given back in DR
    assert report.agents == {"drained": ["agent-U1", "agent-U2"], "still_open": {}, "signed_out": []}
    assert report.steps[-1].name == "agents' statuses back in dr" and all(c.ok for c in report.steps[-1].checks)
    # AND the time to calls answered in DR is the time the run took to the verified split (the drain's wait)
    assert report.ok and report.answered_seconds == sum(clock.slept)
    assert f"Decision to calls answered in dr: {sum(clock.slept):.1f} s" in report.to_markdown()


def test_an_agent_still_on_a_call_at_the_deadline_moves_and_the_evidence_says_why(
    aws: FakeAws, draining: Deployment
) -> None:
    # GIVEN agent U1 on a call that outlasts the drain deadline, U2 not signed in
    ready_to_move(aws)
    primary = Instance(aws)
    primary.users("primary")
    primary.current("primary", ["U1", "U2"], [user_data("U1", "Lunch", {"C-9": "CONNECTED_ONHOLD"})])
    primary.statuses("primary")
    primary.put("primary", "U1", "Offline")
    reads = DEADLINE // POLL
    for _ in range(reads):
        primary.current("primary", ["U1"], [user_data("U1", "Offline", {"C-9": "CONNECTED_ONHOLD"})])
    moved(aws)
    primary.statuses("dr")
    primary.put("dr", "U1", "Lunch")
    clock = FakeClock()
    # WHEN failing over
    report = run(DrOperations(draining, aws), clock)
    # THEN the calls moved anyway, after a wait as long as the deadline
    assert report.ok and clock.slept == [POLL] * reads
    # AND the evidence names who moved on a call, which call, and why; and who was not signed in
    assert report.agents["drained"] == []
    assert report.agents["signed_out"] == ["agent-U2"]
    why = report.agents["still_open"]["agent-U1"]
    assert "C-9 (CONNECTED_ONHOLD)" in why and f"{DEADLINE} s drain deadline passed" in why
    assert f"- Moved with a contact still open: agent-U1: {why}" in report.to_markdown()
    drain = next(s for s in report.steps if s.name == "drain agents in primary")
    assert [(c.name, c.ok, c.blocking) for c in drain.checks] == [("agent agent-U1 drained", False, False)]


def test_an_agent_whose_status_cannot_be_changed_is_named(aws: FakeAws, draining: Deployment) -> None:
    # GIVEN Connect refuses to change U2's status
    ready_to_move(aws)
    primary = Instance(aws)
    primary.users("primary")
    primary.current("primary", ["U1", "U2"], [user_data("U1", "Available", {}), user_data("U2", "Available", {})])
    primary.statuses("primary")
    primary.put("primary", "U1", "Offline")
    aws.stub("connect", "primary").add_client_error("put_user_status", "AccessDeniedException", "no", 403)
    moved(aws)
    primary.statuses("dr")
    primary.put("dr", "U1", "Available")
    # WHEN failing over
    report = run(DrOperations(draining, aws), FakeClock())
    # THEN U1 was drained at once, and U2 moved with the reason it was not drained
    assert report.ok and report.agents["drained"] == ["agent-U1"]
    assert report.agents["still_open"] == {"agent-U2": "status could not be set to Offline: AccessDeniedException: no"}


def test_a_primary_that_does_not_answer_moves_the_agents_undrained(aws: FakeAws, draining: Deployment) -> None:
    # GIVEN the primary's stack cannot be read (the outage failover is for)
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated={"U1", "U2"})
    aws.stub("cloudformation", "primary").add_client_error("describe_stacks", "ServiceUnavailable", "down", 503)
    moved(aws)
    # WHEN failing over
    report = run(DrOperations(draining, aws), FakeClock())
    # THEN the calls still moved, and the drain says why it was skipped
    drain = next(s for s in report.steps if s.name == "drain agents in primary")
    assert report.ok and drain.status == "skipped"
    assert f"{PRIMARY} could not be read" in report.agents["not_drained"]
    assert "Not drained:" in report.to_markdown()


def test_a_dry_run_plans_the_drain_and_calls_nothing(aws: FakeAws, draining: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents("dr", AGENTS, associated={"U1", "U2"}, dry_run=True)
    report = failover(DrOperations(draining, aws), "dr", dry_run=True)
    drain = next(s for s in report.steps if s.name == "drain agents in primary")
    assert drain.status == "planned" and f"up to {DEADLINE} s" in drain.detail
    assert report.answered_seconds is None


def test_reads_of_more_than_a_hundred_agents_are_split() -> None:
    # GIVEN 150 agents WHEN their current data is read THEN two requests of at most 100 ids each are made
    asked: list[list[str]] = []

    class Connect:
        def get_current_user_data(self, **request: Any) -> dict[str, Any]:
            asked.append(request["Filters"]["Agents"])
            return {"UserDataList": [{"User": {"Id": u}} for u in request["Filters"]["Agents"]]}

    users = [f"U{i:03}" for i in range(150)]
    found = agent_drain.current_user_data(Connect(), INSTANCE, users)
    assert [len(a) for a in asked] == [agent_drain.AGENTS_PER_READ, 150 - agent_drain.AGENTS_PER_READ]
    assert sorted(found) == users
