"""Offline Lex V2 emulation from the bot model, for the call simulator.

Matching is deterministic, not Lex's NLU: a caller's words match an intent when they match one of its sample
utterances (``{Slot}`` parts capture values that must parse as the slot's type), or else contain a sample
utterance whole (the longest wins), or else share most of their words with one; anything else is the
FallbackIntent. The dialog follows Lex V2's contract: the
dialog code hook is called with a real Lex V2 event and its answer (Delegate, ElicitSlot, ConfirmIntent, Close)
drives the dialog; missing slots are elicited with the model's prompts (re-prompted up to ``max_retries``);
confirmation uses the model's prompt; the fulfillment code hook closes the intent.

Each locale is matched with its own words (``LANGUAGES``: numbers, days, months, times, yes and no; accents folded,
so ``cuando`` matches ``cuándo``), and ``LexEmulator.in_language`` gives the locale of the contact's language, as
Connect talks to the bot in it (docs/languages.md).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from lex.model import FALLBACK_INTENT, BotModel, Intent, Locale, Slot

CodeHook = Callable[[dict[str, Any]], dict[str, Any]]

_WORD = re.compile(r"[\w:+#*'-]+")


@dataclass(frozen=True)
class Words:
    """What the emulation understands of one language: numbers, days, months, yes and no, and its own phrases."""

    numbers: dict[str, int]
    weekdays: list[str]
    months: list[str]
    today: str
    tomorrow: str
    date_prefixes: tuple[str, ...]  # words before a date that carry no date ("on", "el", "next", "este")
    time_prefixes: tuple[str, ...]
    noon: str
    half: str  # "ten thirty", "diez y media"
    afternoon: tuple[str, ...]  # words after a time that make it p.m.
    morning: tuple[str, ...]
    yes: frozenset[str]
    no: frozenset[str]
    not_understood: str


_ENGLISH = Words(
    numbers={
        w: i
        for i, w in enumerate(
            [
                "zero",
                "one",
                "two",
                "three",
                "four",
                "five",
                "six",
                "seven",
                "eight",
                "nine",
                "ten",
                "eleven",
                "twelve",
                "thirteen",
                "fourteen",
                "fifteen",
                "sixteen",
                "seventeen",
                "eighteen",
                "nineteen",
                "twenty",
            ]
        )
    },
    weekdays=["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    months=[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    today="today",
    tomorrow="tomorrow",
    date_prefixes=("on ", "next ", "this "),
    time_prefixes=("at ",),
    noon="noon",
    half=" thirty",
    afternoon=("pm", "p m"),
    morning=("am", "a m"),
    yes=frozenset(
        {"yes", "yeah", "yep", "sure", "correct", "right", "ok", "okay", "please do", "yes please", "confirm"}
    ),
    no=frozenset({"no", "nope", "no thanks", "cancel that", "don't", "do not", "wrong"}),
    not_understood="Sorry, I did not understand.",
)
# Accents are folded away (normalize), so the Spanish words are written without them.
_SPANISH = Words(
    numbers={
        w: i
        for i, w in enumerate(
            [
                "cero",
                "una",
                "dos",
                "tres",
                "cuatro",
                "cinco",
                "seis",
                "siete",
                "ocho",
                "nueve",
                "diez",
                "once",
                "doce",
                "trece",
                "catorce",
                "quince",
                "dieciseis",
                "diecisiete",
                "dieciocho",
                "diecinueve",
                "veinte",
            ]
        )
    }
    | {"uno": 1},
    weekdays=["lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"],
    months=[
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    today="hoy",
    tomorrow="manana",
    date_prefixes=("para el ", "el ", "este ", "proximo ", "el proximo "),
    time_prefixes=("a las ", "a la ", "las ", "la "),
    noon="mediodia",
    half=" y media",
    afternoon=("de la tarde", "de la noche", "pm", "p m"),
    morning=("de la manana", "am", "a m"),
    yes=frozenset({"si", "claro", "correcto", "de acuerdo", "vale", "por favor", "si por favor", "confirmo", "ok"}),
    no=frozenset({"no", "no gracias", "incorrecto", "cancela eso"}),
    not_understood="Perdone, no le he entendido.",
)
#: The languages the emulation speaks, by the language part of a Lex locale id (``es`` of ``es_US``).
LANGUAGES: dict[str, Words] = {"en": _ENGLISH, "es": _SPANISH}
SIMILARITY = 0.6


def words_of(locale_id: str) -> Words:
    """The vocabulary of a bot locale; English for a language the emulation does not know."""
    return LANGUAGES.get(locale_id.split("_", maxsplit=1)[0].lower(), _ENGLISH)


def normalize(text: str) -> str:
    """Lower case, accents folded (``manana`` for ``mañana``), punctuation dropped, single spaces."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return " ".join(_WORD.findall(folded.replace("_", " ")))


def _says(words: str, value: str, synonyms: list[str]) -> bool:
    """The normalized words are the value or a synonym, or contain one as whole words."""
    return any(f" {normalize(x)} " in f" {words} " for x in (value, *synonyms))


def parse_number(text: str, language: Words = _ENGLISH) -> str | None:
    words = normalize(text)
    if re.fullmatch(r"-?\d+(\.\d+)?", words):
        return words
    return str(language.numbers[words]) if words in language.numbers else None


def _without(words: str, prefixes: tuple[str, ...]) -> str:
    for prefix in sorted(prefixes, key=len, reverse=True):
        if words.startswith(prefix):
            return words[len(prefix) :]
    return words


def parse_date(text: str, today: date, language: Words = _ENGLISH) -> str | None:
    """ISO dates, today/tomorrow, weekday names (the next one), 'december 3' / '3 december' ('3 de diciembre')."""
    words = _without(_without(normalize(text), language.date_prefixes), language.date_prefixes)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", words):
        try:
            return date.fromisoformat(words).isoformat()
        except ValueError:
            return None
    if words in (language.today, language.tomorrow):
        return (today + timedelta(days=0 if words == language.today else 1)).isoformat()
    if words in language.weekdays:
        ahead = (language.weekdays.index(words) - today.weekday()) % 7 or 7
        return (today + timedelta(days=ahead)).isoformat()
    words = words.replace(" de ", " ")
    match = re.fullmatch(r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th)? ([a-z]+)", words)
    if match:
        month_name = match.group(1) or match.group(4)
        day = int(match.group(2) or match.group(3))
        if month_name in language.months:
            month = language.months.index(month_name) + 1
            try:
                candidate = date(today.year, month, day)
            except ValueError:
                return None
            if candidate < today:
                candidate = date(today.year + 1, month, day)
            return candidate.isoformat()
    return None


def parse_time(text: str, language: Words = _ENGLISH) -> str | None:
    """'10', '10 am', '2:30 pm', '14:30', 'noon', 'ten thirty'; 'a las diez y media', 'las 3 de la tarde'."""
    words = _without(normalize(text), language.time_prefixes)
    if words == language.noon:
        return "12:00"
    meridiem = ""
    for suffix, label in [*((a, "pm") for a in language.afternoon), *((m, "am") for m in language.morning)]:
        if words.endswith(f" {suffix}") or (words.endswith(suffix) and words[: -len(suffix)].rstrip()[-1:].isdigit()):
            words, meridiem = words[: -len(suffix)].rstrip(), label
            break
    for word, number in sorted(language.numbers.items(), key=lambda w: -len(w[0])):
        words = re.sub(rf"\b{word}\b", str(number), words)
    words = words.replace(language.half, ":30").replace(" oclock", "").replace(" o'clock", "").replace(" en punto", "")
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?", words.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if meridiem == "pm" and hour < 12:
        hour += 12
    if meridiem == "am" and hour == 12:
        hour = 0
    if not meridiem and 1 <= hour <= 6:  # "at 3" on a clinic line means the afternoon
        hour += 12
    try:
        return time(hour, minute).strftime("%H:%M")
    except ValueError:
        return None


def parse_phone(text: str) -> str | None:
    digits = re.sub(r"[^\d+]", "", text)
    return digits if 7 <= len(digits.lstrip("+")) <= 15 else None


@dataclass
class SlotValue:
    original: str
    interpreted: str

    def as_lex(self) -> dict[str, Any]:
        return {
            "shape": "Scalar",
            "value": {
                "originalValue": self.original,
                "interpretedValue": self.interpreted,
                "resolvedValues": [self.interpreted],
            },
        }


@dataclass
class LexTurn:
    """What happened in one ConnectParticipantWithLexBot block."""

    intent: str
    state: str
    slots: dict[str, str]
    session_attributes: dict[str, str]
    prompts: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    timed_out: bool = False
    waiting: bool = False  # inputs ran out while the bot was asking
    dialog: list[tuple[str, str]] = field(default_factory=list)  # ("IVR" | "CALLER", text), in order

    def say(self, text: str) -> None:
        self.prompts.append(text)
        self.dialog.append(("IVR", text))

    def hear(self, text: str) -> None:
        self.inputs.append(text)
        self.dialog.append(("CALLER", text))


class LexEmulator:
    """One locale of the bot model, with its code hook; ``in_language`` gives the alias's other locales.

    ``locales`` are the locales the alias serves (the deployment's ``lex.locales``; every locale of the model when
    not given): Connect talks to the bot in the locale of the contact's language (``$.LanguageCode``), and a
    language the alias does not serve has no locale to talk to.
    """

    def __init__(
        self,
        model: BotModel,
        locale_id: str,
        code_hook: CodeHook | None,
        *,
        today: Callable[[], date],
        bot_name: str = "clinic-bot",
        locales: Sequence[str] | None = None,
    ) -> None:
        self.model = model
        self.locale_id = locale_id
        self.locale: Locale = model.locales[locale_id]
        self.words = words_of(locale_id)
        self.code_hook = code_hook
        self.today = today
        self.bot_name = bot_name
        self.locales = tuple(locales) if locales is not None else tuple(model.locales)
        self._siblings: dict[str, LexEmulator] = {locale_id: self}
        self._patterns = [(intent, self._compile(u), u) for intent in self.locale.intents for u in intent.utterances]

    def in_language(self, language_code: str) -> LexEmulator | None:
        """The emulator of the locale for a contact language (``es-US`` -> ``es_US``), or None if none serves it."""
        locale_id = language_code.replace("-", "_")
        if locale_id not in self.locales or locale_id not in self.model.locales:
            return None
        if locale_id not in self._siblings:
            sibling = LexEmulator(
                self.model, locale_id, self.code_hook, today=self.today, bot_name=self.bot_name, locales=self.locales
            )
            sibling._siblings = self._siblings
            self._siblings[locale_id] = sibling
        return self._siblings[locale_id]

    # -- matching -------------------------------------------------------------------------------------------------
    @staticmethod
    def _compile(utterance: str) -> re.Pattern[str]:
        parts = re.split(r"(\{[A-Za-z][A-Za-z0-9_]*\})", utterance)
        regex = ""
        for part in parts:
            if part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>.+?)"
            elif part.strip():
                regex += re.escape(normalize(part))
            else:
                regex += " " if part else ""
        regex = re.sub(r"( )+", " ", regex).replace("\\ ", " ")
        return re.compile(rf"^{regex.strip()}$")

    def parse_slot(self, slot: Slot, text: str) -> SlotValue | None:
        """The slot's value in the caller's words, or None if they do not fit its type."""
        words = normalize(text)
        custom = self.locale.slot_type(slot.type)
        interpreted: str | None
        if custom is not None:
            interpreted = next((v.value for v in custom.values if _says(words, v.value, v.synonyms)), None)
        elif slot.type == "AMAZON.Number":
            interpreted = parse_number(text, self.words)
        elif slot.type == "AMAZON.Date":
            interpreted = parse_date(text, self.today(), self.words)
        elif slot.type == "AMAZON.Time":
            interpreted = parse_time(text, self.words)
        else:
            interpreted = parse_phone(text)
        return SlotValue(text, interpreted) if interpreted else None

    def recognize(self, text: str) -> tuple[Intent | None, dict[str, SlotValue]]:
        """The intent the words match (None is the FallbackIntent) and the slot values they carry."""
        words = normalize(text)
        best: tuple[int, Intent, dict[str, SlotValue]] | None = None
        for intent, pattern, _ in self._patterns:
            match = pattern.match(words)
            if not match:
                continue
            slots = {}
            for name, value in match.groupdict().items():
                slot = next(s for s in intent.slots if s.name == name)
                parsed = self.parse_slot(slot, value)
                if parsed is None:
                    break
                slots[name] = parsed
            else:
                literal = len(pattern.pattern)  # more literal text is a more specific match
                if best is None or literal > best[0]:
                    best = (literal, intent, slots)
        if best:
            return best[1], best[2]
        contained = [
            (len(phrase.split()), i, intent)
            for i, (intent, _, u) in enumerate(self._patterns)
            if "{" not in u and (phrase := normalize(u)) and f" {phrase} " in f" {words} "
        ]
        if contained:
            return max(contained, key=lambda c: (c[0], -c[1]))[2], {}
        said = set(words.split())
        scored = []
        for intent, _, utterance in self._patterns:
            sample = set(normalize(re.sub(r"\{\w+\}", "", utterance)).split())
            if sample and said:
                scored.append((len(said & sample) / len(said | sample), intent.name, intent))
        scored.sort(key=lambda s: (-s[0], s[1]))
        if scored and scored[0][0] >= SIMILARITY:
            return scored[0][2], {}
        return None, {}

    # -- dialog ---------------------------------------------------------------------------------------------------
    def converse(self, inputs: Iterator[str], *, prompt: str | None, session_attributes: dict[str, str]) -> LexTurn:
        """Run one Lex conversation; ``inputs`` yields the caller's next words ('timeout' for silence)."""
        turn = LexTurn(FALLBACK_INTENT, "Failed", {}, dict(session_attributes))
        if prompt:
            turn.say(prompt)
        text = self._next(inputs, turn)
        if text is None:
            return turn
        intent, slots = self.recognize(text)
        if intent is None:
            turn.state = "Fulfilled"
            return turn
        dialog = _Dialog(self, intent, slots, turn, text)
        dialog.run(inputs)
        return turn

    @staticmethod
    def _next(inputs: Iterator[str], turn: LexTurn) -> str | None:
        text = next(inputs, None)
        if text is None:
            turn.waiting = True
            return None
        turn.hear(text)
        if text.strip().lower() == "timeout":
            turn.timed_out = True
            return None
        return text

    def event(
        self,
        source: str,
        intent: Intent,
        slots: dict[str, SlotValue | None],
        state: str,
        confirmation: str,
        transcript: str,
        session: dict[str, str],
    ) -> dict[str, Any]:
        """A Lex V2 code-hook event (messageVersion 1.0) for the current dialog state."""
        lex_slots = {s.name: (slots[s.name].as_lex() if slots.get(s.name) else None) for s in intent.slots}  # type: ignore[union-attr]
        lex_intent = {"name": intent.name, "slots": lex_slots, "state": state, "confirmationState": confirmation}
        return {
            "messageVersion": "1.0",
            "invocationSource": source,
            "inputMode": "Speech",
            "responseContentType": "text/plain; charset=utf-8",
            "sessionId": str(uuid.uuid4()),
            "inputTranscript": transcript,
            "invocationLabel": None,
            "bot": {
                "id": "SIMBOTID00",
                "name": self.bot_name,
                "localeId": self.locale_id,
                "version": "1",
                "aliasId": "SIMALIAS00",
                "aliasName": "live",
            },
            "interpretations": [{"interpretationSource": "Lex", "intent": lex_intent, "nluConfidence": 1.0}],
            "proposedNextState": None,
            "requestAttributes": {},
            "sessionState": {
                "activeContexts": [],
                "sessionAttributes": dict(session),
                "intent": lex_intent,
                "originatingRequestId": str(uuid.uuid4()),
            },
            "transcriptions": [{"transcription": transcript, "transcriptionConfidence": 1.0}],
        }


class _Dialog:
    """One intent's dialog, driven by the code hook's answers and the model."""

    def __init__(
        self, lex: LexEmulator, intent: Intent, slots: dict[str, SlotValue], turn: LexTurn, transcript: str
    ) -> None:
        self.lex = lex
        self.intent = intent
        self.slots: dict[str, SlotValue | None] = {s.name: slots.get(s.name) for s in intent.slots}
        self.turn = turn
        self.transcript = transcript
        self.confirmation = "None"
        self.attempts: dict[str, int] = {}
        turn.intent = intent.name
        turn.state = "InProgress"

    def run(self, inputs: Iterator[str]) -> None:
        pending: dict[str, Any] | None = None  # where the fulfillment hook sent the dialog back to
        for _ in range(50):  # a dialog is bounded even if a code hook keeps re-asking
            action = pending or (self._dialog_hook() if self.intent.dialog_code_hook else {"type": "Delegate"})
            pending = None
            if action["type"] == "Close":
                self._sync()
                return
            elicit = action.get("slotToElicit") if action["type"] == "ElicitSlot" else self._missing_slot()
            if elicit is not None:
                if not self._elicit(elicit, inputs, action):
                    return
                continue
            if action["type"] == "ConfirmIntent" or (self.intent.confirmation and self.confirmation == "None"):
                if not self._confirm(inputs, action):
                    return
                continue
            pending = self._fulfil()
            if pending is None:
                return
        self.turn.state = "Failed"

    def _missing_slot(self) -> str | None:
        return next((s.name for s in self.intent.slots if s.required and self.slots.get(s.name) is None), None)

    def _say(self, messages: list[dict[str, Any]] | None, fallback: str | None) -> None:
        texts = [m["content"] for m in messages or [] if m.get("content")]
        if texts:
            for text in texts:
                self.turn.say(text)
        elif fallback:
            self.turn.say(self._fill(fallback))

    def _fill(self, text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: v.interpreted if (v := self.slots.get(m.group(1))) else m.group(0), text)

    def _elicit(self, name: str, inputs: Iterator[str], action: dict[str, Any]) -> bool:
        slot = next(s for s in self.intent.slots if s.name == name)
        self._say(action.get("messages"), slot.prompt)
        while True:
            text = self.lex._next(inputs, self.turn)
            if text is None:
                return False
            self.transcript = text
            value = self.lex.parse_slot(slot, text)
            if value is not None:
                self.slots[name] = value
                return True
            self.attempts[name] = self.attempts.get(name, 0) + 1
            if self.attempts[name] > slot.max_retries:
                self.turn.state = "Failed"
                return False
            self.turn.say(slot.prompt)

    def _confirm(self, inputs: Iterator[str], action: dict[str, Any]) -> bool:
        assert self.intent.confirmation is not None or action["type"] == "ConfirmIntent"
        prompt = self.intent.confirmation.prompt if self.intent.confirmation else None
        self._say(action.get("messages"), prompt)
        text = self.lex._next(inputs, self.turn)
        if text is None:
            return False
        self.transcript = text
        words = normalize(text)
        said = self.lex.words
        if words in said.yes or any(words.startswith(f"{w} ") for w in said.yes):
            self.confirmation = "Confirmed"
            return True
        self.confirmation = "Denied"
        if self.intent.confirmation:
            self.turn.say(self.intent.confirmation.declined)
        if words not in said.no and not any(words.startswith(f"{w} ") for w in said.no):
            self.turn.say(said.not_understood)
        self.turn.state = "Failed"
        self._sync()
        return False

    def _dialog_hook(self) -> dict[str, Any]:
        response = self._hook("DialogCodeHook", "InProgress")
        state = response["sessionState"]
        self._absorb(state)
        action = dict(state["dialogAction"])
        action["messages"] = response.get("messages")
        if action["type"] in ("ElicitSlot", "ConfirmIntent", "Close") and action["type"] == "Close":
            self._say(response.get("messages"), None)
            self.turn.state = state["intent"].get("state", "Fulfilled")
        return action

    def _fulfil(self) -> dict[str, Any] | None:
        """Fulfil the intent; returns the hook's ElicitSlot action if it sends the caller back to a slot."""
        if not self.intent.fulfillment_code_hook:
            self.turn.state = "Fulfilled"
            self._sync()
            return None
        response = self._hook("FulfillmentCodeHook", "ReadyForFulfillment")
        state = response["sessionState"]
        self._absorb(state)
        action = dict(state["dialogAction"])
        if action["type"] == "ElicitSlot":
            action["messages"] = response.get("messages")
            self.turn.state = "InProgress"
            return action
        self._say(response.get("messages"), None)
        self.turn.state = state["intent"].get("state", "Fulfilled")
        return None

    def _hook(self, source: str, state: str) -> dict[str, Any]:
        if self.lex.code_hook is None:
            raise RuntimeError(f"intent {self.intent.name} enables a code hook, but no code hook is mapped")
        event = self.lex.event(
            source, self.intent, self.slots, state, self.confirmation, self.transcript, self.turn.session_attributes
        )
        return self.lex.code_hook(event)

    def _absorb(self, state: dict[str, Any]) -> None:
        # The hook's sessionState is the state the conversation goes on with (Lex V2 developer guide, "AWS Lambda
        # response format for Lex V2": sessionState, "the state ... that you want to return"): an attribute the hook
        # leaves out is gone for the rest of the session, so the emulator does not fall back to the old ones.
        attributes = state.get("sessionAttributes")
        self.turn.session_attributes = dict(attributes) if isinstance(attributes, dict) else {}
        slots = (state.get("intent") or {}).get("slots")
        if isinstance(slots, dict):
            for name, value in slots.items():
                if name in self.slots:
                    interpreted = ((value or {}).get("value") or {}).get("interpretedValue")
                    self.slots[name] = (
                        SlotValue(value["value"].get("originalValue", interpreted), interpreted)
                        if (interpreted)
                        else None
                    )
        self._sync()

    def _sync(self) -> None:
        self.turn.slots = {k: v.interpreted for k, v in self.slots.items() if v is not None}
