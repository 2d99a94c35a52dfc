"""Recorded prompts: each file of connect/prompts is checked offline against what Connect plays (8 kHz mono U-Law
.wav, under 50 MB and five minutes: admin guide, "Flow block: Play prompt"), and flows may name each one."""

from __future__ import annotations

import importlib.util
import struct
import wave
from pathlib import Path
from types import ModuleType

import pytest

from regions.config import ConfigError
from regions.prompts import MAX_SECONDS, PROMPTS_DIR, SAMPLE_RATE, PromptError, load_prompts, read_prompt


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prompt_generator", PROMPTS_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_shipped_prompt_is_one_connect_plays() -> None:
    # GIVEN the kit's prompt folder WHEN each file is read THEN each is a playable prompt named by its file
    prompts = load_prompts()
    assert prompts, "the sample plays at least one recorded prompt"
    for prompt in prompts:
        assert prompt.name == prompt.path.stem and 0 < prompt.seconds < MAX_SECONDS


def test_the_generator_writes_a_ulaw_wav_of_the_samples_it_encodes(tmp_path: Path) -> None:
    # GIVEN the generator's chime WHEN written THEN the checker reads its duration from the header
    generator = _generator()
    samples = generator.chime()
    path = tmp_path / "chime.wav"
    path.write_bytes(generator.ulaw_wav(samples))
    prompt = read_prompt(path)
    assert prompt.seconds == pytest.approx(len(samples) / SAMPLE_RATE)
    # AND the U-Law encoder follows G.711: silence is 0xFF, the extremes 0x80 and 0x00
    assert (generator.ulaw(0), generator.ulaw(32767), generator.ulaw(-32768)) == (0xFF, 0x80, 0x00)


def _pcm(path: Path, *, rate: int = 8000, channels: int = 1, seconds: float = 0.5) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * channels * int(rate * seconds))
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_pcm, "format tag 1, 1 channel(s), 8000 Hz, 16 bits"),
        (lambda p: _pcm(p, rate=16000), "16000 Hz"),
        (lambda p: _pcm(p, channels=2), "2 channel(s)"),
        (lambda p: p.write_bytes(b"ID3\x03 not audio") and p, "not a WAV file"),
    ],
    ids=["pcm", "16-khz", "stereo", "mp3-named-wav"],
)
def test_a_file_connect_would_not_play_is_refused_naming_it(tmp_path: Path, make, expected: str) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a .wav that is not 8 kHz mono U-Law WHEN read THEN one error names the file and what is wrong
    path = tmp_path / "greeting.wav"
    make(path)
    with pytest.raises(PromptError) as raised:
        read_prompt(path)
    assert str(raised.value).startswith(f"{path}: ") and expected in str(raised.value)
    # (a ConfigError: the app and ivr print it in one line and exit 2)
    assert isinstance(raised.value, ConfigError)


def test_five_minutes_or_more_is_refused(tmp_path: Path) -> None:
    # GIVEN a U-Law file exactly five minutes long (Connect plays prompts under five minutes)
    generator = _generator()
    path = tmp_path / "long.wav"
    silence = b"\xff"  # U-Law silence
    path.write_bytes(generator.ulaw_file(silence * (SAMPLE_RATE * MAX_SECONDS)))
    with pytest.raises(PromptError, match="under five minutes"):
        read_prompt(path)
    # AND a second shorter is fine
    path.write_bytes(generator.ulaw_file(silence * (SAMPLE_RATE * (MAX_SECONDS - 1))))
    assert read_prompt(path).seconds == MAX_SECONDS - 1


def test_a_name_flows_cannot_use_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hold music.wav"
    path.write_bytes(_generator().ulaw_wav([0] * 800))
    with pytest.raises(PromptError, match="the file name is the prompt's name"):
        read_prompt(path)


def test_an_mp3_beside_the_prompts_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ok.wav").write_bytes(_generator().ulaw_wav([0] * 800))
    (tmp_path / "music.mp3").write_bytes(b"ID3")
    with pytest.raises(PromptError, match=r"music\.mp3: Connect plays \.wav prompts only"):
        load_prompts(tmp_path)


def test_a_data_chunk_size_past_the_end_counts_what_is_there(tmp_path: Path) -> None:
    # GIVEN a header that claims more audio than the file holds (a truncated copy)
    data = bytearray(_generator().ulaw_wav([0] * 800))
    at = data.index(b"data")
    struct.pack_into("<I", data, at + 4, 10_000_000)
    path = tmp_path / "cut.wav"
    path.write_bytes(bytes(data))
    # THEN the duration is what the file holds, not what the header claims
    assert read_prompt(path).seconds == pytest.approx(800 / SAMPLE_RATE)


def test_flows_may_name_each_prompt_file_and_an_unknown_one_says_which_file_to_add() -> None:
    # GIVEN the sample deployment and a flow playing each prompt file, and one playing a prompt no file holds
    from flowkit.language.deployment_checks import FlowDoc, check_placeholders, provided_placeholders
    from regions.config import load_deployment
    from tests.conftest import ROOT

    provided = provided_placeholders(load_deployment(ROOT / "regions" / "clinic.yaml"), [])
    names = [p.name for p in load_prompts()] + ["welcome-back"]
    actions = [
        {"Identifier": f"p{i}", "Type": "MessageParticipant", "Parameters": {"PromptId": f"%PromptArn.{name}%"}}
        for i, name in enumerate(names)
    ]
    findings = check_placeholders(FlowDoc("probe.json", "probe", {"Actions": actions}), provided, "clinic.yaml")
    # THEN only the unknown one is an error, naming the file that would provide it
    assert [(f.action, f.rule) for f in findings] == [(f"p{len(names) - 1}", "unknown-placeholder")]
    assert "add connect/prompts/welcome-back.wav" in findings[0].message
