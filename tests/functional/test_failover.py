"""Failover and failback: pre-checks, capacity, traffic, verification; success and every way it can fail."""

from __future__ import annotations

from typing import Any

import pytest

from regions.config import Deployment, load_deployment
from runbooks.failover import DrOperations, failover
from tests.conftest import ROOT
from tests.functional.aws_fakes import FakeAws, minimums, register_targets

PRIMARY, DR = "us-east-1", "us-west-2"


def statuses(report: Any) -> list[tuple[str, str]]:
    return [(s.name, s.status) for s in report.steps]


def test_failover_to_dr_moves_calls_and_agents(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a healthy DR region and all calls in the primary
    aws.stack("dr")
    aws.healthy("dr")
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr")
    # THEN every step passed, DR capacity is at the peak with schedules held, and each step was timed
    assert statuses(report) == [(f"pre-check dr ({DR})", "ok"), ("raise capacity in dr", "ok"),
                                ("shift traffic to dr", "ok"), ("verify traffic", "ok")]  # fmt: skip
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
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    # WHEN failing over again THEN nothing is written (the Stubber would refuse an update call)
    report = failover(ops, "dr")
    assert statuses(report)[1:3] == [("raise capacity in dr", "skipped"), ("shift traffic to dr", "skipped")]
    assert report.ok


@pytest.mark.parametrize(("problem", "failed_check"), [
    ({"instance": "CREATION_IN_PROGRESS"}, "instance active"),
    ({"flow_status": "SAVED"}, "flow InboundMenu published"),
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
    aws.stub("connect", "dr").add_client_error("get_traffic_distribution", "ThrottlingException", "Rate exceeded", 429)
    report = failover(DrOperations(deployment, aws), "dr")
    assert statuses(report)[-1] == ("shift traffic to dr", "failed")
    assert "ThrottlingException" in report.steps[-1].detail


def test_failed_verification_stops_with_rollback_advice(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0}, agents={PRIMARY: 100, DR: 0})  # agents did not move
    report = failover(DrOperations(deployment, aws), "dr")
    assert statuses(report)[-1] == ("verify traffic", "failed")
    assert [c.name for c in report.steps[-1].checks if not c.ok] == ["agent split"]
    assert report.rollback[0] == "traffic moved to dr: move it back with `ivr failover --to primary`"


def test_dry_run_prechecks_and_plans_only(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    report = failover(DrOperations(deployment, aws), "dr", 50, dry_run=True)
    assert [s.status for s in report.steps] == ["ok", "planned", "planned"]
    assert f"{{'{DR}': 50, '{PRIMARY}': 50}}" in report.steps[2].detail
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
    report = failover(DrOperations(deployment, aws), "dr", 55)
    assert "steps of 10" in report.steps[-1].detail


def test_failback_returns_the_dr_region_to_standby(aws: FakeAws, deployment: Deployment) -> None:
    ops = DrOperations(deployment, aws)
    ops.set_capacity("dr", 10, hold=True)
    aws.stack("primary")
    aws.healthy("primary")
    aws.traffic("primary", {DR: 100, PRIMARY: 0})
    aws.update("primary", {PRIMARY: 100, DR: 0})
    aws.traffic("primary", {PRIMARY: 100, DR: 0})
    report = failover(ops, "primary")
    assert statuses(report)[-1] == ("return dr to standby", "ok")
    assert set(minimums(deployment, "dr").values()) == {(1, False)}
    assert set(minimums(deployment, "primary").values()) == {(10, False)}


def test_standalone_mode_prints_the_manual_step(aws: FakeAws) -> None:
    deployment = load_deployment(ROOT / "tests" / "configs" / "standalone.yaml")
    register_targets(deployment, {"primary": 1, "dr": 1})
    fake = FakeAws(deployment)
    fake.stack("dr")
    fake.healthy("dr")
    report = failover(DrOperations(deployment, fake), "dr")
    assert statuses(report)[-1] == ("move callers", "manual")
    assert "runbooks/failover.md" in report.steps[-1].detail
    fake.verify()
