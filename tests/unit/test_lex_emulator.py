"""The offline Lex emulation: deterministic matching from the bot model and the built-in slot types."""

from __future__ import annotations

from datetime import date

import pytest

from flowkit.simulate.lex import LexEmulator, parse_date, parse_number, parse_phone, parse_time
from lex.model import load_bot_model

TUESDAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def lex() -> LexEmulator:
    return LexEmulator(load_bot_model(), "en_US", None, today=lambda: TUESDAY)


@pytest.mark.parametrize(("said", "intent", "slots"), [
    ("I want to book an appointment", "BookAppointment", {}),
    ("book a flu shot", "BookAppointment", {"AppointmentType": "vaccination"}),
    ("I need a checkup on friday at 10 am", "BookAppointment",
     {"AppointmentType": "checkup", "AppointmentDate": "2026-12-04", "AppointmentTime": "10:00"}),
    ("Cancel my appointment!", "CancelAppointment", {}),
    ("when is my appointment", "CheckAppointment", {}),
    ("can I talk to a person please", "SpeakToReceptionist", {}),
])  # fmt: skip
def test_utterances_match_with_slots(lex: LexEmulator, said: str, intent: str, slots: dict[str, str]) -> None:
    matched, values = lex.recognize(said)
    assert matched is not None and matched.name == intent
    assert {k: v.interpreted for k, v in values.items()} == slots


@pytest.mark.parametrize("said", ["purple elephants", "", "book"])
def test_anything_else_is_the_fallback(lex: LexEmulator, said: str) -> None:
    assert lex.recognize(said)[0] is None


def test_a_slot_value_outside_its_type_does_not_match_the_template(lex: LexEmulator) -> None:
    # "a haircut" is no AppointmentType, so the {AppointmentType} utterance does not match
    matched, values = lex.recognize("book a haircut")
    assert values == {}
    assert matched is None or matched.name == "BookAppointment"


@pytest.mark.parametrize(("text", "expected"), [
    ("tomorrow", "2026-12-02"), ("friday", "2026-12-04"), ("next tuesday", "2026-12-08"),
    ("2026-12-24", "2026-12-24"), ("december 3", "2026-12-03"), ("3rd january", "2027-01-03"),
    ("someday", None), ("february 30", None),
])  # fmt: skip
def test_dates(text: str, expected: str | None) -> None:
    assert parse_date(text, TUESDAY) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("10 am", "10:00"), ("2:30 pm", "14:30"), ("14:30", "14:30"), ("noon", "12:00"), ("at 3", "15:00"),
    ("ten thirty", "10:30"), ("12 am", "00:00"), ("25:00", None), ("later", None),
])  # fmt: skip
def test_times(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected


def test_numbers_and_phones() -> None:
    assert parse_number("seven") == "7"
    assert parse_number("42") == "42"
    assert parse_number("many") is None
    assert parse_phone("+1 (555) 555-0100") == "+15555550100"
    assert parse_phone("12") is None


def test_code_hook_gets_a_lex_v2_event() -> None:
    # GIVEN a bot whose code hook records what it receives WHEN a caller books THEN the events follow Lex V2
    seen: list[dict] = []

    def hook(event: dict) -> dict:
        seen.append(event)
        state = event["sessionState"]
        action = {"type": "Delegate"} if event["invocationSource"] == "DialogCodeHook" else {"type": "Close"}
        intent = {**state["intent"], "state": "Fulfilled"} if action["type"] == "Close" else state["intent"]
        return {
            "sessionState": {"dialogAction": action, "intent": intent, "sessionAttributes": state["sessionAttributes"]},
            "messages": [{"contentType": "PlainText", "content": "Done."}] if action["type"] == "Close" else [],
        }

    lex = LexEmulator(load_bot_model(), "en_US", hook, today=lambda: TUESDAY)
    turn = lex.converse(
        iter(["book a checkup", "friday", "10 am", "yes"]), prompt="Hi", session_attributes={"patientId": "P-1"}
    )
    assert (turn.intent, turn.state) == ("BookAppointment", "Fulfilled")
    assert turn.slots == {"AppointmentType": "checkup", "AppointmentDate": "2026-12-04", "AppointmentTime": "10:00"}
    assert [e["invocationSource"] for e in seen][-1] == "FulfillmentCodeHook"
    last = seen[-1]
    assert last["messageVersion"] == "1.0" and last["bot"]["localeId"] == "en_US"
    assert last["sessionState"]["sessionAttributes"] == {"patientId": "P-1"}
    assert last["sessionState"]["intent"]["confirmationState"] == "Confirmed"
    assert last["sessionState"]["intent"]["slots"]["AppointmentTime"]["value"]["interpretedValue"] == "10:00"
    assert turn.prompts[-1] == "Done."


def test_declined_confirmation_fails_the_intent() -> None:
    lex = LexEmulator(load_bot_model(), "en_US", None, today=lambda: TUESDAY)
    turn = lex.converse(iter(["cancel my appointment", "no"]), prompt=None, session_attributes={})
    assert (turn.intent, turn.state) == ("CancelAppointment", "Failed")
    assert turn.prompts == [
        "Do you want to cancel your next appointment?",
        "All right, your appointment stays as it is.",
    ]


def test_slot_reprompts_give_up_after_max_retries() -> None:
    lex = LexEmulator(load_bot_model(), "en_US", lambda e: {"sessionState": {**e["sessionState"], "dialogAction": {"type": "Delegate"}}},
                      today=lambda: TUESDAY)  # fmt: skip
    turn = lex.converse(iter(["book a checkup", "x", "y", "z", "friday"]), prompt=None, session_attributes={})
    assert turn.state == "Failed"
    assert turn.prompts.count("On which day would you like to come in?") == 3
