"""Pure tests of the service-neutral transcript and its JSON form."""

from __future__ import annotations

import json

from dictation_app.protocols.transcript import (
    Segment,
    Transcript,
    Word,
    make_extras,
    segment_redactions,
)


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


def test_the_named_extras_read_the_same_whatever_the_service_calls_them() -> None:
    async_style = Segment(0.0, 1.0, "S0", "Nick", extras=make_extras(
        {"redaction": " <PERSON> ", "emotion": "neu", "translation": "  "}))
    assert (async_style.redacted_text, async_style.emotion, async_style.translation) == (
        "<PERSON>", "neu", None)  # blank is nothing
    stored = Segment(0.0, 1.0, None, "Nick", extras=(("redacted_text", "<PERSON>"),))
    assert stored.redacted_text == "<PERSON>"
    plain = Transcript("nevisa", None, None, None, "salam", (Segment(0.0, 1.0, None, "salam"),))
    assert (plain.has_redaction, plain.redacted_text, plain.translation) == (False, None, None)
    assert plain.redacted() is None


def test_redacted_maps_segment_redactions_and_drops_the_original_words() -> None:
    transcript = Transcript(
        "botlhale", "a.wav", "en", 9.0, "Hi Nick. Bye Kuru. Ok.",
        (Segment(0.0, 2.0, "S0", "Hi Nick.", (Word("Hi", 0.0, 1.0, 0.9),
                                               Word("Nick.", 1.0, 2.0, 0.8)),
                 extras=make_extras({"redaction": "Hi <PERSON>.", "emotion": "hap"})),
         Segment(2.0, 4.0, "S1", "Bye Kuru.", extras=make_extras(
             {"redaction": "Bye <LOCATION>.", "translation": "Sala kahle."})),
         Segment(4.0, 5.0, "S1", "Ok.")))
    redacted = transcript.redacted()
    assert redacted is not None
    assert redacted.text == "Hi <PERSON>. Bye <LOCATION>. Ok." == transcript.redacted_text
    assert [s.text for s in redacted.segments] == ["Hi <PERSON>.", "Bye <LOCATION>.", "Ok."]
    assert [s.words for s in redacted.segments] == [(), (), ()]  # the names live in words
    assert [(s.start, s.end, s.speaker) for s in redacted.segments] == [
        (s.start, s.end, s.speaker) for s in transcript.segments]
    assert redacted.segments[0].emotion == "hap"
    assert transcript.translation == "Sala kahle."
    assert segment_redactions(transcript) == ["Hi <PERSON>.", "Bye <LOCATION>.", None]


def test_redacted_of_a_whole_text_redaction() -> None:
    whole = make_extras({"redacted_text": "Hello <PERSON>."})
    sync = Transcript("botlhale", None, "en", 2.0, "Hello Nick.",
                      (Segment(0.0, 2.0, None, "Hello Nick."),), whole)
    redacted = sync.redacted()
    assert redacted is not None
    assert [s.text for s in redacted.segments] == ["Hello <PERSON>."]
    assert segment_redactions(sync) == ["Hello <PERSON>."]
    # Several segments and one redacted text: one part over their span, no original left.
    split = Transcript("x", None, None, 5.0, "Hello Nick.",
                       (Segment(1.0, 2.0, "A", "Hello"), Segment(2.0, 3.0, "B", "Nick.")), whole)
    redacted = split.redacted()
    assert redacted is not None
    assert [(s.start, s.end, s.speaker, s.text) for s in redacted.segments] == [
        (1.0, 3.0, None, "Hello <PERSON>.")]
    assert segment_redactions(split) == [None, None]
    text_only = Transcript("x", None, None, None, "Hello Nick.", (), whole)
    redacted = text_only.redacted()
    assert redacted is not None and (redacted.text, redacted.segments) == ("Hello <PERSON>.", ())
