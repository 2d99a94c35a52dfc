"""Custom resource: replicate the Connect instance into the DR region (Connect Global Resiliency).

CloudFormation has no resource for ReplicateInstance. ``on_event`` starts the replication (or the deletion of the
replica); ``is_complete`` polls DescribeInstance in the replica region until the replica is ACTIVE (or gone).
Both are idempotent: a retried Create finds the replica and does not ask again. Any failure raises, which the
Provider framework reports to CloudFormation as FAILED.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8})


class ReplicationError(RuntimeError):
    """The replica cannot be made or removed; the message says why and what to do."""


def connect_client(region: str) -> Any:
    return boto3.client("connect", region_name=region, config=RETRIES)


def describe_replica(client: Any, instance_id: str) -> dict[str, Any] | None:
    """The replica as DescribeInstance sees it in the replica region, or None if there is none."""
    try:
        return dict(client.describe_instance(InstanceId=instance_id)["Instance"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _props(event: CloudFormationCustomResourceEvent) -> tuple[str, str, str, str]:
    props = event.resource_properties
    try:
        return props["InstanceId"], props["SourceRegion"], props["ReplicaRegion"], props["ReplicaAlias"]
    except KeyError as missing:
        raise ReplicationError(f"resource property {missing} is required") from None


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    instance_id, source, replica_region, alias = _props(event)
    physical_id = f"{instance_id}@{replica_region}"
    logger.info("replication event", extra={"request": event.request_type, "replica_region": replica_region})
    if event.request_type == "Update":
        old = event.old_resource_properties
        if (old.get("InstanceId"), old.get("ReplicaRegion"), old.get("ReplicaAlias")) != (
            instance_id,
            replica_region,
            alias,
        ):
            raise ReplicationError(
                "the replica's instance, region or alias cannot change in place; remove the replica from the "
                "deployment (dr_mode: standalone), deploy, then set the new values"
            )
        return {"PhysicalResourceId": event.physical_resource_id}
    replica_client = connect_client(replica_region)
    existing = describe_replica(replica_client, instance_id)
    if event.request_type == "Create":
        if existing is None:
            connect_client(source).replicate_instance(
                InstanceId=instance_id,
                ReplicaRegion=replica_region,
                ReplicaAlias=alias,
                ClientToken=event.request_id[:500],
            )
        return {"PhysicalResourceId": physical_id}
    if existing is not None and existing.get("InstanceStatus") != "DELETION_IN_PROGRESS":
        replica_client.delete_instance(InstanceId=instance_id)
    return {"PhysicalResourceId": event.physical_resource_id}


@event_source(data_class=CloudFormationCustomResourceEvent)
def is_complete(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    instance_id, _, replica_region, _ = _props(event)
    replica = describe_replica(connect_client(replica_region), instance_id)
    if event.request_type == "Delete":
        return {"IsComplete": replica is None}
    if replica is None:
        return {"IsComplete": False}
    status = replica.get("InstanceStatus")
    if status == "CREATION_FAILED":
        reason = (replica.get("StatusReason") or {}).get("Message", "no reason given")
        raise ReplicationError(f"replica of {instance_id} in {replica_region} failed: {reason}")
    if status != "ACTIVE":
        return {"IsComplete": False}
    return {"IsComplete": True, "Data": {"ReplicaArn": replica["Arn"]}}
