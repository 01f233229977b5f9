"""A tiny real engine for tests, with no speech model: it settles a final every N bytes.

It implements the interface of dictation_app/engine/recognizer.py and the module
functions of `EngineImplementation`, exactly as a real engine module does, so the
tests that register `DESCRIPTOR` prove the seam without pocketsphinx.
"""

from __future__ import annotations

import contextlib
import threading
from contextlib import AbstractContextManager
from typing import Any

from dictation_app.engine.descriptor import EngineDescriptor
from dictation_app.engine.recognizer import (
    FinalResult,
    PartialResult,
    RecognizerEvent,
    WordTiming,
)

NAME = "echo"
LANGUAGE = "zu"
BYTES_PER_SECOND = 16_000 * 2

DESCRIPTOR = EngineDescriptor(
    name=NAME, label="Echo (tests)", languages=(LANGUAGE,), module=__name__,
    product="Echo", model_note="with no model", credit="Echo test engine", licence="MIT",
    distributions=("echo-engine-for-tests",), options=frozenset({"bytes_per_final"}))


class EchoModel:
    """Lends `EchoRecognizer`s; counts how often it was loaded."""

    name = NAME
    language = LANGUAGE
    description = "echo, a final per N bytes"

    def __init__(self, *, bytes_per_final: int = BYTES_PER_SECOND):
        self.bytes_per_final = bytes_per_final
        self.loads = 0

    def load(self) -> None:
        self.loads += 1

    def recognizer(self) -> EchoRecognizer:
        return EchoRecognizer(self.bytes_per_final)

    def session(self) -> AbstractContextManager[EchoRecognizer]:
        return contextlib.closing(self.recognizer())


class EchoRecognizer:
    """"utterance K" as a final each time `bytes_per_final` more bytes arrived, a partial
    naming the bytes heard so far in between, and the rest settled by finish()."""

    def __init__(self, bytes_per_final: int):
        self._size = bytes_per_final
        self._heard = 0  # bytes of the utterance in progress
        self._settled = 0  # finals so far
        self._closed = False
        self._lock = threading.Lock()

    def feed(self, pcm: bytes) -> list[RecognizerEvent]:
        with self._lock:
            if self._closed:
                raise RuntimeError("EchoRecognizer.feed() after close()")
            events: list[RecognizerEvent] = []
            self._heard += len(pcm)
            while self._heard >= self._size:
                self._heard -= self._size
                events.append(self._final(self._size))
            if self._heard:
                events.append(PartialResult(f"heard {self._heard} bytes"))
            return events

    def finish(self) -> list[RecognizerEvent]:
        with self._lock:
            if self._closed:
                raise RuntimeError("EchoRecognizer.finish() after close()")
            heard, self._heard = self._heard, 0
            return [self._final(heard)] if heard else []

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _final(self, size: int) -> FinalResult:
        start = self._settled * self._size / BYTES_PER_SECOND
        end = start + size / BYTES_PER_SECOND
        self._settled += 1
        text = f"utterance {self._settled}"
        return FinalResult(text, start, end, (
            WordTiming("utterance", start, (start + end) / 2, 1.0),
            WordTiming(str(self._settled), (start + end) / 2, end, 0.5)))


# --- what the descriptor calls -------------------------------------------------------


def create(*, model: str | None = None, language: str | None = None,
           **options: Any) -> EchoModel:
    return EchoModel(**options)


def data_files() -> list[tuple[str, str]]:
    return []


def self_test() -> str:
    return "echo needs no model"
