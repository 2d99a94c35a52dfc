"""Custom resource: the provisioned concurrency of one function alias, owned by Application Auto Scaling alone.

Provisioned concurrency has one owner, Application Auto Scaling: the alias declares none of its own (a
``ProvisionedConcurrencyConfig`` on the alias would be a second owner, reset by CloudFormation on every deploy).
This resource registers the scalable target (its minimum and maximum) and puts the peak-window schedules.

Failover holds capacity by raising the target's minimum and suspending its schedules
(``SuspendedState.ScheduledScalingSuspended``, see ``runbooks/aws_steps.py``). A deploy during that hold must not
undo it, so Create and Update read the target first: while it is held, the minimum is never lowered and the
suspension is left alone (RegisterScalableTarget changes only the parameters it is given, per its API reference);
the schedules are updated, and take effect when failback resumes them. Delete deregisters the target, which
removes its schedules and policies.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8})
NAMESPACE = "lambda"
DIMENSION = "lambda:function:ProvisionedConcurrency"
#: The tag the drills' role requires (runbooks/infrastructure.py: RegisterScalableTarget only with
#: aws:ResourceTag/ivr:deployment = the deployment's name).
DEPLOYMENT_TAG = "ivr:deployment"
#: botocore application-autoscaling model, RegisterScalableTarget: a new target is eventually consistent ("the
#: typical strategy is to retry the request"); PutScheduledAction lists ObjectNotFoundException, which botocore's
#: retry modes do not retry. DescribeScheduledActions does not list it in the model, but is read right after the
#: registration too, so it gets the same retry. A short bounded backoff: 1 + 2 + 4 + 8 s, well inside the
#: handler's two-minute timeout.
NOT_FOUND_DELAYS = (1.0, 2.0, 4.0, 8.0)
sleep: Callable[[float], None] = time.sleep
T = TypeVar("T")


class CapacityError(RuntimeError):
    """The capacity cannot be set; the message names the target and the reason."""


def autoscaling_client() -> Any:
    return boto3.client("application-autoscaling", config=RETRIES)


def retry_not_found(call: Callable[[], T], what: str) -> T:
    """``call()``, retried on ObjectNotFoundException while a just-registered target becomes visible."""
    for delay in (*NOT_FOUND_DELAYS, None):
        try:
            return call()
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ObjectNotFoundException" or delay is None:
                raise
            logger.info("target not visible yet; retrying", extra={"call": what, "delay": delay})
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def current_target(client: Any, resource_id: str) -> dict[str, Any] | None:
    found = client.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[resource_id], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    return dict(found[0]) if found else None


def is_held(target: dict[str, Any] | None) -> bool:
    """Failover's hold: the schedules are suspended (failover raised the minimum and stopped them lowering it)."""
    return bool(target and (target.get("SuspendedState") or {}).get("ScheduledScalingSuspended"))


def apply(client: Any, props: dict[str, Any]) -> dict[str, Any]:
    """Register the target and put its schedules, keeping a failover hold; returns what was registered."""
    resource_id = str(props["ResourceId"])
    # CloudFormation passes a custom resource's numbers as strings.
    minimum, maximum = int(props["MinCapacity"]), int(props["MaxCapacity"])
    current = current_target(client, resource_id)
    if is_held(current):
        assert current is not None
        minimum = max(minimum, int(current["MinCapacity"]))
        maximum = max(maximum, minimum)
        logger.info("failover hold kept", extra={"resource_id": resource_id, "minimum": minimum})
    deployment = str(props.get("Deployment") or "")
    if not deployment:
        raise CapacityError(f"{resource_id}: resource property 'Deployment' is required (the ivr:deployment tag)")
    tags = {DEPLOYMENT_TAG: deployment}
    try:
        # botocore application-autoscaling model: RegisterScalableTarget's Tags tag a target when it is created;
        # "to tag an existing scalable target, use the TagResource operation" with the ScalableTargetARN that
        # RegisterScalableTarget returns. The drills may raise capacity only on targets carrying this tag.
        registered = client.register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            MinCapacity=minimum,
            MaxCapacity=maximum,
            Tags=tags,
        )
        if current is not None:
            client.tag_resource(ResourceARN=registered["ScalableTargetARN"], Tags=tags)
    except ClientError as exc:
        error = exc.response["Error"]
        raise CapacityError(f"{resource_id}: {error['Code']}: {error.get('Message', '')}") from exc
    _schedules(client, resource_id, list(props.get("ScheduledActions") or []))
    return {"MinCapacity": str(minimum), "MaxCapacity": str(maximum), "Held": str(is_held(current)).lower()}


def _schedules(client: Any, resource_id: str, wanted: list[dict[str, Any]]) -> None:
    def existing_names() -> set[str]:
        pages = client.get_paginator("describe_scheduled_actions").paginate(
            ServiceNamespace=NAMESPACE, ResourceId=resource_id, ScalableDimension=DIMENSION
        )
        return {a["ScheduledActionName"] for page in pages for a in page["ScheduledActions"]}

    existing = retry_not_found(existing_names, "DescribeScheduledActions")
    for action in wanted:
        put = functools.partial(
            client.put_scheduled_action,
            ServiceNamespace=NAMESPACE,
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            ScheduledActionName=action["ScheduledActionName"],
            Schedule=action["Schedule"],
            Timezone=action["Timezone"],
            ScalableTargetAction={"MinCapacity": int(action["ScalableTargetAction"]["MinCapacity"])},
        )
        retry_not_found(put, "PutScheduledAction")
    for name in sorted(existing - {a["ScheduledActionName"] for a in wanted}):
        client.delete_scheduled_action(
            ServiceNamespace=NAMESPACE, ResourceId=resource_id, ScalableDimension=DIMENSION, ScheduledActionName=name
        )


def release(client: Any, resource_id: str) -> None:
    """Deregister the target if it is there (a retried Delete finds it gone)."""
    if current_target(client, resource_id) is None:
        return
    try:
        client.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=resource_id, ScalableDimension=DIMENSION
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ObjectNotFoundException":
            raise


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    props = event.resource_properties
    client = autoscaling_client()
    logger.info("capacity event", extra={"request": event.request_type, "resource_id": props.get("ResourceId")})
    if event.request_type == "Delete":
        # The physical id is the target's resource id (only ours: a Create that failed early has another).
        if str(event.physical_resource_id).startswith("function:"):
            release(client, event.physical_resource_id)
        return {"PhysicalResourceId": event.physical_resource_id}
    data = apply(client, props)
    # Another alias is another target: a new physical id, so CloudFormation deregisters the old one in clean-up.
    return {"PhysicalResourceId": str(props["ResourceId"]), "Data": data}
