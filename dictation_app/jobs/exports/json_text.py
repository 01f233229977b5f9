"""The JSON export: exactly `json.dumps(transcript.to_json_dict(), ensure_ascii=False,
indent=2)`, written by a template for the common shape because the stdlib's indented
writer is pure Python (over a second for a 10-hour transcript)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

from dictation_app.protocols.transcript import Segment, Transcript, Word

# The stdlib writes indented JSON in pure Python, one generator step per token: over a
# second for 10 hours of words. Here the C encoder writes every value, one per line
# (a JSON string never holds a raw newline), and a template of the indented layout,
# built from the same key names, takes them in order: the text is the same.

_WORD_KEYS = ("word", "start", "end", "conf")
_SEGMENT_KEYS = ("start", "end", "speaker", "text", "words")
_TRANSCRIPT_KEYS = ("provider", "file", "language", "duration", "text", "segments")
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _fields(keys: Sequence[str], depth: int) -> str:
    pad = "  " * depth
    return ",\n".join(f"{pad}{json.dumps(key)}: %s" for key in keys)


_WORD_TEMPLATE = "        {\n" + _fields(_WORD_KEYS, 5) + "\n        }"
_SEGMENT_OPEN = "    {\n" + _fields(_SEGMENT_KEYS[:-1], 3) + f",\n      {json.dumps('words')}: "
_TRANSCRIPT_OPEN = "{\n" + _fields(_TRANSCRIPT_KEYS[:-1], 1) + f",\n  {json.dumps('segments')}: "
_word_values = attrgetter(*_WORD_KEYS)
_segment_values = attrgetter(*_SEGMENT_KEYS[:-1])
_transcript_values = attrgetter(*_TRANSCRIPT_KEYS[:-1])


def _template_matches_contract() -> bool:
    return (
        tuple(Word("", None, None, None).to_json_dict()) == _WORD_KEYS
        and tuple(Segment(None, None, None, "").to_json_dict()) == _SEGMENT_KEYS
        and tuple(Transcript("", None, None, None, "").to_json_dict()) == _TRANSCRIPT_KEYS
    )


_TEMPLATE_MATCHES = _template_matches_contract()  # else json.dumps does it all


def transcript_json(transcript: Transcript) -> str:
    if _TEMPLATE_MATCHES:
        text = _json_template(transcript)
        if text is not None:
            return text
    return json.dumps(transcript.to_json_dict(), ensure_ascii=False, indent=2)


def _json_template(transcript: Transcript) -> str | None:
    """json.dumps(transcript.to_json_dict(), ensure_ascii=False, indent=2), faster; None
    when a value is not a plain str, number, bool or None (the stdlib then writes it)."""
    values: list[object] = list(_transcript_values(transcript))
    parts: list[str] = []
    word_lists: dict[int, str] = {}
    for segment in transcript.segments:
        values.extend(_segment_values(segment))
        count = len(segment.words)
        words = word_lists.get(count)
        if words is None:
            words = word_lists[count] = (
                "[\n" + ",\n".join([_WORD_TEMPLATE] * count) + "\n      ]" if count else "[]"
            )
        if count:
            values.extend(chain.from_iterable(map(_word_values, segment.words)))
        parts.append(f"{_SEGMENT_OPEN}{words}\n    }}")
    if not set(map(type, values)) <= _PLAIN:
        return None
    encoded = json.dumps(values, ensure_ascii=False, separators=("\n", ":"))[1:-1].split("\n")
    if len(encoded) != len(values):
        return None
    segments = "[\n" + ",\n".join(parts) + "\n  ]" if parts else "[]"
    return (_TRANSCRIPT_OPEN + segments + "\n}") % tuple(encoded)
