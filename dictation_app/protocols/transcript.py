"""The service-neutral result of a file transcription, and its JSON form.

Every file-transcription protocol (Botlhale, Nevisa, ...) parses its own reply into a
`Transcript`; the rest of the app only ever sees this shape. Times are in seconds;
anything the service does not give is None (null in JSON), never a made-up zero.

`extras` hold what one service gives beyond the common shape (a redacted text, an
emotion label, the service's job id) as sorted `(name, value)` pairs; they stay out of
`to_json_dict()`, whose keys are fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Extras = tuple[tuple[str, "str | float"], ...]


def make_extras(values: dict[str, str | float | None]) -> Extras:
    """Sorted (name, value) pairs of the values that are not None: hashable and stable."""
    return tuple(sorted((k, v) for k, v in values.items() if v is not None))


@dataclass(frozen=True)
class Word:
    word: str
    start: float | None  # seconds
    end: float | None  # seconds
    conf: float | None  # the service's confidence, 0..1 where it says so

    def to_json_dict(self) -> dict[str, Any]:
        return {"word": self.word, "start": self.start, "end": self.end, "conf": self.conf}


@dataclass(frozen=True)
class Segment:
    start: float | None  # seconds
    end: float | None  # seconds
    speaker: str | None
    text: str
    words: tuple[Word, ...] = ()
    extras: Extras = ()

    def extra(self, name: str) -> str | float | None:
        return dict(self.extras).get(name)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "speaker": self.speaker,
            "text": self.text,
            "words": [w.to_json_dict() for w in self.words],
        }


@dataclass(frozen=True)
class Transcript:
    provider: str
    file: str | None  # the local file the person chose, not the service's object key
    language: str | None
    duration: float | None  # seconds of audio, as the service measured it
    text: str
    segments: tuple[Segment, ...] = ()
    extras: Extras = ()

    def extra(self, name: str) -> str | float | None:
        return dict(self.extras).get(name)

    def to_json_dict(self) -> dict[str, Any]:
        """Exactly provider, file, language, duration, text, segments[...]; JSON-ready."""
        return {
            "provider": self.provider,
            "file": self.file,
            "language": self.language,
            "duration": self.duration,
            "text": self.text,
            "segments": [s.to_json_dict() for s in self.segments],
        }
