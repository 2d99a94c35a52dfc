"""The table key's replica in the DR region: the custom-resource handler against moto's KMS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import FakeLambdaContext, load_event, load_handler

PRIMARY, DR = "us-east-1", "us-west-2"
handler = load_handler("lambdas/table_key/runtime/handler.py", "table_key_handler")


@pytest.fixture
def key_id(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("kms", region_name=PRIMARY).create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]


def event(request: str, key_id: str, *, keep: bool = True, region: str = DR, physical: str | None = None) -> Any:
    raw = load_event("cfnCustomResourceEvent")
    raw["RequestType"] = request
    raw["ResourceProperties"].update(
        {"KeyId": key_id, "SourceRegion": PRIMARY, "ReplicaRegion": region, "Keep": str(keep).lower()}
    )
    if physical is not None:
        raw["PhysicalResourceId"] = physical
    return raw


def state(arn: str) -> str:
    region = arn.split(":")[3]
    return str(boto3.client("kms", region_name=region).describe_key(KeyId=arn)["KeyMetadata"]["KeyState"])


def test_create_replicates_the_key_into_the_dr_region_with_its_id(key_id: str) -> None:
    # GIVEN the primary stack's multi-Region key WHEN the replica resource is created
    answer = handler.on_event(event("Create", key_id), FakeLambdaContext())
    arn = answer["PhysicalResourceId"]
    # THEN the replica is in the DR region with the same key id, and is complete once Enabled
    assert arn.split(":")[3] == DR and arn.endswith(f"key/{key_id}")
    assert answer["Data"]["Arn"] == arn
    done = handler.is_complete({**event("Create", key_id), "PhysicalResourceId": arn}, FakeLambdaContext())
    assert state(arn) == "Enabled"
    assert done == {"IsComplete": True, "Data": {"Arn": arn}}


def test_create_again_reuses_the_replica(key_id: str) -> None:
    # GIVEN a replica made by an earlier attempt WHEN created again THEN the same replica is answered
    first = handler.on_event(event("Create", key_id), FakeLambdaContext())["PhysicalResourceId"]
    again = handler.on_event(event("Create", key_id), FakeLambdaContext())["PhysicalResourceId"]
    assert again == first
    keys = boto3.client("kms", region_name=DR).list_keys()["Keys"]
    assert [k["KeyId"] for k in keys] == [key_id]


@pytest.mark.parametrize(("keep", "expected"), [(True, "Enabled"), (False, "PendingDeletion")])
def test_delete_keeps_the_replica_only_when_the_data_is_kept(key_id: str, keep: bool, expected: str) -> None:
    # GIVEN a replica
    arn = handler.on_event(event("Create", key_id), FakeLambdaContext())["PhysicalResourceId"]
    # WHEN the resource is deleted THEN a production deployment keeps the replica, a dev one schedules deletion
    handler.on_event(event("Delete", key_id, keep=keep, physical=arn), FakeLambdaContext())
    assert state(arn) == expected
    assert handler.is_complete(event("Delete", key_id, physical=arn), FakeLambdaContext())["IsComplete"] is True


def test_a_missing_primary_key_is_named(key_id: str) -> None:
    missing = "mrk-00000000000000000000000000000000"
    with pytest.raises(handler.ReplicaKeyError, match=f"{missing} not found in {PRIMARY}"):
        handler.on_event(event("Create", missing), FakeLambdaContext())


def test_the_replica_arn_is_the_primary_arn_in_the_other_region() -> None:
    arn = "arn:aws:kms:us-east-1:111111111111:key/mrk-1234"
    assert handler.replica_arn(arn, DR) == "arn:aws:kms:us-west-2:111111111111:key/mrk-1234"


def _statements(gr_synth: Any, role_prefix: str) -> list[dict[str, Any]]:
    policies = gr_synth.resources("primary", "AWS::IAM::Policy")
    return [
        statement
        for name, policy in policies.items()
        if name.startswith(role_prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_replicate_key_is_bound_to_the_dr_region_with_kms_replica_region(gr_synth: Any) -> None:
    # GIVEN the sample's primary stack WHEN the key replicator's policy is read
    from regions.config import load_deployment
    from tests.conftest import ROOT

    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    statements = _statements(gr_synth, "TableKeyReplicatorOnEventRole")
    replicate = [s for s in statements if s["Action"] == "kms:ReplicateKey"]
    # THEN ReplicateKey is allowed only into the DR region, by the condition key KMS documents for it
    # (KMS developer guide, "Controlling access to multi-Region keys", "Replicating keys": kms:ReplicaRegion)
    assert [s["Condition"] for s in replicate] == [{"StringEquals": {"kms:ReplicaRegion": deployment.dr_region}}]
    # AND CreateKey, which has no resource, makes replica keys only
    create = [s for s in statements if s["Action"] == "kms:CreateKey"]
    assert [s["Condition"] for s in create] == [{"StringEquals": {"kms:MultiRegionKeyType": "REPLICA"}}]
    # AND no statement leans on aws:RequestedRegion, whose value for KMS's replica-side check is not documented
    assert "aws:RequestedRegion" not in json.dumps(_statements(gr_synth, "TableKeyReplicator"))
