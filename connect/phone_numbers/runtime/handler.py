"""Custom resource: point claimed phone numbers at a contact flow (AssociatePhoneNumberContactFlow).

CloudFormation has no resource that ties a number to a flow. Create associates every number; Update associates
the new set and releases numbers that left it; Delete releases every number from the flow (the numbers stay
claimed). Associating twice is harmless, so a retried event is safe.

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


def associate(client: Any, instance_id: str, flow: str, numbers: list[str]) -> None:
    for number in numbers:
        try:
            client.associate_phone_number_contact_flow(
                PhoneNumberId=number, InstanceId=instance_id, ContactFlowId=flow_id(flow)
            )
        except ClientError as exc:
            error = exc.response["Error"]
            raise AssociationError(
                f"cannot point {number} at flow {flow}: {error['Code']}: {error.get('Message', '')}"
            ) from exc


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
        associate(client, instance_id, flow, numbers)
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
