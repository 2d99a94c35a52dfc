"""Two rules of the appointments code hook, held at their edges (issue 19, item 6: mutants that survived).

- Booking starts tomorrow: a day equal to today is refused, tomorrow is accepted (a ``<`` for ``<=`` survived).
- The caller's identity stays in the Lex session while the dialog needs it and is left out of the answer that
  closes the intent, which Connect hands back to the flow as ``$.Lex.SessionAttributes``.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import load_event

ZONE = ZoneInfo("America/New_York")
#: A Tuesday morning: neither today nor tomorrow nor the horizon's last day is a Sunday.
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZONE)


def _event(source: str, intent: str, slots: dict[str, str], patient: str = "P-1001") -> Any:
    from clinic.lex_event import LexV2Event

    raw = copy.deepcopy(load_event("lexV2CodeHookEvent"))
    raw["invocationSource"] = source
    raw["sessionState"]["intent"] = {
        "name": intent,
        "slots": {
            name: {"shape": "Scalar", "value": {"originalValue": v, "interpretedValue": v, "resolvedValues": [v]}}
            for name, v in slots.items()
        },
        "state": "InProgress",
        "confirmationState": "Confirmed",
    }
    raw["sessionState"]["sessionAttributes"] = {"patientId": patient, "channel": "voice"}
    return LexV2Event(raw)


def _settings() -> Any:
    from clinic.settings import Settings

    return Settings(table_name="unused", time_zone=ZONE)


class _NoRepository:
    """A repository the test expects the hook not to reach."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the hook called the repository ({name}) for an answer that needs no data")


def _day(offset: int) -> str:
    return (NOW.date() + timedelta(days=offset)).isoformat()


@pytest.mark.parametrize(
    ("offset", "refused_with"),
    [(-1, "from tomorrow"), (0, "from tomorrow"), (1, None), (90, None), (91, "90 days ahead")],
)
def test_booking_starts_tomorrow_and_ends_at_the_horizon(offset: int, refused_with: str | None) -> None:
    from clinic.appointments import route

    conf = _settings()
    assert date.fromisoformat(_day(offset)).weekday() != 6, "the cases must not fall on a Sunday"
    # GIVEN a caller asking for a day ``offset`` days from today
    event = _event("DialogCodeHook", "BookAppointment", {"AppointmentDate": _day(offset)})
    # WHEN the dialog hook checks it
    response = route(event, _NoRepository(), conf, NOW)  # type: ignore[arg-type]
    action = response["sessionState"]["dialogAction"]
    # THEN today and before are refused, tomorrow up to the horizon is let through, beyond it refused
    assert conf.booking_horizon_days == 90  # the cases above sit on either side of it
    if refused_with is None:
        assert action == {"type": "Delegate"}
    else:
        assert action == {"type": "ElicitSlot", "slotToElicit": "AppointmentDate"}
        assert refused_with in response["messages"][0]["content"]


def test_the_caller_identity_stays_in_the_session_while_the_dialog_goes_on() -> None:
    from clinic.appointments import DIALOG_ONLY, route

    # GIVEN a dialog turn that re-asks for a slot, and one that lets Lex go on
    asks = route(
        _event("DialogCodeHook", "BookAppointment", {"AppointmentDate": _day(0)}), _NoRepository(), _settings(), NOW
    )  # type: ignore[arg-type]
    goes_on = route(_event("DialogCodeHook", "CheckAppointment", {}), _NoRepository(), _settings(), NOW)  # type: ignore[arg-type]
    # THEN both keep every session attribute: fulfilment needs the patient id later in the session
    for response in (asks, goes_on):
        assert response["sessionState"]["dialogAction"]["type"] != "Close"
        assert response["sessionState"]["sessionAttributes"] == {"patientId": "P-1001", "channel": "voice"}
    assert "patientId" in DIALOG_ONLY


@pytest.mark.parametrize("intent", ["CheckAppointment", "CancelAppointment", "BookAppointment"])
def test_the_answer_that_closes_the_intent_hands_no_identity_back(intent: str) -> None:
    from clinic.appointments import DIALOG_ONLY, route

    class _Empty:
        def next_appointment(self, *_args: Any) -> None:
            return None

        def book(self, *_args: Any) -> None:
            return None

    slots = {"AppointmentDate": _day(1), "AppointmentTime": "10:00"} if intent == "BookAppointment" else {}
    # GIVEN a fulfilment turn of a known caller
    response = route(_event("FulfillmentCodeHook", intent, slots), _Empty(), _settings(), NOW)  # type: ignore[arg-type]
    # WHEN the hook closes the intent THEN the dialog-only attributes are gone and the others are kept
    state = response["sessionState"]
    assert state["dialogAction"]["type"] == "Close" and state["intent"]["state"] == "Fulfilled"
    assert not set(DIALOG_ONLY) & set(state["sessionAttributes"])
    assert state["sessionAttributes"] == {"channel": "voice"}
