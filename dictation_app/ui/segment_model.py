"""A transcript's segments as a table model (time, speaker, emotion, text; words and
confidences on hover) and the search filter over it, for the result view's table."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QWidget

from dictation_app.protocols.transcript import Segment, Transcript

LOW_CONFIDENCE = 0.5  # words the service was less sure of than this are marked
COLUMNS = ("Time", "Speaker", "Emotion", "Text")
TIME, SPEAKER, EMOTION, TEXT = range(4)
SEGMENT_ROLE = Qt.ItemDataRole.UserRole + 1
_SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
_TOOLTIP_WORDS = 80  # a tooltip is not the place for a 2,000-word segment
_LOW_BACKGROUND = "#fde7b0"
_ROOT = QModelIndex()
DASH = "\N{EN DASH}"
# Emotion recognisers label segments with short codes (Botlhale: "neu"); the common
# ones in words, anything else as the service wrote it.
_EMOTIONS = {
    "neu": "Neutral", "neutral": "Neutral", "hap": "Happy", "happy": "Happy",
    "sad": "Sad", "ang": "Angry", "angry": "Angry", "fea": "Fearful", "fear": "Fearful",
    "dis": "Disgusted", "disgust": "Disgusted", "sur": "Surprised", "surprise": "Surprised",
    "cal": "Calm", "calm": "Calm", "exc": "Excited", "fru": "Frustrated",
}
_TOP_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop


def format_clock(seconds: float | None) -> str:
    """H:MM:SS, the way a person reads a position in a recording; '' when unknown."""
    if seconds is None:
        return ""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}"


def emotion_label(emotion: str | None) -> str:
    """The emotion as a person reads it: "Neutral" for "neu"; '' when there is none."""
    if not emotion:
        return ""
    return _EMOTIONS.get(emotion.strip().lower(), emotion.strip())


def _speaker_labels(segments: tuple[Segment, ...]) -> dict[str, str]:
    # The same names the exports use ("Speaker 1", ... in order of first appearance),
    # so what a person reads here is what they get in the file.
    labels: dict[str, str] = {}
    for segment in segments:
        speaker = (segment.speaker or "").strip()
        if speaker and speaker not in labels:
            labels[speaker] = f"Speaker {len(labels) + 1}"
    return labels


class SegmentModel(QAbstractTableModel):
    """One row per segment: time range, speaker, emotion, text; words and confidences on
    hover. `set_transcript()` shows another version of the same transcript (redacted)."""

    def __init__(self, transcript: Transcript, parent: QWidget | None = None):
        super().__init__(parent)
        self._warning: QIcon | None = None
        self._load(transcript)

    def set_transcript(self, transcript: Transcript) -> None:
        self.beginResetModel()
        self._load(transcript)
        self.endResetModel()

    def _load(self, transcript: Transcript) -> None:
        segments = transcript.segments
        if not segments and transcript.text.strip():
            # A service that gives only text still gets a row to read and search.
            segments = (Segment(None, transcript.duration, None, transcript.text),)
        self._segments = segments
        self._speakers = _speaker_labels(segments)
        self._low = [sum(1 for w in s.words if w.conf is not None and w.conf < LOW_CONFIDENCE)
                     for s in segments]
        self._has_emotions = any(s.emotion for s in segments)

    @property
    def has_speakers(self) -> bool:
        return bool(self._speakers)

    @property
    def has_emotions(self) -> bool:
        return self._has_emotions

    def low_confidence_rows(self) -> list[int]:
        return [row for row, count in enumerate(self._low) if count]

    def speaker(self, segment: Segment) -> str:
        return self._speakers.get((segment.speaker or "").strip(), "")

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._segments)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        segment = self._segments[row]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == TIME:
                return time_range(segment)
            if column == SPEAKER:
                return self.speaker(segment)
            if column == EMOTION:
                return emotion_label(segment.emotion)
            return " ".join(segment.text.split())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            # Wrapped rows grow downwards: every cell starts on the first line.
            return _TOP_LEFT
        if role == _SEARCH_ROLE:
            return (f"{self.speaker(segment)}\n{emotion_label(segment.emotion)}\n"
                    f"{segment.text}")
        if role == SEGMENT_ROLE:
            return segment
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == TIME:
                return _precise_range(segment)
            if column == SPEAKER:
                return f"The service calls this speaker {segment.speaker!r}" if (
                    segment.speaker) else None
            if column == EMOTION:
                return f"The service's label: {segment.emotion!r}" if segment.emotion else None
            return _words_tooltip(segment)
        if role == Qt.ItemDataRole.DecorationRole and column == TEXT and self._low[row]:
            return self._warning_icon()
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and column == TEXT and self._low[row]:
            return f"{self._low[row]} words with low confidence"
        return None

    def _warning_icon(self) -> QIcon:
        if self._warning is None:
            self._warning = QApplication.style().standardIcon(
                QStyle.StandardPixmap.SP_MessageBoxWarning)
        return self._warning


def time_range(segment: Segment) -> str:
    """Start and end as H:MM:SS joined by a dash, or the half that is known, or ''."""
    start, end = format_clock(segment.start), format_clock(segment.end)
    if start and end:
        return f"{start} {DASH} {end}"
    return start or (f"{DASH} {end}" if end else "")


def _precise_range(segment: Segment) -> str | None:
    if segment.start is None and segment.end is None:
        return "The service gave no times for this part"
    start = "?" if segment.start is None else f"{segment.start:.2f}"
    end = "?" if segment.end is None else f"{segment.end:.2f}"
    return f"{start} s to {end} s"


def _words_tooltip(segment: Segment) -> str:
    text = html.escape(" ".join(segment.text.split()))
    if not segment.words:
        return f"<p>{text}</p>"
    shown = [word_html(w.word, w.conf) for w in segment.words[:_TOOLTIP_WORDS]]
    more = len(segment.words) - _TOOLTIP_WORDS
    tail = f" … and {more} more words" if more > 0 else ""
    return (f"<p>{text}</p><p><small>Words and confidence:<br>{' '.join(shown)}{tail}"
            "</small></p>")


def word_html(word: str, conf: float | None) -> str:
    """A word with its confidence, marked when the service was unsure of it."""
    escaped = html.escape(word)
    if conf is None:
        return escaped
    figure = f"{escaped}&nbsp;<small>{conf:.0%}</small>"
    if conf < LOW_CONFIDENCE:
        # Dark text on the light mark, whatever the theme's text colour.
        return (f'<span style="background-color:{_LOW_BACKGROUND}; color:#202124">'
                f"{figure}</span>")
    return figure


class SegmentFilter(QSortFilterProxyModel):
    """The rows whose speaker or text holds the search, ignoring case."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFilterRole(_SEARCH_ROLE)
        self.setFilterKeyColumn(TIME)  # the search role holds speaker and text for the row
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
