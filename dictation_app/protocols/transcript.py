"""The service-neutral result of a file transcription, and its JSON form.

Every file-transcription protocol (Botlhale, Nevisa, ...) parses its own reply into a
`Transcript`; the rest of the app only ever sees this shape. Times are in seconds;
anything the service does not give is None (null in JSON), never a made-up zero.

`extras` hold what one service gives beyond the common shape (a redacted text, an
emotion label, the service's job id) as sorted `(name, value)` pairs; they stay out of
`to_json_dict()`, whose keys are fixed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dictation_app.core.errors import RemoteProtocolError
from dictation_app.protocols.reply_fields import short

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


# --- storage form ---------------------------------------------------------------
# The job store keeps a transcript as JSON: the public form plus the extras, so that
# nothing a service gave is lost between runs of the app.


def to_store_dict(transcript: Transcript) -> dict[str, Any]:
    data = transcript.to_json_dict()
    data["extras"] = [list(pair) for pair in transcript.extras]
    for segment, stored in zip(transcript.segments, data["segments"], strict=True):
        stored["extras"] = [list(pair) for pair in segment.extras]
    return data


class DamagedTranscript(RemoteProtocolError, ValueError):
    """A stored (or a child's) transcript that is not what to_store_dict() writes.

    A ValueError as well, so readers of the job store that catch one keep working.
    """


def from_store_dict(data: Mapping[str, Any]) -> Transcript:
    """The inverse of to_store_dict(); raises DamagedTranscript on damage."""
    try:
        return _from_store_dict(data)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise DamagedTranscript(
            f"A saved transcript is damaged ({type(exc).__name__}: {short(str(exc))})"
        ) from None


def _from_store_dict(data: Mapping[str, Any]) -> Transcript:
    return Transcript(
        provider=str(data["provider"]), file=data.get("file"), language=data.get("language"),
        duration=_float(data.get("duration")), text=str(data["text"]),
        segments=tuple(
            Segment(start=_float(s.get("start")), end=_float(s.get("end")),
                    speaker=s.get("speaker"), text=str(s["text"]),
                    words=tuple(Word(str(w["word"]), _float(w.get("start")),
                                     _float(w.get("end")), _float(w.get("conf")))
                                for w in s.get("words", ())),
                    extras=_extras(s.get("extras", ())))
            for s in data.get("segments", ())),
        extras=_extras(data.get("extras", ())))


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):  # no parser makes one; Infinity would not load again
        raise ValueError(f"{value!r} is not a finite time or confidence")
    return number


def _extras(pairs: Any) -> Extras:
    return tuple((str(name), value) for name, value in pairs)
