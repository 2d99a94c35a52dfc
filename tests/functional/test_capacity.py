"""The provisioned-concurrency owner (lambdas/capacity): Application Auto Scaling in moto, CloudFormation events.

The point of the resource: a deploy while failover holds capacity must not lower it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runbooks import aws_steps
from tests.conftest import FakeLambdaContext, load_event, load_handler

capacity = load_handler("lambdas/capacity/runtime/handler.py", "capacity_handler")
REGION = "us-west-2"
FUNCTION = "clinic-CallerLookup"
RESOURCE_ID = f"function:{FUNCTION}:live"


def props(minimum: int = 1, maximum: int = 40, start: int = 1) -> dict[str, Any]:
    """The properties as CloudFormation sends them to a custom resource: numbers as strings."""
    return {
        "ResourceId": RESOURCE_ID,
        "ServiceNamespace": "lambda",
        "ScalableDimension": "lambda:function:ProvisionedConcurrency",
        "MinCapacity": str(minimum),
        "MaxCapacity": str(maximum),
        "ScheduledActions": [
            {"ScheduledActionName": "weekday-morning-start", "Schedule": "cron(0 8 ? * MON-FRI *)",
             "Timezone": "America/New_York", "ScalableTargetAction": {"MinCapacity": str(start)}},
            {"ScheduledActionName": "weekday-morning-end", "Schedule": "cron(0 11 ? * MON-FRI *)",
             "Timezone": "America/New_York", "ScalableTargetAction": {"MinCapacity": str(minimum)}},
        ],
    }  # fmt: skip


def event(request: str, new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    cfn = load_event("cfnCustomResourceEvent")
    cfn["RequestType"] = request
    cfn["ResourceProperties"] = {"ServiceToken": cfn["ServiceToken"], **new}
    if old is not None:
        cfn["OldResourceProperties"] = {"ServiceToken": cfn["ServiceToken"], **old}
    if request != "Create":
        cfn["PhysicalResourceId"] = RESOURCE_ID
    return cfn


@pytest.fixture
def autoscaling(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("application-autoscaling", region_name=REGION)
        monkeypatch.setattr(capacity, "autoscaling_client", lambda: client)
        yield client


def target(client: Any) -> dict[str, Any]:
    return dict(aws_steps.scalable_targets(client, [FUNCTION])[RESOURCE_ID])


def schedules(client: Any) -> dict[str, int]:
    actions = client.describe_scheduled_actions(ServiceNamespace="lambda", ResourceId=RESOURCE_ID)["ScheduledActions"]
    return {a["ScheduledActionName"]: a["ScalableTargetAction"]["MinCapacity"] for a in actions}


def test_create_registers_the_target_and_its_schedules(autoscaling: Any, lambda_context: FakeLambdaContext) -> None:
    # GIVEN no target WHEN Create arrives THEN the target has the template's bounds and the peak-window schedules
    result = capacity.on_event(event("Create", props(start=10)), lambda_context)
    assert result["PhysicalResourceId"] == RESOURCE_ID
    assert (target(autoscaling)["MinCapacity"], target(autoscaling)["MaxCapacity"]) == (1, 40)
    assert schedules(autoscaling) == {"weekday-morning-start": 10, "weekday-morning-end": 1}


def test_a_deploy_during_failover_keeps_the_held_capacity(autoscaling: Any, lambda_context: FakeLambdaContext) -> None:
    # GIVEN the deployed target, then a failover that raised the minimum to 10 and held the schedules
    capacity.on_event(event("Create", props(start=10)), lambda_context)
    assert aws_steps.set_capacity(autoscaling, [FUNCTION], 10, hold=True) == [RESOURCE_ID]
    # WHEN a deploy during the incident changes the scaling (a new peak level, a lower maximum)
    result = capacity.on_event(event("Update", props(maximum=30, start=12), old=props(start=10)), lambda_context)
    # THEN the minimum stays at the held level and the schedules stay suspended
    held = target(autoscaling)
    assert held["MinCapacity"] == 10 and held["SuspendedState"]["ScheduledScalingSuspended"] is True
    assert held["MaxCapacity"] == 30 and result["Data"]["Held"] == "true"
    # AND the new schedules are in place for when failback resumes them
    assert schedules(autoscaling) == {"weekday-morning-start": 12, "weekday-morning-end": 1}


def test_a_deploy_without_a_hold_applies_the_template(autoscaling: Any, lambda_context: FakeLambdaContext) -> None:
    # GIVEN a target at 5 that nobody holds (utilization tracking or an old deploy raised it)
    capacity.on_event(event("Create", props(minimum=5)), lambda_context)
    # WHEN a deploy lowers the baseline to 2 and drops a schedule
    new = props(minimum=2)
    new["ScheduledActions"] = new["ScheduledActions"][:1]
    capacity.on_event(event("Update", new, old=props(minimum=5)), lambda_context)
    # THEN the template's minimum applies and the dropped schedule is gone
    assert target(autoscaling)["MinCapacity"] == 2
    assert set(schedules(autoscaling)) == {"weekday-morning-start"}


def test_delete_deregisters_and_tolerates_a_missing_target(autoscaling: Any, lambda_context: FakeLambdaContext) -> None:
    capacity.on_event(event("Create", props()), lambda_context)
    capacity.on_event(event("Delete", props()), lambda_context)
    assert aws_steps.scalable_targets(autoscaling, [FUNCTION]) == {}
    assert capacity.on_event(event("Delete", props()), lambda_context)["PhysicalResourceId"] == RESOURCE_ID
