"""Subtitle cues: a transcript cut into timed cues of at most two 42-character lines and
7 s, with the times a service did not give estimated, so that cues never overlap.

Shared by SRT and WebVTT (subtitles.py), which only write the cues out differently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from operator import le, sub
from typing import cast

from dictation_app.jobs.exports.segments import segment_start, speaker_labels, usable_time
from dictation_app.protocols.transcript import Segment, Transcript

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0
MIN_CUE_SECONDS = 0.8  # a shorter cue is stretched into the silence after it, if any
PAUSE_SPLIT_SECONDS = 1.5  # a silence this long between words always ends a cue
READING_CHARS_PER_SECOND = 15.0  # for segments without an end time
MIN_READING_SECONDS = 1.0
_SENTENCE_END = (".", "!", "?", "…", '."', '?"', '!"')
_CLAUSE_END = (",", ";", ":", "—")


class Cue:
    """One subtitle: its lines, its times in milliseconds and whose words they are."""

    __slots__ = ("end", "first_of_turn", "lines", "speaker", "start")

    def __init__(self, start: int, end: int, lines: list[str], speaker: str | None,
                 first_of_turn: bool) -> None:
        self.start = start  # milliseconds
        self.end = end
        self.lines = lines
        self.speaker = speaker
        self.first_of_turn = first_of_turn


def _reading_seconds(chars: int) -> float:
    return max(MIN_READING_SECONDS, chars / READING_CHARS_PER_SECOND)


def subtitle_cues(transcript: Transcript, *, prefix_speakers: bool) -> list[Cue]:
    """Subtitle cues in order, with integer millisecond times that never overlap."""
    cues = _segment_cues(transcript.segments, prefix_speakers=prefix_speakers)
    if not cues and transcript.text.strip():
        # No segment shows a word: the whole text as one segment over the audio's duration.
        whole = Segment(0.0, transcript.duration, None, transcript.text)
        cues = _segment_cues((whole,), prefix_speakers=prefix_speakers)
    return _finish(cues)


def _segment_cues(segments: Sequence[Segment], *, prefix_speakers: bool) -> list[Cue]:
    """The cues of every segment that has words to show, in segment order, unrepaired."""
    labels = speaker_labels(segments)
    cues: list[Cue] = []
    prev_end = 0.0
    turn: str | None = None
    for index, segment in enumerate(segments):
        tokens, word_starts, word_ends = _tokens(segment)
        if not tokens:
            continue
        times = _complete(word_starts, word_ends)
        if times is None:
            word_starts = [usable_time(t) for t in word_starts]
            word_ends = [usable_time(t) for t in word_ends]
            span = _span(segment, word_starts, word_ends, prev_end, tokens, segments, index)
            times = _token_times(tokens, word_starts, word_ends, *span)
        starts, ends = times
        speaker = labels[segment.speaker]
        first_of_turn = speaker is not None and speaker != turn
        turn = speaker
        prefix = len(speaker) + 1 if (prefix_speakers and first_of_turn and speaker) else 0
        for cue_start, cue_end, lines in _split(tokens, starts, ends, prefix):
            cues.append(Cue(int(cue_start * 1000.0 + 0.5), int(cue_end * 1000.0 + 0.5),
                             lines, speaker, first_of_turn))
            first_of_turn = False
        if ends[-1] > prev_end:
            prev_end = ends[-1]
    return cues


def _tokens(segment: Segment) -> tuple[list[str], list[float | None], list[float | None]]:
    """The segment's words to show, each with the service's times where it gave them.

    The segment text is what is shown, with the service's word times when it has as
    many words as were timed. When the counts differ (the service tokenizes its words
    differently), the text is spread over the words' span; the words themselves are
    shown only when the segment has no text.
    """
    tokens = segment.text.split()
    words = segment.words
    if words and len(tokens) != len(words):
        words = tuple(w for w in words if w.word.strip())
        if not tokens:
            tokens = [" ".join(w.word.split()) for w in words]
        elif len(tokens) != len(words):
            starts: list[float | None] = [None] * len(tokens)
            ends: list[float | None] = [None] * len(tokens)
            starts[0] = next((w.start for w in words if w.start is not None), None)
            ends[-1] = next((w.end for w in reversed(words) if w.end is not None), None)
            return tokens, starts, ends
    if not words:
        nothing: list[float | None] = [None] * len(tokens)
        return tokens, nothing, nothing
    return tokens, [w.start for w in words], [w.end for w in words]


def _complete(
    starts: list[float | None], ends: list[float | None],
) -> tuple[list[float], list[float]] | None:
    """The word times as they are when every one is there, finite, not negative and one
    word after the other (the usual case, checked at C speed); else None."""
    known_starts = cast("list[float]", starts)
    known_ends = cast("list[float]", ends)
    try:
        # All true means every comparison ran, so no None (a TypeError) and no NaN
        # (false in every comparison) is left, and the last end is the latest.
        if (known_starts[0] >= 0.0 and all(map(le, known_starts, known_ends))
                and all(map(le, known_ends, known_starts[1:])) and known_ends[-1] < math.inf):
            return known_starts, known_ends
    except TypeError:
        pass
    return None


def _span(
    segment: Segment, word_starts: list[float | None], word_ends: list[float | None],
    prev_end: float, tokens: list[str], segments: Sequence[Segment], index: int,
) -> tuple[float, float]:
    """Where a segment without complete word times is shown, estimating what is missing."""
    start = usable_time(segment.start)
    end = usable_time(segment.end)
    if start is None:
        start = next((t for t in word_starts if t is not None), prev_end)
    if end is None:
        end = next((t for t in reversed(word_ends) if t is not None), None)
    if end is None or end <= start:
        end = start + _reading_seconds(sum(map(len, tokens)) + len(tokens) - 1)
        following = segment_start(segments[index + 1]) if index + 1 < len(segments) else None
        if following is not None and start < following < end:
            end = following
    return start, end


def _token_times(
    tokens: list[str], word_starts: list[float | None], word_ends: list[float | None],
    start: float, end: float,
) -> tuple[list[float], list[float]]:
    """Start and end of every token: the service's word times where it gave them, else
    proportional shares of [start, end] by characters (a token owns the space after it);
    made monotonic, since services' partial times can disagree with the estimates."""
    scale = (end - start) / (sum(map(len, tokens)) + len(tokens))
    starts: list[float] = []
    ends: list[float] = []
    offset = 0
    previous = 0.0
    for token, known_start, known_end in zip(tokens, word_starts, word_ends, strict=True):
        token_start = known_start if known_start is not None else start + offset * scale
        offset += len(token) + 1
        token_end = known_end if known_end is not None else start + offset * scale
        token_start = max(token_start, previous)
        starts.append(token_start)
        ends.append(max(token_end, token_start))
        previous = token_start
    if word_ends[-1] is None:
        ends[-1] = max(end, starts[-1])
    return starts, ends


def _split(
    tokens: list[str], starts: list[float], ends: list[float], prefix: int,
) -> list[tuple[float, float, list[str]]]:
    """Cut one segment's tokens into cues of at most MAX_LINES lines and MAX_CUE_SECONDS.

    Lines are filled greedily to decide where a cue must end; when it must, the cut
    moves back to the last sentence end (or clause end) if that keeps most of the cue.
    `prefix` is the width of a speaker label on the first line of the first cue.
    """
    if ends[-1] - starts[0] <= MAX_CUE_SECONDS and (
        len(tokens) == 1 or max(map(sub, starts[1:], ends)) < PAUSE_SPLIT_SECONDS
    ):
        lines, widest = _layout(tokens, prefix)
        if widest <= MAX_LINE_CHARS:
            return [(starts[0], ends[-1], lines)]  # the usual case: one segment, one cue
    out: list[tuple[float, float, list[str]]] = []
    first = 0  # index of the cue's first token
    lines_used, width = 1, prefix  # greedy layout of tokens[first:i], label included
    for i, token in enumerate(tokens):
        size = len(token)
        while True:
            if width == 0:
                new_lines, new_width = lines_used, size
            elif width + 1 + size <= MAX_LINE_CHARS:
                new_lines, new_width = lines_used, width + 1 + size
            else:
                new_lines, new_width = lines_used + 1, size
            if i == first:
                break  # a token alone always makes a cue, however long
            paused = starts[i] - ends[i - 1] >= PAUSE_SPLIT_SECONDS
            if (new_lines <= MAX_LINES and ends[i] - starts[first] <= MAX_CUE_SECONDS
                    and not paused):
                break
            cut = i if paused else _cut_point(tokens, first, i)
            out.append((starts[first], min(ends[cut - 1], starts[first] + MAX_CUE_SECONDS),
                        _layout(tokens[first:cut], prefix)[0]))
            prefix = 0
            first = cut
            lines_used, width = _greedy(tokens[first:i])
        lines_used, width = new_lines, new_width
    # Only a cue of one long-drawn word can last longer; it is cut short.
    out.append((starts[first], min(ends[-1], starts[first] + MAX_CUE_SECONDS),
                _layout(tokens[first:], prefix)[0]))
    return out


def _greedy(tokens: list[str]) -> tuple[int, int]:
    lines, width = 1, 0
    for token in tokens:
        if width == 0:
            width = len(token)
        elif width + 1 + len(token) <= MAX_LINE_CHARS:
            width += 1 + len(token)
        else:
            lines, width = lines + 1, len(token)
    return lines, width


def _cut_point(tokens: list[str], first: int, stop: int) -> int:
    """Where the cue tokens[first:stop] should end: after the last sentence end that
    keeps a third of its text, else the last clause end that keeps half, else `stop`."""
    total = sum(len(t) for t in tokens[first:stop])
    for endings, share in ((_SENTENCE_END, 3), (_CLAUSE_END, 2)):
        kept = total
        for j in range(stop - 1, first, -1):
            kept -= len(tokens[j])
            if kept * share < total:
                break
            if tokens[j - 1].endswith(endings):
                return j
    return stop


def _layout(tokens: list[str], prefix: int) -> tuple[list[str], int]:
    """The cue's text in one line, or two balanced lines (the first no longer than the
    second when that costs nothing), after a speaker label of width `prefix`; and the
    width of the widest line, label included."""
    text = " ".join(tokens)
    lead = prefix + 1 if prefix else 0
    size = len(text)
    if lead + size <= MAX_LINE_CHARS or len(tokens) == 1:
        return [text], lead + size
    # Breaking at the space at `pos` makes lines of lead + pos and size - pos - 1: the
    # widest is least at one of the two spaces around where they would be equal.
    middle = (size - 1 - lead) // 2
    before = text.rfind(" ", 0, middle + 1)
    after = text.find(" ", middle + 1)
    best, widest = -1, size + lead
    for pos in (before, after):
        if pos > 0:
            left, right = lead + pos, size - pos - 1
            if (left if left > right else right) < widest:
                best, widest = pos, (left if left > right else right)
    return [text[:best], text[best + 1:]], widest


def _finish(cues: list[Cue]) -> list[Cue]:
    """The cues in start order, with no overlap, end > start, and short cues
    stretched into the silence after them."""
    if not cues:
        return cues
    if any(a.start > b.start for a, b in pairwise(cues)):
        cues.sort(key=lambda c: c.start)
    previous: Cue | None = None
    for cue in cues:
        duration = max(cue.end - cue.start, 1)
        if previous is not None and cue.start < previous.end:
            if cue.start > previous.start:
                previous.end = cue.start  # overlap: the earlier cue gives way
            else:
                cue.start = previous.end  # same start: this one waits its turn
        if cue.end <= cue.start:
            cue.end = cue.start + duration
        previous = cue
    min_ms = int(MIN_CUE_SECONDS * 1000)
    for cue, following in zip(cues, [*cues[1:], None], strict=True):
        if cue.end - cue.start < min_ms:
            limit = following.start if following is not None else cue.start + min_ms
            cue.end = max(cue.end, min(cue.start + min_ms, limit))
    return cues
