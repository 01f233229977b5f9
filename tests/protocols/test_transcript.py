"""Pure tests of the service-neutral transcript and its JSON form."""

from __future__ import annotations

import json

from dictation_app.protocols.transcript import Segment, Transcript, Word, make_extras


def test_to_json_dict_has_exactly_the_documented_shape() -> None:
    transcript = Transcript(
        provider="nevisa", file="a.wav", language="fa", duration=None, text="salam",
        segments=(Segment(0.0, 1.5, None, "salam",
                          (Word("salam", 0.0, 1.5, None),), extras=(("x", "y"),)),),
        extras=make_extras({"id": "42", "none": None}))
    data = transcript.to_json_dict()
    assert data == {
        "provider": "nevisa", "file": "a.wav", "language": "fa", "duration": None,
        "text": "salam",
        "segments": [{"start": 0.0, "end": 1.5, "speaker": None, "text": "salam",
                      "words": [{"word": "salam", "start": 0.0, "end": 1.5, "conf": None}]}],
    }
    assert json.loads(json.dumps(data)) == data  # JSON-ready, nulls included
    assert list(data) == ["provider", "file", "language", "duration", "text", "segments"]


def test_empty_transcript_and_extras() -> None:
    transcript = Transcript("botlhale", None, None, None, "")
    assert transcript.to_json_dict()["segments"] == []
    assert transcript.extra("id") is None
    assert make_extras({"b": 1.0, "a": "x", "c": None}) == (("a", "x"), ("b", 1.0))
    hash(transcript)  # frozen and hashable


def test_segment_extra_lookup() -> None:
    segment = Segment(1.0, 2.0, "S0", "hi", extras=make_extras({"emotion": "neu"}))
    assert segment.extra("emotion") == "neu"
    assert segment.extra("translation") is None
