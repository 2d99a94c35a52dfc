"""The replica's flow-log group, adopted by the DR stack: the handler, with botocore's Stubber (moto's CloudWatch
Logs has no AssociateKmsKey)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import FakeLambdaContext, load_event, load_handler

NAME = "/aws/connect/clinic-ivr-dr"
KEY = "arn:aws:kms:us-west-2:111111111111:key/11111111-2222-3333-4444-555555555555"
handler = load_handler("connect/flow_logs/runtime/handler.py", "flow_log_adoption_handler")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("logs", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(handler, "logs_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def event(request: str, *, keep: bool) -> Any:
    raw = load_event("cfnCustomResourceEvent")
    raw["RequestType"] = request
    raw["PhysicalResourceId"] = NAME
    raw["ResourceProperties"].update(
        {"LogGroupName": NAME, "RetentionInDays": "90", "KmsKeyArn": KEY, "Keep": str(keep).lower()}
    )
    return raw


def test_a_group_connect_already_made_gets_retention_and_the_key(stub: Stubber) -> None:
    # GIVEN Connect created the replica's group at replication
    stub.add_client_error("create_log_group", "ResourceAlreadyExistsException", expected_params={
        "logGroupName": NAME, "kmsKeyId": KEY})  # fmt: skip
    # THEN the DR stack sets its retention and associates its key
    stub.add_response("put_retention_policy", {}, {"logGroupName": NAME, "retentionInDays": 90})
    stub.add_response("associate_kms_key", {}, {"logGroupName": NAME, "kmsKeyId": KEY})
    assert handler.on_event(event("Create", keep=True), FakeLambdaContext())["PhysicalResourceId"] == NAME


@pytest.mark.parametrize("keep", [True, False])
def test_delete_removes_the_group_only_in_the_dev_profile(stub: Stubber, keep: bool) -> None:
    if not keep:
        stub.add_response("delete_log_group", {}, {"logGroupName": NAME})
    handler.on_event(event("Delete", keep=keep), FakeLambdaContext())


def test_delete_of_a_group_already_gone_succeeds(stub: Stubber) -> None:
    stub.add_client_error("delete_log_group", "ResourceNotFoundException")
    handler.on_event(event("Delete", keep=False), FakeLambdaContext())
