"""Lex V2 code hook: book, cancel and check appointments.

Connect passes the caller's identity into the Lex session as the session attribute ``patientId`` (a flow attribute
set from the caller-lookup function's answer). The dialog hook validates dates and times; the fulfillment hook
writes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from clinic import clock
from clinic.lex_event import LexV2Event, close, delegate, elicit_intent, elicit_slot
from clinic.observability import logger, metrics, tracer
from clinic.repository import Appointment, Repository, SlotTakenError
from clinic.settings import Settings, settings

#: Session attributes the hook needs while the dialog lasts and hands back to nobody. Connect gives the flow the
#: session attributes of the bot's last answer as ``$.Lex.SessionAttributes`` (admin guide, "List of available
#: contact attributes": Amazon Lex contact attributes), so the hook leaves the caller's identity out of the answer
#: that closes the intent: the flow, its logs and whatever it sets from them never get it back.
DIALOG_ONLY = ("patientId",)

NOT_UNDERSTOOD = "Sorry, I did not get that. You can book, cancel or check an appointment."
NOT_IDENTIFIED = (
    "I could not find a patient record for the number you are calling from. The front desk can help you with that."
)


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(settings().table_name)


def _check_date(value: str | None, today: date, horizon: int) -> str | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return "Sorry, I did not get the day. Which day would you like?"
    if day <= today:
        return "We book from tomorrow onwards. Which day would you like?"
    if day > today + timedelta(days=horizon):
        return f"We book up to {horizon} days ahead. Which day would you like?"
    if day.weekday() == 6:
        return "The clinic is closed on Sundays. Which other day would suit you?"
    return None


def _check_time(value: str | None, conf: Settings) -> str | None:
    if value is None:
        return None
    if len(value) != 5 or not conf.opening <= value <= conf.last_slot:
        return f"We have appointments from {conf.opening} to {conf.last_slot}. What time would suit you?"
    if value[3:] not in ("00", "30"):
        return "Appointments start on the hour or the half hour. What time would suit you?"
    return None


def _booking_problem(event: LexV2Event, conf: Settings, now: datetime) -> dict[str, Any] | None:
    """Re-ask for a bad date or time slot; None when the slots filled so far are acceptable."""
    problem = _check_date(event.slot("AppointmentDate"), now.date(), conf.booking_horizon_days)
    if problem:
        return elicit_slot(event, "AppointmentDate", problem)
    problem = _check_time(event.slot("AppointmentTime"), conf)
    if problem:
        return elicit_slot(event, "AppointmentTime", problem)
    return None


def dialog(event: LexV2Event, conf: Settings, now: datetime) -> dict[str, Any]:
    """Validate the slots filled so far; re-ask for a bad one, otherwise let Lex go on."""
    if event.intent_name == "BookAppointment":
        return _booking_problem(event, conf, now) or delegate(event)
    return delegate(event)


def fulfil(event: LexV2Event, repo: Repository, now: datetime, conf: Settings | None = None) -> dict[str, Any]:
    """Carry out a confirmed intent. A booking is checked again: fulfillment need not follow the dialog hook."""
    intent = event.intent_name
    patient_id = event.session_attributes.get("patientId", "")
    if event.confirmation_state == "Denied":
        return close(event, "Failed", "All right, nothing has changed.")
    if not patient_id:
        return close(event, "Failed", NOT_IDENTIFIED)
    if intent == "BookAppointment":
        for name in ("AppointmentDate", "AppointmentTime"):
            if event.slot(name) is None:
                return elicit_slot(event, name, "Which day and time would you like?")
        problem = _booking_problem(event, conf, now) if conf is not None else None
        if problem:
            return problem
        appointment = Appointment(
            patient_id=patient_id,
            day=event.slot("AppointmentDate") or "",
            time=event.slot("AppointmentTime") or "",
            kind=event.slot("AppointmentType") or "consultation",
        )
        try:
            repo.book(appointment)
        except SlotTakenError:
            return elicit_slot(event, "AppointmentTime", "That time has just been taken. What other time suits you?")
        metrics.add_metric(name="AppointmentBooked", unit=MetricUnit.Count, value=1)
        return close(
            event, "Fulfilled", f"You are booked for a {appointment.kind} on {appointment.day} at {appointment.time}."
        )
    upcoming = repo.next_appointment(patient_id, now)
    if upcoming is None:
        return close(event, "Fulfilled", "You have no upcoming appointment.")
    if intent == "CancelAppointment":
        repo.cancel(upcoming)
        metrics.add_metric(name="AppointmentCancelled", unit=MetricUnit.Count, value=1)
        return close(event, "Fulfilled", f"Your {upcoming.kind} on {upcoming.day} at {upcoming.time} is cancelled.")
    if intent == "CheckAppointment":
        return close(
            event, "Fulfilled", f"Your next appointment is a {upcoming.kind} on {upcoming.day} at {upcoming.time}."
        )
    return close(event, "Fulfilled", "")


def without_identity(response: dict[str, Any]) -> dict[str, Any]:
    """The response with the dialog-only session attributes left out when it closes the intent."""
    state = response["sessionState"]
    if state["dialogAction"]["type"] == "Close":
        kept = {k: v for k, v in state["sessionAttributes"].items() if k not in DIALOG_ONLY}
        return {**response, "sessionState": {**state, "sessionAttributes": kept}}
    return response


def route(event: LexV2Event, repo: Repository, conf: Settings, now: datetime) -> dict[str, Any]:
    return without_identity(_answer(event, repo, conf, now))


def _answer(event: LexV2Event, repo: Repository, conf: Settings, now: datetime) -> dict[str, Any]:
    if not event.well_formed:
        # Nothing to validate or carry out: ask again rather than echo what Lex cannot read back.
        return elicit_intent(event, NOT_UNDERSTOOD)
    if event.invocation_source == "DialogCodeHook":
        return dialog(event, conf, now)
    return fulfil(event, repo, now, conf)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(raw: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    event = LexV2Event(raw)
    conf = settings()
    logger.append_keys(intent=event.intent_name, source=event.invocation_source)
    response = route(event, repository(), conf, clock.now(conf.time_zone))
    logger.info("code hook answered", extra={"dialog_action": response["sessionState"]["dialogAction"]["type"]})
    return response
