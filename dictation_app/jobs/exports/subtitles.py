"""SRT and WebVTT text from subtitle cues: timing lines, speaker labels or voices, and
the escaping each format needs."""

from __future__ import annotations

from dictation_app.jobs.exports.cues import Cue

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


def srt(cues: list[Cue]) -> str:
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


def vtt(cues: list[Cue]) -> str:
    parts = ["WEBVTT\n"]
    for number, cue in enumerate(cues, 1):
        voice = f"<v {cue.speaker}>" if cue.speaker else ""
        parts.append(
            f"\n{number}\n{_timing(cue.start, cue.end, _VTT_TIMING)}\n"
            f"{voice}{_vtt_text(cue.lines)}\n"
        )
    return "".join(parts)
