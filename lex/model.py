"""The bot model: intents, utterances, slots, slot types and prompts, as validated data.

One model serves three readers: the CDK construct (``lex.infrastructure``), the offline Lex emulation of the
call simulator, and the tests. Every locale gets the FallbackIntent that Lex requires.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from regions.yaml_files import load_yaml

#: Built-in slot types the kit understands (and the simulator emulates).
BUILTIN_SLOT_TYPES = frozenset({"AMAZON.Number", "AMAZON.Date", "AMAZON.Time", "AMAZON.PhoneNumber"})
FALLBACK_INTENT = "FallbackIntent"
#: The Polly voices with the neural engine (the engine ``lex.infrastructure`` asks for), by the bot locales the kit
#: knows: Polly developer guide, "Available voices" (English, US: en-US; Spanish, US: es-US). Lex V2 supports both
#: locales (Lex V2 developer guide, "Supported languages and locales"). A third locale adds its line here, from the
#: same two pages (docs/languages.md).
NEURAL_VOICES: dict[str, frozenset[str]] = {
    "en_US": frozenset(
        {
            "Danielle",
            "Gregory",
            "Ivy",
            "Joanna",
            "Joey",
            "Justin",
            "Kendra",
            "Kevin",
            "Kimberly",
            "Matthew",
            "Ruth",
            "Salli",
            "Stephen",
        }
    ),
    "es_US": frozenset({"Lupe", "Pedro"}),
}
DEFAULT_MODEL_PATH = Path(__file__).with_name("bot.yaml")

_SLOT_REF = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")
_NAME = r"^([0-9a-zA-Z][_-]?)+$"


class BotModelError(ValueError):
    """The bot model file cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlotValue(_Strict):
    value: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)


class SlotType(_Strict):
    name: str = Field(pattern=_NAME, max_length=100)
    description: str = ""
    values: list[SlotValue] = Field(min_length=1)


class Slot(_Strict):
    name: str = Field(pattern=_NAME, max_length=100)
    type: str
    prompt: str = Field(min_length=1)
    required: bool = True
    max_retries: int = Field(default=2, ge=0, le=5)


class Confirmation(_Strict):
    prompt: str = Field(min_length=1)
    declined: str = Field(min_length=1)


class Intent(_Strict):
    name: str = Field(pattern=_NAME, max_length=100)
    description: str = ""
    utterances: list[str] = Field(min_length=1)
    slots: list[Slot] = Field(default_factory=list)
    confirmation: Confirmation | None = None
    dialog_code_hook: bool = False
    fulfillment_code_hook: bool = False

    @model_validator(mode="after")
    def _references(self) -> Intent:
        names = {s.name for s in self.slots}
        if len(names) != len(self.slots):
            raise ValueError(f"intent {self.name}: slot names must be unique")
        texts = [*self.utterances, *([self.confirmation.prompt] if self.confirmation else [])]
        for text in texts:
            for ref in _SLOT_REF.findall(text):
                if ref not in names:
                    raise ValueError(f"intent {self.name}: {text!r} names slot {{{ref}}}, which it does not have")
        return self


class Locale(_Strict):
    voice: str = "Joanna"
    slot_types: list[SlotType] = Field(default_factory=list)
    intents: list[Intent] = Field(min_length=1)

    @model_validator(mode="after")
    def _types(self) -> Locale:
        custom = {t.name for t in self.slot_types}
        for intent in self.intents:
            if intent.name == FALLBACK_INTENT:
                raise ValueError("FallbackIntent is added by the kit; do not declare it")
            for slot in intent.slots:
                if slot.type not in custom and slot.type not in BUILTIN_SLOT_TYPES:
                    raise ValueError(
                        f"intent {intent.name}: slot {slot.name} has type {slot.type!r}; "
                        f"declare it under slot_types or use one of {sorted(BUILTIN_SLOT_TYPES)}"
                    )
        return self

    def intent(self, name: str) -> Intent:
        for intent in self.intents:
            if intent.name == name:
                return intent
        raise KeyError(name)

    def slot_type(self, name: str) -> SlotType | None:
        return next((t for t in self.slot_types if t.name == name), None)


class BotModel(_Strict):
    name: str = Field(pattern=_NAME, max_length=100)
    description: str = ""
    locales: dict[str, Locale] = Field(min_length=1)

    @model_validator(mode="after")
    def _voices(self) -> BotModel:
        for locale_id, locale in self.locales.items():
            voices = NEURAL_VOICES.get(locale_id)
            if voices is None:
                raise ValueError(
                    f"locales.{locale_id}: the kit does not know this locale's neural voices; add them to "
                    "lex/model.py NEURAL_VOICES from the Polly voice list (docs/languages.md)"
                )
            if locale.voice not in voices:
                raise ValueError(
                    f"locales.{locale_id}.voice: {locale.voice!r} is not a neural {locale_id} voice "
                    f"(Polly, Available voices); choose one of {', '.join(sorted(voices))}"
                )
        return self

    def digest(self, locales: list[str]) -> str:
        """A short hash of what the given locales deploy; a new hash means a new bot version."""
        body = {k: self.locales[k].model_dump(mode="json") for k in sorted(locales)}
        text = json.dumps({"name": self.name, "locales": body}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def intent_names(self, locale: str) -> list[str]:
        return [i.name for i in self.locales[locale].intents] + [FALLBACK_INTENT]


def load_bot_model(path: str | Path = DEFAULT_MODEL_PATH) -> BotModel:
    """Read and validate the bot model file."""
    file = Path(path)
    try:
        raw: Any = load_yaml(file.read_text(encoding="utf-8"))
        return BotModel.model_validate(raw)
    except FileNotFoundError:
        raise BotModelError(f"{file}: bot model not found") from None
    except yaml.YAMLError as exc:
        raise BotModelError(f"{file}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [
            f"{file}: {'.'.join(str(p) for p in err['loc']) or '(top level)'}: "
            f"{str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        ]
        raise BotModelError("\n".join(lines)) from None


def check_locales(model: BotModel, locales: Iterable[str], deployment_file: str) -> None:
    """Raise BotModelError unless the bot model defines every locale the deployment file deploys."""
    missing = [locale for locale in locales if locale not in model.locales]
    if missing:
        raise BotModelError(
            f"{deployment_file}: lex.locales: {', '.join(missing)} not in the bot model (lex/bot.yaml defines "
            f"{', '.join(sorted(model.locales))}); add the locale to the bot model or remove it from the file"
        )
