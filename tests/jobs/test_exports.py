"""Pure tests of transcript exports: exact text for small cases, and cue invariants
checked by parsing the SRT and WebVTT output back."""

from __future__ import annotations

import json
import math
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from dictation_app.core.errors import DictationError
from dictation_app.jobs.exports import ExportFormat, dialog_filter, export, write_export
from dictation_app.jobs.exports.json_text import transcript_dict
from dictation_app.protocols import botlhale
from dictation_app.protocols.transcript import Segment, Transcript, Word
from tests.servers.botlhale_server import data_v2_body, sync_body

TXT, SRT, VTT, JSON = ExportFormat.TXT, ExportFormat.SRT, ExportFormat.VTT, ExportFormat.JSON


def make(*segments: Segment, text: str | None = None, duration: float | None = None,
         ) -> Transcript:
    if text is None:
        text = " ".join(s.text for s in segments)
    return Transcript("test", "talk.wav", "en", duration, text, tuple(segments))


def timed(words: str, start: float, step: float, gap: float = 0.0) -> tuple[Word, ...]:
    """Words `step` seconds long, `gap` apart, from `start`."""
    out = []
    for n, word in enumerate(words.split()):
        at = start + n * (step + gap)
        out.append(Word(word, at, at + step, 0.9))
    return tuple(out)


# --- a tiny parser of our subtitle output -------------------------------------------------


@dataclass
class Cue:
    number: int
    start: int  # ms
    end: int  # ms
    lines: list[str]


TIMING = {
    SRT: re.compile(r"(\d{2,}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2,}):(\d{2}):(\d{2}),(\d{3})"),
    VTT: re.compile(r"(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})"),
}


def parse(text: str, fmt: ExportFormat) -> list[Cue]:
    """Cues of an SRT or WebVTT file, failing on anything malformed."""
    if fmt is VTT:
        assert text.startswith("WEBVTT\n")
        text = text[len("WEBVTT\n"):]
        if not text:
            return []
        assert text.startswith("\n")
        text = text[1:]
    if not text:
        return []
    assert text.endswith("\n") and not text.endswith("\n\n")
    cues = []
    for block in text[:-1].split("\n\n"):
        number, timing, *lines = block.split("\n")
        assert number.isdigit(), block
        match = TIMING[fmt].fullmatch(timing)
        assert match, timing
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
        assert m1 < 60 and s1 < 60 and m2 < 60 and s2 < 60
        assert lines and all(line.strip() for line in lines), block
        cues.append(Cue(int(number), ((h1 * 60 + m1) * 60 + s1) * 1000 + ms1,
                        ((h2 * 60 + m2) * 60 + s2) * 1000 + ms2, lines))
    return cues


def visible_lines(cue: Cue, fmt: ExportFormat) -> list[str]:
    """The cue's lines as a viewer reads them: no voice tag, entities decoded."""
    lines = list(cue.lines)
    if fmt is VTT:
        lines[0] = re.sub(r"^<v [^>]+>", "", lines[0])
        lines = [ln.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                 for ln in lines]
    return lines


def check_invariants(cues: list[Cue], fmt: ExportFormat) -> None:
    assert [c.number for c in cues] == list(range(1, len(cues) + 1))
    previous_end = 0
    for cue in cues:
        assert cue.start >= previous_end, (cue, previous_end)  # ordered, never overlapping
        assert cue.end > cue.start, cue
        assert cue.end - cue.start <= 7001, cue  # 7 s, plus rounding of both ends
        assert 1 <= len(cue.lines) <= 2, cue
        for line in visible_lines(cue, fmt):
            assert len(line) <= 42 or " " not in line.split(": ", 1)[-1], cue
        if fmt is VTT:
            text = "\n".join(cue.lines)
            assert "-->" not in text
            assert re.sub(r"^<v [^>]+>", "", text).count("<") == 0
            assert "&" not in re.sub(r"&(amp|lt|gt);", "", text)
        previous_end = cue.end


def shown_words(cues: list[Cue], fmt: ExportFormat) -> list[str]:
    text = " ".join(" ".join(visible_lines(c, fmt)) for c in cues)
    return re.sub(r"(^| )Speaker \d+: ", " ", text).split()


# --- formats ------------------------------------------------------------------------------


def test_formats_name_their_files_for_a_file_dialog() -> None:
    assert [f.value for f in ExportFormat] == ["txt", "srt", "vtt", "json"]
    assert SRT.extension == ".srt"
    assert SRT.label == "SubRip subtitles (*.srt)"
    assert VTT.label == "WebVTT subtitles (*.vtt)"
    assert dialog_filter() == (
        "Plain text (*.txt);;SubRip subtitles (*.srt);;WebVTT subtitles (*.vtt);;"
        "JSON transcript (*.json)"
    )
    assert ExportFormat.for_path("/tmp/Meeting.SRT") is SRT
    assert ExportFormat.for_path("notes.txt") is TXT
    assert ExportFormat.for_path("talk.doc") is None
    assert ExportFormat.for_path("README") is None
    assert ExportFormat("vtt") is VTT


# --- TXT ----------------------------------------------------------------------------------

CONVERSATION = make(
    Segment(0.0, 2.5, "spk_b", "Hello there."),
    Segment(2.5, 5.0, "spk_b", "How are you?"),
    Segment(5.0, 7.0, "spk_a", "Fine,\n\n  thanks."),
    Segment(62.0, 64.0, None, "Bye."),
)


def test_txt_has_one_paragraph_per_segment() -> None:
    assert export(CONVERSATION, TXT) == (
        "Hello there.\n\nHow are you?\n\nFine, thanks.\n\nBye.\n"
    )


def test_txt_with_timestamps() -> None:
    assert export(CONVERSATION, TXT, timestamps=True) == (
        "[00:00:00] Hello there.\n\n[00:00:02] How are you?\n\n[00:00:05] Fine, thanks.\n\n"
        "[00:01:02] Bye.\n"
    )


def test_txt_with_speakers_joins_turns_and_labels_changes() -> None:
    assert export(CONVERSATION, TXT, speakers=True) == (
        "Speaker 1: Hello there. How are you?\n\nSpeaker 2: Fine, thanks.\n\nBye.\n"
    )
    assert export(CONVERSATION, TXT, timestamps=True, speakers=True) == (
        "[00:00:00] Speaker 1: Hello there. How are you?\n\n"
        "[00:00:05] Speaker 2: Fine, thanks.\n\n[00:01:02] Bye.\n"
    )


def test_txt_speaker_coming_back_starts_a_new_labelled_paragraph() -> None:
    transcript = make(Segment(0, 1, "7", "One."), Segment(1, 2, "3", "Two."),
                      Segment(2, 3, " 7 ", "Three."), Segment(3, 4, "", "Four."),
                      Segment(4, 5, "7", "Five."))
    assert export(transcript, TXT, speakers=True) == (
        "Speaker 1: One.\n\nSpeaker 2: Two.\n\nSpeaker 1: Three.\n\nFour.\n\nSpeaker 1: Five.\n"
    )


@pytest.mark.parametrize(("seconds", "shown"), [
    (59.4, "00:00:59"), (3599.4, "00:59:59"), (3599.9996, "01:00:00"), (3600.0, "01:00:00"),
    (3723.9, "01:02:03"), (36062.0, "10:01:02"), (360000.0, "100:00:00"),
])
def test_txt_timestamps_at_hour_boundaries(seconds: float, shown: str) -> None:
    transcript = make(Segment(seconds, seconds + 1, None, "x"))
    assert export(transcript, TXT, timestamps=True) == f"[{shown}] x\n"


def test_txt_timestamp_from_first_word_or_none_at_all() -> None:
    transcript = make(Segment(None, None, None, "From words.", timed("From words.", 65.0, 0.5)),
                      Segment(None, None, None, "Unknown."))
    assert export(transcript, TXT, timestamps=True) == "[00:01:05] From words.\n\nUnknown.\n"


def test_txt_without_segments_is_the_transcript_text() -> None:
    assert export(make(text="  Just the text.\nTwo lines. \n"), TXT, timestamps=True,
                  speakers=True) == "Just the text.\nTwo lines.\n"
    assert export(make(Segment(0, 1, None, "  "), text="Fallback."), TXT) == "Fallback.\n"


# --- SRT and WebVTT: exact output -----------------------------------------------------------

DIALOGUE = make(
    Segment(1.0, 2.5, "A", "Hello there."),
    Segment(2.5, 4.0, "A", "How are you?"),
    Segment(4.2, 6.0, "B", "Fine & <well>, thanks."),
    Segment(7.0, 8.0, None, "Bye."),
)


def test_srt_exact() -> None:
    assert export(DIALOGUE, SRT) == (
        "1\n00:00:01,000 --> 00:00:02,500\nSpeaker 1: Hello there.\n\n"
        "2\n00:00:02,500 --> 00:00:04,000\nHow are you?\n\n"
        "3\n00:00:04,200 --> 00:00:06,000\nSpeaker 2: Fine & <well>, thanks.\n\n"
        "4\n00:00:07,000 --> 00:00:08,000\nBye.\n"
    )


def test_vtt_exact_with_voices_and_escaping() -> None:
    assert export(DIALOGUE, VTT) == (
        "WEBVTT\n\n"
        "1\n00:00:01.000 --> 00:00:02.500\n<v Speaker 1>Hello there.\n\n"
        "2\n00:00:02.500 --> 00:00:04.000\n<v Speaker 1>How are you?\n\n"
        "3\n00:00:04.200 --> 00:00:06.000\n<v Speaker 2>Fine &amp; &lt;well&gt;, thanks.\n\n"
        "4\n00:00:07.000 --> 00:00:08.000\nBye.\n"
    )


def test_options_only_affect_txt() -> None:
    for fmt in (SRT, VTT, JSON):
        assert export(DIALOGUE, fmt) == export(DIALOGUE, fmt, timestamps=True, speakers=True)


@pytest.mark.parametrize(("start", "end", "timing"), [
    (59.9994, 61.0, "00:00:59,999 --> 00:01:01,000"),
    (3599.9996, 3601.0004, "01:00:00,000 --> 01:00:01,000"),
    (3599.9994, 3601.0006, "00:59:59,999 --> 01:00:01,001"),
    (36000.5, 36001.5, "10:00:00,500 --> 10:00:01,500"),
    (0.0, 0.9995, "00:00:00,000 --> 00:00:01,000"),
])
def test_timestamps_round_to_the_millisecond(start: float, end: float, timing: str) -> None:
    text = export(make(Segment(start, end, None, "x")), SRT)
    assert text.split("\n")[1] == timing
    assert export(make(Segment(start, end, None, "x")), VTT).split("\n")[3] == (
        timing.replace(",", ".")
    )


# --- cue splitting ---------------------------------------------------------------------------

SIXTEEN = " ".join(f"word{n:02d}" for n in range(1, 17))  # 16 words of 6 characters


def test_long_segment_split_by_word_times_and_lines() -> None:
    # Twelve words fill two lines of 42; the last cue ends with the last word, not with
    # the segment, because the words say when the speech stopped.
    transcript = make(Segment(10.0, 20.0, None, SIXTEEN, timed(SIXTEEN, 10.0, 0.4)))
    assert export(transcript, SRT) == (
        "1\n00:00:10,000 --> 00:00:14,800\n"
        "word01 word02 word03 word04 word05 word06\nword07 word08 word09 word10 word11 word12\n\n"
        "2\n00:00:14,800 --> 00:00:16,400\nword13 word14 word15 word16\n"
    )


def test_long_segment_without_words_split_proportionally_by_characters() -> None:
    # Each word with its space is 7 characters, and the span gives 1/8 s per character,
    # so a word takes 0.875 s and the 7 s limit ends the first cue after 8 words.
    transcript = make(Segment(0.0, 14.0, None, SIXTEEN))
    assert export(transcript, SRT) == (
        "1\n00:00:00,000 --> 00:00:07,000\n"
        "word01 word02 word03 word04\nword05 word06 word07 word08\n\n"
        "2\n00:00:07,000 --> 00:00:14,000\n"
        "word09 word10 word11 word12\nword13 word14 word15 word16\n"
    )


def test_proportional_split_weighs_long_words_more() -> None:
    a, b, c, d = "a" * 20, "b" * 20, "c" * 41, "d" * 9
    # 94 characters with spaces over 5.875 s: 1/16 s each; the first cue holds 84 of them.
    # The last cue (0.625 s) is stretched to the 0.8 s minimum, as nothing follows it.
    transcript = make(Segment(0.0, 5.875, None, f"{a} {b} {c} {d}"))
    assert export(transcript, SRT) == (
        f"1\n00:00:00,000 --> 00:00:05,250\n{a} {b}\n{c}\n\n"
        f"2\n00:00:05,250 --> 00:00:06,050\n{d}\n"
    )


def test_cue_lasts_at_most_seven_seconds() -> None:
    words = "one two three four five six seven eight nine ten"
    transcript = make(Segment(0.0, 10.0, None, words, timed(words, 0.0, 1.0)))
    cues = parse(export(transcript, SRT), SRT)
    assert [(c.start, c.end, c.lines) for c in cues] == [
        (0, 7000, ["one two three four five six seven"]),
        (7000, 10000, ["eight nine ten"]),
    ]
    # One word drawn out over 20 s is cut short, too.
    assert parse(export(make(Segment(0.0, 20.0, None, "Hmm")), SRT), SRT)[0].end == 7000


def test_a_pause_ends_a_cue_and_short_cues_are_stretched() -> None:
    words = (Word("Hello.", 0.0, 0.5, None), Word("Again", 3.0, 3.5, None))
    transcript = make(Segment(0.0, 3.5, None, "Hello. Again", words),
                      Segment(3.7, 3.8, None, "Go"))
    cues = parse(export(transcript, VTT), VTT)
    # 0.8 s at least, but never into the next cue.
    assert [(c.start, c.end, c.lines) for c in cues] == [
        (0, 800, ["Hello."]), (3000, 3700, ["Again"]), (3700, 4500, ["Go"]),
    ]


def test_cue_ends_at_a_sentence_end_rather_than_mid_sentence() -> None:
    text = ("This is the first sentence of it. And then the second one goes on and on "
            "with many more words than fit")
    cues = parse(export(make(Segment(0.0, 6.0, None, text)), SRT), SRT)
    assert cues[0].lines == ["This is the first sentence of it."]
    assert " ".join(cues[1].lines).startswith("And then the second one")
    check_invariants(cues, SRT)


def test_two_lines_are_balanced() -> None:
    text = "Good morning everyone and thank you all for joining the call today"
    cues = parse(export(make(Segment(0.0, 5.0, None, text)), SRT), SRT)
    assert cues[0].lines == [
        "Good morning everyone and thank", "you all for joining the call today"]


def test_srt_speaker_label_counts_towards_the_line() -> None:
    text = "A sentence exactly long enough for one line"  # 43 characters: two lines
    srt = parse(export(make(Segment(0.0, 3.0, "x", text)), SRT), SRT)
    assert srt[0].lines == ["Speaker 1: A sentence exactly", "long enough for one line"]
    vtt = parse(export(make(Segment(0.0, 3.0, "x", text[:42])), VTT), VTT)
    assert vtt[0].lines == ["<v Speaker 1>" + text[:42]]


def test_speaker_in_every_vtt_cue_and_at_changes_in_srt() -> None:
    text = " ".join(["talking"] * 30)
    transcript = make(Segment(0.0, 6.0, "s0", text), Segment(6.0, 7.0, "s1", "Yes."))
    srt = parse(export(transcript, SRT), SRT)
    assert len(srt) == 5
    assert [c.lines[0].startswith("Speaker") for c in srt] == [True, False, False, False, True]
    assert srt[0].lines[0].startswith("Speaker 1: talking")
    assert srt[-1].lines == ["Speaker 2: Yes."]
    vtt = parse(export(transcript, VTT), VTT)
    assert [c.lines[0][:14] for c in vtt] == ["<v Speaker 1>t"] * (len(vtt) - 1) + [
        "<v Speaker 2>Y"]


def test_text_shown_over_word_times_when_words_differ_from_text() -> None:
    # The service's words are unpunctuated and split "o'clock"; the text is what is shown,
    # within the span the words give.
    words = timed("see you at five o clock", 2.0, 0.25)
    transcript = make(Segment(None, None, None, "See you at five o'clock.", words))
    assert export(transcript, SRT) == (
        "1\n00:00:02,000 --> 00:00:03,500\nSee you at five o'clock.\n"
    )
    with_blank_word = (Word("Two", 1.0, 1.5, None), Word(" ", 1.5, 1.6, None),
                       Word("words.", 3.0, 3.5, None))
    assert parse(export(make(Segment(1.0, 3.5, None, "Two words.", with_blank_word)), SRT),
                 SRT) == [Cue(1, 1000, 1800, ["Two"]), Cue(2, 3000, 3800, ["words."])]
    only_words = make(Segment(1.0, 2.0, None, "", timed("just  words", 1.0, 0.5)))
    assert export(only_words, SRT) == "1\n00:00:01,000 --> 00:00:02,000\njust words\n"


# --- missing and broken times ------------------------------------------------------------------


def test_missing_times_are_estimated() -> None:
    transcript = make(
        Segment(None, None, None, "First one."),  # from 0, 1 s to read
        Segment(3.0, None, None, "Second segment here."),  # 1.33 s to read, cut at 4.0
        Segment(4.0, 6.0, None, "Third."),
        Segment(None, 9.0, None, "Fourth."),  # from the previous end
        Segment(None, None, None, "Fifth and last segment of the file."),  # 35 chars / 15
    )
    cues = parse(export(transcript, SRT), SRT)
    assert [(c.start, c.end) for c in cues] == [
        (0, 1000), (3000, 4000), (4000, 6000), (6000, 9000), (9000, 11333),
    ]


def test_broken_times_never_make_a_broken_cue() -> None:
    transcript = make(
        Segment(-2.0, 1.0, None, "Negative start."),
        Segment(3.0, 2.0, None, "Ends before it starts."),
        Segment(math.nan, math.inf, None, "Not a number."),
        Segment(None, 2.0, None, "Ends before the previous one."),
        Segment(20.0, 20.0, None, "Zero length."),
    )
    cues = parse(export(transcript, SRT), SRT)
    check_invariants(cues, SRT)
    assert cues[0].start == 0
    assert len(cues) == 5
    assert cues[-1].start == 20000 and cues[-1].end > 20000


def test_overlaps_and_order_are_repaired() -> None:
    transcript = make(
        Segment(0.0, 5.0, None, "A"), Segment(3.0, 8.0, None, "B"),
        Segment(10.0, 12.0, None, "C"), Segment(10.0, 12.0, None, "D"),
        Segment(30.0, 31.0, None, "late"), Segment(20.0, 21.0, None, "early"),
    )
    cues = parse(export(transcript, VTT), VTT)
    assert [(c.start, c.end, c.lines[0]) for c in cues] == [
        (0, 3000, "A"), (3000, 8000, "B"), (10000, 12000, "C"), (12000, 14000, "D"),
        (20000, 21000, "early"), (30000, 31000, "late"),
    ]


def test_partial_and_unordered_word_times() -> None:
    words = (Word("one", 1.0, 1.2, None), Word("two", None, None, None),
             Word("three", 0.5, 0.6, None), Word("four", 2.0, None, None))
    cues = parse(export(make(Segment(1.0, 3.0, None, "one two three four", words)), SRT), SRT)
    check_invariants(cues, SRT)
    assert shown_words(cues, SRT) == ["one", "two", "three", "four"]
    assert cues[0].start == 1000 and cues[-1].end == 3000


# --- cleaning and escaping -------------------------------------------------------------------


def test_text_that_would_break_a_cue_is_cleaned() -> None:
    transcript = make(Segment(0.0, 4.0, None, "Tom & Jerry\n\n<b>bold</b> a ---> b"))
    assert export(transcript, SRT) == (
        "1\n00:00:00,000 --> 00:00:04,000\nTom & Jerry <b>bold</b> a -> b\n"
    )
    assert export(transcript, VTT) == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:04.000\n"
        "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt; a ---&gt; b\n"
    )


# --- empty transcripts ------------------------------------------------------------------------


def test_empty_transcripts_export_validly() -> None:
    empty = make()
    assert export(empty, TXT) == ""
    assert export(empty, SRT) == ""
    assert export(empty, VTT) == "WEBVTT\n"
    assert json.loads(export(empty, JSON)) == transcript_dict(empty)
    blank = make(Segment(0.0, 1.0, None, " \n "), Segment(None, None, "s", ""))
    assert parse(export(blank, SRT), SRT) == []
    assert export(blank, VTT) == "WEBVTT\n"


def test_segments_of_blank_words_fall_back_to_the_transcript_text() -> None:
    blank_words = Segment(0.0, 1.0, None, "", (Word(" ", 0.0, 0.5, None), Word("", 0.5, 1, 0)))
    assert export(make(blank_words, text="hello there", duration=3.0), SRT) == (
        "1\n00:00:00,000 --> 00:00:03,000\nhello there\n"
    )
    assert export(make(blank_words, text="hello there", duration=3.0), VTT) == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:03.000\nhello there\n"
    )
    assert export(make(blank_words, text=" "), SRT) == ""
    assert export(make(blank_words, text=""), VTT) == "WEBVTT\n"


def test_text_without_segments_becomes_one_timed_stretch() -> None:
    assert export(make(text="Just text.", duration=4.0), SRT) == (
        "1\n00:00:00,000 --> 00:00:04,000\nJust text.\n"
    )
    assert export(make(text="Just text."), VTT) == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\nJust text.\n"
    )


# --- randomized invariants -------------------------------------------------------------------

VOCABULARY = ["yes", "no", "budget", "quarter,", "figures.", "é&<x>", "a", "incomprehensibility",
              "x" * 50, "Friday?", "twenty-one", "hmm"]


def random_transcript(rng: random.Random) -> Transcript:
    segments = []
    clock = rng.uniform(0, 5)
    for _ in range(rng.randint(0, 25)):
        count = rng.randint(0, 30)
        tokens = [rng.choice(VOCABULARY) for _ in range(count)]
        length = rng.uniform(0.2, 15.0)
        start: float | None = clock + rng.uniform(-2.0, 2.0)
        end: float | None = clock + length + rng.uniform(-1.0, 1.0)
        roll = rng.random()
        if roll < 0.15:
            start = None
        elif roll < 0.3:
            end = None
        elif roll < 0.35:
            start = end = None
        elif roll < 0.38:
            start = math.nan
        words: tuple[Word, ...] = ()
        kind = rng.random()
        if kind < 0.5 and tokens:
            step = length / len(tokens)
            words = tuple(
                Word(t, None if rng.random() < 0.05 else clock + i * step + rng.uniform(0, 0.3),
                     clock + (i + 1) * step, 0.5)
                for i, t in enumerate(tokens))
        elif kind < 0.6 and tokens:
            words = timed(" ".join(tokens[:-1] or tokens), clock, 0.3, rng.uniform(0, 2.5))
        segments.append(Segment(start, end, rng.choice([None, "s0", "s1", "s2"]),
                                " ".join(tokens), words))
        clock += length + rng.uniform(-3.0, 4.0)
    return make(*segments)


def test_random_transcripts_keep_cue_invariants() -> None:
    rng = random.Random(20240607)
    for _ in range(300):
        transcript = random_transcript(rng)
        for fmt in (SRT, VTT):
            cues = parse(export(transcript, fmt), fmt)
            check_invariants(cues, fmt)
            # Every word of the text is shown once (texts keep the order of segments
            # unless their times do not, so compare as multisets).
            expected = [t for s in transcript.segments
                        for t in (s.text.split() or [w.word for w in s.words])]
            assert sorted(shown_words(cues, fmt)) == sorted(expected)


# --- JSON ---------------------------------------------------------------------------------------


SALAM = "\u0633\u0644\u0627\u0645"  # Persian "hello", written out for the linter
RICH = Transcript(
    provider="nevisa", file=f'/home/ana/{SALAM} "1".wav', language="fa", duration=5,
    text=SALAM + "\tdünya \\ \"quoted\" \x00 \u2028 😀",
    segments=(
        Segment(0.0, 1.25, "speaker_0", SALAM,
                (Word(SALAM, 0.0, 1.25, 0.987654321), Word("", None, None, None))),
        Segment(None, None, None, "", ()),
        Segment(1e-7, 1e20, "", "x", (Word("x", -0.0, math.inf, math.nan),)),
    ),
    extras=(("job", "42"),),
)


def botlhale_async() -> Transcript:
    """The current Botlhale data example, parsed as the app parses it, plus a segment
    with a translation and another emotion."""
    body = data_v2_body()
    body["timestamps"].append({
        "start": 293000, "end": 293400, "speaker": "SPEAKER_00", "emotion": "hap",
        "transcription": "Sala kahle, Nick.", "redaction": "Sala kahle, <PERSON>.",
        "translation": "Goodbye, <PERSON>.", "language": "isiZulu"})
    return botlhale.parse_data_reply(body, file="call.wav")


def botlhale_sync() -> Transcript:
    body = sync_body()
    body["redacted_transcription"] = "The stale smell of old beer lingers, <PERSON>."
    body["text"] = "The stale smell of old beer lingers, Nick."
    return botlhale.parse_sync_reply(body, file="beer.wav")


def dump(transcript: Transcript) -> str:
    return json.dumps(transcript_dict(transcript), ensure_ascii=False, indent=2)


def test_json_is_exactly_the_stdlib_dump_of_the_document() -> None:
    for transcript in (RICH, DIALOGUE, make(), make(text="t"), botlhale_async(),
                       botlhale_sync(), make(Segment(0.0, 1.0, None, "a", timed("a", 0.0, 1.0)))):
        assert export(transcript, JSON) == dump(transcript)


def test_json_keeps_the_common_shape_and_adds_fixed_keys() -> None:
    data = json.loads(export(DIALOGUE, JSON))
    assert list(data) == ["provider", "file", "language", "duration", "text",
                          "redacted_text", "translation", "extras", "segments"]
    assert list(data["segments"][0]) == ["start", "end", "speaker", "text", "redacted_text",
                                         "emotion", "translation", "extras", "words"]
    common = DIALOGUE.to_json_dict()
    assert {k: data[k] for k in common if k != "segments"} == {
        k: v for k, v in common.items() if k != "segments"}
    # A service that gives none of the extras: nulls and empty objects, never guesses.
    assert (data["redacted_text"], data["translation"], data["extras"]) == (None, None, {})
    assert {(s["redacted_text"], s["emotion"], s["translation"]) for s in data["segments"]} == {
        (None, None, None)}
    words = json.loads(export(RICH, JSON))["segments"][0]["words"]
    assert words[0] == {"word": SALAM, "start": 0.0, "end": 1.25, "conf": 0.987654321}
    assert json.loads(export(RICH, JSON))["extras"] == {"job": "42"}
    assert SALAM in export(RICH, JSON)  # not \\u escaped


def test_json_carries_everything_botlhale_returned() -> None:
    data = json.loads(export(botlhale_async(), JSON))
    assert data["text"].startswith("Hello, good day. You're speaking to Nick from Kuru.")
    assert data["redacted_text"] == (
        "Hello, good day. You're speaking to <PERSON> from <LOCATION>. Thank you. "
        "Sala kahle, <PERSON>.")
    assert data["translation"] == "Goodbye, <PERSON>."
    assert data["extras"]["date_received"] == "29/01/2025 23:04:28"
    assert data["extras"]["processing_seconds"] == pytest.approx(95.41188216209412)
    first, _, last = data["segments"]
    assert first["text"] == "Hello, good day. You're speaking to Nick from Kuru."
    assert first["redacted_text"] == "Hello, good day. You're speaking to <PERSON> from <LOCATION>."
    assert (first["emotion"], first["translation"]) == ("neu", None)  # "-" is no translation
    assert first["extras"] == {"language": "English"}  # the named extras are not repeated
    assert (last["emotion"], last["translation"]) == ("hap", "Goodbye, <PERSON>.")

    sync = json.loads(export(botlhale_sync(), JSON))
    assert sync["redacted_text"] == "The stale smell of old beer lingers, <PERSON>."
    assert sync["extras"]["id"] == "N5bliIh2i7MP9K5"
    assert "redacted_text" not in sync["extras"]
    # The sync reply's one segment is the whole clip, so the whole redaction is its own.
    assert sync["segments"][0]["redacted_text"] == sync["redacted_text"]


def test_json_extras_with_odd_names_and_values_match_the_stdlib() -> None:
    odd = make(Segment(0.0, 1.0, None, "a", extras=(("50%", "x%sy"), ("n", 2.5),
                                                     ("\u00e9\n", "\u2028"))),
               Segment(1.0, 2.0, None, "b", extras=(("emotion", "neu"),)))
    assert export(odd, JSON) == dump(odd)
    assert json.loads(export(odd, JSON))["segments"][1]["extras"] == {}


def test_text_and_subtitle_exports_of_the_redacted_version_mask_the_names() -> None:
    transcript = botlhale_async()
    redacted = transcript.redacted()
    assert redacted is not None
    for fmt in (TXT, SRT, VTT):
        original = export(transcript, fmt)
        masked = export(redacted, fmt)
        assert "Nick" in original and "Kuru" in original
        assert "Nick" not in masked and "Kuru" not in masked
    assert "<PERSON>" in export(redacted, TXT)
    assert "&lt;PERSON&gt;" in export(redacted, VTT)  # escaped like any text
    # Times and speakers stay: the subtitles of both versions cue at the same times.
    assert [(c.start, c.end) for c in parse(export(redacted, SRT), SRT)][:1] == [
        (c.start, c.end) for c in parse(export(transcript, SRT), SRT)][:1]
    assert make().redacted() is None and DIALOGUE.redacted() is None


def test_json_of_values_outside_the_declared_types_still_matches_the_stdlib() -> None:
    class Name(str):
        pass

    odd = Transcript("p", Name("f.wav"), None, None, "t",
                     (Segment(0, 1, 3, "t", (Word("t", True, 1, None),)),))  # type: ignore[arg-type]
    assert export(odd, JSON) == dump(odd)
    nested = Transcript("p", None, None, None, ["a", "b"])  # type: ignore[arg-type]
    assert export(nested, JSON) == dump(nested)
    listed = make(Segment(0.0, 1.0, None, "a", extras=(("tags", ["x", "y"]),)))  # type: ignore[arg-type]
    assert export(listed, JSON) == dump(listed)


# --- writing files -------------------------------------------------------------------------------


def test_write_export_writes_utf8_and_replaces_whole(tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "talk.srt"
    target.write_text("old content that is longer than the new one\n")
    write_export(target, f"1\n{SALAM}\n")
    assert target.read_bytes() == f"1\n{SALAM}\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.srt"]
    write_export(str(tmp_path / "b.txt"), "x\r\ny\n")
    assert (tmp_path / "b.txt").read_bytes() == b"x\r\ny\n"  # no newline translation


def test_write_export_failure_names_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    missing = tmp_path / "no such folder" / "talk.vtt"
    with pytest.raises(DictationError, match="no such folder.*Choose a folder"):
        write_export(missing, "WEBVTT\n")
    folder = tmp_path / "taken.txt"
    folder.mkdir()
    with pytest.raises(DictationError, match="taken.txt"):
        write_export(folder, "x")  # replacing a folder fails after the temp file exists
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.txt"]
    assert folder.is_dir() and not os.listdir(folder)
