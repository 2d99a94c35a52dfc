"""Custom resource: replicate the primary region's recordings into the DR region's recordings bucket.

S3 replication is configured on the source bucket and needs the destination bucket (versioned) to exist. The
primary stack deploys first, so the DR stack, once its bucket exists, puts the replication configuration on the
primary's bucket (PutBucketReplication in the primary region) and removes it when it is deleted. Recordings are
SSE-KMS objects: the rule selects them (SourceSelectionCriteria.SseKmsEncryptedObjects) and re-encrypts the
replicas with the DR bucket's key (S3 user guide, "Replicating objects created with server-side encryption").
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
RULE_ID = "recordings-to-dr"


def s3_client(region: str) -> Any:
    return boto3.client("s3", region_name=region, config=RETRIES)


def configuration(role_arn: str, destination_bucket_arn: str, destination_key_arn: str) -> dict[str, Any]:
    """One rule: every object, KMS-encrypted ones included, to the DR bucket under the DR key."""
    return {
        "Role": role_arn,
        "Rules": [
            {
                "ID": RULE_ID,
                "Priority": 1,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                # A deletion in the primary does not delete the DR copy: the copy is what survives a mistake.
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                "Destination": {
                    "Bucket": destination_bucket_arn,
                    "EncryptionConfiguration": {"ReplicaKmsKeyID": destination_key_arn},
                },
            }
        ],
    }


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    props = event.resource_properties
    bucket, region = str(props["SourceBucket"]), str(props["SourceRegion"])
    physical = f"{region}:{bucket}:{RULE_ID}"
    logger.info("recordings replication event", extra={"request": event.request_type, "bucket": bucket})
    client = s3_client(region)
    if event.request_type in ("Create", "Update"):
        client.put_bucket_replication(
            Bucket=bucket,
            ReplicationConfiguration=configuration(
                str(props["RoleArn"]), str(props["DestinationBucketArn"]), str(props["DestinationKeyArn"])
            ),
        )
        return {"PhysicalResourceId": physical}
    try:
        client.delete_bucket_replication(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise
    return {"PhysicalResourceId": event.physical_resource_id}
