"""The canary's function: it runs the instance's PUBLISHED test cases (at most 5 at once), stops what outlasts its
time, and publishes Passed / Failed / Duration. Connect and CloudWatch through botocore's Stubber, which checks
every request against the service models."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import ROOT
from tests.functional.aws_fakes import INSTANCE, FakeClock


def _load() -> ModuleType:
    """The handler module by path, registered (its dataclasses look their module up in sys.modules)."""
    spec = importlib.util.spec_from_file_location("canary_handler", ROOT / "connect/canary/runtime/handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


canary = _load()
POLL = 10.0


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    return client, stub


def listed(stub: Stubber, cases: dict[str, str]) -> None:
    """ListTestCases: ``cases`` name -> status; ids are ``id-<name>``."""
    stub.add_response("list_test_cases", {"TestCaseSummaryList": [
        {"Id": f"id-{n}", "Arn": f"arn:aws:connect:us-west-2:111111111111:instance/{INSTANCE}/test-case/id-{n}",
         "Name": n, "Status": s} for n, s in cases.items()]}, {"InstanceId": INSTANCE})  # fmt: skip


def started(stub: Stubber, name: str) -> None:
    stub.add_response("start_test_case_execution", {"TestCaseExecutionId": f"ex-{name}", "Status": "INITIATED"},
                      {"InstanceId": INSTANCE, "TestCaseId": f"id-{name}"})  # fmt: skip


def summary(stub: Stubber, name: str, status: str) -> None:
    stub.add_response("get_test_case_execution_summary", {"Status": status},
                      {"InstanceId": INSTANCE, "TestCaseId": f"id-{name}", "TestCaseExecutionId": f"ex-{name}"})  # fmt: skip


def test_published_test_cases_run_and_their_outcomes_are_counted() -> None:
    # GIVEN two PUBLISHED test cases (one passes, one fails) and a SAVED one, which Connect cannot run
    connect, stub = stubbed("connect")
    listed(stub, {"after-hours": "PUBLISHED", "front-desk": "PUBLISHED", "draft": "SAVED"})
    started(stub, "after-hours")
    started(stub, "front-desk")
    summary(stub, "after-hours", "IN_PROGRESS")
    summary(stub, "front-desk", "FAILED")
    summary(stub, "after-hours", "PASSED")
    clock = FakeClock()
    # WHEN the canary runs
    run = canary.run_canary(connect, INSTANCE, budget=600, poll=POLL, sleep=clock.sleep, clock=clock)
    # THEN the SAVED one was not started, and the run's outcome and length are what Connect answered
    stub.assert_no_pending_responses()
    assert run.passed == ["after-hours"] and run.failed == {"front-desk": "FAILED"}
    assert run.seconds == sum(clock.slept) == 2 * POLL


def test_no_more_than_five_run_at_once() -> None:
    # GIVEN seven test cases that all pass on their first poll
    connect, stub = stubbed("connect")
    names = [f"case-{i}" for i in range(7)]
    listed(stub, dict.fromkeys(names, "PUBLISHED"))
    first, rest = names[: canary.CONCURRENCY], names[canary.CONCURRENCY :]
    for batch in (first, rest):
        for name in batch:
            started(stub, name)
        for name in batch:
            summary(stub, name, "PASSED")
    clock = FakeClock()
    # WHEN the canary runs THEN the Stubber, which answers in order, saw five starts before any poll
    run = canary.run_canary(connect, INSTANCE, budget=600, poll=POLL, sleep=clock.sleep, clock=clock)
    stub.assert_no_pending_responses()
    assert run.passed == sorted(names) and not run.failed


def test_a_run_that_outlasts_the_budget_is_stopped_and_counts_as_failed() -> None:
    connect, stub = stubbed("connect")
    listed(stub, {"slow": "PUBLISHED"})
    started(stub, "slow")
    summary(stub, "slow", "IN_PROGRESS")
    summary(stub, "slow", "IN_PROGRESS")
    stub.add_response("stop_test_case_execution", {},
                      {"InstanceId": INSTANCE, "TestCaseId": "id-slow", "TestCaseExecutionId": "ex-slow"})  # fmt: skip
    clock = FakeClock()
    run = canary.run_canary(connect, INSTANCE, budget=15, poll=POLL, sleep=clock.sleep, clock=clock)
    stub.assert_no_pending_responses()
    assert run.passed == [] and "after 15 s; stopped" in run.failed["slow"]


def test_an_instance_without_test_cases_fails_the_canary() -> None:
    # GIVEN a replica Connect has not mirrored any test case to WHEN the canary runs THEN it fails, saying why
    connect, stub = stubbed("connect")
    listed(stub, {})
    run = canary.run_canary(connect, INSTANCE, budget=600, poll=POLL, sleep=FakeClock().sleep, clock=FakeClock())
    assert run.passed == [] and "no PUBLISHED test case" in run.failed["(none)"]


def test_the_metrics_are_published_per_deployment_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a run of one passed and one failed test case
    run = canary.CanaryRun(passed=["a"], failed={"b": "FAILED"}, seconds=42.0)
    cloudwatch, stub = stubbed("cloudwatch")
    dimensions = [{"Name": "Deployment", "Value": "clinic"}, {"Name": "Region", "Value": "us-west-2"}]
    stub.add_response("put_metric_data", {}, {"Namespace": canary.NAMESPACE, "MetricData": [
        {"MetricName": "Passed", "Dimensions": dimensions, "Value": len(run.passed), "Unit": "Count"},
        {"MetricName": "Failed", "Dimensions": dimensions, "Value": len(run.failed), "Unit": "Count"},
        {"MetricName": "Duration", "Dimensions": dimensions, "Value": run.seconds, "Unit": "Seconds"}]})  # fmt: skip
    # WHEN published THEN one PutMetricData call carries the three metrics (the Stubber checks the request)
    canary.publish(cloudwatch, run, deployment="clinic", region="us-west-2")
    stub.assert_no_pending_responses()
