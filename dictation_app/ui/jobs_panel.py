"""The Files tab: options for new file jobs, the list of jobs, and what can be done to them.

Passive, like every widget: it emits intents (`open_files_requested`, `files_dropped`,
`cancel_requested`, ...) and exposes update methods (`set_jobs`, `update_job`,
`remove_job`, `show_message`). A controller owns the job runner and connects the two.

The list is a model/view pair: `JobListModel` keeps the jobs newest first and changes
one row per `update_job`, so thousands of jobs and many progress reports a second cost
a row repaint each, never a rebuild.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dictation_app.core.errors import ConfigurationError
from dictation_app.jobs.model import Job, JobOptions, JobState
from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
from dictation_app.ui.message_line import show_message

AUTOMATIC = "Automatic"
# Codes the services in this app are used with most; anything else can be typed.
LANGUAGES = (
    ("en", "English"), ("af", "Afrikaans"), ("zu", "isiZulu"), ("xh", "isiXhosa"),
    ("st", "Sesotho"), ("tn", "Setswana"), ("nso", "Sepedi"), ("ts", "Xitsonga"),
    ("ss", "siSwati"), ("ve", "Tshivenda"), ("nr", "isiNdebele"), ("id", "Indonesian"),
    ("ms", "Malay"), ("jv", "Javanese"), ("su", "Sundanese"), ("fa", "Persian"),
)
DROP_HINT = "Drop audio files here or click Add files…"

JOB_ROLE = Qt.ItemDataRole.UserRole + 1
_RUNNING = (JobState.UPLOADING, JobState.PROCESSING)
_RETRYABLE = (JobState.FAILED, JobState.CANCELLED)
_STATE_COLOURS = {
    JobState.QUEUED: QColor("#6b7280"),
    JobState.UPLOADING: QColor("#1a73e8"),
    JobState.PROCESSING: QColor("#1a73e8"),
    JobState.COMPLETED: QColor("#2e7d32"),
    JobState.FAILED: QColor("#c5221f"),
    JobState.CANCELLED: QColor("#6b7280"),
}
# One subtag of 2-3 letters, then subtags of 1-8 letters or digits: "en", "pt-BR",
# "sr-Latn-RS", "nso". Close enough to BCP 47 to catch typing mistakes.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_BUSY_TICK_MS = 80  # the moving bar of a job whose progress is unknown
_ELAPSED_TICK_MS = 1000
_ROOT = QModelIndex()


# --- helpers shared with the main window -----------------------------------------------


def has_local_urls(mime: QMimeData) -> bool:
    """Whether a drag carries anything from the local file system (checked on drop)."""
    return mime.hasUrls() and any(url.isLocalFile() for url in mime.urls())


def dropped_files(mime: QMimeData) -> tuple[list[Path], int]:
    """The regular files among dropped URLs, and how many other items were skipped.

    Folders are not searched: a person who drops a folder of a thousand files by
    mistake should not start a thousand uploads.
    """
    files: list[Path] = []
    skipped = 0
    for url in mime.urls():
        path = Path(url.toLocalFile()) if url.isLocalFile() else None
        if path is not None and path.is_file():
            files.append(path)
        else:
            skipped += 1
    return files, skipped


def skipped_text(count: int) -> str:
    """What to tell a person whose drop held folders or other things that are not files."""
    items = "item that is not a file" if count == 1 else "items that are not files"
    return f"Skipped {count} {items}; drop the audio files themselves (folders are not opened)."


def parse_language(text: str) -> str | None:
    """The language code in what a person typed or picked; None means detect it.

    Accepts "Automatic", "" or a code ("en", "pt-br" becomes "pt-BR") or a list entry
    ("English (en)"); raises ConfigurationError for anything else.
    """
    text = text.strip()
    if not text or text.casefold() == AUTOMATIC.casefold():
        return None
    entry = re.fullmatch(r".*\(([^()]*)\)", text)
    code = entry.group(1).strip() if entry else text
    if not _LANGUAGE_TAG.fullmatch(code):
        raise ConfigurationError(
            f"Transcription options: {text!r} is not a language code. Type a code such as "
            "en or pt-BR, pick a language from the list, or choose Automatic.")
    return _canonical_tag(code)


def _canonical_tag(code: str) -> str:
    first, *rest = code.split("-")
    parts = [first.lower()]
    for subtag in rest:
        if len(subtag) == 4 and subtag.isalpha():
            parts.append(subtag.title())  # script: Latn
        elif len(subtag) == 2 and subtag.isalpha():
            parts.append(subtag.upper())  # region: BR
        else:
            parts.append(subtag.lower())
    return "-".join(parts)


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
            return _tooltip(job, self.labels, self.vendor)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            parts = [job.label, self.labels.get(job.provider, job.provider), _state_text(job)]
            if job.error and job.state is JobState.FAILED:
                parts.append(job.error)
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


def _tooltip(job: Job, labels: Mapping[str, str], vendor: JobActions) -> str:
    lines = [str(job.file), f"Service: {labels.get(job.provider, job.provider)}",
             f"State: {_state_text(job)}",
             f"Added: {datetime.fromtimestamp(job.created):%Y-%m-%d %H:%M:%S}"]
    if job.state.finished:
        lines.append(f"Finished: {datetime.fromtimestamp(job.updated):%Y-%m-%d %H:%M:%S}")
    if job.options.language:
        lines.append(f"Language: {job.options.language}")
    remote_id = vendor.remote_id(job)
    if remote_id:
        lines.append(f"{labels.get(job.provider, job.provider)} job ID: {remote_id}")
    if job.error and job.state is JobState.FAILED:
        lines.append("")
        lines.append(job.error)
    return "\n".join(lines)


# --- how one row looks ---------------------------------------------------------------


class _JobDelegate(QStyledItemDelegate):
    """Three lines per job: name and state; service, time and job ID; progress or detail."""

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
        return QSize(200, height)

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


def _detail(job: Job) -> tuple[str, QColor | None]:
    if job.state is JobState.FAILED:
        return (job.error or "Failed without a message"), _STATE_COLOURS[JobState.FAILED]
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


# --- the panel ------------------------------------------------------------------------


class JobsPanel(QWidget):
    provider_changed = Signal(str)
    open_files_requested = Signal()
    files_dropped = Signal(list)  # list[Path]: regular files only
    cancel_requested = Signal(int)  # job id, for each of these
    open_requested = Signal(int)
    retry_requested = Signal(int)
    remove_requested = Signal(int)
    copy_requested = Signal(int)
    export_requested = Signal(int)
    priority_requested = Signal(int, str)  # job id, "high": a Bahasakita upload still queued

    def __init__(self, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time):
        super().__init__(parent)
        self.setAcceptDrops(True)

        self._labels: dict[str, str] = {}  # provider -> name, shared with the list's rows
        self.provider_combo = QComboBox()
        self.provider_combo.setToolTip("The service that turns the files into text")
        self.provider_combo.currentIndexChanged.connect(self._on_provider_combo_changed)

        self.language_combo = QComboBox()
        self.language_combo.setEditable(True)
        self.language_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.language_combo.addItem(AUTOMATIC, None)
        self.language_combo.setItemData(0, "Let the service detect the language",
                                        Qt.ItemDataRole.ToolTipRole)
        for code, name in LANGUAGES:
            self.language_combo.addItem(f"{name} ({code})", code)
        self.language_combo.setToolTip("The language spoken in the files: pick one or type a "
                                       "code such as en or pt-BR")
        line_edit = self.language_combo.lineEdit()
        if line_edit is not None:
            line_edit.setAcceptDrops(False)  # a dropped file is a job, not a language
        self.language_combo.editTextChanged.connect(self._on_language_combo_text_changed)

        # The chosen vendor's own options: built by set_providers from their declarations.
        self.option_controls: dict[tuple[str, str], QComboBox | QCheckBox] = {}
        self._option_types: dict[str, type[VendorOptions]] = {}
        self._option_values: dict[str, dict[str, Any]] = {}  # provider -> name -> value
        self.speakers_box = QCheckBox("Tell speakers apart")
        self.speakers_box.setToolTip("Label who speaks when (diarization), where the service "
                                     "can")

        self.add_button = QPushButton("Add files…")
        self.add_button.setToolTip("Choose audio or video files to transcribe (Ctrl+O)")
        self.add_button.clicked.connect(self.open_files_requested)

        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setVisible(False)

        self._vendor = JobActions()  # shared with the list's rows: set_job_actions fills it
        self.model = JobListModel(self, labels=self._labels, vendor=self._vendor)
        self.list_view = QListView()
        self.list_view.setModel(self.model)
        self.list_view.setItemDelegate(
            _JobDelegate(clock, self._labels, self._vendor, self.list_view))
        self.list_view.setUniformItemSizes(True)  # thousands of rows lay out instantly
        self.list_view.setAlternatingRowColors(True)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list_view.setAccessibleName("File transcription jobs")
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(self._on_list_view_context_menu)
        self.list_view.activated.connect(self._on_list_view_activated)
        selection = self.list_view.selectionModel()
        selection.selectionChanged.connect(self._update_actions)
        selection.currentChanged.connect(self._update_actions)

        self.drop_hint = QLabel(DROP_HINT)
        self.drop_hint.setWordWrap(True)
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setContentsMargins(16, 16, 16, 16)
        self.drop_hint.setStyleSheet("QLabel { color: palette(mid); border: 2px dashed "
                                     "palette(mid); border-radius: 8px; }")
        self._stack = QStackedWidget()
        self._stack.addWidget(self.drop_hint)
        self._stack.addWidget(self.list_view)

        self._build_actions()
        buttons = QGridLayout()
        buttons.setSpacing(4)
        for position, action in enumerate((self.open_action, self.copy_action,
                                           self.export_action, self.retry_action,
                                           self.cancel_action, self.remove_action)):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button, position // 3, position % 3)

        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.addRow("Transcribe with", self.provider_combo)
        self._form.addRow("Language", self.language_combo)
        self._form.addRow(self.speakers_box)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(self._form)
        layout.addWidget(self.add_button)
        layout.addWidget(self.message_label)
        layout.addWidget(self._stack, 1)
        layout.addLayout(buttons)

        self._tick = QTimer(self)
        self._tick.timeout.connect(self.list_view.viewport().update)

        self._show_provider_controls()
        self._sync_view()
        self._update_actions()

    def _build_actions(self) -> None:
        def action(text: str, tip: str, slot: Callable[[], None],
                   shortcut: QKeySequence | None = None) -> QAction:
            made = QAction(text, self)
            made.setIconText(text)  # buttons would drop the "…" that says a dialog follows
            made.setToolTip(tip)
            made.triggered.connect(slot)
            if shortcut is not None:
                made.setShortcut(shortcut)
                # Only while the list has the focus: Delete in the language box edits text.
                made.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self.list_view.addAction(made)
            return made

        self.open_action = action("Open", "Show the transcript (Enter)", self._on_open_action)
        self.copy_action = action("Copy text", "Copy the transcript to the clipboard (Ctrl+C)",
                                  self._on_copy_action, QKeySequence(QKeySequence.StandardKey.Copy))
        self.export_action = action("Export…", "Save the transcript as text, subtitles or JSON "
                                    "(Ctrl+S)", self._on_export_action,
                                    QKeySequence(QKeySequence.StandardKey.Save))
        self.retry_action = action("Retry", "Run the selected failed or cancelled jobs again",
                                   self._on_retry_action)
        self.cancel_action = action("Cancel", "Stop the selected jobs (Esc)",
                                    self._on_cancel_action,
                                    QKeySequence(QKeySequence.StandardKey.Cancel))
        self.remove_action = action("Remove", "Remove the selected finished jobs from the list "
                                    "(Delete)", self._on_remove_action,
                                    QKeySequence(QKeySequence.StandardKey.Delete))
        self.priority_action = action("High priority",
                                      "Move the selected Bahasakita uploads ahead in the "
                                      "service's queue", self._on_priority_action)

    # --- update methods -------------------------------------------------------------

    def set_jobs(self, jobs: Sequence[Job]) -> None:
        """Show exactly these jobs (in any order; the list sorts them newest first)."""
        self.model.set_jobs(jobs)
        self._sync_view()
        self._update_actions()

    def update_job(self, job: Job) -> None:
        """Show a new or changed job: one row is inserted or repainted, nothing else."""
        row = self.model.upsert(job)
        self._sync_view()
        selection = self.list_view.selectionModel()
        if selection.isRowSelected(row, QModelIndex()):
            self._update_actions()

    def remove_job(self, job_id: int) -> None:
        if self.model.remove(job_id):
            self._sync_view()
            self._update_actions()

    def show_message(self, text: str, error: bool = False) -> None:
        """A status line above the list ("2 files were not audio and were skipped");
        an empty text hides it."""
        show_message(self.message_label, text, error=error)
        self.message_label.setToolTip(text)

    def set_providers(self, choices: Sequence[tuple[str, str]],
                      option_types: Mapping[str, type[VendorOptions]] | None = None) -> None:
        """The services to offer, as (id, label), in order; the list shows the labels.
        `option_types` gives each vendor's options: a control for each option its SPECS
        show in the panel, visible while that vendor is chosen. Emits nothing: the first
        service becomes the current one until set_provider()."""
        self._labels.clear()
        self._labels.update(choices)
        self.provider_combo.blockSignals(True)
        self.provider_combo.clear()
        for provider, label in choices:
            self.provider_combo.addItem(label, provider)
        self.provider_combo.blockSignals(False)
        for control in self.option_controls.values():
            self._form.removeRow(control)
        self.option_controls.clear()
        self._option_types = dict(option_types or {})
        self._option_values = {}
        row = 2  # after the service and the language
        for provider, kind in self._option_types.items():
            self._option_values[provider] = {spec.name: spec.default for spec in kind.SPECS}
            for spec in kind.SPECS:
                if not spec.in_panel:
                    continue
                control = _option_control(spec)
                self.option_controls[(provider, spec.name)] = control
                if isinstance(control, QCheckBox):
                    self._form.insertRow(row, control)
                else:
                    self._form.insertRow(row, spec.label, control)
                row += 1
        self._show_provider_controls()
        self.list_view.viewport().update()

    def set_job_actions(self, actions: JobActions) -> None:
        """How to ask a job's vendor for its remote id and its queue priority."""
        self._vendor.remote_id = actions.remote_id
        self._vendor.offers_priority = actions.offers_priority
        self._vendor.can_prioritise = actions.can_prioritise
        self.list_view.viewport().update()
        self._update_actions()

    def set_provider(self, provider: str) -> None:
        """Select a service without emitting provider_changed."""
        position = self.provider_combo.findData(provider)
        if position < 0:
            raise ValueError(f"unknown provider {provider!r}; expected one of "
                             f"{', '.join(self._labels)}")
        self.provider_combo.blockSignals(True)
        self.provider_combo.setCurrentIndex(position)
        self.provider_combo.blockSignals(False)
        self._show_provider_controls()

    def provider(self) -> str:
        return str(self.provider_combo.currentData())

    def set_options(self, options: JobOptions) -> None:
        """Show these options; the vendor's go to the vendor whose type they have (or the
        current one), and values the panel has no control for are kept as given."""
        if options.language is None:
            self.language_combo.setCurrentIndex(0)
        else:
            position = self.language_combo.findData(options.language)
            if position >= 0:
                self.language_combo.setCurrentIndex(position)
            else:
                self.language_combo.setEditText(options.language)
        self.speakers_box.setChecked(options.diarization)
        if options.vendor is not None:
            owner = next((p for p, kind in self._option_types.items()
                          if isinstance(options.vendor, kind)), self.provider())
            self.set_option_values(owner, options.vendor.to_dict())

    def set_option_values(self, provider: str, values: Mapping[str, Any]) -> None:
        """Show (and keep) these values of `provider`'s options; unknown names are ignored."""
        kept = self._option_values.get(provider)
        if kept is None:
            return
        for name, value in values.items():
            if name not in kept:
                continue
            kept[name] = value
            control = self.option_controls.get((provider, name))
            if isinstance(control, QCheckBox):
                control.setChecked(bool(value))
            elif control is not None:
                control.setCurrentIndex(max(0, control.findData(value)))

    def option_values(self) -> dict[str, dict[str, Any]]:
        """Every vendor's options as the controls say: provider -> name -> value."""
        values = {provider: dict(kept) for provider, kept in self._option_values.items()}
        for (provider, name), control in self.option_controls.items():
            values[provider][name] = (control.isChecked() if isinstance(control, QCheckBox)
                                      else control.currentData())
        return values

    def options(self) -> JobOptions:
        """What the controls say, with the chosen vendor's options typed; raises
        ConfigurationError when the language is not a code."""
        language = parse_language(self.language_combo.currentText())
        kind = self._option_types.get(self.provider())
        vendor = (kind.from_dict(self.option_values()[self.provider()])
                  if kind is not None else None)
        return JobOptions(language=language, diarization=self.speakers_box.isChecked(),
                          vendor=vendor)

    def select_job(self, job_id: int) -> bool:
        """Select and scroll to a job (e.g. one just added); False when it is not listed."""
        row = self.model.row_of(job_id)
        if row is None:
            return False
        index = self.model.index(row, 0)
        self.list_view.setCurrentIndex(index)
        self.list_view.scrollTo(index)
        return True

    def selected_jobs(self) -> list[Job]:
        """The selected jobs, newest first."""
        rows = sorted(index.row() for index in self.list_view.selectionModel().selectedIndexes())
        return [self.model.job_at(row) for row in rows]

    # --- drops ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        accept_file_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        accept_file_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = take_file_drop(event, self.show_message)
        if files:
            self.files_dropped.emit(files)

    # --- slots ----------------------------------------------------------------------

    def _on_provider_combo_changed(self, _position: int) -> None:
        self._show_provider_controls()
        self.provider_changed.emit(self.provider())

    def _on_language_combo_text_changed(self, text: str) -> None:
        try:
            parse_language(text)
        except ConfigurationError as exc:
            self.language_combo.setStyleSheet("QComboBox { border: 1px solid #c5221f; }")
            self.language_combo.setToolTip(str(exc))
        else:
            self.language_combo.setStyleSheet("")
            self.language_combo.setToolTip("The language spoken in the files: pick one or type "
                                           "a code such as en or pt-BR")

    def _on_list_view_activated(self, index: QModelIndex) -> None:
        job = index.data(JOB_ROLE)
        if isinstance(job, Job) and job.state is JobState.COMPLETED:
            self.open_requested.emit(job.id)

    def _on_list_view_context_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for action in self.context_actions():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.popup(self.list_view.viewport().mapToGlobal(position))

    def context_actions(self) -> list[QAction | None]:
        """The list's context menu, None for a separator."""
        return [self.open_action, self.copy_action, self.export_action, None,
                self.retry_action, self.cancel_action, self.priority_action, None,
                self.remove_action]

    def _on_open_action(self) -> None:
        job = self._single_completed()
        if job is not None:
            self.open_requested.emit(job.id)

    def _on_copy_action(self) -> None:
        job = self._single_completed()
        if job is not None:
            self.copy_requested.emit(job.id)

    def _on_export_action(self) -> None:
        job = self._single_completed()
        if job is not None:
            self.export_requested.emit(job.id)

    def _on_retry_action(self) -> None:
        for job in self.selected_jobs():
            if job.state in _RETRYABLE:
                self.retry_requested.emit(job.id)

    def _on_cancel_action(self) -> None:
        for job in self.selected_jobs():
            if not job.state.finished:
                self.cancel_requested.emit(job.id)

    def _on_priority_action(self) -> None:
        for job in self.selected_jobs():
            if self._vendor.can_prioritise(job):
                self.priority_requested.emit(job.id, "high")

    def _on_remove_action(self) -> None:
        for job in self.selected_jobs():
            if job.state.finished:
                self.remove_requested.emit(job.id)

    # --- internals ------------------------------------------------------------------

    def _single_completed(self) -> Job | None:
        jobs = self.selected_jobs()
        if len(jobs) == 1 and jobs[0].state is JobState.COMPLETED:
            return jobs[0]
        return None

    def _update_actions(self) -> None:
        jobs = self.selected_jobs()
        completed = self._single_completed() is not None
        self.open_action.setEnabled(completed)
        self.copy_action.setEnabled(completed)
        self.export_action.setEnabled(completed)
        self.retry_action.setEnabled(any(job.state in _RETRYABLE for job in jobs))
        self.cancel_action.setEnabled(any(not job.state.finished for job in jobs))
        self.remove_action.setEnabled(any(job.state.finished for job in jobs))
        self.priority_action.setEnabled(any(self._vendor.can_prioritise(job) for job in jobs))
        self.priority_action.setVisible(any(self._vendor.offers_priority(job) for job in jobs))

    def _show_provider_controls(self) -> None:
        provider = self.provider()
        for (owner, _name), control in self.option_controls.items():
            self._form.setRowVisible(control, owner == provider)

    def _sync_view(self) -> None:
        empty = self.model.rowCount() == 0
        self._stack.setCurrentWidget(self.drop_hint if empty else self.list_view)
        # Repaint only while something on screen moves: a busy bar, or elapsed time.
        if self.model.active_count == 0:
            self._tick.stop()
            return
        interval = _BUSY_TICK_MS if self.model.busy_count else _ELAPSED_TICK_MS
        if not self._tick.isActive() or self._tick.interval() != interval:
            self._tick.start(interval)


def _option_control(spec: OptionSpec) -> QComboBox | QCheckBox:
    control: QComboBox | QCheckBox
    if spec.kind is OptionKind.BOOL:
        control = QCheckBox(spec.label)
        control.setChecked(bool(spec.default))
    else:
        control = QComboBox()
        for value, label in spec.choices:
            control.addItem(label, value)
        control.setCurrentIndex(max(0, control.findData(spec.default)))
    control.setToolTip(spec.tooltip)
    return control


def accept_file_drag(event: QDragMoveEvent) -> None:
    """Accept a drag that carries local files (a window and a panel alike)."""
    if has_local_urls(event.mimeData()):
        event.acceptProposedAction()
    else:
        event.ignore()


def take_file_drop(event: QDropEvent, say: Callable[[str], object]) -> list[Path]:
    """The regular files of a drop; what was skipped (folders, links) goes to `say`."""
    mime = event.mimeData()
    if not has_local_urls(mime):
        event.ignore()
        return []
    event.acceptProposedAction()
    files, skipped = dropped_files(mime)
    if skipped:
        say(skipped_text(skipped))
    return files
