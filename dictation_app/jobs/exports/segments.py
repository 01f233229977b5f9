"""What every format reads the same way from segments: speaker labels in order of first
appearance, and times made usable (missing, NaN or infinite is None, never negative)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from dictation_app.protocols.transcript import Segment


def speaker_labels(segments: Sequence[Segment]) -> dict[str | None, str | None]:
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


def usable_time(value: float | None) -> float | None:
    """A usable time in seconds, or None for missing, NaN or infinite; never negative."""
    if value is None or not math.isfinite(value):
        return None
    return value if value > 0.0 else 0.0


def segment_start(segment: Segment) -> float | None:
    """The segment's usable start, else its first word's, else None."""
    start = usable_time(segment.start)
    if start is None:
        start = next((t for w in segment.words if (t := usable_time(w.start)) is not None), None)
    return start
