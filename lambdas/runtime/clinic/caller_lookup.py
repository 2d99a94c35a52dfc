"""Contact-flow function: identify the caller by the number they call from.

Connect reads the answer as ``$.External.patientFound``, ``$.External.patientId``, ``$.External.firstName`` and
``$.External.error``: a flat map of strings, as InvokeLambdaFunction requires, whatever the event held.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from clinic.contact import connect_event, read_contact
from clinic.observability import logger, metrics, tracer
from clinic.repository import Repository
from clinic.settings import settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import ConnectContactFlowEvent


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(settings().table_name)


def lookup(phone: str | None, repo: Repository) -> dict[str, str]:
    """The flow's view of the caller: always the same keys, so the flow can test them."""
    patient = repo.patient_by_phone(phone) if phone else None
    if patient is None:
        return {"patientFound": "false", "patientId": "", "firstName": "", "error": "false"}
    return {"patientFound": "true", "patientId": patient.patient_id, "firstName": patient.first_name, "error": "false"}


#: The answer to an event that is not Connect-shaped: the flow treats the caller as unknown.
MALFORMED = {"patientFound": "false", "patientId": "", "firstName": "", "error": "true"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@connect_event
def handler(event: ConnectContactFlowEvent, _context: LambdaContext) -> dict[str, Any]:
    contact = read_contact(event)
    logger.append_keys(contact_id=contact.contact_id)
    if not contact.shaped:
        logger.warning("event without Details.ContactData: answering as an unknown caller")
        metrics.add_metric(name="MalformedEvent", unit=MetricUnit.Count, value=1)
        return dict(MALFORMED)
    answer = lookup(contact.phone, repository())
    metrics.add_metric(
        name="CallerKnown" if answer["patientFound"] == "true" else "CallerUnknown", unit=MetricUnit.Count, value=1
    )
    logger.info("caller looked up", extra={"patient_found": answer["patientFound"]})
    return answer
