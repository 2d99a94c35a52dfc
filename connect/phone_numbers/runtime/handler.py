"""Custom resource: point claimed phone numbers at a contact flow (AssociatePhoneNumberContactFlow).

CloudFormation has no resource that ties a number to a flow. Create associates every number; Update associates
the new set and releases numbers that left it; Delete releases every number from the flow (the numbers stay
claimed). Associating twice is harmless, so a retried event is safe.

A Create that fails part-way releases the numbers it had already pointed at the flow before it fails: the CDK
Provider framework answers the rollback's Delete of a failed Create itself, without calling this handler
(aws-cdk-lib custom-resources, provider-framework/runtime/cfn-response.js: "ignoring DELETE event caused by a
failed CREATE event"), so nothing else would undo them. A failed Update needs no such care: CloudFormation's
rollback sends an Update back to the old properties, which this handler applies.

The physical id names the instance. An Update that moves the numbers to another instance therefore returns a new
physical id: CloudFormation then sends Delete for the old id, with the old properties, in its clean-up phase (or,
if the update rolls back, for the new one), so the old instance's associations are released exactly once and a
rollback always has something consistent to undo.
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


class AssociationError(RuntimeError):
    """A number could not be associated; the message names the number and Connect's reason."""


def connect_client() -> Any:
    return boto3.client("connect", config=RETRIES)


def flow_id(flow: str) -> str:
    """The flow id from an id or a flow ARN (``.../instance/<i>/contact-flow/<id>``)."""
    return flow.rsplit("/", 1)[-1]


def _numbers(props: dict[str, Any]) -> list[str]:
    value = props.get("PhoneNumberArns") or []
    return [value] if isinstance(value, str) else list(value)


def associate(client: Any, instance_id: str, flow: str, numbers: list[str], *, undo: bool = False) -> None:
    """Point each number at the flow; on a failure, with ``undo``, release those already pointed, then raise."""
    done: list[str] = []
    for number in numbers:
        try:
            client.associate_phone_number_contact_flow(
                PhoneNumberId=number, InstanceId=instance_id, ContactFlowId=flow_id(flow)
            )
        except ClientError as exc:
            error = exc.response["Error"]
            after = _undo(client, instance_id, done) if undo and done else ""
            raise AssociationError(
                f"cannot point {number} at flow {flow}: {error['Code']}: {error.get('Message', '')}{after}"
            ) from exc
        done.append(number)


def _undo(client: Any, instance_id: str, numbers: list[str]) -> str:
    """Release the numbers a failed Create had pointed; what the error message adds about them."""
    kept: list[str] = []
    for number in numbers:
        try:
            release(client, instance_id, [number])
        except ClientError:
            kept.append(number)
    released = [n for n in numbers if n not in kept]
    text = f"; released {', '.join(released)}, pointed before the failure" if released else ""
    if kept:
        text += (f"; {', '.join(kept)} could not be released and still point at the flow "
                 "(aws connect disassociate-phone-number-contact-flow)")  # fmt: skip
    return text


def release(client: Any, instance_id: str, numbers: list[str]) -> None:
    for number in numbers:
        try:
            client.disassociate_phone_number_contact_flow(PhoneNumberId=number, InstanceId=instance_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    props = event.resource_properties
    instance_id, flow, numbers = props["InstanceId"], props["ContactFlowArn"], _numbers(props)
    client = connect_client()
    logger.info("association event", extra={"request": event.request_type, "numbers": len(numbers)})
    own_id = f"{instance_id}/{event.logical_resource_id}"
    if event.request_type == "Create":
        associate(client, instance_id, flow, numbers, undo=True)
        return {"PhysicalResourceId": own_id}
    if event.request_type == "Update":
        old = event.old_resource_properties
        associate(client, instance_id, flow, numbers)
        if old.get("InstanceId") != instance_id:
            # Another instance: a replacement. CloudFormation's Delete of the old id releases the old instance.
            return {"PhysicalResourceId": own_id}
        release(client, instance_id, sorted(set(_numbers(old)) - set(numbers)))
        return {"PhysicalResourceId": event.physical_resource_id}
    release(client, instance_id, numbers)
    return {"PhysicalResourceId": event.physical_resource_id}
