"""The JSON export: every field a service gave, in fixed keys.

`transcript_dict()` is the document: the common shape (`Transcript.to_json_dict()`)
with, on the transcript and on each segment, the redacted text, the translation (and a
segment's emotion) under service-neutral names, null when not given, and an `extras`
object holding whatever else the service gave (its job id, a segment's language, ...).
The text is exactly `json.dumps(transcript_dict(t), ensure_ascii=False, indent=2)`,
written by a template because the stdlib's indented writer is pure Python (over a
second for a 10-hour transcript).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

from dictation_app.protocols.transcript import (
    NAMED_EXTRAS,
    Extras,
    Segment,
    Transcript,
    Word,
    segment_redactions,
)

# Here the C encoder writes every value, one per line (a JSON string never holds a raw
# newline), and a template of the indented layout, built from the same key names,
# takes them in order: the text is the same as json.dumps with indent=2.

_WORD_KEYS = ("word", "start", "end", "conf")
_SEGMENT_KEYS = ("start", "end", "speaker", "text")  # then the named extras, extras, words
_SEGMENT_NAMED = ("redacted_text", "emotion", "translation")
_TRANSCRIPT_KEYS = ("provider", "file", "language", "duration", "text")
_TRANSCRIPT_NAMED = ("redacted_text", "translation")
_PLAIN = frozenset({str, int, float, bool, type(None)})


def extras_dict(extras: Extras) -> dict[str, Any]:
    """The extras a JSON object shows as `extras`: all but those with a key of their own."""
    return {name: value for name, value in extras if name not in NAMED_EXTRAS}


def segment_dict(segment: Segment, redacted_text: str | None) -> dict[str, Any]:
    data = segment.to_json_dict()
    words = data.pop("words")
    data.update(redacted_text=redacted_text, emotion=segment.emotion,
                translation=segment.translation, extras=extras_dict(segment.extras),
                words=words)
    return data


def transcript_dict(transcript: Transcript) -> dict[str, Any]:
    """The JSON export as a dict: the common shape plus every extra the service gave."""
    data = transcript.to_json_dict()
    del data["segments"]
    data.update(redacted_text=transcript.redacted_text, translation=transcript.translation,
                extras=extras_dict(transcript.extras))
    data["segments"] = [
        segment_dict(segment, redacted)
        for segment, redacted in zip(transcript.segments, segment_redactions(transcript),
                                     strict=True)]
    return data


def _key(name: str) -> str:
    # Keys are written into a %-template: a literal % in one must not read as a slot.
    return json.dumps(name, ensure_ascii=False).replace("%", "%%")


def _fields(keys: Sequence[str], depth: int) -> str:
    pad = "  " * depth
    return ",\n".join(f"{pad}{_key(key)}: %s" for key in keys)


def _object(keys: Sequence[str], depth: int) -> str:
    """The template of a flat object whose first key sits at `depth`, as json.dumps
    indents it; "{}" when empty."""
    if not keys:
        return "{}"
    return "{\n" + _fields(keys, depth) + "\n" + "  " * (depth - 1) + "}"


_WORD_TEMPLATE = "        {\n" + _fields(_WORD_KEYS, 5) + "\n        }"
_SEGMENT_OPEN = "    {\n" + _fields((*_SEGMENT_KEYS, *_SEGMENT_NAMED), 3) + ",\n      "
_TRANSCRIPT_OPEN = "{\n" + _fields((*_TRANSCRIPT_KEYS, *_TRANSCRIPT_NAMED), 1) + ",\n  "
_EXTRAS_KEY = _key("extras")
_WORDS_KEY = _key("words")
_SEGMENTS_KEY = _key("segments")
_word_values = attrgetter(*_WORD_KEYS)
_segment_values = attrgetter(*_SEGMENT_KEYS)
_transcript_values = attrgetter(*_TRANSCRIPT_KEYS)


def _template_matches_contract() -> bool:
    segment = segment_dict(Segment(None, None, None, ""), None)
    transcript = transcript_dict(Transcript("", None, None, None, ""))
    return (
        tuple(Word("", None, None, None).to_json_dict()) == _WORD_KEYS
        and tuple(segment) == (*_SEGMENT_KEYS, *_SEGMENT_NAMED, "extras", "words")
        and tuple(transcript) == (*_TRANSCRIPT_KEYS, *_TRANSCRIPT_NAMED, "extras", "segments")
    )


_TEMPLATE_MATCHES = _template_matches_contract()  # else json.dumps does it all


def transcript_json(transcript: Transcript) -> str:
    if _TEMPLATE_MATCHES:
        text = _json_template(transcript)
        if text is not None:
            return text
    return json.dumps(transcript_dict(transcript), ensure_ascii=False, indent=2)


def _json_template(transcript: Transcript) -> str | None:
    """json.dumps(transcript_dict(transcript), ensure_ascii=False, indent=2), faster; None
    when a value is not a plain str, number, bool or None (the stdlib then writes it)."""
    objects: dict[tuple[tuple[str, ...], int], str] = {}

    def extras_block(extras: Extras, depth: int) -> str:
        shown = extras_dict(extras)
        keys = tuple(shown)
        block = objects.get((keys, depth))
        if block is None:
            block = objects[(keys, depth)] = _object(keys, depth)
        values.extend(shown.values())
        return block

    values: list[object] = list(_transcript_values(transcript))
    values.extend((transcript.redacted_text, transcript.translation))
    head = f"{_TRANSCRIPT_OPEN}{_EXTRAS_KEY}: {extras_block(transcript.extras, 2)},\n  "
    parts: list[str] = []
    word_lists: dict[int, str] = {}
    redactions = segment_redactions(transcript)
    for segment, redacted in zip(transcript.segments, redactions, strict=True):
        values.extend(_segment_values(segment))
        values.extend((redacted, segment.emotion, segment.translation))
        extras = extras_block(segment.extras, 4) if segment.extras else "{}"
        count = len(segment.words)
        words = word_lists.get(count)
        if words is None:
            words = word_lists[count] = (
                "[\n" + ",\n".join([_WORD_TEMPLATE] * count) + "\n      ]" if count else "[]"
            )
        if count:
            values.extend(chain.from_iterable(map(_word_values, segment.words)))
        parts.append(f"{_SEGMENT_OPEN}{_EXTRAS_KEY}: {extras},\n      {_WORDS_KEY}: {words}"
                     "\n    }")
    if not set(map(type, values)) <= _PLAIN:
        return None
    encoded = json.dumps(values, ensure_ascii=False, separators=("\n", ":"))[1:-1].split("\n")
    if len(encoded) != len(values):
        return None
    segments = "[\n" + ",\n".join(parts) + "\n  ]" if parts else "[]"
    return (f"{head}{_SEGMENTS_KEY}: {segments}\n}}") % tuple(encoded)
