"""The service-neutral result of a file transcription, and its JSON form.

Every file-transcription protocol (Botlhale, Nevisa, ...) parses its own reply into a
`Transcript`; the rest of the app only ever sees this shape. Times are in seconds;
anything the service does not give is None (null in JSON), never a made-up zero.

`extras` hold what one service gives beyond the common shape (a redacted text, an
emotion label, the service's job id) as sorted `(name, value)` pairs; they stay out of
`to_json_dict()`, whose keys are fixed. Three of them have one meaning whichever service
gave them, read through the accessors here (`redacted_text`, `emotion`, `translation`)
so that the result view and the exports need not know each service's names for them;
`redacted()` is the transcript as its redacted text reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dictation_app.core.errors import RemoteProtocolError
from dictation_app.protocols.reply_fields import short

Extras = tuple[tuple[str, "str | float"], ...]

# The names of the extras that mean the same for every service. Botlhale's sync reply
# gives the whole text redacted ("redacted_text"), its async reply each segment's
# ("redaction"); both are read as the redacted text.
REDACTED_TEXT = "redacted_text"
_REDACTED_NAMES = (REDACTED_TEXT, "redaction")
EMOTION = "emotion"
TRANSLATION = "translation"
NAMED_EXTRAS = frozenset({*_REDACTED_NAMES, EMOTION, TRANSLATION})


def _text_extra(extras: Extras, *names: str) -> str | None:
    values = dict(extras)
    for name in names:
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


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

    @property
    def redacted_text(self) -> str | None:
        """This segment's text with names and places masked, when the service gave it."""
        return _text_extra(self.extras, *_REDACTED_NAMES)

    @property
    def emotion(self) -> str | None:
        """The service's emotion label for this segment ("neu"), when it gave one."""
        return _text_extra(self.extras, EMOTION)

    @property
    def translation(self) -> str | None:
        return _text_extra(self.extras, TRANSLATION)

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

    @property
    def has_redaction(self) -> bool:
        """Whether the service gave a redacted text, whole or for any segment."""
        return self.redacted_text is not None

    @property
    def redacted_text(self) -> str | None:
        """The whole text redacted: the service's own, else its segments' joined (a
        segment it gave no redaction for in its original words), else None."""
        whole = _text_extra(self.extras, *_REDACTED_NAMES)
        if whole is not None:
            return whole
        texts = segment_redactions(self)
        if not any(t is not None for t in texts):
            return None
        return " ".join(r if r is not None else s.text
                        for r, s in zip(texts, self.segments, strict=True) if r or s.text)

    @property
    def translation(self) -> str | None:
        """The whole translation: the service's own, else its segments' joined."""
        whole = _text_extra(self.extras, TRANSLATION)
        if whole is not None:
            return whole
        parts = [t for s in self.segments if (t := s.translation) is not None]
        return " ".join(parts) if parts else None

    def redacted(self) -> Transcript | None:
        """The transcript as its redacted text reads, or None when the service gave none.

        Segments keep their times and speakers but lose their words: those are the
        original's, names included. A segment the service gave no redaction for keeps
        its original text (Botlhale redacts every segment or none).
        """
        whole = self.redacted_text
        if whole is None:
            return None
        texts = segment_redactions(self)
        segments = tuple(
            Segment(s.start, s.end, s.speaker, r if r is not None else s.text, (), s.extras)
            for s, r in zip(self.segments, texts, strict=True))
        if self.segments and not any(t is not None for t in texts):
            # A whole redacted text that does not map onto several segments: one part
            # over their span, so no original words are left showing.
            first, last = self.segments[0], self.segments[-1]
            segments = (Segment(first.start, last.end, None, whole),)
        return Transcript(self.provider, self.file, self.language, self.duration, whole,
                          segments, self.extras)

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


def segment_redactions(transcript: Transcript) -> list[str | None]:
    """Each segment's redacted text, or None where there is none. A whole redacted text
    counts as the redaction of a lone segment that holds the whole text (Botlhale's sync
    reply)."""
    texts = [s.redacted_text for s in transcript.segments]
    if len(texts) == 1 and texts[0] is None:
        whole = _text_extra(transcript.extras, *_REDACTED_NAMES)
        if whole is not None and transcript.segments[0].text.strip() == transcript.text.strip():
            texts[0] = whole
    return texts


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
