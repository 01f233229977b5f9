"""The engine decodes real speech through `dictation-app serve` + `dictation-app stream`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from tests.support.audio import SENTENCES, Speech

pytestmark = pytest.mark.engine


def app(*args: str) -> list[str]:
    return [sys.executable, "-m", "dictation_app", *args]


@pytest.fixture
def served(grammar_file: Path) -> Iterator[str]:
    server = subprocess.Popen(app("serve", "--port", "0", "--grammar", str(grammar_file)),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith("READY ws://127.0.0.1:"), server.stderr.read() if server.stderr else ""
    yield line.split()[1]
    server.terminate()
    _, errors = server.communicate(timeout=20)  # closes the pipes too
    assert server.returncode == 0, errors


def speech_file(path: Path, pcm: bytes, rate: int, channels: int) -> Path:
    mono = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    resampled = soxr.resample(mono, 16000, rate) if rate != 16000 else mono
    subtype = "VORBIS" if path.suffix == ".ogg" else "PCM_16"
    soundfile.write(str(path), np.repeat(resampled[:, None], channels, axis=1), rate,
                    subtype=subtype)
    return path


def test_two_sentences_come_back_as_two_finals(tmp_path: Path, speech: Speech,
                                                served: str) -> None:
    pcm = speech(0.5, SENTENCES[0], 1.5, SENTENCES[2], 1.0)
    path = speech_file(tmp_path / "speech.wav", pcm, 44100, 2)
    result = subprocess.run(app("stream", str(path), "--url", served, "--pace", "fast"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [SENTENCES[0], SENTENCES[2]]


def test_partials_come_before_each_final(tmp_path: Path, speech: Speech, served: str) -> None:
    path = speech_file(tmp_path / "speech.flac", speech(0.3, SENTENCES[1], 0.8), 16000, 1)
    result = subprocess.run(app("stream", str(path), "--url", served, "--pace", "fast",
                                "--jsonl"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1] == {"type": "final", "text": SENTENCES[1]}
    assert events[0]["type"] == "partial" and len(events) > 2


def test_provider_local_starts_the_engine_itself(tmp_path: Path, speech: Speech) -> None:
    # The product's general model, not the test grammar: assert the path, not the words.
    path = speech_file(tmp_path / "speech.ogg", speech(0.3, SENTENCES[3], 0.8), 22050, 1)
    result = subprocess.run(app("stream", str(path), "--provider", "local", "--pace", "fast",
                                "--jsonl"), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finals = [e["text"] for e in events if e["type"] == "final"]
    assert finals and all(finals), events
    heard = set(" ".join(finals).split())
    assert len(heard & set(SENTENCES[3].split())) >= 3, finals
