"""Custom resource: the quick connects a queue lists, so that its agents see them in the CCP.

Connect shows an agent the quick connects of the queues in the agent's routing profile, and only those (admin
guide, "Create quick connects", Step 2: Enable agents to see quick connects). A queue lists them through
AssociateQueueQuickConnects (CreateQueue QuickConnectIds: "The quick connects available to agents who are working
the queue"). The kit creates queues in the main stack and quick connects in a nested stack after them, so the queue
cannot name them itself (AWS::Connect::Queue QuickConnectArns would make the queues wait for the quick connects,
which wait for the queues): this resource, one per queue, lists them once both exist.

Create associates every quick connect; Update associates the added and releases the removed (in that order, so the
CCP never loses a quick connect that stays); Delete releases them all. Both calls take 1 to 50 quick connects
(Connect API reference, AssociateQueueQuickConnects and DisassociateQueueQuickConnects, QuickConnectIds), so longer
lists go in chunks of ``CHUNK``. Releasing from a queue or a quick connect that no longer exists is done already.

A Create that fails part-way releases what it had associated before it fails: the CDK Provider framework answers the
rollback's Delete of a failed Create itself, without calling this handler (aws-cdk-lib custom-resources,
provider-framework/runtime/cfn-response.js), so nothing else would. The physical id names the queue: an Update that
moves the list to another queue (the queue was replaced) returns a new one, and CloudFormation's Delete of the old id
releases the old queue's list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8})
#: QuickConnectIds of one AssociateQueueQuickConnects or DisassociateQueueQuickConnects call: 1 to 50 items
#: (Connect API reference, both actions, Request Body; botocore's connect model says the same).
CHUNK = 50
_GONE = "ResourceNotFoundException"


class QueueQuickConnectsError(RuntimeError):
    """A queue could not list its quick connects; the message names the queue and Connect's reason."""


def connect_client() -> Any:
    return boto3.client("connect", config=RETRIES)


def queue_ids(queue_arn: str) -> tuple[str, str]:
    """The instance id and queue id of ``arn:...:instance/<instance>/queue/<queue>``."""
    parts = queue_arn.split("/")
    if len(parts) != 4 or parts[2] != "queue":
        raise QueueQuickConnectsError(f"{queue_arn!r} is not a queue ARN (arn:...:instance/<id>/queue/<id>)")
    return parts[1], parts[3]


def quick_connect_id(arn: str) -> str:
    """The id of ``arn:...:instance/<instance>/transfer-destination/<id>`` (an id stays an id)."""
    return arn.rsplit("/", 1)[-1]


def chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _ids(props: dict[str, Any]) -> list[str]:
    """The quick connect ids of the properties, in order, each once."""
    value = props.get("QuickConnectArns") or []
    arns = [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(quick_connect_id(str(arn)) for arn in arns))


def associate(client: Any, queue_arn: str, ids: Sequence[str], *, undo: bool = False) -> None:
    """List ``ids`` on the queue; on a failure, with ``undo``, release what this call had listed, then raise."""
    instance_id, queue_id = queue_ids(queue_arn)
    done: list[str] = []
    for chunk in chunks(ids):
        try:
            client.associate_queue_quick_connects(InstanceId=instance_id, QueueId=queue_id, QuickConnectIds=chunk)
        except ClientError as exc:
            error = exc.response["Error"]
            after = ""
            if undo and done:
                try:
                    disassociate(client, queue_arn, done)
                    after = f"; released the {len(done)} listed before the failure"
                except ClientError:
                    after = f"; {len(done)} listed before the failure could not be released"
            raise QueueQuickConnectsError(
                f"queue {queue_arn}: cannot list quick connects {', '.join(chunk)}: {error['Code']}: "
                f"{error.get('Message', '')}{after}"
            ) from exc
        done += chunk


def disassociate(client: Any, queue_arn: str, ids: Sequence[str]) -> None:
    """Release ``ids`` from the queue. A queue or a quick connect that is gone is released already: a chunk that
    Connect refuses as not found is retried one quick connect at a time, so that the others are still released."""
    instance_id, queue_id = queue_ids(queue_arn)
    for chunk in chunks(ids):
        try:
            client.disassociate_queue_quick_connects(InstanceId=instance_id, QueueId=queue_id, QuickConnectIds=chunk)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _GONE:
                raise
            if len(chunk) == 1:
                continue
            for one in chunk:
                try:
                    client.disassociate_queue_quick_connects(
                        InstanceId=instance_id, QueueId=queue_id, QuickConnectIds=[one]
                    )
                except ClientError as single:
                    if single.response["Error"]["Code"] != _GONE:
                        raise


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    props = event.resource_properties
    queue_arn, ids = str(props["QueueArn"]), _ids(props)
    logger.info("queue quick connects event", extra={"request": event.request_type, "quick_connects": len(ids)})
    client = connect_client()
    own_id = f"{queue_arn}/quick-connects"
    if event.request_type == "Create":
        associate(client, queue_arn, ids, undo=True)
        return {"PhysicalResourceId": own_id}
    if event.request_type == "Update":
        old = event.old_resource_properties
        if str(old.get("QueueArn")) != queue_arn:
            # Another queue: a replacement. CloudFormation's Delete of the old id releases the old queue's list.
            associate(client, queue_arn, ids)
            return {"PhysicalResourceId": own_id}
        before = _ids(old)
        associate(client, queue_arn, [i for i in ids if i not in before])
        disassociate(client, queue_arn, [i for i in before if i not in ids])
        return {"PhysicalResourceId": event.physical_resource_id}
    disassociate(client, queue_arn, ids)
    return {"PhysicalResourceId": event.physical_resource_id}
