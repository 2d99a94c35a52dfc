"""Contact-flow function: identify the caller by the number they call from.

Connect reads the answer as ``$.External.patientFound``, ``$.External.patientId`` and
``$.External.firstName``: a flat map of strings, as InvokeLambdaFunction requires.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import ConnectContactFlowEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from clinic.observability import logger, metrics, tracer
from clinic.repository import Repository
from clinic.settings import settings


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(settings().table_name)


def lookup(phone: str | None, repo: Repository) -> dict[str, str]:
    """The flow's view of the caller: always the same keys, so the flow can test them."""
    patient = repo.patient_by_phone(phone) if phone else None
    if patient is None:
        return {"patientFound": "false", "patientId": "", "firstName": ""}
    return {"patientFound": "true", "patientId": patient.patient_id, "firstName": patient.first_name}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=ConnectContactFlowEvent)
def handler(event: ConnectContactFlowEvent, _context: LambdaContext) -> dict[str, Any]:
    endpoint = event.contact_data.customer_endpoint
    phone = endpoint.address if endpoint else None
    logger.append_keys(contact_id=event.contact_data.contact_id)
    answer = lookup(phone, repository())
    metrics.add_metric(
        name="CallerKnown" if answer["patientFound"] == "true" else "CallerUnknown", unit=MetricUnit.Count, value=1
    )
    logger.info("caller looked up", extra={"patient_found": answer["patientFound"]})
    return answer
