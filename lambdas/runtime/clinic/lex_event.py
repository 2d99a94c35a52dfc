"""A typed view of the Lex V2 code-hook event and the responses the hook returns.

Powertools has no Lex V2 data class, so this follows its DictWrapper style. Unknown keys are ignored: Lex adds
fields without changing ``messageVersion``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.common import DictWrapper


class LexV2Event(DictWrapper):
    """Lex V2 code-hook input (messageVersion 1.0)."""

    @property
    def invocation_source(self) -> str:
        return str(self["invocationSource"])

    @property
    def input_transcript(self) -> str:
        return str(self.get("inputTranscript") or "")

    @property
    def session_state(self) -> dict[str, Any]:
        return dict(self["sessionState"])

    @property
    def intent(self) -> dict[str, Any]:
        return dict(self.session_state["intent"])

    @property
    def intent_name(self) -> str:
        return str(self.intent["name"])

    @property
    def confirmation_state(self) -> str:
        return str(self.intent.get("confirmationState") or "None")

    @property
    def session_attributes(self) -> dict[str, str]:
        return dict(self.session_state.get("sessionAttributes") or {})

    def slot(self, name: str) -> str | None:
        """The interpreted value of a slot, or None when it is not filled."""
        slot = (self.intent.get("slots") or {}).get(name)
        if not slot or not slot.get("value"):
            return None
        value = slot["value"].get("interpretedValue")
        return str(value) if value else None


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
