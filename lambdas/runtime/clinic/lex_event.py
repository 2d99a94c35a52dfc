"""A typed view of the Lex V2 code-hook event and the responses the hook returns.

Powertools has no Lex V2 data class, so this follows its DictWrapper style, without importing it: Powertools'
``data_classes`` package imports every data class it has, which costs the code hook's cold start more than
boto3's own import. Unknown keys are ignored: Lex adds fields without changing ``messageVersion``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: Lex V2 enumerations the hook answers with (Lex V2 API reference: Intent, DialogAction, ConfirmationState).
INVOCATION_SOURCES = ("DialogCodeHook", "FulfillmentCodeHook")
CONFIRMATION_STATES = ("Confirmed", "Denied", "None")
INTENT_STATES = ("Failed", "Fulfilled", "InProgress", "ReadyForFulfillment", "Waiting", "FulfillmentInProgress")


def _mapping(value: Any) -> dict[str, Any]:
    return {k: v for k, v in value.items() if isinstance(k, str)} if isinstance(value, Mapping) else {}


def _slot(value: Any) -> dict[str, Any] | None:
    """A slot as Lex sends it (``value.interpretedValue`` a string), or None for anything else."""
    slot = _mapping(value)
    inner = _mapping(slot.get("value"))
    interpreted = inner.get("interpretedValue")
    if not isinstance(interpreted, str) or not interpreted:
        return None
    original = inner.get("originalValue")
    listed = inner.get("resolvedValues")
    resolved = [v for v in listed if isinstance(v, str)] if isinstance(listed, list) else []
    return {
        "shape": "Scalar",
        "value": {
            "originalValue": original if isinstance(original, str) else interpreted,
            "interpretedValue": interpreted,
            "resolvedValues": resolved,
        },
    }


class LexV2Event(Mapping[str, Any]):
    """Lex V2 code-hook input (messageVersion 1.0), read without trusting its structure.

    Every property answers a value of its documented type, whatever the event holds: a hook must answer Lex with
    a valid response even to an event it cannot use (``well_formed`` says whether it can). Like Powertools'
    DictWrapper, it is a read-only mapping over the event, which ``raw_event`` answers as given.
    """

    def __init__(self, data: Any) -> None:
        self._data = data

    @property
    def raw_event(self) -> Any:
        """The event as Lex sent it."""
        return self._data

    def __getitem__(self, key: str) -> Any:
        return _mapping(self._data)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_mapping(self._data))

    def __len__(self) -> int:
        return len(_mapping(self._data))

    def _top(self, key: str) -> Any:
        return self.raw_event.get(key) if isinstance(self.raw_event, Mapping) else None

    @property
    def invocation_source(self) -> str:
        source = self._top("invocationSource")
        return source if isinstance(source, str) else ""

    @property
    def input_transcript(self) -> str:
        text = self._top("inputTranscript")
        return text if isinstance(text, str) else ""

    @property
    def session_state(self) -> dict[str, Any]:
        return _mapping(self._top("sessionState"))

    @property
    def intent_name(self) -> str:
        name = _mapping(self.session_state.get("intent")).get("name")
        return name if isinstance(name, str) else ""

    @property
    def slots(self) -> dict[str, dict[str, Any] | None]:
        """The intent's slots: well-formed ones as Lex sent them, anything else as unfilled (None)."""
        raw = _mapping(_mapping(self.session_state.get("intent")).get("slots"))
        return {name: _slot(value) for name, value in raw.items()}

    @property
    def intent(self) -> dict[str, Any]:
        """The intent to echo back: its name, well-formed slots, and states from Lex's enumerations."""
        raw = _mapping(self.session_state.get("intent"))
        state = raw.get("state")
        return {
            "name": self.intent_name,
            "slots": self.slots,
            "state": state if state in INTENT_STATES else "InProgress",
            "confirmationState": self.confirmation_state,
        }

    @property
    def confirmation_state(self) -> str:
        state = _mapping(self.session_state.get("intent")).get("confirmationState")
        return state if state in CONFIRMATION_STATES else "None"

    @property
    def session_attributes(self) -> dict[str, str]:
        """Session attributes are a map of strings (Lex V2); any other entry is dropped, not echoed."""
        raw = _mapping(self.session_state.get("sessionAttributes"))
        return {k: v for k, v in raw.items() if isinstance(v, str)}

    @property
    def locale_id(self) -> str:
        """The bot locale of the conversation (``bot.localeId``, such as ``es_US``), or "" when the event lacks it."""
        locale = _mapping(self._top("bot")).get("localeId")
        return locale if isinstance(locale, str) else ""

    @property
    def well_formed(self) -> bool:
        """Whether the hook can act on the event: a known invocation source and a named intent."""
        return self.invocation_source in INVOCATION_SOURCES and bool(self.intent_name)

    def slot(self, name: str) -> str | None:
        """The interpreted value of a slot, or None when it is not filled."""
        slot = self.slots.get(name)
        return str(slot["value"]["interpretedValue"]) if slot else None


def _messages(text: str | None) -> list[dict[str, str]]:
    return [{"contentType": "PlainText", "content": text}] if text else []


def close(event: LexV2Event, state: str, text: str) -> dict[str, Any]:
    """End the intent as Fulfilled or Failed with a message."""
    intent = {**event.intent, "state": state}
    return {
        "sessionState": {
            "dialogAction": {"type": "Close"},
            "intent": intent,
            "sessionAttributes": event.session_attributes,
        },
        "messages": _messages(text),
    }


def delegate(event: LexV2Event) -> dict[str, Any]:
    """Let Lex choose the next step from the bot model."""
    return {
        "sessionState": {
            "dialogAction": {"type": "Delegate"},
            "intent": event.intent,
            "sessionAttributes": event.session_attributes,
        }
    }


def elicit_slot(event: LexV2Event, slot: str, text: str) -> dict[str, Any]:
    """Ask again for one slot, clearing its rejected value."""
    slots = dict(event.intent.get("slots") or {})
    slots[slot] = None
    intent = {**event.intent, "slots": slots, "state": "InProgress"}
    return {
        "sessionState": {
            "dialogAction": {"type": "ElicitSlot", "slotToElicit": slot},
            "intent": intent,
            "sessionAttributes": event.session_attributes,
        },
        "messages": _messages(text),
    }


def elicit_intent(event: LexV2Event, text: str) -> dict[str, Any]:
    """Ask the caller what they want: the answer to an event without a usable intent (needs no intent)."""
    return {
        "sessionState": {"dialogAction": {"type": "ElicitIntent"}, "sessionAttributes": event.session_attributes},
        "messages": _messages(text),
    }
