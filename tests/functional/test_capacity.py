"""The provisioned-concurrency owner (lambdas/capacity): Application Auto Scaling in moto, CloudFormation events.

The point of the resource: a deploy while failover holds capacity must not lower it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from runbooks import aws_steps
from tests.conftest import FakeLambdaContext, load_event, load_handler

capacity = load_handler("lambdas/capacity/runtime/handler.py", "capacity_handler")
REGION = "us-west-2"
FUNCTION = "clinic-CallerLookup"
RESOURCE_ID = f"function:{FUNCTION}:live"
DEPLOYMENT = "clinic"


def props(minimum: int = 1, maximum: int = 40, start: int = 1) -> dict[str, Any]:
    """The properties as CloudFormation sends them to a custom resource: numbers as strings."""
    return {
        "ResourceId": RESOURCE_ID,
        "Deployment": DEPLOYMENT,
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
        # moto does not implement TagResource: botocore validates the request against the model, then this hook
        # records it and answers as the API does (an empty TagResourceResponse).
        client.tagged = []

        def tag_resource(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
            client.tagged.append(params)
            return AWSResponse("", 200, {}, None), {}

        client.meta.events.register("before-call.application-autoscaling.TagResource", tag_resource)
        monkeypatch.setattr(capacity, "autoscaling_client", lambda: client)
        monkeypatch.setattr(capacity, "sleep", lambda _seconds: None)
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


# -- tags the drills rely on, and the registration's eventual consistency ---------------------------------------
def _stubbed(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Stubber, list[float]]:
    client = boto3.client(
        "application-autoscaling", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    stub.activate()
    slept: list[float] = []
    monkeypatch.setattr(capacity, "autoscaling_client", lambda: client)
    monkeypatch.setattr(capacity, "sleep", slept.append)
    return client, stub, slept


TARGET_ARN = f"arn:aws:application-autoscaling:{REGION}:123456789012:scalable-target/0123456789abcdef0123"
KEY = {
    "ServiceNamespace": "lambda",
    "ResourceId": RESOURCE_ID,
    "ScalableDimension": "lambda:function:ProvisionedConcurrency",
}


def _register(stub: Stubber, existing: list[dict[str, Any]], minimum: int = 1) -> None:
    stub.add_response("describe_scalable_targets", {"ScalableTargets": existing},
                      {"ServiceNamespace": "lambda", "ResourceIds": [RESOURCE_ID],
                       "ScalableDimension": KEY["ScalableDimension"]})  # fmt: skip
    stub.add_response("register_scalable_target", {"ScalableTargetARN": TARGET_ARN},
                      {**KEY, "MinCapacity": minimum, "MaxCapacity": 40, "Tags": {"ivr:deployment": DEPLOYMENT}})  # fmt: skip


def test_a_new_target_is_tagged_with_the_deployment(monkeypatch: pytest.MonkeyPatch,
                                                   lambda_context: FakeLambdaContext) -> None:  # fmt: skip
    # GIVEN no target (the drills' role may register only targets tagged ivr:deployment=<deployment>)
    _client, stub, _slept = _stubbed(monkeypatch)
    _register(stub, [])
    stub.add_response("describe_scheduled_actions", {"ScheduledActions": []}, KEY)
    # WHEN Create arrives with no schedules THEN RegisterScalableTarget carries the tag (the Stubber checks the
    # request against the model and the expected parameters) and no TagResource is needed
    capacity.on_event(event("Create", {**props(), "ScheduledActions": []}), lambda_context)
    stub.assert_no_pending_responses()


def test_a_target_registered_before_is_tagged_by_its_arn(monkeypatch: pytest.MonkeyPatch,
                                                        lambda_context: FakeLambdaContext) -> None:  # fmt: skip
    # GIVEN a target registered by an earlier version, without tags (Tags only apply when a target is created)
    _client, stub, _slept = _stubbed(monkeypatch)
    old = {**KEY, "MinCapacity": 1, "MaxCapacity": 40, "RoleARN": "arn:aws:iam::123456789012:role/x",
           "CreationTime": "2026-01-01T00:00:00Z"}  # fmt: skip
    _register(stub, [old])
    stub.add_response("tag_resource", {}, {"ResourceARN": TARGET_ARN, "Tags": {"ivr:deployment": DEPLOYMENT}})
    stub.add_response("describe_scheduled_actions", {"ScheduledActions": []}, KEY)
    # WHEN an Update arrives THEN TagResource tags it by the ARN RegisterScalableTarget returned
    capacity.on_event(event("Update", {**props(), "ScheduledActions": []}, old=props()), lambda_context)
    stub.assert_no_pending_responses()


def test_schedules_wait_for_a_just_registered_target(monkeypatch: pytest.MonkeyPatch,
                                                    lambda_context: FakeLambdaContext) -> None:  # fmt: skip
    # GIVEN a target just registered, not yet visible to PutScheduledAction (eventual consistency, per the
    # RegisterScalableTarget API reference; ObjectNotFoundException is in PutScheduledAction's model errors)
    _client, stub, slept = _stubbed(monkeypatch)
    _register(stub, [])
    stub.add_response("describe_scheduled_actions", {"ScheduledActions": []}, KEY)
    wanted = props()["ScheduledActions"][:1]
    put = {**KEY, "ScheduledActionName": "weekday-morning-start", "Schedule": "cron(0 8 ? * MON-FRI *)",
           "Timezone": "America/New_York", "ScalableTargetAction": {"MinCapacity": 1}}  # fmt: skip
    stub.add_client_error("put_scheduled_action", "ObjectNotFoundException", "no target", 400, expected_params=put)
    stub.add_client_error("put_scheduled_action", "ObjectNotFoundException", "no target", 400, expected_params=put)
    stub.add_response("put_scheduled_action", {}, put)
    # WHEN Create arrives THEN the schedule is put after a short backoff, without real waiting
    capacity.on_event(event("Create", {**props(), "ScheduledActions": wanted}), lambda_context)
    stub.assert_no_pending_responses()
    assert slept == list(capacity.NOT_FOUND_DELAYS[:2])


def test_a_target_that_never_appears_fails_after_a_bounded_wait(monkeypatch: pytest.MonkeyPatch,
                                                               lambda_context: FakeLambdaContext) -> None:  # fmt: skip
    # GIVEN DescribeScheduledActions keeps answering ObjectNotFoundException
    _client, stub, slept = _stubbed(monkeypatch)
    _register(stub, [])
    for _ in range(len(capacity.NOT_FOUND_DELAYS) + 1):
        stub.add_client_error("describe_scheduled_actions", "ObjectNotFoundException", "no target", 400)
    # WHEN Create arrives THEN it fails once the bounded backoff is spent
    with pytest.raises(ClientError, match="ObjectNotFoundException"):
        capacity.on_event(event("Create", props()), lambda_context)
    assert slept == list(capacity.NOT_FOUND_DELAYS)


def test_the_deployment_must_reach_the_handler(monkeypatch: pytest.MonkeyPatch,
                                              lambda_context: FakeLambdaContext) -> None:  # fmt: skip
    # GIVEN properties without the deployment name WHEN Create arrives THEN the message names the property
    _client, stub, _slept = _stubbed(monkeypatch)
    stub.add_response("describe_scalable_targets", {"ScalableTargets": []})
    no_name = {k: v for k, v in props().items() if k != "Deployment"}
    with pytest.raises(capacity.CapacityError, match="'Deployment' is required"):
        capacity.on_event(event("Create", no_name), lambda_context)
