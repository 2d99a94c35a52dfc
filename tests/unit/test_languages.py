"""Two languages in the bot model and in the offline Lex emulation: every locale serves the same flow branches."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from flowkit.simulate.lex import LANGUAGES, LexEmulator, normalize, parse_date, parse_time, words_of
from lex.model import DEFAULT_MODEL_PATH, NEURAL_VOICES, BotModelError, load_bot_model

TUESDAY = date(2026, 12, 1)
MODEL = load_bot_model()
SPANISH = LANGUAGES["es"]


def test_the_sample_bot_speaks_more_than_one_language() -> None:
    # GIVEN the sample bot model THEN it has a second locale, so the checks below compare something
    assert len(MODEL.locales) >= 2


@pytest.mark.parametrize("locale", sorted(MODEL.locales))
def test_every_locale_has_the_intents_and_slots_the_flows_branch_on(locale: str) -> None:
    # GIVEN one Lex block per language branching on intent names WHEN a locale is compared with the first one
    first = next(iter(MODEL.locales.values()))
    here = MODEL.locales[locale]
    # THEN it has the same intents, each with the same slots (the code hook reads them by name)
    assert MODEL.intent_names(locale) == MODEL.intent_names(next(iter(MODEL.locales)))
    assert {i.name: [s.name for s in i.slots] for i in here.intents} == {
        i.name: [s.name for s in i.slots] for i in first.intents
    }
    # AND its custom slot types resolve to the same values, so a booking made in one language reads in another
    assert {t.name: [v.value for v in t.values] for t in here.slot_types} == {
        t.name: [v.value for v in t.values] for t in first.slot_types
    }


@pytest.mark.parametrize("locale", sorted(MODEL.locales))
def test_every_locale_has_a_neural_voice_of_its_language(locale: str) -> None:
    assert MODEL.locales[locale].voice in NEURAL_VOICES[locale]


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d["locales"]["es_US"].update(voice="Joanna"), "locales.es_US.voice: 'Joanna' is not a neural"),
        (lambda d: d["locales"].update(xx_XX=d["locales"]["es_US"]), "locales.xx_XX: the kit does not know"),
    ],
)
def test_a_voice_that_cannot_speak_the_locale_is_refused(tmp_path: Path, edit, fragment: str) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the model with a voice of another language, or a locale whose voices the kit does not know
    data = yaml.safe_load(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # WHEN loaded THEN one message names the file, the field and the way out
    with pytest.raises(BotModelError) as error:
        load_bot_model(path)
    assert str(path) in str(error.value) and fragment in str(error.value)


def test_accents_are_folded_so_callers_words_match_with_or_without_them() -> None:
    assert (
        normalize("¿Cuándo es mi próxima cita?")
        == normalize("cuando es mi proxima cita")
        == ("cuando es mi proxima cita")
    )


@pytest.mark.parametrize(("text", "expected"), [
    ("mañana", "2026-12-02"), ("el viernes", "2026-12-04"), ("el próximo martes", "2026-12-08"),
    ("3 de diciembre", "2026-12-03"), ("3 de enero", "2027-01-03"), ("algún día", None), ("30 de febrero", None),
])  # fmt: skip
def test_spanish_dates(text: str, expected: str | None) -> None:
    assert parse_date(text, TUESDAY, SPANISH) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("a las diez", "10:00"), ("a las diez y media", "10:30"), ("las tres de la tarde", "15:00"),
    ("10 de la mañana", "10:00"), ("mediodía", "12:00"), ("a la una", "13:00"), ("luego", None),
])  # fmt: skip
def test_spanish_times(text: str, expected: str | None) -> None:
    assert parse_time(text, SPANISH) == expected


def test_a_language_the_emulation_does_not_know_falls_back_to_english_words() -> None:
    assert words_of("fr_CA") is LANGUAGES["en"] and words_of("es_US") is SPANISH


@pytest.mark.parametrize("locale", sorted(MODEL.locales))
def test_the_contact_language_picks_the_locale_whose_utterances_match(locale: str) -> None:
    # GIVEN the emulator of the first locale, as the kit builds it, and a contact language for ``locale``
    lex = LexEmulator(MODEL, next(iter(MODEL.locales)), None, today=lambda: TUESDAY)
    language = locale.replace("_", "-")
    # WHEN the bot is asked in that language
    other = lex.in_language(language)
    # THEN it is that locale's emulator, and each intent's literal utterances of that locale match it
    assert other is not None and other.locale_id == locale and lex.in_language(language) is other
    for intent in MODEL.locales[locale].intents:
        for utterance in (u for u in intent.utterances if "{" not in u):
            matched, _ = other.recognize(utterance)
            assert matched is not None and matched.name == intent.name, utterance


def test_a_language_the_alias_does_not_serve_has_no_locale() -> None:
    # GIVEN an alias that serves only the first locale (a deployment's lex.locales)
    first = next(iter(MODEL.locales))
    lex = LexEmulator(MODEL, first, None, today=lambda: TUESDAY, locales=[first])
    others = [loc for loc in MODEL.locales if loc != first]
    # WHEN asked in another language, or one the model lacks THEN there is no locale to talk to
    assert all(lex.in_language(loc.replace("_", "-")) is None for loc in others)
    assert lex.in_language("xx-XX") is None


def test_spanish_confirmation_words_confirm_and_anything_else_is_not_understood_in_spanish() -> None:
    # GIVEN the Spanish locale's cancellation, which asks for confirmation and has no dialog hook
    lex = LexEmulator(MODEL, "en_US", None, today=lambda: TUESDAY).in_language("es-US")
    assert lex is not None
    cancel = lex.locale.intent("CancelAppointment")
    assert cancel.confirmation is not None
    said = next(u for u in cancel.utterances if "{" not in u)

    def run(answer: str) -> list[str]:
        turn = lex.converse(iter([said, answer]), prompt=None, session_attributes={})
        return turn.prompts

    # WHEN the caller says "sí" THEN the intent is fulfilled without a code hook (none is needed to close it here)
    lex.code_hook = lambda event: {
        "sessionState": {**event["sessionState"], "dialogAction": {"type": "Close"},
                         "intent": {**event["sessionState"]["intent"], "state": "Fulfilled"}},
    }  # fmt: skip
    assert run("sí") == [cancel.confirmation.prompt]
    # WHEN the caller says something that is neither yes nor no THEN the declined text and Spanish "not understood"
    assert run("quizás") == [cancel.confirmation.prompt, cancel.confirmation.declined, SPANISH.not_understood]


def test_a_language_the_flows_set_must_be_a_deployed_bot_locale() -> None:
    from flowkit.language.deployment_checks import FlowDoc, check_languages, deployment_findings
    from flowkit.language.files import load_flows
    from regions.config import load_deployment
    from tests.conftest import ROOT

    sample = load_deployment(ROOT / "regions" / "clinic.yaml")
    flows = load_flows()
    setters = {
        (str(f.path), a["Identifier"])
        for f in flows
        for a in f.doc["Actions"]
        if a["Type"] == "UpdateContactData" and a["Parameters"].get("LanguageCode", "").replace("-", "_") != "en_US"
    }
    # GIVEN the sample, whose flows set a second language WHEN checked THEN nothing is reported
    assert setters and not [
        f for f in deployment_findings(sample, flows, MODEL, "clinic.yaml") if f.severity == "error"
    ]
    # WHEN the deployment deploys the first locale only THEN each block that sets another language is an error
    english = sample.model_copy(update={"lex": sample.lex.model_copy(update={"locales": ["en_US"]})})
    found = [
        f
        for f in deployment_findings(english, flows, MODEL, "only-english.yaml")
        if f.rule == "lex-language-undeployed"
    ]
    assert {(f.file, f.action) for f in found} == setters
    assert all(f.severity == "error" and "only-english.yaml" in f.message for f in found)
    # AND flows that never talk to the kit's bot may set any language
    no_bot = [FlowDoc(str(f.path), f.name, copy.deepcopy(f.doc)) for f in flows]
    for doc in no_bot:
        doc.doc["Actions"] = [a for a in doc.doc["Actions"] if a["Type"] != "ConnectParticipantWithLexBot"]
    assert check_languages(no_bot, no_bot, ["en_US"], "only-english.yaml") == []
