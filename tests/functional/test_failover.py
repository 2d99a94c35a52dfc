"""Failover and failback: pre-checks, capacity, traffic, verification; success and every way it can fail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from regions.config import Deployment, load_deployment
from runbooks.failover import DrOperations, Readiness, failover
from tests.conftest import ROOT
from tests.functional.aws_fakes import INSTANCE, FakeAws, FakeClock, kit_flows, minimums, register_targets
from tests.functional.conftest import QUIET_HOUR

PRIMARY, DR = "us-east-1", "us-west-2"
#: Users of the instance by routing profile: U1 and U2 are front desk (RP1, the configured profile), U3 is not.
AGENTS = {"U1": "RP1", "U2": "RP1", "U3": "RP-OTHER"}


def statuses(report: Any) -> list[tuple[str, str]]:
    return [(s.name, s.status) for s in report.steps]


def test_failover_to_dr_moves_calls_and_agents(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a healthy DR region and all calls in the primary
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr")
    # THEN every step passed, DR capacity is at the peak with schedules held, and each step was timed
    assert statuses(report) == [(f"pre-check dr ({DR})", "ok"), ("raise capacity in dr", "ok"),
                                ("capacity ready in dr", "ok"), ("agents follow the calls to dr", "ok"),
                                ("shift traffic to dr", "ok"), ("verify traffic", "ok")]  # fmt: skip
    # AND the front-desk agents, and only they, were put in the traffic distribution group
    assert report.steps[3].checks[0].detail == "2 of 2 (clinic-front-desk)"
    assert report.ok and all(s.seconds >= 0 for s in report.steps)
    assert set(minimums(deployment, "dr").values()) == {(10, True)}
    assert set(minimums(deployment, "primary").values()) == {(1, False)}


def test_failover_again_changes_nothing(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN the DR region already takes all calls at peak capacity
    register_targets(deployment, {"dr": 10})
    ops = DrOperations(deployment, aws)
    ops.set_capacity("dr", 10, hold=True)
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated={"U1", "U2"})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    # WHEN failing over again THEN nothing is written (the Stubber would refuse an update or association call)
    report = failover(ops, "dr")
    assert statuses(report)[1:5] == [("raise capacity in dr", "skipped"), ("capacity ready in dr", "ok"),
                                     ("agents follow the calls to dr", "skipped"),
                                     ("shift traffic to dr", "skipped")]  # fmt: skip
    assert report.ok


@pytest.mark.parametrize(("problem", "failed_check"), [
    ({"instance": "CREATION_IN_PROGRESS"}, "instance active"),
    ({"flow_status": "SAVED"}, f"flow {kit_flows()[0]} published"),
    ({"alias": "Creating"}, "bot alias available"),
    ({"pc_status": "IN_PROGRESS"}, "function CallerLookup ready"),
])  # fmt: skip
def test_failed_precheck_changes_nothing(aws: FakeAws, deployment: Deployment, problem: dict[str, str],
                                         failed_check: str) -> None:  # fmt: skip
    aws.stack("dr")
    aws.healthy("dr", **problem)
    report = failover(DrOperations(deployment, aws), "dr")
    assert statuses(report) == [(f"pre-check dr ({DR})", "failed")]
    assert [c.name for c in report.steps[0].checks if not c.ok] == [failed_check]
    assert report.rollback == ["nothing was changed"]
    assert set(minimums(deployment, "dr").values()) == {(1, False)}


def test_incomplete_stack_fails_the_precheck(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr", status="UPDATE_IN_PROGRESS")
    report = failover(DrOperations(deployment, aws), "dr")
    assert not report.ok
    assert "is UPDATE_IN_PROGRESS, not complete" in report.steps[0].checks[0].detail


def test_api_error_on_the_shift_says_how_to_roll_back(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.stub("connect", "dr").add_client_error(
        "update_traffic_distribution", "AccessDeniedException", "not allowed", 403
    )
    report = failover(DrOperations(deployment, aws), "dr")
    assert statuses(report)[-1] == ("shift traffic to dr", "failed")
    assert "AccessDeniedException: not allowed" in report.steps[-1].detail
    assert report.rollback == ["capacity in dr is raised and its schedules held: it costs money until "
                               "`ivr failover --to primary` returns it to standby"]  # fmt: skip


def test_throttling_that_outlasts_retries_stops_the_failover(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())
    aws.stub("connect", "dr").add_client_error("get_traffic_distribution", "ThrottlingException", "Rate exceeded", 429)
    report = failover(DrOperations(deployment, aws), "dr")
    assert statuses(report)[-1] == ("shift traffic to dr", "failed")
    assert "ThrottlingException" in report.steps[-1].detail


def test_failed_verification_stops_with_rollback_advice(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN calls that move but agents that never do, and 60 s to see the split applied
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    for _ in range(4):  # read at 0, 20, 40 and 60 s
        aws.traffic("dr", {DR: 100, PRIMARY: 0}, agents={PRIMARY: 100, DR: 0})
    clock = FakeClock()
    readiness = Readiness(poll=20, traffic_timeout=60, sleep=clock.sleep, now=lambda: QUIET_HOUR)
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr", readiness=readiness, clock=clock)
    # THEN it kept reading the split to its deadline, then stopped with what it saw and how long it waited
    assert statuses(report)[-1] == ("verify traffic", "failed")
    assert [c.name for c in report.steps[-1].checks if not c.ok] == ["agent split"]
    assert (report.steps[-1].waited, report.steps[-1].deadline) == (60.0, 60.0)
    assert report.steps[-1].detail == "waited 60 s of a 60 s deadline"
    assert report.rollback[0] == "traffic moved to dr: move it back with `ivr failover --to primary`"


def test_verification_waits_until_connect_reports_the_new_split(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN Connect that still reports the old split twice after the update, then the new one
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    clock = FakeClock()
    readiness = Readiness(poll=15, sleep=clock.sleep, now=lambda: QUIET_HOUR)
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr", readiness=readiness, clock=clock)
    # THEN the verification passed once the split was applied, and the report says it waited 30 s of its deadline
    assert report.ok
    verify = report.steps[-1]
    assert verify.name == "verify traffic" and clock.slept == [15, 15]
    assert (verify.waited, verify.deadline) == (30.0, readiness.traffic_timeout)
    assert report.as_dict()["steps"][-1]["deadline"] == readiness.traffic_timeout


def test_dry_run_prechecks_and_plans_only(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents("dr", AGENTS, associated={"U1"}, dry_run=True)
    report = failover(DrOperations(deployment, aws), "dr", 50, dry_run=True)
    assert [s.status for s in report.steps] == ["ok", "planned", "planned", "planned", "planned"]
    assert report.steps[3].detail == "would associate agent-U2"
    assert f"{{'{DR}': 50, '{PRIMARY}': 50}}" in report.steps[4].detail
    assert set(minimums(deployment, "dr").values()) == {(1, False)}


def test_declined_confirmation_changes_nothing(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    report = failover(DrOperations(deployment, aws), "dr", confirm=lambda _q: False)
    assert statuses(report)[-1] == ("confirmation", "failed")
    assert set(minimums(deployment, "dr").values()) == {(1, False)}


def test_percent_outside_connects_rules_fails(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())
    report = failover(DrOperations(deployment, aws), "dr", 55)
    assert "steps of 10" in report.steps[-1].detail


def test_failback_returns_the_dr_region_to_standby(aws: FakeAws, deployment: Deployment) -> None:
    ops = DrOperations(deployment, aws)
    ops.set_capacity("dr", 10, hold=True)
    aws.stack("primary")
    aws.healthy("primary")
    aws.ready("primary", 1)
    aws.agents("primary", AGENTS, associated=set())
    aws.traffic("primary", {DR: 100, PRIMARY: 0})
    aws.update("primary", {PRIMARY: 100, DR: 0})
    aws.traffic("primary", {PRIMARY: 100, DR: 0})
    report = failover(ops, "primary")
    assert statuses(report)[-1] == ("return dr to standby", "ok")
    assert set(minimums(deployment, "dr").values()) == {(1, False)}
    # AND the primary is left where its schedules want it at this hour (outside every peak window: the baseline)
    assert set(minimums(deployment, "primary").values()) == {(1, False)}


def test_standalone_mode_prints_the_manual_step(aws: FakeAws) -> None:
    deployment = load_deployment(ROOT / "tests" / "configs" / "standalone.yaml")
    register_targets(deployment, {"primary": 1, "dr": 1})
    fake = FakeAws(deployment)
    fake.stack("dr")
    fake.healthy("dr")
    fake.ready("dr", deployment.scaling.peak_level)
    report = failover(DrOperations(deployment, fake), "dr")
    assert statuses(report)[-1] == ("move callers", "manual")
    assert "runbooks/failover.md" in report.steps[-1].detail
    fake.verify()


def test_calls_move_only_once_capacity_is_allocated(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a DR region whose raised capacity Lambda is still allocating, then READY
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10, status="IN_PROGRESS", allocated=1)
    aws.ready("dr", 10, status="READY", allocated=4)  # READY at the old level: still short of the peak
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    waits: list[float] = []
    readiness = Readiness(timeout=300, poll=15, sleep=waits.append, now=lambda: QUIET_HOUR)
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr", readiness=readiness)
    # THEN it polled until every function had 10 environments allocated and READY, and only then moved calls
    assert waits == [15, 15]
    ready = next(s for s in report.steps if s.name == "capacity ready in dr")
    assert ready.deadline == 300 and "of a 300 s deadline" in ready.detail
    assert statuses(report)[2:5] == [("capacity ready in dr", "ok"), ("agents follow the calls to dr", "ok"),
                                     ("shift traffic to dr", "ok")]  # fmt: skip


def test_capacity_that_never_gets_ready_stops_before_calls_move(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN Lambda cannot allocate the raised capacity (the account's concurrency is exhausted)
    aws.stack("dr")
    aws.healthy("dr")
    ticks = iter(range(0, 10_000, 100))  # every reading of the clock moves it 100 s: two polls fit in 250 s
    for _ in range(2):
        aws.ready("dr", 10, status="FAILED", allocated=1)
    readiness = Readiness(timeout=250, poll=100, sleep=lambda _s: None, now=lambda: QUIET_HOUR)
    # WHEN failing over THEN it stops at the readiness step, says so, and no traffic call was made
    report = failover(DrOperations(deployment, aws), "dr", readiness=readiness, clock=lambda: float(next(ticks)))
    assert statuses(report)[-1] == ("capacity ready in dr", "failed")
    assert "calls were not moved" in report.steps[-1].detail
    assert "FAILED, 1 allocated of 10 requested (want 10)" in report.steps[-1].checks[0].detail
    assert report.rollback[-1].startswith("capacity in dr is raised")


def test_failback_in_a_peak_window_leaves_the_primary_at_that_window(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN the DR region holds the calls, and it is Monday 12:30 in New York (the monday-lunch window)
    ops = DrOperations(deployment, aws)
    ops.set_capacity("dr", 10, hold=True)
    lunch = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    window = next(w for w in deployment.scaling.peak_windows if w.name == "monday-lunch")
    aws.stack("primary")
    aws.healthy("primary")
    aws.ready("primary", window.provisioned_concurrency)
    aws.agents("primary", AGENTS, associated=set())
    aws.traffic("primary", {DR: 100, PRIMARY: 0})
    aws.update("primary", {PRIMARY: 100, DR: 0})
    aws.traffic("primary", {PRIMARY: 100, DR: 0})
    # WHEN failing back
    readiness = Readiness(sleep=lambda _s: None, now=lambda: lunch)
    report = failover(ops, "primary", readiness=readiness)
    # THEN the primary sits at the window's level with its schedules running, not at the overall peak
    assert report.ok
    assert set(minimums(deployment, "primary").values()) == {(window.provisioned_concurrency, False)}


def test_no_agent_to_take_the_calls_stops_before_they_move(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a DR region ready for calls, but no user in the configured front-desk routing profile
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", {"U3": "RP-OTHER"}, associated=set())
    # WHEN failing over THEN it stops before the traffic moves, and says why
    report = failover(DrOperations(deployment, aws), "dr")
    assert statuses(report)[-1] == ("agents follow the calls to dr", "failed")
    assert "no user matches agents (clinic-front-desk)" in report.steps[-1].detail


def test_an_unknown_routing_profile_is_named(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN the deployment file names a routing profile the instance does not have
    named = deployment.model_copy(
        update={"agents": deployment.agents.model_copy(update={"routing_profiles": ["nurses"]})}
    )
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.stub("connect", "dr").add_response(
        "list_routing_profiles", {"RoutingProfileSummaryList": [{"Id": "RP1", "Name": "clinic-front-desk"}]},
        {"InstanceId": INSTANCE})  # fmt: skip
    # WHEN failing over THEN the step fails naming the field, the profile and what exists
    report = failover(DrOperations(named, aws), "dr")
    assert statuses(report)[-1] == ("agents follow the calls to dr", "failed")
    assert "agents.routing_profiles names ['nurses']" in report.steps[-1].detail
    assert "clinic-front-desk" in report.steps[-1].detail


@pytest.mark.parametrize("late", [0, -1], ids=["first-function-late", "last-function-late"])
def test_calls_wait_until_every_function_is_ready_not_any(aws: FakeAws, deployment: Deployment, late: int) -> None:
    # GIVEN raised DR capacity that Lambda reports READY for every function but one, which is still allocating
    laggard = deployment.function_names[late]
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready_but("dr", 10, laggard, status="IN_PROGRESS", allocated=3)
    aws.ready("dr", 10)  # the next poll: every function READY
    aws.agents("dr", AGENTS, associated=set())
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    waits: list[float] = []
    readiness = Readiness(timeout=300, poll=15, sleep=waits.append, now=lambda: QUIET_HOUR)
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr", readiness=readiness)
    # THEN the first poll, with one function not READY, did not let calls move: it polled again
    assert waits == [15]
    assert report.ok and statuses(report)[2:5] == [("capacity ready in dr", "ok"),
                                                   ("agents follow the calls to dr", "ok"),
                                                   ("shift traffic to dr", "ok")]  # fmt: skip


def test_one_function_never_ready_stops_the_failover_naming_it(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN every function READY at the peak but the last, which Lambda never gets READY within the deadline
    laggard = deployment.function_names[-1]
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready_but("dr", 10, laggard, status="FAILED", allocated=1)
    readiness = Readiness(timeout=0, poll=15, sleep=lambda _s: None, now=lambda: QUIET_HOUR)
    # WHEN failing over THEN it stops at the readiness step, and only the laggard's check failed
    report = failover(DrOperations(deployment, aws), "dr", readiness=readiness)
    assert statuses(report)[-1] == ("capacity ready in dr", "failed")
    assert [c.name for c in report.steps[-1].checks if not c.ok] == [f"{laggard}:live provisioned concurrency"]
    assert len(report.steps[-1].checks) == len(deployment.function_names)
