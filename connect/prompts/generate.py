#!/usr/bin/env python3
"""Write the sample's recorded prompt: a short two-note chime as an 8 kHz mono U-Law WAV, the one format Connect plays
(regions/prompts.py has the rules and their source).

Run it from the kit's folder: ``.venv/bin/python connect/prompts/generate.py``. Real prompts are recordings: convert
them with ``ffmpeg -i in.wav -ar 8000 -ac 1 -acodec pcm_mulaw connect/prompts/NAME.wav``. No ``audioop`` (removed
in Python 3.13): the G.711 U-Law encoder is the ITU-T reference algorithm, a few lines long.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

RATE = 8000
_BIAS = 0x84
_CLIP = 32635


def ulaw(sample: int) -> int:
    """One 16-bit linear sample as a G.711 U-Law byte."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), _CLIP) + _BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_wav(samples: list[int]) -> bytes:
    """A WAV file of 8 kHz mono U-Law (format tag 7) holding ``samples``."""
    return ulaw_file(bytes(ulaw(s) for s in samples))


def ulaw_file(data: bytes) -> bytes:
    """A WAV file of 8 kHz mono U-Law around already encoded bytes (one byte a sample)."""
    fmt = struct.pack("<HHIIHHH", 7, 1, RATE, RATE, 1, 8, 0)  # non-PCM formats carry cbSize
    fact = struct.pack("<I", len(data))
    body = b"WAVE" + _chunk(b"fmt ", fmt) + _chunk(b"fact", fact) + _chunk(b"data", data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _chunk(name: bytes, body: bytes) -> bytes:
    return name + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def chime(notes: tuple[float, ...] = (880.0, 660.0), note_seconds: float = 0.3, volume: float = 0.4) -> list[int]:
    """Notes one after the other, each fading out."""
    samples: list[int] = []
    count = int(RATE * note_seconds)
    for frequency in notes:
        for i in range(count):
            fade = 1 - i / count
            samples.append(int(32767 * volume * fade * math.sin(2 * math.pi * frequency * i / RATE)))
    return samples


def main() -> None:
    target = Path(__file__).resolve().parent / "transfer-chime.wav"
    target.write_bytes(ulaw_wav(chime()))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
