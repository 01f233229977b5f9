"""The offline engines' common interface: a model lends recognizers, a recognizer turns
16 kHz PCM into partial and final results.

Every engine in engine/registry.py implements these two protocols; the WebSocket server
and the file transcriber use nothing else, so they do not know which engine they drive.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WordTiming:
    """One recognised word with its span in seconds from the start of the stream.

    `confidence` is the engine's own 0..1 score, or None when it gives none.
    """

    text: str
    start: float
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class PartialResult:
    """The words so far of the utterance being spoken; the next result replaces it.

    Empty when an utterance that showed partials ends without words.
    """

    text: str


@dataclass(frozen=True)
class FinalResult:
    """A settled utterance, with its span in seconds from the start of the stream.

    `words` holds per-word times and confidences where the engine has them (it may
    leave them empty); their texts joined by spaces need not equal `text`, which
    can carry punctuation the words do not.
    """

    text: str
    start: float
    end: float
    words: tuple[WordTiming, ...] = ()


RecognizerEvent = PartialResult | FinalResult


class Recognizer(Protocol):
    """One session's streaming recognizer, fed 16 kHz mono s16le PCM.

    `feed()` takes audio in any amounts and returns the results it settled (partials
    while someone speaks, a final at each pause); `finish()` settles what is still
    being said; `close()` releases the session (idempotent; feeding afterwards raises
    RuntimeError). Implementations must tolerate `close()` from one thread while a
    `feed()` runs in another: the server closes sessions of vanished clients.
    """

    def feed(self, pcm: bytes) -> list[RecognizerEvent]: ...

    def finish(self) -> list[RecognizerEvent]: ...

    def close(self) -> None: ...


class RecognizerModel(Protocol):
    """An engine's loaded configuration, lending a recognizer to each session.

    `load()` does the slow part once (idempotent); `recognizer()` and `session()` may
    also load on first use. All of it blocks: callers on an event loop run it in a
    worker thread. Implementations are thread-safe.
    """

    @property
    def name(self) -> str:
        """The engine's registry name, e.g. "pocketsphinx"."""
        ...

    @property
    def description(self) -> str:
        """What decodes, for logs and messages, e.g. "CMU PocketSphinx, US English"."""
        ...

    @property
    def language(self) -> str:
        """The BCP-47 code of the language it decodes, as transcripts record it."""
        ...

    def load(self) -> None: ...

    def recognizer(self) -> Recognizer:
        """A recognizer for one session; `close()` it when the session ends."""
        ...

    def session(self) -> AbstractContextManager[Recognizer]:
        """`with model.session() as recognizer:` closes it at the end."""
        ...
