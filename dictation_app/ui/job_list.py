"""The Files panel's list of jobs: a model that keeps them newest first, and how a row looks.

`JobListModel` changes one row per `upsert`, so thousands of jobs and many progress
reports a second cost a row repaint each, never a rebuild. A failed job (a refused file
among them) shows its whole reason, wrapped over as many lines as it takes: its row is
taller than the others. `job_details` is everything known about one job as plain text,
for the tooltip and the panel's details area alike. What only a job's vendor knows (its
remote id, whether its queue priority can change) comes in as `JobActions`, set by the
controller.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from dictation_app.jobs.model import Job, JobState

JOB_ROLE = Qt.ItemDataRole.UserRole + 1
_RUNNING = (JobState.UPLOADING, JobState.PROCESSING)
_STATE_COLOURS = {
    JobState.QUEUED: QColor("#6b7280"),
    JobState.UPLOADING: QColor("#1a73e8"),
    JobState.PROCESSING: QColor("#1a73e8"),
    JobState.COMPLETED: QColor("#2e7d32"),
    JobState.FAILED: QColor("#c5221f"),
    JobState.CANCELLED: QColor("#6b7280"),
}
_WARNING_COLOUR = QColor("#b06000")
_ROOT = QModelIndex()


def format_elapsed(seconds: float) -> str:
    """'0:42', '12:05', '1:02:03'."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _short_created(created: float, now: float) -> str:
    when, today = datetime.fromtimestamp(created), datetime.fromtimestamp(now)
    if when.date() == today.date():
        return f"{when:%H:%M}"
    if when.year == today.year:
        return f"{when.day} {when:%b} {when:%H:%M}"
    return f"{when.day} {when:%b %Y}"


def _key(job: Job) -> tuple[float, int]:
    """Sorts ascending into newest first; the id breaks ties between same-second jobs."""
    return (-job.created, -job.id)


def _state_text(job: Job) -> str:
    if job.state in _RUNNING and job.progress is not None:
        return f"{job.state.label} {round(job.progress * 100)}%"
    return job.state.label


def _no_remote_id(job: Job) -> str | None:
    return None


def _never(job: Job) -> bool:
    return False


@dataclass
class JobActions:
    """What the panel asks about a job that only its vendor knows; set by the controller.

    `remote_id`: the vendor's id of the job, shown to match the account's own lists;
    `offers_priority`: the job's vendor has queues; `can_prioritise`: it can move up now.
    """

    remote_id: Callable[[Job], str | None] = _no_remote_id
    offers_priority: Callable[[Job], bool] = _never
    can_prioritise: Callable[[Job], bool] = _never


# --- the model ----------------------------------------------------------------------


class JobListModel(QAbstractListModel):
    """Jobs newest first. Changing a job emits dataChanged for its row and nothing else.
    Rows keep a job's preview, never its transcript (which can run to megabytes)."""

    def __init__(self, parent: QWidget | None = None, *,
                 labels: Mapping[str, str] | None = None, vendor: JobActions | None = None):
        super().__init__(parent)
        self.vendor = vendor or JobActions()
        # provider -> name, else the id; the panel shares its own, filled by set_providers
        self.labels: Mapping[str, str] = {} if labels is None else labels
        self._jobs: list[Job] = []
        self._keys: list[tuple[float, int]] = []  # _key() of each row, ascending
        self._by_id: dict[int, Job] = {}
        self._active: set[int] = set()  # not finished: their elapsed time moves
        self._busy: set[int] = set()  # running with unknown progress: their bar moves
        self._tall: set[int] = set()  # failed: their rows are taller, the reason in full

    # Qt's interface

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._jobs)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        if role == JOB_ROLE:
            return job
        if role == Qt.ItemDataRole.DisplayRole:
            return job.label
        if role == Qt.ItemDataRole.ToolTipRole:
            return job_details(job, self.labels, self.vendor)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            parts = [job.label, self.labels.get(job.provider, job.provider), _state_text(job)]
            if job.error and job.state is JobState.FAILED:
                parts.append(job.error)
            if job.warning:
                parts.append(f"warning: {job.warning}")
            return ", ".join(parts)
        return None

    # updates

    def set_jobs(self, jobs: Iterable[Job]) -> None:
        self.beginResetModel()
        self._by_id = {job.id: job.without_result() for job in jobs}
        self._jobs = sorted(self._by_id.values(), key=_key)
        self._keys = [_key(job) for job in self._jobs]
        self._active.clear()
        self._busy.clear()
        self._tall.clear()
        for job in self._jobs:
            self._track(job)
        self.endResetModel()

    def upsert(self, job: Job) -> int:
        """Insert a new job in its place or replace a known one; returns its row."""
        job = job.without_result()
        old = self._by_id.get(job.id)
        if old is not None:
            row = self._row_of_key(_key(old))
            if _key(old) == _key(job):
                self._jobs[row] = job
                self._by_id[job.id] = job
                self._track(job)
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, [])
                return row
            self._remove_row(row)
        key = _key(job)
        row = bisect_left(self._keys, key)
        self.beginInsertRows(QModelIndex(), row, row)
        self._jobs.insert(row, job)
        self._keys.insert(row, key)
        self._by_id[job.id] = job
        self._track(job)
        self.endInsertRows()
        return row

    def remove(self, job_id: int) -> bool:
        row = self.row_of(job_id)
        if row is None:
            return False
        self._remove_row(row)
        return True

    # queries

    def row_of(self, job_id: int) -> int | None:
        job = self._by_id.get(job_id)
        return None if job is None else self._row_of_key(_key(job))

    def job_at(self, row: int) -> Job:
        return self._jobs[row]

    def job(self, job_id: int) -> Job | None:
        return self._by_id.get(job_id)

    def jobs(self) -> list[Job]:
        """In display order, newest first."""
        return list(self._jobs)

    @property
    def active_count(self) -> int:
        return len(self._active)

    @property
    def busy_count(self) -> int:
        return len(self._busy)

    @property
    def tall_count(self) -> int:
        """Rows taller than the rest (failed jobs): the view cannot lay them out as uniform."""
        return len(self._tall)

    # internals

    def _row_of_key(self, key: tuple[float, int]) -> int:
        return bisect_left(self._keys, key)

    def _remove_row(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        job = self._jobs.pop(row)
        del self._keys[row]
        del self._by_id[job.id]
        self._active.discard(job.id)
        self._busy.discard(job.id)
        self._tall.discard(job.id)
        self.endRemoveRows()

    def _track(self, job: Job) -> None:
        if job.state.finished:
            self._active.discard(job.id)
        else:
            self._active.add(job.id)
        if job.state in _RUNNING and job.progress is None:
            self._busy.add(job.id)
        else:
            self._busy.discard(job.id)
        if _wraps(job):
            self._tall.add(job.id)
        else:
            self._tall.discard(job.id)


def _wraps(job: Job) -> bool:
    """Its third line is the whole reason it failed, wrapped, never cut."""
    return job.state is JobState.FAILED


def job_details(job: Job, labels: Mapping[str, str], vendor: JobActions, *,
                reason_first: bool = False) -> str:
    """The job as plain lines: file, service, state, times, language, remote id, and the
    whole error or warning: after the facts (a tooltip), or before them (`reason_first`:
    the details area, whose first lines are in view without scrolling)."""
    lines = [str(job.file), f"Service: {labels.get(job.provider, job.provider)}",
             f"State: {_state_text(job)}",
             f"Added: {datetime.fromtimestamp(job.created):%Y-%m-%d %H:%M:%S}"]
    if job.state.finished:
        lines.append(f"Finished: {datetime.fromtimestamp(job.updated):%Y-%m-%d %H:%M:%S}")
    lines.append(f"Language: {job.options.language or 'Automatic'}")
    remote_id = vendor.remote_id(job)
    if remote_id:
        lines.append(f"{labels.get(job.provider, job.provider)} job ID: {remote_id}")
    reasons = []
    if job.error and job.state is JobState.FAILED:
        reasons.append(job.error)
    if job.warning:
        reasons.append(f"Warning: {job.warning}")
    if not reasons:
        return "\n".join(lines)
    if reason_first:
        return "\n\n".join([*reasons, "\n".join(lines)])
    return "\n\n".join(["\n".join(lines), *reasons])


# --- how one row looks ---------------------------------------------------------------


class JobDelegate(QStyledItemDelegate):
    """Three lines per job: name and state; service, time and job ID; progress or detail
    (a failed job's reason over as many lines as it takes)."""

    _PADDING = 5

    def __init__(self, clock: Callable[[], float], labels: Mapping[str, str],
                 vendor: JobActions, parent: QWidget | None = None):
        super().__init__(parent)
        self._clock = clock
        self._vendor = vendor
        self._labels = labels  # the panel's: filled by set_providers

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        regular = QFontMetrics(option.font)
        small = QFontMetrics(_small(option.font))
        height = regular.height() + 2 * small.height() + 2 * self._PADDING + 4
        job = index.data(JOB_ROLE)
        if isinstance(job, Job) and _wraps(job):
            # The whole reason, wrapped to the list's width, instead of one elided line.
            width = self._text_width(option)
            area = QRect(0, 0, width, 100_000)
            wrapped = small.boundingRect(area, _WRAP, _detail(job)[0])
            # Against one wrapped line, measured alike: a one-line reason adds nothing.
            height += max(0, wrapped.height() - small.boundingRect(area, _WRAP, "X").height())
        return QSize(200, height)

    def _text_width(self, option: QStyleOptionViewItem) -> int:
        view = option.widget
        viewport = view.viewport() if isinstance(view, QAbstractScrollArea) else None
        width = viewport.width() if viewport is not None else option.rect.width()
        return max(80, (width or 300) - 2 * (self._PADDING + 2))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        job = index.data(JOB_ROLE)
        if not isinstance(job, Job):
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        rect: QRect = opt.rect.adjusted(
            self._PADDING + 2, self._PADDING, -self._PADDING - 2, -self._PADDING)
        palette: QPalette = opt.palette
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_colour = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        secondary = _blend(text_colour, palette.color(
            QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Base), 0.35)
        font: QFont = opt.font
        bold = QFont(font)
        bold.setBold(True)
        small = _small(font)
        regular_metrics, small_metrics = QFontMetrics(bold), QFontMetrics(small)
        now = self._clock()

        painter.save()
        # Line 1: the file name, elided in the middle (names differ at both ends), and state.
        y = rect.top()
        line = QRect(rect.left(), y, rect.width(), regular_metrics.height())
        state = _state_text(job)
        state_width = regular_metrics.horizontalAdvance(state)
        painter.setFont(font)
        painter.setPen(text_colour if selected else _STATE_COLOURS[job.state])
        painter.drawText(line, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, state)
        painter.setFont(bold)
        painter.setPen(text_colour)
        name_width = max(0, rect.width() - state_width - 10)
        painter.drawText(QRect(line.left(), y, name_width, line.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         regular_metrics.elidedText(job.label, Qt.TextElideMode.ElideMiddle,
                                                    name_width))

        # Line 2: service, when it was added and how long it took (or is taking); the
        # Bahasakita job ID on the right, to match the row in the account's queues.
        y += line.height() + 2
        line = QRect(rect.left(), y, rect.width(), small_metrics.height())
        painter.setFont(small)
        painter.setPen(secondary)
        details = [self._labels.get(job.provider, job.provider),
                   _short_created(job.created, now)]
        if job.state.finished:
            details.append(f"took {format_elapsed(job.updated - job.created)}")
        else:
            details.append(format_elapsed(now - job.created))
        remote_id = self._vendor.remote_id(job)
        id_width = 0
        if remote_id:
            shown = f"ID {remote_id[:8]}"
            id_width = small_metrics.horizontalAdvance(shown)
            painter.drawText(line, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             shown)
        details_width = max(0, rect.width() - id_width - (8 if id_width else 0))
        painter.drawText(QRect(line.left(), y, details_width, line.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         small_metrics.elidedText(" · ".join(details),
                                                  Qt.TextElideMode.ElideRight, details_width))

        # Line 3: progress while running, the error when failed, the start of the text.
        y += line.height() + 2
        line = QRect(rect.left(), y, rect.width(), small_metrics.height())
        if job.state in _RUNNING:
            self._paint_progress(painter, line, job.progress, palette, selected)
        elif _wraps(job):
            painter.setPen(text_colour if selected else _STATE_COLOURS[JobState.FAILED])
            painter.drawText(QRect(line.left(), y, line.width(), rect.bottom() - y + 1),
                             _WRAP, _detail(job)[0])
        else:
            detail, colour = _detail(job)
            if detail:
                painter.setPen(text_colour if selected or colour is None else colour)
                painter.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 small_metrics.elidedText(detail, Qt.TextElideMode.ElideRight,
                                                          line.width()))
        painter.restore()

    def _paint_progress(self, painter: QPainter, line: QRect, progress: float | None,
                        palette: QPalette, selected: bool) -> None:
        height = max(4, line.height() // 2)
        groove = QRectF(line.left(), line.center().y() - height / 2, line.width(), height)
        radius = height / 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_blend(palette.color(QPalette.ColorRole.Mid),
                                palette.color(QPalette.ColorRole.Base), 0.5))
        painter.drawRoundedRect(groove, radius, radius)
        painter.setBrush(palette.color(QPalette.ColorRole.HighlightedText if selected
                                       else QPalette.ColorRole.Highlight))
        if progress is None:
            # No figure from the service: a chunk sweeps along, so it reads as "working".
            phase = (time.monotonic() / 1.6) % 1.0
            chunk = groove.width() * 0.3
            left = groove.left() - chunk + phase * (groove.width() + chunk)
            painter.save()
            painter.setClipRect(groove)
            painter.drawRoundedRect(QRectF(left, groove.top(), chunk, height), radius, radius)
            painter.restore()
        else:
            filled = groove.width() * min(1.0, max(0.0, progress))
            if filled > 0:
                painter.drawRoundedRect(QRectF(groove.left(), groove.top(), max(filled, height),
                                               height), radius, radius)


_WRAP = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop) | int(Qt.TextFlag.TextWordWrap)


def _detail(job: Job) -> tuple[str, QColor | None]:
    if job.state is JobState.FAILED:
        return (job.error or "Failed without a message"), _STATE_COLOURS[JobState.FAILED]
    if job.warning:  # the transcript lacks what the file lacks: said before its text
        return f"⚠ {job.warning}", _WARNING_COLOUR
    if job.state is JobState.QUEUED:
        return "Waiting to start", None
    if job.state is JobState.COMPLETED and job.preview is not None:
        return job.preview or "(no speech found)", None
    return "", None


def _small(font: QFont) -> QFont:
    small = QFont(font)
    if font.pointSizeF() > 0:
        small.setPointSizeF(font.pointSizeF() * 0.86)
    elif font.pixelSize() > 0:
        small.setPixelSize(max(8, round(font.pixelSize() * 0.86)))
    return small


def _blend(colour: QColor, background: QColor, amount: float) -> QColor:
    """`colour` moved `amount` of the way toward `background`."""
    keep = 1 - amount
    return QColor(round(colour.red() * keep + background.red() * amount),
                  round(colour.green() * keep + background.green() * amount),
                  round(colour.blue() * keep + background.blue() * amount))
