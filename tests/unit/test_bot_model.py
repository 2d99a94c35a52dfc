"""The bot model file: validated, and hashed so that every change makes a new bot version."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lex.model import DEFAULT_MODEL_PATH, BotModelError, load_bot_model


def test_model_loads_and_adds_the_fallback() -> None:
    model = load_bot_model()
    assert model.intent_names("en_US")[-1] == "FallbackIntent"
    book = model.locales["en_US"].intent("BookAppointment")
    assert [s.name for s in book.slots] == ["AppointmentType", "AppointmentDate", "AppointmentTime"]


def test_digest_changes_with_the_model(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_MODEL_PATH.read_text())
    data["locales"]["en_US"]["intents"][0]["utterances"].append("get me in to see the doctor")
    changed = tmp_path / "bot.yaml"
    changed.write_text(yaml.safe_dump(data))
    assert load_bot_model(changed).digest(["en_US"]) != load_bot_model().digest(["en_US"])
    assert load_bot_model().digest(["en_US"]) == load_bot_model().digest(["en_US"])


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (
            lambda d: d["locales"]["en_US"]["intents"][0]["utterances"].append("book on {Tomorrow}"),
            "names slot {Tomorrow}",
        ),
        (
            lambda d: d["locales"]["en_US"]["intents"][0]["slots"][0].update(type="Colour"),
            "declare it under slot_types",
        ),
        (
            lambda d: d["locales"]["en_US"]["intents"].append({"name": "FallbackIntent", "utterances": ["x"]}),
            "added by the kit",
        ),
    ],
)
def test_bad_model_is_explained(tmp_path: Path, edit, fragment: str) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(DEFAULT_MODEL_PATH.read_text())
    edit(data)
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BotModelError) as error:
        load_bot_model(path)
    assert str(path) in str(error.value) and fragment in str(error.value)
