"""Custom resource: the DR-region replica of the appointments table's multi-Region KMS key.

A DynamoDB global table encrypted with a customer-managed key needs a key in every replica's region when the
table is created, and the primary stack creates the table (with its DR replica) before the DR stack exists. A
CloudFormation stack cannot create a resource in another region, so this handler replicates the primary stack's
multi-Region key into the DR region (KMS ReplicateKey, which keeps the key id: the replica's ARN differs only by
region), waits until the replica is Enabled, and on delete schedules the replica's deletion unless the data
profile keeps data (then the replica stays, like the primary key and the table).
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
#: KMS ScheduleKeyDeletion: 7 to 30 days of waiting (KMS API reference).
PENDING_DAYS = 7


class ReplicaKeyError(RuntimeError):
    """The replica cannot be made; the message names the key and the region."""


def kms_client(region: str) -> Any:
    return boto3.client("kms", region_name=region, config=RETRIES)


def _props(event: CloudFormationCustomResourceEvent) -> tuple[str, str, str, bool, str]:
    props = event.resource_properties
    return (
        str(props["KeyId"]),
        str(props["SourceRegion"]),
        str(props["ReplicaRegion"]),
        str(props.get("Keep", "true")).lower() == "true",
        str(props.get("Description", "")),
    )


def replica_arn(source_arn: str, replica_region: str) -> str:
    """A multi-Region key's replica ARN: the primary's, with the replica's region (same key id)."""
    parts = source_arn.split(":")
    return ":".join([*parts[:3], replica_region, *parts[4:]])


def describe(client: Any, key_id: str) -> dict[str, Any] | None:
    try:
        return dict(client.describe_key(KeyId=key_id)["KeyMetadata"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NotFoundException":
            return None
        raise


def replicate(key_id: str, source: str, replica_region: str, description: str) -> str:
    """Replicate the key unless a replica exists already in the region; the replica's ARN."""
    primary = describe(kms_client(source), key_id)
    if primary is None:
        raise ReplicaKeyError(f"key {key_id} not found in {source}")
    arn = replica_arn(str(primary["Arn"]), replica_region)
    existing = describe(kms_client(replica_region), arn)
    if existing is not None and existing.get("KeyState") not in ("PendingDeletion", "PendingReplicaDeletion"):
        return arn
    if existing is not None:
        kms_client(replica_region).cancel_key_deletion(KeyId=arn.rsplit("/", 1)[-1])
        kms_client(replica_region).enable_key(KeyId=arn.rsplit("/", 1)[-1])
        return arn
    kms_client(source).replicate_key(KeyId=key_id, ReplicaRegion=replica_region, Description=description)
    return arn


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    key_id, source, replica_region, keep, description = _props(event)
    logger.info("replica key event", extra={"request": event.request_type, "region": replica_region})
    if event.request_type in ("Create", "Update"):
        arn = replicate(key_id, source, replica_region, description)
        # A new region or key is a new replica: CloudFormation then deletes the old physical id.
        return {"PhysicalResourceId": arn, "Data": {"Arn": arn}}
    arn = event.physical_resource_id
    if keep or not arn.startswith("arn:"):
        return {"PhysicalResourceId": arn}
    try:
        # The client is in the replica's region, so the key id names the replica.
        kms_client(replica_region_of(arn)).schedule_key_deletion(
            KeyId=arn.rsplit("/", 1)[-1], PendingWindowInDays=PENDING_DAYS
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NotFoundException", "KMSInvalidStateException"):
            raise
    return {"PhysicalResourceId": arn}


def replica_region_of(arn: str) -> str:
    return arn.split(":")[3]


@event_source(data_class=CloudFormationCustomResourceEvent)
def is_complete(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    if event.request_type == "Delete":
        return {"IsComplete": True}
    arn = event.physical_resource_id
    state = (describe(kms_client(replica_region_of(arn)), arn) or {}).get("KeyState")
    if state in ("PendingDeletion", "PendingReplicaDeletion", "Unavailable"):
        raise ReplicaKeyError(f"replica key {arn} is {state}")
    return {"IsComplete": state == "Enabled", "Data": {"Arn": arn}}
