"""Recordings are replicated into the DR region: the custom-resource handler against moto's S3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.conftest import FakeLambdaContext, load_event, load_handler

PRIMARY, DR = "us-east-1", "us-west-2"
SOURCE, DESTINATION = "clinic-rec-111111111111-us-east-1", "clinic-rec-111111111111-us-west-2"
KEY = "arn:aws:kms:us-west-2:111111111111:key/dr-key"
ROLE = "arn:aws:iam::111111111111:role/replication"
PRIMARY_KEY_ALIAS = "arn:aws:kms:us-east-1:111111111111:alias/clinic-recordings"
handler = load_handler("connect/recordings_replication/runtime/handler.py", "recordings_replication_handler")


@pytest.fixture
def buckets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        for name, region in ((SOURCE, PRIMARY), (DESTINATION, DR)):
            s3 = boto3.client("s3", region_name=region)
            if region == PRIMARY:
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        yield boto3.client("s3", region_name=PRIMARY)


def event(request: str) -> Any:
    raw = load_event("cfnCustomResourceEvent")
    raw["RequestType"] = request
    raw["PhysicalResourceId"] = f"{PRIMARY}:{SOURCE}:recordings-to-peer"
    raw["ResourceProperties"].update(
        {
            "SourceBucket": SOURCE,
            "SourceRegion": PRIMARY,
            "RoleArn": ROLE,
            "DestinationBucketArn": f"arn:aws:s3:::{DESTINATION}",
            "DestinationKeyArn": KEY,
            "Reverse": {
                "SourceBucket": DESTINATION,
                "SourceRegion": DR,
                "DestinationBucketArn": f"arn:aws:s3:::{SOURCE}",
                "DestinationKeyArn": PRIMARY_KEY_ALIAS,
            },
        }
    )
    return raw


def test_create_replicates_every_recording_under_the_dr_key(buckets: Any) -> None:
    # GIVEN the two versioned recordings buckets WHEN the DR stack creates the replication
    handler.on_event(event("Create"), FakeLambdaContext())
    # THEN the primary's bucket replicates KMS-encrypted objects to the DR bucket, re-encrypted with the DR key,
    # and does not propagate deletions
    config = buckets.get_bucket_replication(Bucket=SOURCE)["ReplicationConfiguration"]
    assert config["Role"] == ROLE
    (rule,) = config["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{DESTINATION}"
    assert rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == KEY
    assert rule["DeleteMarkerReplication"]["Status"] == "Disabled"
    # AND calls recorded in the DR region (during a failover) go back to the primary under the primary's key
    back = boto3.client("s3", region_name=DR).get_bucket_replication(Bucket=DESTINATION)["ReplicationConfiguration"]
    (rule,) = back["Rules"]
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{SOURCE}"
    assert rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == PRIMARY_KEY_ALIAS


def test_the_rule_selects_kms_encrypted_recordings_and_fits_the_s3_model() -> None:
    # moto does not keep SourceSelectionCriteria; botocore's Stubber checks the request against S3's model
    from botocore.stub import Stubber

    config = handler.configuration(ROLE, f"arn:aws:s3:::{DESTINATION}", KEY)
    # GIVEN the rule WHEN read THEN SSE-KMS objects (all recordings) are selected: S3 skips them otherwise
    assert config["Rules"][0]["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"] == "Enabled"
    client = boto3.client("s3", region_name=PRIMARY, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("put_bucket_replication", {}, {"Bucket": SOURCE, "ReplicationConfiguration": config})
        client.put_bucket_replication(Bucket=SOURCE, ReplicationConfiguration=config)
        stub.assert_no_pending_responses()


def test_delete_removes_the_rule_and_tolerates_a_deleted_bucket(buckets: Any) -> None:
    handler.on_event(event("Create"), FakeLambdaContext())
    # WHEN the DR stack is deleted THEN the primary's bucket no longer replicates
    handler.on_event(event("Delete"), FakeLambdaContext())
    with pytest.raises(ClientError, match="ReplicationConfigurationNotFound"):
        buckets.get_bucket_replication(Bucket=SOURCE)
    with pytest.raises(ClientError, match="ReplicationConfigurationNotFound"):
        boto3.client("s3", region_name=DR).get_bucket_replication(Bucket=DESTINATION)
    # AND deleting again after the primary bucket is gone succeeds (teardown goes on)
    buckets.delete_bucket(Bucket=SOURCE)
    assert handler.on_event(event("Delete"), FakeLambdaContext())["PhysicalResourceId"].endswith("recordings-to-peer")
