"""Plain text: a paragraph per segment (or speaker turn), optionally with start times
and speaker labels."""

from __future__ import annotations

from dictation_app.jobs.exports.segments import segment_start, speaker_labels
from dictation_app.protocols.transcript import Transcript


def txt(transcript: Transcript, *, timestamps: bool, speakers: bool) -> str:
    """The TXT export; one speaker's consecutive segments make one paragraph."""
    paragraphs: list[list[str]] = []  # the pieces of each paragraph, joined once
    labels = speaker_labels(transcript.segments) if speakers else {}
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
            start = segment_start(segment)
            if start is not None:
                prefix = f"[{_clock_seconds(start)}] "
        if speaker is not None:
            prefix += speaker + ": "
        paragraphs.append([prefix + text])
    if not paragraphs:  # no segments (or only empty ones): the service's whole text
        text = transcript.text.strip()
        return text + "\n" if text else ""
    return "\n\n".join(" ".join(pieces) for pieces in paragraphs) + "\n"


def _clock_seconds(seconds: float) -> str:
    """HH:MM:SS, rounded to the millisecond first so that 3599.9996 s is 01:00:00."""
    whole = int(seconds * 1000.0 + 0.5) // 1000
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"
