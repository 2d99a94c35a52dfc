"""The handler that lists quick connects on a queue, called in-process with CloudFormation event shapes.

Connect calls go through botocore's Stubber, which validates every request against the real Connect model (so a
chunk of more than Connect takes would fail the test as it would fail in the cloud). A handler signals failure by
raising: the Provider framework turns that into FAILED for CloudFormation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import FakeLambdaContext, load_event, load_handler

handler = load_handler("connect/queue_quick_connects/runtime/handler.py", "queue_quick_connects_handler")

INSTANCE = "11111111-2222-3333-4444-555555555555"
INSTANCE_ARN = f"arn:aws:connect:us-east-1:111111111111:instance/{INSTANCE}"
QUEUE = "aaaaaaaa-0000-0000-0000-000000000001"
OTHER_QUEUE = "aaaaaaaa-0000-0000-0000-000000000002"


def queue_arn(queue_id: str = QUEUE) -> str:
    return f"{INSTANCE_ARN}/queue/{queue_id}"


def quick_connect_ids(count: int, start: int = 0) -> list[str]:
    return [f"bbbbbbbb-0000-0000-0000-{i:012d}" for i in range(start, start + count)]


def arns(ids: list[str]) -> list[str]:
    return [f"{INSTANCE_ARN}/transfer-destination/{i}" for i in ids]


def props(ids: list[str], queue_id: str = QUEUE) -> dict[str, Any]:
    return {"QueueArn": queue_arn(queue_id), "QuickConnectArns": arns(ids)}


def cfn_event(
    request: str, properties: dict[str, Any], old: dict[str, Any] | None = None, physical: str | None = None
) -> dict[str, Any]:
    event = load_event("cfnCustomResourceEvent")
    event["RequestType"] = request
    event["ResourceProperties"].update(properties)
    if old is not None:
        event["OldResourceProperties"] = {"ServiceToken": event["ServiceToken"], **old}
    if physical is not None:
        event["PhysicalResourceId"] = physical
    return event


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("connect", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.activate()
    monkeypatch.setattr(handler, "connect_client", lambda: client)
    yield stubber
    stubber.assert_no_pending_responses()


def expect(stub: Stubber, operation: str, ids: list[str], queue_id: str = QUEUE, error: str | None = None) -> None:
    params = {"InstanceId": INSTANCE, "QueueId": queue_id, "QuickConnectIds": ids}
    if error is None:
        stub.add_response(operation, {}, params)
    else:
        stub.add_client_error(operation, error, f"{error} from Connect", 404, expected_params=params)


def run(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler.on_event(event, FakeLambdaContext())
    return result


def _model_max(operation: str) -> int:
    model = boto3.client("connect", region_name="us-east-1").meta.service_model
    return int(model.operation_model(operation).input_shape.members["QuickConnectIds"].metadata["max"])


def test_the_chunk_is_what_connect_takes_in_one_call() -> None:
    # GIVEN botocore's Connect model WHEN the two calls' QuickConnectIds bounds are read
    # THEN the handler's chunk is exactly the most Connect takes (more fails; fewer makes needless calls)
    assert handler.CHUNK == _model_max("AssociateQueueQuickConnects") == _model_max("DisassociateQueueQuickConnects")


def test_create_lists_every_quick_connect_on_the_queue(stub: Stubber) -> None:
    # GIVEN a queue and three quick connects
    ids = quick_connect_ids(3)
    # WHEN the resource is created THEN one call lists them all, by id, and the physical id names the queue
    expect(stub, "associate_queue_quick_connects", ids)
    result = run(cfn_event("Create", props(ids)))
    assert result["PhysicalResourceId"] == f"{queue_arn()}/quick-connects"


def test_a_long_list_goes_in_chunks_connect_accepts(stub: Stubber) -> None:
    # GIVEN more quick connects than one call takes: two full chunks and a remainder
    ids = quick_connect_ids(handler.CHUNK * 2 + 7)
    # WHEN the resource is created THEN they are listed in order, a chunk a call (the Stubber checks each size)
    for start in range(0, len(ids), handler.CHUNK):
        expect(stub, "associate_queue_quick_connects", ids[start : start + handler.CHUNK])
    run(cfn_event("Create", props(ids)))


def test_a_create_that_fails_part_way_releases_what_it_listed_and_names_the_queue(stub: Stubber) -> None:
    # GIVEN a list of two chunks whose second Connect refuses
    ids = quick_connect_ids(handler.CHUNK + 1)
    first, second = ids[: handler.CHUNK], ids[handler.CHUNK :]
    expect(stub, "associate_queue_quick_connects", first)
    stub.add_client_error("associate_queue_quick_connects", "LimitExceededException", "too many", 429)
    # THEN the first chunk is released again (the Provider framework never sends Delete for a failed Create)
    expect(stub, "disassociate_queue_quick_connects", first)
    # AND the error names the queue, the refused quick connects and Connect's reason
    with pytest.raises(handler.QueueQuickConnectsError) as raised:
        run(cfn_event("Create", props(ids)))
    message = str(raised.value)
    assert queue_arn() in message and second[0] in message and "LimitExceededException" in message
    assert f"released the {len(first)}" in message


def test_update_lists_the_added_and_releases_the_removed_only(stub: Stubber) -> None:
    # GIVEN a queue that listed a, b, c and now lists b, c, d, e
    a, b, c, d, e = quick_connect_ids(5)
    physical = f"{queue_arn()}/quick-connects"
    # WHEN updated THEN the added are listed first, then the removed released; the kept are not touched
    expect(stub, "associate_queue_quick_connects", [d, e])
    expect(stub, "disassociate_queue_quick_connects", [a])
    result = run(cfn_event("Update", props([b, c, d, e]), old=props([a, b, c]), physical=physical))
    assert result["PhysicalResourceId"] == physical


def test_an_update_that_changes_nothing_calls_nothing(stub: Stubber) -> None:
    # GIVEN the same list in another order WHEN updated THEN no call is made (the Stubber has no response queued)
    ids = quick_connect_ids(3)
    physical = f"{queue_arn()}/quick-connects"
    result = run(cfn_event("Update", props(list(reversed(ids))), old=props(ids), physical=physical))
    assert result["PhysicalResourceId"] == physical


def test_an_update_to_another_queue_lists_all_there_and_leaves_the_old_queue_to_delete(stub: Stubber) -> None:
    # GIVEN the queue was replaced (a new queue id)
    ids = quick_connect_ids(2)
    old_physical = f"{queue_arn()}/quick-connects"
    # WHEN updated THEN the whole list goes on the new queue, under a new physical id (CloudFormation then deletes
    # the old one, whose Delete releases the old queue)
    expect(stub, "associate_queue_quick_connects", ids, OTHER_QUEUE)
    result = run(cfn_event("Update", props(ids, OTHER_QUEUE), old=props(ids), physical=old_physical))
    assert result["PhysicalResourceId"] == f"{queue_arn(OTHER_QUEUE)}/quick-connects"


def test_delete_releases_every_quick_connect_in_chunks(stub: Stubber) -> None:
    # GIVEN a queue with more quick connects than one call takes
    ids = quick_connect_ids(handler.CHUNK + 3)
    physical = f"{queue_arn()}/quick-connects"
    # WHEN deleted THEN all are released, a chunk a call
    expect(stub, "disassociate_queue_quick_connects", ids[: handler.CHUNK])
    expect(stub, "disassociate_queue_quick_connects", ids[handler.CHUNK :])
    assert run(cfn_event("Delete", props(ids), physical=physical))["PhysicalResourceId"] == physical


def test_a_quick_connect_already_gone_does_not_keep_the_others_listed(stub: Stubber) -> None:
    # GIVEN three quick connects, the second of which was deleted already: Connect refuses the chunk
    first, gone, third = quick_connect_ids(3)
    expect(stub, "disassociate_queue_quick_connects", [first, gone, third], error="ResourceNotFoundException")
    # WHEN deleted THEN each is released on its own, the gone one counting as released
    expect(stub, "disassociate_queue_quick_connects", [first])
    expect(stub, "disassociate_queue_quick_connects", [gone], error="ResourceNotFoundException")
    expect(stub, "disassociate_queue_quick_connects", [third])
    run(cfn_event("Delete", props([first, gone, third]), physical=f"{queue_arn()}/quick-connects"))


def test_a_queue_already_gone_is_released_already(stub: Stubber) -> None:
    # GIVEN a queue that no longer exists: Connect refuses every call as not found
    ids = quick_connect_ids(2)
    expect(stub, "disassociate_queue_quick_connects", ids, error="ResourceNotFoundException")
    for one in ids:
        expect(stub, "disassociate_queue_quick_connects", [one], error="ResourceNotFoundException")
    # WHEN deleted THEN the delete succeeds
    physical = f"{queue_arn()}/quick-connects"
    assert run(cfn_event("Delete", props(ids), physical=physical))["PhysicalResourceId"] == physical


def test_any_other_refusal_fails_the_delete(stub: Stubber) -> None:
    # GIVEN Connect refuses the release for a reason other than not found
    ids = quick_connect_ids(2)
    stub.add_client_error("disassociate_queue_quick_connects", "AccessDeniedException", "no", 403)
    # WHEN deleted THEN the handler raises, and CloudFormation shows the failure
    with pytest.raises(handler.ClientError):
        run(cfn_event("Delete", props(ids), physical=f"{queue_arn()}/quick-connects"))


def test_a_queue_arn_that_is_not_one_is_named() -> None:
    # GIVEN a quick connect's ARN where the queue's belongs WHEN parsed THEN the error names the value
    wrong = arns(quick_connect_ids(1))[0]
    with pytest.raises(handler.QueueQuickConnectsError, match="is not a queue ARN"):
        handler.queue_ids(wrong)
