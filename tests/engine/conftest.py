"""Fixtures for the embedded engine tests: synthetic speech from espeak-ng and a JSGF grammar."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

# The klatt voice is the one pocketsphinx's general model recognises best.
VOICE = "en-us+klatt"
SAMPLE_RATE = 16_000

SENTENCES = (
    "the weather is nice today",
    "please send the report to my office",
    "we will meet at the station at seven",
    "thank you very much for your help",
    "my brother bought a new car last week",
)

Speech = Callable[..., bytes]


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * SAMPLE_RATE) * 2)


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    """`speech("some text", 1.0, "more text")`: 16 kHz mono s16le, numbers are silences.

    sox runs without dither (`-D`): its dither is random, and the same text must give
    the same samples in every run.
    """
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install espeak-ng sox)")
    workdir = tmp_path_factory.mktemp("speech")
    cache: dict[str, bytes] = {}

    def say(text: str) -> bytes:
        if text not in cache:
            wav = workdir / f"{len(cache)}.wav"
            raw = workdir / f"{len(cache)}.raw"
            subprocess.run(["espeak-ng", "-v", VOICE, "-w", str(wav), text], check=True)
            subprocess.run(["sox", "-V1", str(wav), "-D", "-r", str(SAMPLE_RATE), "-c", "1",
                            "-b", "16", "-e", "signed-integer", "-t", "raw", str(raw)],
                           check=True)
            cache[text] = raw.read_bytes()
        return cache[text]

    def build(*parts: str | float) -> bytes:
        return b"".join(silence(p) if isinstance(p, (int, float)) else say(p) for p in parts)

    return build


@pytest.fixture(scope="session")
def grammar_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grammar") / "sentences.gram"
    alternatives = " | ".join(f"( {s} )" for s in SENTENCES)
    path.write_text(f"#JSGF V1.0;\ngrammar sentences;\npublic <sentence> = {alternatives};\n")
    return path
