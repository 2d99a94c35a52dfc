"""Lex V2 code hook: book, cancel and check appointments.

Connect passes the caller's identity into the Lex session as the session attribute ``patientId`` (a flow attribute
set from the caller-lookup function's answer). The dialog hook validates dates and times; the fulfillment hook
writes.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Texts:
    """What the hook says, in one language. Slot values are the bot model's codes (``checkup``), in every locale."""

    not_understood: str
    not_identified: str
    bad_day: str
    not_before_tomorrow: str
    horizon: str  # {horizon}
    sunday: str
    hours: str  # {opening} {last_slot}
    half_hours: str
    nothing_changed: str
    which_day_and_time: str
    slot_taken: str
    booked: str  # {kind} {day} {time}: kind with its article ("a checkup")
    no_appointment: str
    cancelled: str  # {kind} without article
    next_appointment: str  # {kind} with its article
    kinds: dict[str, tuple[str, str]]  # code -> (with article, without)


ENGLISH = Texts(
    not_understood="Sorry, I did not get that. You can book, cancel or check an appointment.",
    not_identified=(
        "I could not find a patient record for the number you are calling from. The front desk can help you with that."
    ),
    bad_day="Sorry, I did not get the day. Which day would you like?",
    not_before_tomorrow="We book from tomorrow onwards. Which day would you like?",
    horizon="We book up to {horizon} days ahead. Which day would you like?",
    sunday="The clinic is closed on Sundays. Which other day would suit you?",
    hours="We have appointments from {opening} to {last_slot}. What time would suit you?",
    half_hours="Appointments start on the hour or the half hour. What time would suit you?",
    nothing_changed="All right, nothing has changed.",
    which_day_and_time="Which day and time would you like?",
    slot_taken="That time has just been taken. What other time suits you?",
    booked="You are booked for {kind} on {day} at {time}.",
    no_appointment="You have no upcoming appointment.",
    cancelled="Your {kind} on {day} at {time} is cancelled.",
    next_appointment="Your next appointment is {kind} on {day} at {time}.",
    kinds={
        "checkup": ("a checkup", "checkup"),
        "vaccination": ("a vaccination", "vaccination"),
        "consultation": ("a consultation", "consultation"),
    },
)
SPANISH = Texts(
    not_understood="Perdone, no le he entendido. Puede reservar, cancelar o consultar una cita.",
    not_identified=(
        "No encuentro un expediente de paciente para el número desde el que llama. La recepción puede ayudarle con eso."
    ),
    bad_day="Perdone, no he entendido el día. ¿Qué día le gustaría?",
    not_before_tomorrow="Reservamos a partir de mañana. ¿Qué día le gustaría?",
    horizon="Reservamos con un máximo de {horizon} días de antelación. ¿Qué día le gustaría?",
    sunday="La clínica cierra los domingos. ¿Qué otro día le vendría bien?",
    hours="Tenemos citas de {opening} a {last_slot}. ¿A qué hora le vendría bien?",
    half_hours="Las citas empiezan a la hora en punto o a la media. ¿A qué hora le vendría bien?",
    nothing_changed="De acuerdo, no ha cambiado nada.",
    which_day_and_time="¿Qué día y a qué hora le gustaría?",
    slot_taken="Esa hora se acaba de ocupar. ¿Qué otra hora le vendría bien?",
    booked="Tiene reservado {kind} el {day} a las {time}.",
    no_appointment="No tiene ninguna cita próxima.",
    cancelled="Su cita de {kind} del {day} a las {time} está cancelada.",
    next_appointment="Su próxima cita es {kind} el {day} a las {time}.",
    kinds={
        "checkup": ("un chequeo", "chequeo"),
        "vaccination": ("una vacuna", "vacuna"),
        "consultation": ("una consulta", "consulta"),
    },
)
#: The hook's languages by the language part of the bot locale (``es`` of ``es_US``); any other locale: English.
TEXTS: dict[str, Texts] = {"en": ENGLISH, "es": SPANISH}
NOT_UNDERSTOOD = ENGLISH.not_understood
NOT_IDENTIFIED = ENGLISH.not_identified


def texts_for(locale_id: str) -> Texts:
    """The texts in the language of a bot locale (Lex V2 event ``bot.localeId``)."""
    return TEXTS.get(locale_id.split("_", maxsplit=1)[0].lower(), ENGLISH)


def _kind(texts: Texts, code: str, *, article: bool) -> str:
    with_article, bare = texts.kinds.get(code, (code, code))
    return with_article if article else bare


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(settings().table_name)


def _check_date(value: str | None, today: date, horizon: int, texts: Texts = ENGLISH) -> str | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return texts.bad_day
    if day <= today:
        return texts.not_before_tomorrow
    if day > today + timedelta(days=horizon):
        return texts.horizon.format(horizon=horizon)
    if day.weekday() == 6:
        return texts.sunday
    return None


def _check_time(value: str | None, conf: Settings, texts: Texts = ENGLISH) -> str | None:
    if value is None:
        return None
    if len(value) != 5 or not conf.opening <= value <= conf.last_slot:
        return texts.hours.format(opening=conf.opening, last_slot=conf.last_slot)
    if value[3:] not in ("00", "30"):
        return texts.half_hours
    return None


def _booking_problem(event: LexV2Event, conf: Settings, now: datetime) -> dict[str, Any] | None:
    """Re-ask for a bad date or time slot; None when the slots filled so far are acceptable."""
    texts = texts_for(event.locale_id)
    problem = _check_date(event.slot("AppointmentDate"), now.date(), conf.booking_horizon_days, texts)
    if problem:
        return elicit_slot(event, "AppointmentDate", problem)
    problem = _check_time(event.slot("AppointmentTime"), conf, texts)
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
    texts = texts_for(event.locale_id)
    patient_id = event.session_attributes.get("patientId", "")
    if event.confirmation_state == "Denied":
        return close(event, "Failed", texts.nothing_changed)
    if not patient_id:
        return close(event, "Failed", texts.not_identified)
    if intent == "BookAppointment":
        for name in ("AppointmentDate", "AppointmentTime"):
            if event.slot(name) is None:
                return elicit_slot(event, name, texts.which_day_and_time)
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
            return elicit_slot(event, "AppointmentTime", texts.slot_taken)
        metrics.add_metric(name="AppointmentBooked", unit=MetricUnit.Count, value=1)
        kind = _kind(texts, appointment.kind, article=True)
        return close(event, "Fulfilled", texts.booked.format(kind=kind, day=appointment.day, time=appointment.time))
    upcoming = repo.next_appointment(patient_id, now)
    if upcoming is None:
        return close(event, "Fulfilled", texts.no_appointment)
    if intent == "CancelAppointment":
        repo.cancel(upcoming)
        metrics.add_metric(name="AppointmentCancelled", unit=MetricUnit.Count, value=1)
        kind = _kind(texts, upcoming.kind, article=False)
        return close(event, "Fulfilled", texts.cancelled.format(kind=kind, day=upcoming.day, time=upcoming.time))
    if intent == "CheckAppointment":
        kind = _kind(texts, upcoming.kind, article=True)
        return close(event, "Fulfilled", texts.next_appointment.format(kind=kind, day=upcoming.day, time=upcoming.time))
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
        return elicit_intent(event, texts_for(event.locale_id).not_understood)
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
