"""Custom resource: replicate the primary region's recordings into the DR region's recordings bucket.

S3 replication is configured on the source bucket and needs the destination bucket (versioned) to exist. The
primary stack deploys first, so the DR stack, once its bucket exists, puts the replication configuration on the
primary's bucket (PutBucketReplication in the primary region) and removes it when it is deleted. It also puts
the reverse rule on its own bucket (``Reverse``), so that calls recorded in the DR region during a failover reach
the primary; S3 does not replicate replicas again, so the two rules do not loop. Recordings are
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
RULE_ID = "recordings-to-peer"


def s3_client(region: str) -> Any:
    return boto3.client("s3", region_name=region, config=RETRIES)


def configuration(role_arn: str, destination_bucket_arn: str, destination_key_arn: str) -> dict[str, Any]:
    """One rule: every object, KMS-encrypted ones included, to the other region's bucket under its key."""
    return {
        "Role": role_arn,
        "Rules": [
            {
                "ID": RULE_ID,
                "Priority": 1,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                # A deletion in one region does not delete the copy: the copy is what survives a mistake.
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                "Destination": {
                    "Bucket": destination_bucket_arn,
                    "EncryptionConfiguration": {"ReplicaKmsKeyID": destination_key_arn},
                },
            }
        ],
    }


def _rules(props: dict[str, Any]) -> list[dict[str, str]]:
    """The primary-to-DR rule and, when given, the DR-to-primary one."""
    keys = ("SourceBucket", "SourceRegion", "DestinationBucketArn", "DestinationKeyArn")
    rules = [{k: str(props[k]) for k in keys}]
    reverse = props.get("Reverse")
    if isinstance(reverse, dict):
        rules.append({k: str(reverse[k]) for k in keys})
    return rules


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    props = dict(event.resource_properties)
    rules = _rules(props)
    physical = f"{rules[0]['SourceRegion']}:{rules[0]['SourceBucket']}:{RULE_ID}"
    logger.info("recordings replication event", extra={"request": event.request_type, "rules": len(rules)})
    if event.request_type in ("Create", "Update"):
        for rule in rules:
            s3_client(rule["SourceRegion"]).put_bucket_replication(
                Bucket=rule["SourceBucket"],
                ReplicationConfiguration=configuration(
                    str(props["RoleArn"]), rule["DestinationBucketArn"], rule["DestinationKeyArn"]
                ),
            )
        return {"PhysicalResourceId": physical}
    for rule in rules:
        try:
            s3_client(rule["SourceRegion"]).delete_bucket_replication(Bucket=rule["SourceBucket"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchBucket":
                raise
    return {"PhysicalResourceId": event.physical_resource_id}
