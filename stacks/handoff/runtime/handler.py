"""Custom resource: hand values from the primary stack to the DR region as SSM parameters.

A CloudFormation stack cannot write into another region. In global-resiliency mode the DR stack needs ids that
only the primary knows (the replicated instance, hours and queues, the traffic distribution group, claimed
numbers); this handler writes them into the DR region, where the DR stack reads them at deploy time.

Writing must reach the DR region (the DR stack depends on the values). Removing need not: when the region that
holds parameters to remove does not answer (no connection, a timeout), they are left there and logged, so that a
teardown or a move of the DR region during that region's outage does not wedge the primary stack in
DELETE_FAILED or UPDATE_ROLLBACK_FAILED for a few free String parameters.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from botocore.config import Config
from botocore.exceptions import ConnectionError as EndpointUnreachable
from botocore.exceptions import HTTPClientError

logger = Logger()
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8})
_BATCH = 10  # DeleteParameters takes at most 10 names


def ssm_client(region: str) -> Any:
    return boto3.client("ssm", region_name=region, config=RETRIES)


def write(client: Any, parameters: dict[str, str]) -> None:
    for name, value in sorted(parameters.items()):
        client.put_parameter(
            Name=name,
            Value=value,
            Type="String",
            Overwrite=True,
            Description="Written by the IVR kit's primary stack for the DR stack",
        )


def remove(client: Any, names: list[str]) -> None:
    """Delete the parameters; if their region does not answer, leave them and log which (see the module doc)."""
    for start in range(0, len(names), _BATCH):
        try:
            client.delete_parameters(Names=names[start : start + _BATCH])  # missing names are reported, not raised
        except (EndpointUnreachable, HTTPClientError) as exc:  # EndpointConnectionError, ConnectTimeout, ReadTimeout
            left = {"region": client.meta.region_name, "left": names[start:], "error": str(exc)}
            logger.warning("region did not answer; parameters left in place", extra=left)
            return


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    props = event.resource_properties
    region, parameters = props["Region"], dict(props.get("Parameters") or {})
    client = ssm_client(region)
    logger.info("handoff event", extra={"request": event.request_type, "count": len(parameters)})
    if event.request_type == "Create":
        write(client, parameters)
        return {"PhysicalResourceId": f"{region}:{event.logical_resource_id}"}
    if event.request_type == "Update":
        old = event.old_resource_properties
        write(client, parameters)
        if old.get("Region") == region:
            remove(client, sorted(set(old.get("Parameters") or {}) - set(parameters)))
        else:
            remove(ssm_client(old["Region"]), sorted(old.get("Parameters") or {}))
        return {"PhysicalResourceId": event.physical_resource_id}
    remove(client, sorted(parameters))
    return {"PhysicalResourceId": event.physical_resource_id}
