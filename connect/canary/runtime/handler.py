"""The canary: run the instance's PUBLISHED Connect test cases and publish how many passed, failed, and how long.

EventBridge Scheduler invokes it every ``canaries.every_minutes``. The API sequence is the one ``ivr test`` runs
(runbooks/native_tests.py, ``TestCaseRunner.run``): ListTestCases, StartTestCaseExecution at most 5 at once per
instance (the rest wait their turn), GetTestCaseExecutionSummary polled (there is no waiter), and
StopTestCaseExecution for a run still going when the function's time is nearly up. Only reading and running: in a
Global Resiliency replica the test cases are the ones Connect mirrored from the source instance, so a passing run
there proves the standby answers with the mirrored flows.

Metrics (namespace ``ClinicIvr/Canary``, dimensions Deployment and Region): Passed, Failed (Count) and Duration
(Seconds). An instance with no PUBLISHED test case counts as one failure: a canary that runs nothing proves
nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NAMESPACE = "ClinicIvr/Canary"
#: Statuses after which an execution does not change (botocore connect model, TestCaseExecutionStatus).
TERMINAL = frozenset({"PASSED", "FAILED", "STOPPED"})
#: Connect runs at most 5 test cases at once per instance (admin guide, "Execute test cases").
CONCURRENCY = 5
#: Errors that mean "not now": the start is tried again on the next poll.
RETRY_LATER = frozenset({"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException",
                         "LimitExceededException"})  # fmt: skip
#: Seconds kept back from the function's timeout to stop what still runs and publish the metrics.
MARGIN_SECONDS = 60.0


@dataclass
class CanaryRun:
    """One canary run: the test cases by outcome, and how long the run took."""

    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed, "seconds": self.seconds}


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def published_test_cases(connect: Any, instance_id: str) -> dict[str, str]:
    """Name -> id of the instance's PUBLISHED test cases (ListTestCases, paged)."""
    found: dict[str, str] = {}
    for page in connect.get_paginator("list_test_cases").paginate(InstanceId=instance_id):
        for item in page.get("TestCaseSummaryList", []):
            if item.get("Status") == "PUBLISHED":
                found[item["Name"]] = item["Id"]
    return found


def run_canary(
    connect: Any,
    instance_id: str,
    *,
    budget: float,
    poll: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CanaryRun:
    """Run every PUBLISHED test case of the instance within ``budget`` seconds; those still running then are
    stopped and count as failed."""
    started = clock()
    runner = _Runner(connect, instance_id, sorted(published_test_cases(connect, instance_id).items()))
    if not runner.queue:
        runner.run.failed["(none)"] = f"instance {instance_id} has no PUBLISHED test case"
    while runner.queue or runner.running:
        runner.start_some(time_left=clock() - started < budget)
        out_of_time = clock() - started + poll > budget
        if not out_of_time:
            sleep(poll)
        runner.poll_all(out_of_time, budget)
        if out_of_time:
            runner.give_up_queue()
    runner.run.passed.sort()
    runner.run.seconds = round(clock() - started, 1)
    return runner.run


class _Runner:
    """The test cases waiting, running, and done, of one canary run."""

    def __init__(self, connect: Any, instance_id: str, queue: list[tuple[str, str]]) -> None:
        self.connect, self.instance_id, self.queue = connect, instance_id, queue
        self.running: dict[str, tuple[str, str]] = {}  # name -> (test case id, execution id)
        self.run = CanaryRun()

    def start_some(self, *, time_left: bool) -> None:
        """Start queued test cases while fewer than CONCURRENCY run; a "not now" answer waits for the next poll."""
        while self.queue and len(self.running) < CONCURRENCY:
            name, case_id = self.queue[0]
            try:
                answer = self.connect.start_test_case_execution(InstanceId=self.instance_id, TestCaseId=case_id)
            except Exception as exc:  # one test case that cannot start fails alone
                if _code(exc) in RETRY_LATER and time_left:
                    return
                self.run.failed[name] = f"could not start: {exc}"
                self.queue.pop(0)
                continue
            self.queue.pop(0)
            self.running[name] = (case_id, answer["TestCaseExecutionId"])

    def poll_all(self, out_of_time: bool, budget: float) -> None:
        """Read each running execution; record the finished ones; stop the rest when time is up."""
        for name, (case_id, execution) in list(self.running.items()):
            ids = {"InstanceId": self.instance_id, "TestCaseId": case_id, "TestCaseExecutionId": execution}
            try:
                status = str(self.connect.get_test_case_execution_summary(**ids).get("Status", ""))
            except Exception as exc:  # read again next poll, unless time is up
                status = "" if not out_of_time else f"unreadable ({exc})"
            if status in TERMINAL:
                del self.running[name]
                if status == "PASSED":
                    self.run.passed.append(name)
                else:
                    self.run.failed[name] = status
            elif out_of_time:
                del self.running[name]
                self.run.failed[name] = f"still {status or 'running'} after {budget:.0f} s; stopped"
                try:
                    self.connect.stop_test_case_execution(**ids)
                except Exception as exc:  # the execution ends by itself within 5 minutes anyway
                    self.run.failed[name] += f" (stopping failed: {_code(exc) or exc})"

    def give_up_queue(self) -> None:
        for name, _case in self.queue:
            self.run.failed[name] = "not started: no time left in this run"
        self.queue = []


def publish(cloudwatch: Any, run: CanaryRun, *, deployment: str, region: str) -> None:
    """Passed, Failed and Duration of the run, one PutMetricData call."""
    dimensions = [{"Name": "Deployment", "Value": deployment}, {"Name": "Region", "Value": region}]
    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {"MetricName": "Passed", "Dimensions": dimensions, "Value": len(run.passed), "Unit": "Count"},
            {"MetricName": "Failed", "Dimensions": dimensions, "Value": len(run.failed), "Unit": "Count"},
            {"MetricName": "Duration", "Dimensions": dimensions, "Value": run.seconds, "Unit": "Seconds"},
        ],
    )


def handler(_event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduler's entry point: run the test cases, publish the metrics, return what happened."""
    import boto3

    instance_id, deployment, region = os.environ["INSTANCE_ID"], os.environ["DEPLOYMENT"], os.environ["AWS_REGION"]
    budget = max(context.get_remaining_time_in_millis() / 1000.0 - MARGIN_SECONDS, 0.0)
    run = run_canary(boto3.client("connect"), instance_id, budget=budget)
    publish(boto3.client("cloudwatch"), run, deployment=deployment, region=region)
    print({"canary": run.as_dict()})
    return run.as_dict()
