"""The clinic functions, called in-process with real Connect and Lex V2 events, against moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from flowkit.simulate.functions import create_table
from tests.conftest import FakeLambdaContext, load_event

TABLE = "clinic-appointments-test"
ZONE = ZoneInfo("America/New_York")


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("CLINIC_TIME_ZONE", "America/New_York")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from clinic import appointments, callback, caller_lookup, settings

    for cached in (settings.settings, appointments.repository, callback.repository, caller_lookup.repository):
        cached.cache_clear()
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        created = create_table(resource, TABLE)
        from clinic.repository import Patient, Repository

        Repository(TABLE, resource).put_patient(Patient("P-1001", "Ada", "+15555550100"))
        yield created
    for cached in (settings.settings, appointments.repository, callback.repository, caller_lookup.repository):
        cached.cache_clear()


def _connect_event(phone: str | None = "+15555550100") -> dict[str, Any]:
    event = load_event("connectContactFlowEvent")
    if phone is None:
        event["Details"]["ContactData"]["CustomerEndpoint"] = None
    else:
        event["Details"]["ContactData"]["CustomerEndpoint"]["Address"] = phone
    return event


def _lex_event(
    intent: str,
    source: str = "DialogCodeHook",
    slots: dict[str, str] | None = None,
    confirmation: str = "None",
    patient: str | None = "P-1001",
) -> dict[str, Any]:
    event = load_event("lexV2CodeHookEvent")
    event["invocationSource"] = source
    filled = {
        name: {"shape": "Scalar", "value": {"originalValue": v, "interpretedValue": v, "resolvedValues": [v]}}
        for name, v in (slots or {}).items()
    }
    event["sessionState"]["intent"] = {
        "name": intent,
        "slots": filled,
        "state": "InProgress",
        "confirmationState": confirmation,
    }
    event["sessionState"]["sessionAttributes"] = {"patientId": patient} if patient else {}
    return event


def _next_weekday(days_ahead: int = 7) -> date:
    day = datetime.now(ZONE).date() + timedelta(days=days_ahead)
    return day + timedelta(days=1) if day.weekday() == 6 else day


def test_known_caller_is_identified(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.caller_lookup import handler

    # GIVEN a patient on file WHEN their number calls THEN the flow gets a flat string map naming them
    answer = handler(_connect_event(), lambda_context)
    assert answer == {"patientFound": "true", "patientId": "P-1001", "firstName": "Ada", "error": "false"}


@pytest.mark.parametrize("phone", ["+15555550111", None])
def test_unknown_or_withheld_caller(table: Any, lambda_context: FakeLambdaContext, phone: str | None) -> None:
    from clinic.caller_lookup import handler

    answer = handler(_connect_event(phone), lambda_context)
    assert answer == {"patientFound": "false", "patientId": "", "firstName": "", "error": "false"}
    assert all(isinstance(v, str) for v in answer.values())


def test_callback_is_recorded(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.callback import handler
    from clinic.repository import Repository

    # GIVEN an after-hours caller WHEN they ask for a callback THEN it is stored under today's date
    answer = handler(_connect_event(), lambda_context)
    assert answer["callbackQueued"] == "true" and answer["reference"]
    stored = Repository(TABLE).callbacks_on(datetime.now(ZONE).date())
    assert [item["phone"] for item in stored] == ["+15555550100"]


def test_callback_without_caller_number(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.callback import handler

    assert handler(_connect_event(None), lambda_context)["callbackQueued"] == "false"


@pytest.mark.parametrize(
    ("slots", "reprompted", "fragment"),
    [
        ({"AppointmentDate": "2001-01-01"}, "AppointmentDate", "from tomorrow"),
        ({"AppointmentDate": (date.today() + timedelta(days=400)).isoformat()}, "AppointmentDate", "90 days"),
        ({"AppointmentDate": "not-a-date"}, "AppointmentDate", "did not get the day"),
        ({"AppointmentTime": "19:00"}, "AppointmentTime", "08:00 to 17:30"),
        ({"AppointmentTime": "09:10"}, "AppointmentTime", "half hour"),
    ],
)
def test_dialog_hook_reprompts_a_bad_slot(
    table: Any, lambda_context: FakeLambdaContext, slots: dict[str, str], reprompted: str, fragment: str
) -> None:
    from clinic.appointments import handler

    response = handler(_lex_event("BookAppointment", slots=slots), lambda_context)
    action = response["sessionState"]["dialogAction"]
    assert action == {"type": "ElicitSlot", "slotToElicit": reprompted}
    assert response["sessionState"]["intent"]["slots"][reprompted] is None
    assert fragment in response["messages"][0]["content"]


def test_dialog_hook_rejects_sundays(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.appointments import handler

    sunday = datetime.now(ZONE).date() + timedelta(days=7)
    sunday += timedelta(days=(6 - sunday.weekday()) % 7)
    response = handler(_lex_event("BookAppointment", slots={"AppointmentDate": sunday.isoformat()}), lambda_context)
    assert "closed on Sundays" in response["messages"][0]["content"]


def test_dialog_hook_delegates_valid_slots(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.appointments import handler

    slots = {"AppointmentDate": _next_weekday().isoformat(), "AppointmentTime": "09:30"}
    response = handler(_lex_event("BookAppointment", slots=slots), lambda_context)
    assert response["sessionState"]["dialogAction"] == {"type": "Delegate"}
    assert response["sessionState"]["sessionAttributes"] == {"patientId": "P-1001"}


def test_book_check_cancel_round_trip(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.appointments import handler

    day = _next_weekday().isoformat()
    slots = {"AppointmentType": "checkup", "AppointmentDate": day, "AppointmentTime": "10:00"}
    # WHEN the caller books THEN the intent is fulfilled and says when
    booked = handler(_lex_event("BookAppointment", "FulfillmentCodeHook", slots, "Confirmed"), lambda_context)
    assert booked["sessionState"]["intent"]["state"] == "Fulfilled"
    assert booked["sessionState"]["dialogAction"]["type"] == "Close"
    assert f"checkup on {day} at 10:00" in booked["messages"][0]["content"]
    # WHEN they check THEN they hear the same appointment
    checked = handler(_lex_event("CheckAppointment", "FulfillmentCodeHook"), lambda_context)
    assert f"{day} at 10:00" in checked["messages"][0]["content"]
    # WHEN another patient wants the same time THEN the time is re-asked
    taken = handler(
        _lex_event("BookAppointment", "FulfillmentCodeHook", slots, "Confirmed", patient="P-2002"), lambda_context
    )
    assert taken["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "AppointmentTime"}
    # WHEN the first caller cancels THEN it is cancelled and the slot is free again
    cancelled = handler(
        _lex_event("CancelAppointment", "FulfillmentCodeHook", confirmation="Confirmed"), lambda_context
    )
    assert "is cancelled" in cancelled["messages"][0]["content"]
    again = handler(
        _lex_event("BookAppointment", "FulfillmentCodeHook", slots, "Confirmed", patient="P-2002"), lambda_context
    )
    assert again["sessionState"]["intent"]["state"] == "Fulfilled"
    nothing = handler(_lex_event("CheckAppointment", "FulfillmentCodeHook"), lambda_context)
    assert "no upcoming appointment" in nothing["messages"][0]["content"]


def test_unidentified_caller_cannot_book(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.appointments import handler

    response = handler(_lex_event("CheckAppointment", "FulfillmentCodeHook", patient=None), lambda_context)
    assert response["sessionState"]["intent"]["state"] == "Failed"
    assert "could not find a patient record" in response["messages"][0]["content"]


def test_declined_confirmation_changes_nothing(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.appointments import handler

    response = handler(_lex_event("CancelAppointment", "FulfillmentCodeHook", confirmation="Denied"), lambda_context)
    assert response["sessionState"]["intent"]["state"] == "Failed"


def test_missing_table_name_fails_at_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from clinic import settings

    monkeypatch.delenv("TABLE_NAME", raising=False)
    settings.settings.cache_clear()
    with pytest.raises(settings.SettingsError, match="TABLE_NAME"):
        settings.settings()
    settings.settings.cache_clear()


def test_the_code_hook_answers_in_the_language_of_the_bot_locale(table: Any, lambda_context: FakeLambdaContext) -> None:
    from clinic.appointments import ENGLISH, TEXTS, handler, texts_for

    day = _next_weekday().isoformat()
    slots = {"AppointmentType": "checkup", "AppointmentDate": day, "AppointmentTime": "10:00"}
    other = next(code for code in TEXTS if code != "en")
    texts = TEXTS[other]

    def in_locale(event: dict[str, Any], locale: str) -> dict[str, Any]:
        event["bot"]["localeId"] = locale
        return event

    locale = f"{other}_US"
    assert texts_for(locale) is texts and texts is not ENGLISH
    # GIVEN a caller talking to the bot's other locale WHEN they book
    booked = handler(
        in_locale(_lex_event("BookAppointment", "FulfillmentCodeHook", slots, "Confirmed"), locale), lambda_context
    )
    # THEN the answer is that language's, naming the appointment type in it, not the stored code
    said = booked["messages"][0]["content"]
    kind, _ = texts.kinds["checkup"]
    assert said == texts.booked.format(kind=kind, day=day, time="10:00")
    assert "checkup" not in said
    # AND the same booking reads back in English to a caller of the English locale (the stored code is shared)
    checked = handler(in_locale(_lex_event("CheckAppointment", "FulfillmentCodeHook"), "en_US"), lambda_context)
    english_kind, _ = ENGLISH.kinds["checkup"]
    assert checked["messages"][0]["content"] == ENGLISH.next_appointment.format(
        kind=english_kind, day=day, time="10:00"
    )
    # AND a day the clinic does not open is re-asked in the caller's language
    sunday = date.fromisoformat(day) + timedelta(days=(6 - date.fromisoformat(day).weekday()) % 7)
    asked = handler(
        in_locale(_lex_event("BookAppointment", slots={"AppointmentDate": sunday.isoformat()}), locale), lambda_context
    )
    assert asked["messages"][0]["content"] == texts.sunday


def test_every_language_of_the_code_hook_says_everything_with_the_same_placeholders() -> None:
    import string
    from dataclasses import fields

    from clinic.appointments import ENGLISH, TEXTS

    def holes(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert len(TEXTS) >= 2
    for code, texts in TEXTS.items():
        assert set(texts.kinds) == set(ENGLISH.kinds), code
        for item in fields(texts):
            if item.name == "kinds":
                continue
            mine, english = getattr(texts, item.name), getattr(ENGLISH, item.name)
            assert mine and holes(mine) == holes(english), (code, item.name)
            assert code == "en" or mine != english, f"{code}: {item.name} is not translated"
