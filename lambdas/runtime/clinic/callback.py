"""Contact-flow function: record an after-hours callback request for the caller's number."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from clinic import clock
from clinic.contact import connect_event, read_contact
from clinic.observability import logger, metrics, tracer
from clinic.repository import Repository
from clinic.settings import settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import ConnectContactFlowEvent


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(settings().table_name)


def request_callback(phone: str | None, contact_id: str | None, now: datetime, repo: Repository) -> dict[str, str]:
    """Store the request; a caller with a withheld number cannot be called back, a contact without an id has
    no reference to give."""
    if not phone:
        return {"callbackQueued": "false", "reason": "NoCallerNumber", "reference": "", "error": "false"}
    if not contact_id:
        return {"callbackQueued": "false", "reason": "NoContactId", "reference": "", "error": "true"}
    reference = repo.request_callback(phone, contact_id, now)
    return {"callbackQueued": "true", "reason": "", "reference": reference, "error": "false"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@connect_event
def handler(event: ConnectContactFlowEvent, _context: LambdaContext) -> dict[str, Any]:
    contact = read_contact(event)
    if not contact.shaped:
        logger.warning("event without Details.ContactData: no callback recorded")
        metrics.add_metric(name="MalformedEvent", unit=MetricUnit.Count, value=1)
        return {"callbackQueued": "false", "reason": "MalformedEvent", "reference": "", "error": "true"}
    answer = request_callback(contact.phone, contact.contact_id, clock.now(settings().time_zone), repository())
    if answer["callbackQueued"] == "true":
        metrics.add_metric(name="CallbackRequested", unit=MetricUnit.Count, value=1)
    logger.info("callback request", extra=answer)
    return answer
