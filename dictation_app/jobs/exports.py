"""Turn a `Transcript` into the text of a file a person saves: TXT, SRT, WebVTT or JSON.

Pure: `export()` builds a string and touches nothing else; `write_export()` is the one
helper with I/O, writing atomically (temp file in the target folder, then os.replace).

Subtitles follow common captioning practice: a cue holds at most two lines of 42
characters and lasts at most 7 s, and a long segment is split at word boundaries,
timed by its words when the service gave word times and otherwise proportionally by
characters within the segment. Times the service did not give are estimated (start
at the previous cue's end, end at the next segment's start or after a reading-speed
estimate) so that every cue has end > start, cues never overlap and no time is
negative. Speakers are shown as "Speaker 1", "Speaker 2", ... in order of first
appearance, since services name them with opaque ids ("speaker_0", "1").

JSON is exactly `json.dumps(transcript.to_json_dict(), ensure_ascii=False, indent=2)`;
the stdlib builds indented JSON in pure Python (over a second for a 10-hour
transcript), so the common shape is written by a template that yields the same text.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Sequence
from enum import Enum
from itertools import chain, pairwise
from operator import attrgetter, le, sub
from pathlib import Path
from typing import cast

from dictation_app.core.errors import DictationError
from dictation_app.protocols.transcript import Segment, Transcript, Word

__all__ = ["ExportFormat", "dialog_filter", "export", "write_export"]


class ExportFormat(str, Enum):
    TXT = "txt"
    SRT = "srt"
    VTT = "vtt"
    JSON = "json"

    @property
    def extension(self) -> str:
        """The file suffix with its dot, as Path.suffix gives it: ".srt"."""
        return "." + self.value

    @property
    def label(self) -> str:
        """One entry of a Qt file dialog filter: "SubRip subtitles (*.srt)"."""
        return f"{_LABELS[self.value]} (*{self.extension})"

    @classmethod
    def for_path(cls, path: str | os.PathLike[str]) -> ExportFormat | None:
        """The format a file name's suffix asks for, or None when it names none."""
        suffix = Path(path).suffix.lower()
        return next((fmt for fmt in cls if fmt.extension == suffix), None)


_LABELS = {
    "txt": "Plain text",
    "srt": "SubRip subtitles",
    "vtt": "WebVTT subtitles",
    "json": "JSON transcript",
}


def dialog_filter() -> str:
    """Every format's label, joined the way QFileDialog's filter argument wants."""
    return ";;".join(fmt.label for fmt in ExportFormat)


def export(
    transcript: Transcript, fmt: ExportFormat, *, timestamps: bool = False,
    speakers: bool = False,
) -> str:
    """The transcript as the text of a file in `fmt`; the options only affect TXT."""
    fmt = ExportFormat(fmt)
    if fmt is ExportFormat.TXT:
        return _txt(transcript, timestamps=timestamps, speakers=speakers)
    if fmt is ExportFormat.SRT:
        return _srt(_cues(transcript, prefix_speakers=True))
    if fmt is ExportFormat.VTT:
        return _vtt(_cues(transcript, prefix_speakers=False))
    return _json(transcript)


def write_export(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` as UTF-8 to `path`, all or nothing: a reader never sees half a file."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the mode, as for any new file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DictationError(
            f"Could not save the transcript export to {target}: {reason}. "
            "Choose a folder that exists and that you can write to, with free space."
        ) from exc


# --- shared helpers -------------------------------------------------------------------


def _speaker_labels(segments: Sequence[Segment]) -> dict[str | None, str | None]:
    """Each segment's speaker id -> "Speaker 1", "Speaker 2", ... in order of first
    appearance; ids that differ only by surrounding spaces are one speaker, and None or
    a blank id has no label."""
    labels: dict[str | None, str | None] = {None: None}
    by_id: dict[str, str] = {}
    for segment in segments:
        raw = segment.speaker
        if raw in labels:
            continue
        speaker = str(raw).strip()
        if not speaker:
            labels[raw] = None
            continue
        if speaker not in by_id:
            by_id[speaker] = f"Speaker {len(by_id) + 1}"
        labels[raw] = by_id[speaker]
    return labels


def _time(value: float | None) -> float | None:
    """A usable time in seconds, or None for missing, NaN or infinite; never negative."""
    if value is None or not math.isfinite(value):
        return None
    return value if value > 0.0 else 0.0


# --- TXT --------------------------------------------------------------------------------


def _txt(transcript: Transcript, *, timestamps: bool, speakers: bool) -> str:
    paragraphs: list[list[str]] = []  # the pieces of each paragraph, joined once
    labels = _speaker_labels(transcript.segments) if speakers else {}
    turn: str | None = None  # the speaker of the paragraph being built, when joining
    for segment in transcript.segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        speaker = labels.get(segment.speaker)
        if speaker is not None and speaker == turn:
            paragraphs[-1].append(text)
            continue
        turn = speaker
        prefix = ""
        if timestamps:
            start = _segment_start(segment)
            if start is not None:
                prefix = f"[{_clock_seconds(start)}] "
        if speaker is not None:
            prefix += speaker + ": "
        paragraphs.append([prefix + text])
    if not paragraphs:  # no segments (or only empty ones): the service's whole text
        text = transcript.text.strip()
        return text + "\n" if text else ""
    return "\n\n".join(" ".join(pieces) for pieces in paragraphs) + "\n"


def _segment_start(segment: Segment) -> float | None:
    start = _time(segment.start)
    if start is None:
        start = next((t for w in segment.words if (t := _time(w.start)) is not None), None)
    return start


def _clock_seconds(seconds: float) -> str:
    """HH:MM:SS, rounded to the millisecond first so that 3599.9996 s is 01:00:00."""
    whole = int(seconds * 1000.0 + 0.5) // 1000
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


# --- subtitles: timing and cue splitting -------------------------------------------------

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0
MIN_CUE_SECONDS = 0.8  # a shorter cue is stretched into the silence after it, if any
PAUSE_SPLIT_SECONDS = 1.5  # a silence this long between words always ends a cue
READING_CHARS_PER_SECOND = 15.0  # for segments without an end time
MIN_READING_SECONDS = 1.0
_SENTENCE_END = (".", "!", "?", "…", '."', '?"', '!"')
_CLAUSE_END = (",", ";", ":", "—")


class _Cue:
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


def _cues(transcript: Transcript, *, prefix_speakers: bool) -> list[_Cue]:
    """Subtitle cues in order, with integer millisecond times that never overlap."""
    cues = _segment_cues(transcript.segments, prefix_speakers=prefix_speakers)
    if not cues and transcript.text.strip():
        # No segment shows a word: the whole text as one segment over the audio's duration.
        whole = Segment(0.0, transcript.duration, None, transcript.text)
        cues = _segment_cues((whole,), prefix_speakers=prefix_speakers)
    return _finish(cues)


def _segment_cues(segments: Sequence[Segment], *, prefix_speakers: bool) -> list[_Cue]:
    """The cues of every segment that has words to show, in segment order, unrepaired."""
    labels = _speaker_labels(segments)
    cues: list[_Cue] = []
    prev_end = 0.0
    turn: str | None = None
    for index, segment in enumerate(segments):
        tokens, word_starts, word_ends = _tokens(segment)
        if not tokens:
            continue
        times = _complete(word_starts, word_ends)
        if times is None:
            word_starts = [_time(t) for t in word_starts]
            word_ends = [_time(t) for t in word_ends]
            span = _span(segment, word_starts, word_ends, prev_end, tokens, segments, index)
            times = _token_times(tokens, word_starts, word_ends, *span)
        starts, ends = times
        speaker = labels[segment.speaker]
        first_of_turn = speaker is not None and speaker != turn
        turn = speaker
        prefix = len(speaker) + 1 if (prefix_speakers and first_of_turn and speaker) else 0
        for cue_start, cue_end, lines in _split(tokens, starts, ends, prefix):
            cues.append(_Cue(int(cue_start * 1000.0 + 0.5), int(cue_end * 1000.0 + 0.5),
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
    start = _time(segment.start)
    end = _time(segment.end)
    if start is None:
        start = next((t for t in word_starts if t is not None), prev_end)
    if end is None:
        end = next((t for t in reversed(word_ends) if t is not None), None)
    if end is None or end <= start:
        end = start + _reading_seconds(sum(map(len, tokens)) + len(tokens) - 1)
        following = _segment_start(segments[index + 1]) if index + 1 < len(segments) else None
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


def _finish(cues: list[_Cue]) -> list[_Cue]:
    """The cues in start order, with no overlap, end > start, and short cues
    stretched into the silence after them."""
    if not cues:
        return cues
    if any(a.start > b.start for a, b in pairwise(cues)):
        cues.sort(key=lambda c: c.start)
    previous: _Cue | None = None
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


# --- subtitles: text ---------------------------------------------------------------------


_SRT_TIMING = "%02d:%02d:%02d,%03d --> %02d:%02d:%02d,%03d"
_VTT_TIMING = "%02d:%02d:%02d.%03d --> %02d:%02d:%02d.%03d"


def _timing(start: int, end: int, pattern: str) -> str:
    """The cue timing line from milliseconds: "HH:MM:SS,mmm --> HH:MM:SS,mmm" for SRT."""
    first, last = start // 1000, end // 1000
    return pattern % (first // 3600, first // 60 % 60, first % 60, start % 1000,
                      last // 3600, last // 60 % 60, last % 60, end % 1000)


def _srt_text(lines: list[str]) -> str:
    text = "\n".join(lines)
    while "-->" in text:  # would read as a timing line
        text = text.replace("-->", "->")
    return text


def _vtt_text(lines: list[str]) -> str:
    text = "\n".join(lines)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _srt(cues: list[_Cue]) -> str:
    blocks = []
    for number, cue in enumerate(cues, 1):
        lines = cue.lines
        if cue.first_of_turn and cue.speaker:
            lines = [f"{cue.speaker}: {lines[0]}", *lines[1:]]
        blocks.append(
            f"{number}\n{_timing(cue.start, cue.end, _SRT_TIMING)}\n"
            f"{_srt_text(lines)}\n"
        )
    return "\n".join(blocks)


def _vtt(cues: list[_Cue]) -> str:
    parts = ["WEBVTT\n"]
    for number, cue in enumerate(cues, 1):
        voice = f"<v {cue.speaker}>" if cue.speaker else ""
        parts.append(
            f"\n{number}\n{_timing(cue.start, cue.end, _VTT_TIMING)}\n"
            f"{voice}{_vtt_text(cue.lines)}\n"
        )
    return "".join(parts)


# --- JSON --------------------------------------------------------------------------------

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


def _json(transcript: Transcript) -> str:
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
