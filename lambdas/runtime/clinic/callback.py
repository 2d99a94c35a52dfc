"""Contact-flow function: record an after-hours callback request for the caller's number."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import ConnectContactFlowEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from clinic import clock
from clinic.observability import logger, metrics, tracer
from clinic.repository import Repository
from clinic.settings import settings


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(settings().table_name)


def request_callback(phone: str | None, contact_id: str, now: datetime, repo: Repository) -> dict[str, str]:
    """Store the request; a caller with a withheld number cannot be called back."""
    if not phone:
        return {"callbackQueued": "false", "reason": "NoCallerNumber", "reference": ""}
    reference = repo.request_callback(phone, contact_id, now)
    return {"callbackQueued": "true", "reason": "", "reference": reference}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=ConnectContactFlowEvent)
def handler(event: ConnectContactFlowEvent, _context: LambdaContext) -> dict[str, Any]:
    data = event.contact_data
    endpoint = data.customer_endpoint
    answer = request_callback(
        endpoint.address if endpoint else None, data.contact_id, clock.now(settings().time_zone), repository()
    )
    if answer["callbackQueued"] == "true":
        metrics.add_metric(name="CallbackRequested", unit=MetricUnit.Count, value=1)
    logger.info("callback request", extra=answer)
    return answer
