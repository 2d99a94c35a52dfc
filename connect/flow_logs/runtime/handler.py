"""Custom resource: take charge of the flow-log group Connect made for the replica instance.

In global-resiliency mode the replica is created by the primary stack's replication, and Connect creates the
replica's flow-log group ``/aws/connect/<replica alias>`` in the DR region then, before the DR stack exists (a
CloudFormation log group of that name would fail as already existing). The DR stack adopts it: it creates the group
if Connect has not, sets its retention, associates the DR stack's key, and on delete removes it unless the data
profile keeps data (CloudWatch Logs API reference: CreateLogGroup, PutRetentionPolicy, AssociateKmsKey,
DeleteLogGroup).
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


def logs_client() -> Any:
    return boto3.client("logs", config=RETRIES)


def adopt(client: Any, name: str, retention_days: int, key_arn: str) -> None:
    """Create the group if it is missing, then set its retention and key (both idempotent)."""
    try:
        client.create_log_group(logGroupName=name, kmsKeyId=key_arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    client.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
    client.associate_kms_key(logGroupName=name, kmsKeyId=key_arn)


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    props = event.resource_properties
    name = str(props["LogGroupName"])
    keep = str(props.get("Keep", "true")).lower() == "true"
    logger.info("flow-log group event", extra={"request": event.request_type, "group": name})
    client = logs_client()
    if event.request_type in ("Create", "Update"):
        adopt(client, name, int(props["RetentionInDays"]), str(props["KmsKeyArn"]))
        return {"PhysicalResourceId": name}
    if not keep:
        try:
            client.delete_log_group(logGroupName=event.physical_resource_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    return {"PhysicalResourceId": event.physical_resource_id}
