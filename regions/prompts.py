"""Recorded prompts: the audio files in ``connect/prompts/``, one prompt per file, named by the file.

A flow plays one with ``"PromptId": "%PromptArn.NAME%"``; the stacks create each file as an ``AWS::Connect::Prompt``
(uploaded to S3 as an asset) and fill the placeholder with its ARN. Each file is checked offline against what
Connect plays (Connect admin guide, "Flow block: Play prompt", Requirements for prompts): "You must use .wav files
that are 8KHz, and mono channel audio with U-Law encoding. Otherwise, the prompt won't play correctly", and "Amazon
Connect supports prompts that are less than 50MB and less than five minutes long". A prompt's name is at most 127
characters (CreatePrompt Name, Connect API reference) and must fit the flows' placeholder grammar.

The WAV header is read here (RIFF chunks): Python's ``wave`` module reads PCM only, not U-Law.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from regions.config import ConfigError

#: Where the kit's prompts are.
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "connect" / "prompts"
#: The WAVE format tag of G.711 U-Law (Microsoft's WAVE_FORMAT_MULAW, as in RFC 2361).
WAVE_FORMAT_MULAW = 7
SAMPLE_RATE = 8000
#: "less than 50MB" (admin guide): counted in decimal megabytes, the stricter reading.
MAX_BYTES = 50_000_000
#: "less than five minutes long" (admin guide).
MAX_SECONDS = 300
#: CreatePrompt Name: 1-127 characters; the placeholder grammar of the flows (``flowkit.language.lint``).
NAME = re.compile(r"^[A-Za-z0-9_-]{1,127}$")


class PromptError(ConfigError):
    """A prompt file Connect would not play; the message names the file (a ``ConfigError``: the app, ``ivr`` and
    synth report it in one line and stop)."""


@dataclass(frozen=True)
class PromptFile:
    """One recorded prompt: its name (the file's stem), where it is, and what it holds."""

    name: str
    path: Path
    size: int
    seconds: float


def read_prompt(path: Path) -> PromptFile:
    """Check one prompt file against Connect's rules.

    Raises
    ------
    PromptError
        Not an 8 kHz mono U-Law WAV, 50 MB or more, five minutes or longer, or a name flows cannot use.
    """
    if not NAME.fullmatch(path.stem):
        raise PromptError(f"{path}: the file name is the prompt's name: 1-127 letters, digits, '-' or '_'")
    data = path.read_bytes()
    if len(data) >= MAX_BYTES:
        raise PromptError(f"{path}: {len(data):,} bytes; Connect plays prompts under 50 MB")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise PromptError(f"{path}: not a WAV file (no RIFF/WAVE header); Connect plays 8 kHz mono U-Law .wav")
    fmt: tuple[int, int, int, int, int] | None = None
    frames = None
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk == b"fmt " and size >= 16:
            tag, channels, rate, byte_rate, _align, bits = struct.unpack_from("<HHIIHH", data, body)
            fmt = (tag, channels, rate, byte_rate, bits)
        elif chunk == b"data":
            frames = min(size, len(data) - body)
        offset = body + size + (size & 1)  # chunks are padded to an even length
    if fmt is None or frames is None:
        raise PromptError(f"{path}: a WAV file without {'a fmt' if fmt is None else 'a data'} chunk")
    tag, channels, rate, byte_rate, bits = fmt
    if (tag, channels, rate, bits) != (WAVE_FORMAT_MULAW, 1, SAMPLE_RATE, 8):
        raise PromptError(
            f"{path}: format tag {tag}, {channels} channel(s), {rate} Hz, {bits} bits; Connect plays 8 kHz mono "
            "U-Law (tag 7, 8 bits) only (admin guide, 'Flow block: Play prompt'). Convert it, for example "
            "ffmpeg -i in.wav -ar 8000 -ac 1 -acodec pcm_mulaw out.wav"
        )
    seconds = frames / (byte_rate or SAMPLE_RATE)
    if seconds >= MAX_SECONDS:
        raise PromptError(f"{path}: {seconds:.0f} s long; Connect plays prompts under five minutes")
    if frames == 0:
        raise PromptError(f"{path}: holds no audio")
    return PromptFile(path.stem, path, len(data), seconds)


def load_prompts(directory: Path = PROMPTS_DIR) -> list[PromptFile]:
    """Every ``*.wav`` of the folder, checked, by name; none when the folder does not exist."""
    if not directory.is_dir():
        return []
    prompts = [read_prompt(path) for path in sorted(directory.glob("*.wav"))]
    for other in sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() != ".wav"):
        if other.suffix.lower() in (".mp3", ".ogg", ".flac", ".m4a", ".aac", ".wave"):
            raise PromptError(f"{other}: Connect plays .wav prompts only (8 kHz mono U-Law); convert it")
    return prompts


def prompt_names(directory: Path = PROMPTS_DIR) -> list[str]:
    """The names the flows may use as ``%PromptArn.NAME%`` (the files are not checked here)."""
    return sorted(path.stem for path in directory.glob("*.wav")) if directory.is_dir() else []
