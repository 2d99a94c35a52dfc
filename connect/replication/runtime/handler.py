"""Custom resource: replicate the Connect instance into the DR region (Connect Global Resiliency).

CloudFormation has no resource for ReplicateInstance. ``on_event`` starts the replication (or the deletion of the
replica); ``is_complete`` polls DescribeInstance in the replica region until the replica is ready (or gone).

Service rules this relies on (botocore's Connect model, ``DescribeInstance``):

- ``Instance.InstanceStatus`` is only CREATION_IN_PROGRESS, ACTIVE or CREATION_FAILED; it says nothing about
  deletion. An ACTIVE replica may still be copying: ``ReplicationConfiguration.ReplicationStatusSummaryList`` says
  INSTANCE_REPLICATION_IN_PROGRESS or RESOURCE_REPLICATION_NOT_STARTED until the copy is
  INSTANCE_REPLICATION_COMPLETE. The replica is ready only then (the traffic distribution group and the handoff
  wait for this resource).
- A replica being removed reports INSTANCE_REPLICA_DELETING (and INSTANCE_REPLICATION_DELETION_FAILED if that
  fails); there is no DELETION_IN_PROGRESS in Connect's API.

Changes CloudFormation can send, and why none can wedge the stack:

- The replica's identity is (instance, replica region), which is also its physical id. An Update that changes it
  is a replacement: the new replica is made under a new physical id, and CloudFormation deletes the old one in its
  clean-up phase (or deletes the new one if the update rolls back). Deletes act on the physical id, not on the
  properties that came with the event.
- An Update is judged against the replica as it is, not against the old properties: an update that Connect
  cannot apply in place (a new alias for an existing replica) fails with a message, while CloudFormation's
  rollback of it, which asks for the replica as it already is, succeeds.
- A Create that finds the previous replica still being deleted waits for that deletion and then replicates.

How long it may take, and how a deploy resumes:

- CloudFormation gives a custom resource one hour, so one resource cannot wait for a long replication. The
  replica resource is window 1 of ``Windows``; each further window is a ``Custom::ConnectInstanceReplicaWait``
  resource that only watches the same replica. A window whose time is nearly up (``HandOverAfterSeconds`` after
  its on_event) while Connect is still copying normally hands over: it reports complete, and the next window
  goes on watching. Only the last window fails, with what to do.
- A Create (a re-run, for instance after a deploy with rollback disabled) that finds the replica already made,
  still copying or complete, adopts it: it asks for nothing and waits, or completes at once. A re-run of a
  failed wait watches the replica for one more window.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8})

#: ``InstanceReplicationStatus`` values (botocore connect model) and what they mean to this resource.
REPLICATION_COMPLETE = "INSTANCE_REPLICATION_COMPLETE"
REPLICATION_FAILED = "INSTANCE_REPLICATION_FAILED"
REPLICA_DELETING = "INSTANCE_REPLICA_DELETING"
REPLICA_DELETION_FAILED = "INSTANCE_REPLICATION_DELETION_FAILED"
REPLICATION_WAITING = frozenset({"INSTANCE_REPLICATION_IN_PROGRESS", "RESOURCE_REPLICATION_NOT_STARTED"})


class ReplicationError(RuntimeError):
    """The replica cannot be made or removed; the message says why and what to do."""


def now() -> float:
    """Seconds since the epoch (a function, so that tests can move the clock)."""
    return time.time()


def _windows(properties: dict[str, Any]) -> tuple[int, int, float]:
    """(this window, how many there are, seconds after which a window hands over); 0 s means never."""
    window = int(properties.get("Window", 1))
    return window, max(window, int(properties.get("Windows", 1))), float(properties.get("HandOverAfterSeconds", 0))


def _started(event: CloudFormationCustomResourceEvent) -> float | None:
    """When this window began waiting: on_event's ``WaitStartedAt``, which the Provider framework hands to
    is_complete with the rest of on_event's answer."""
    value = (event.raw_event.get("Data") or {}).get("WaitStartedAt")
    return float(value) if value is not None else None


def _timed(answer: dict[str, Any]) -> dict[str, Any]:
    """on_event's answer, stamped with the start of this window's wait."""
    return {**answer, "Data": {**answer.get("Data", {}), "WaitStartedAt": f"{now():.0f}"}}


def connect_client(region: str) -> Any:
    return boto3.client("connect", region_name=region, config=RETRIES)


def describe_replica(client: Any, instance_id: str) -> dict[str, Any] | None:
    """DescribeInstance's answer in the replica region (``Instance`` and ``ReplicationConfiguration``), or None."""
    try:
        return dict(client.describe_instance(InstanceId=instance_id))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def replication_status(answer: dict[str, Any], region: str) -> tuple[str | None, str]:
    """The replication status DescribeInstance reports for ``region``, and its reason."""
    summaries = (answer.get("ReplicationConfiguration") or {}).get("ReplicationStatusSummaryList") or []
    for summary in summaries:
        if summary.get("Region") == region:
            return summary.get("ReplicationStatus"), summary.get("ReplicationStatusReason") or "no reason given"
    return None, "no replication status reported yet"


def _props(properties: dict[str, Any]) -> tuple[str, str, str, str]:
    try:
        return (
            properties["InstanceId"],
            properties["SourceRegion"],
            properties["ReplicaRegion"],
            properties["ReplicaAlias"],
        )
    except KeyError as missing:
        raise ReplicationError(f"resource property {missing} is required") from None


def physical_id(instance_id: str, replica_region: str) -> str:
    return f"{instance_id}@{replica_region}"


def parse_physical_id(value: str | None) -> tuple[str, str] | None:
    """(instance, region) of a physical id this handler made for a replica; None for any other (a Create that
    failed early, or a wait's id, which owns nothing)."""
    instance_id, at, region = (value or "").partition("@")
    return (instance_id, region) if at and instance_id and region and "/" not in region else None


def wait_physical_id(instance_id: str, replica_region: str, window: int) -> str:
    return f"{physical_id(instance_id, replica_region)}/window-{window}"


def _replicate(
    event: CloudFormationCustomResourceEvent, instance_id: str, source: str, region: str, alias: str
) -> None:
    """Ask for the replica unless it exists; the request id is the idempotency token, so a retry asks once."""
    existing = describe_replica(connect_client(region), instance_id)
    if existing is None:
        _ask(event, instance_id, source, region, alias)
    else:
        status, _ = replication_status(existing, region)
        logger.info("replica exists", extra={"replication_status": status})
        if status != REPLICA_DELETING:
            _same_alias(existing, alias, instance_id, region)


def _ask(event: CloudFormationCustomResourceEvent, instance_id: str, source: str, region: str, alias: str) -> None:
    connect_client(source).replicate_instance(
        InstanceId=instance_id, ReplicaRegion=region, ReplicaAlias=alias, ClientToken=event.request_id[:500]
    )


def _same_alias(existing: dict[str, Any], alias: str, instance_id: str, region: str) -> None:
    current = (existing.get("Instance") or {}).get("InstanceAlias")
    if current and current != alias:
        raise ReplicationError(
            f"the replica of {instance_id} in {region} is named {current!r}; Connect cannot rename a replica to "
            f"{alias!r}. Keep instance.dr_alias as {current!r}, or remove the replica first (dr_mode: standalone, "
            "deploy), then deploy again with the new alias"
        )


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    logger.info("replication event", extra={"request": event.request_type})
    window, _, _ = _windows(event.resource_properties)
    if window > 1:
        # A later window owns nothing: it only watches the replica (is_complete), and deleting it changes nothing.
        if event.request_type == "Delete":
            return {"PhysicalResourceId": event.physical_resource_id}
        instance_id, region = _watched(event.resource_properties)
        return _timed({"PhysicalResourceId": wait_physical_id(instance_id, region, window)})
    if event.request_type == "Delete":
        return _delete(event)
    instance_id, source, region, alias = _props(event.resource_properties)
    wanted = physical_id(instance_id, region)
    if event.request_type == "Update" and parse_physical_id(event.physical_resource_id) == (instance_id, region):
        # The same replica: only the alias could differ, which Connect cannot change. A rollback asks for the
        # replica as it is, so it always passes.
        existing = describe_replica(connect_client(region), instance_id)
        if existing is not None:
            _same_alias(existing, alias, instance_id, region)
        return _timed({"PhysicalResourceId": event.physical_resource_id})
    # Create, or an Update to another instance or region: a replacement under a new physical id. A replica that
    # is already there (a re-run) is adopted, not asked for again.
    _replicate(event, instance_id, source, region, alias)
    return _timed({"PhysicalResourceId": wanted})


def _watched(properties: dict[str, Any]) -> tuple[str, str]:
    try:
        return properties["InstanceId"], properties["ReplicaRegion"]
    except KeyError as missing:
        raise ReplicationError(f"resource property {missing} is required") from None


def _delete(event: CloudFormationCustomResourceEvent) -> dict[str, Any]:
    target = parse_physical_id(event.physical_resource_id)
    if target is None:
        logger.info("nothing to delete: the physical id is not a replica's")
        return {"PhysicalResourceId": event.physical_resource_id}
    instance_id, region = target
    client = connect_client(region)
    existing = describe_replica(client, instance_id)
    if existing is not None and replication_status(existing, region)[0] != REPLICA_DELETING:
        try:
            client.delete_instance(InstanceId=instance_id)
        except ClientError as exc:
            # botocore connect model, DeleteInstance errors: ResourceNotFoundException. The replica vanished
            # between DescribeInstance and DeleteInstance (a retried Delete, or Connect finishing a deletion):
            # it is already deleted, which is what this Delete wants.
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            logger.info("replica already gone", extra={"instance": instance_id, "region": region})
    return {"PhysicalResourceId": event.physical_resource_id}


@event_source(data_class=CloudFormationCustomResourceEvent)
def is_complete(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    if event.request_type == "Delete":
        return _deleted(event)
    window, _, _ = _windows(event.resource_properties)
    if window > 1:
        instance_id, region = _watched(event.resource_properties)
        replica = describe_replica(connect_client(region), instance_id)
        if replica is None or replication_status(replica, region)[0] == REPLICA_DELETING:
            raise ReplicationError(
                f"the replica of {instance_id} in {region} that window {window} watches is gone or being deleted"
            )
    else:
        instance_id, source, region, alias = _props(event.resource_properties)
        replica = describe_replica(connect_client(region), instance_id)
        if replica is None:
            # The previous replica finished deleting (or Connect does not list the new one yet): ask (again);
            # the same request id makes a repeated ask harmless.
            _ask(event, instance_id, source, region, alias)
            return {"IsComplete": False}
    return _progress(event, replica, instance_id, region)


def _deleted(event: CloudFormationCustomResourceEvent) -> dict[str, Any]:
    """Whether the replica a Delete removes is gone (a wait's Delete, or an early failure's, removes nothing)."""
    target = parse_physical_id(event.physical_resource_id)
    if target is None:
        return {"IsComplete": True}
    replica = describe_replica(connect_client(target[1]), target[0])
    if replica is not None and replication_status(replica, target[1])[0] == REPLICA_DELETION_FAILED:
        raise ReplicationError(
            f"Connect could not delete the replica of {target[0]} in {target[1]}: "
            f"{replication_status(replica, target[1])[1]}"
        )
    return {"IsComplete": replica is None}


def _progress(
    event: CloudFormationCustomResourceEvent, replica: dict[str, Any], instance_id: str, region: str
) -> dict[str, Any]:
    """is_complete's answer for a replica Connect lists: ready, still copying, handed over, or failed."""
    window, windows, hand_over = _windows(event.resource_properties)
    instance = replica.get("Instance") or {}
    if instance.get("InstanceStatus") == "CREATION_FAILED":
        reason = (instance.get("StatusReason") or {}).get("Message", "no reason given")
        raise ReplicationError(f"replica of {instance_id} in {region} failed: {reason}")
    status, reason = replication_status(replica, region)
    if status in (REPLICATION_FAILED, REPLICA_DELETION_FAILED):
        raise ReplicationError(f"replica of {instance_id} in {region}: {status}: {reason}")
    if status == REPLICA_DELETING:
        logger.info("an earlier replica is still being deleted; waiting to replicate again")
        return {"IsComplete": False}
    if instance.get("InstanceStatus") == "ACTIVE" and status == REPLICATION_COMPLETE:
        return {"IsComplete": True, "Data": {"ReplicaArn": instance["Arn"]}}
    logger.info("replica not ready", extra={"instance_status": instance.get("InstanceStatus"), "status": status})
    started = _started(event)
    if hand_over <= 0 or started is None or now() - started < hand_over:
        return {"IsComplete": False}
    # This window's hour is nearly up and Connect is still copying, which is no failure.
    minutes = round((now() - started) / 60)
    if window < windows:
        logger.info("handing the wait over to the next window", extra={"window": window, "status": status})
        arn = instance.get("Arn") or replica_arn_of(event, instance_id, region)
        return {"IsComplete": True, "Data": {"ReplicaArn": arn, "HandedOver": status or "not reported"}}
    raise ReplicationError(
        f"Connect is still replicating {instance_id} into {region} ({status or 'no status yet'}: {reason}) after "
        f"{windows} windows of waiting (this one {minutes} minutes); CloudFormation gives a custom resource one "
        "hour each. Connect goes on replicating. If this deploy runs with rollback disabled (ivr deploy primary "
        "--no-rollback, or cdk deploy --no-rollback), deploy again: the wait resumes for another window on the "
        "same replica. Otherwise the rollback deletes the replica; deploy again once Connect is less busy "
        f"(DescribeInstance in {region} shows the replication status)"
    )


def replica_arn_of(event: CloudFormationCustomResourceEvent, instance_id: str, region: str) -> str:
    """The replica's ARN when DescribeInstance did not give it: the source's, with the replica's Region (the
    replica keeps the instance id)."""
    partition, account = event.stack_id.split(":")[1], event.stack_id.split(":")[4]
    return f"arn:{partition}:connect:{region}:{account}:instance/{instance_id}"
