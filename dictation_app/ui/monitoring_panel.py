"""A side panel showing the Bahasakita account's job queues; passive, like every widget.

It emits intents (`refresh_requested`, `interval_changed`, `sign_in_requested`) and
exposes update methods (`show_snapshot`, `show_error`, `show_paused`, `set_loading`,
`set_interval`, `show_signed_out`, `set_address`); `MonitoringController` does the
fetching and decides what to show.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dictation_app.protocols.bahasakita_account import (
    QUEUE_LABELS,
    QUEUES,
    MonitoringSnapshot,
    QueueItem,
    format_created,
    format_duration,
    newest_first,
)
from dictation_app.ui.message_line import show_message

INTERVALS = ((0, "Paused"), (15, "15 s"), (30, "30 s"), (60, "1 min"), (300, "5 min"))
# Waiting, processing and failed jobs are what a person checks on; done jobs pile up.
_EXPANDED = {"inquery": True, "process": True, "failed": True, "success": False}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CHANGED_COLOUR = QColor("#1a73e8")
_FAILED_COLOUR = QColor("#c5221f")
_STALE_COLOUR = QColor("#b06000")
_COLUMNS = ("File", "Length", "Created", "MB")
_TIP_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's own tooltip, before local-job notes
_FILE, _DURATION, _CREATED, _SIZE = range(4)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_SIGNED_OUT = ("Not signed in to Bahasakita. Sign in with your email and password, or paste "
               "a token in Preferences, to see your transcription queues.")
_SIGNED_OUT_TIP = "Sign in first: there is nothing to refresh while signed out."
_INTERVAL_TIP = "How often the queues refresh by themselves"
_REFRESH_TIP = "Fetch the queues from Bahasakita now"


class MonitoringPanel(QWidget):
    refresh_requested = Signal()
    interval_changed = Signal(int)  # seconds; 0 = paused
    job_activated = Signal(str)  # the uuid of a queue entry double-clicked or entered
    sign_in_requested = Signal()  # "Sign in…": the caller opens Settings at sign-in

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._updated_at: datetime | None = None
        self._local_jobs: dict[str, str] = {}  # uuid -> the file name of our job
        self._changed_icon: QIcon | None = None
        self._paused = False  # failing repeatedly: the refresh button reads "Retry now"

        self.account_label = QLabel("Bahasakita account")
        bold = self.account_label.font()
        bold.setBold(True)
        self.account_label.setFont(bold)
        self.counters_label = QLabel("")
        self.counters_label.setToolTip("Messages you sent to the service (in) and results "
                                       "you collected from it (out)")
        self.counters_label.setVisible(False)

        self.interval_box = QComboBox()
        for seconds, label in INTERVALS:
            self.interval_box.addItem(label, seconds)
        self.interval_box.setToolTip(_INTERVAL_TIP)
        self.interval_box.currentIndexChanged.connect(self._on_interval_box_changed)
        self.auto_refresh_label = QLabel("Auto-refresh")
        self.auto_refresh_label.setBuddy(self.interval_box)
        self.refresh_button = QPushButton("Refresh now")
        self.refresh_button.setToolTip(_REFRESH_TIP)
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.sign_in_button = QPushButton("Sign in…")
        self.sign_in_button.setObjectName("accountSignIn")
        self.sign_in_button.setToolTip("Open Preferences at the Bahasakita sign-in")
        self.sign_in_button.clicked.connect(self.sign_in_requested)
        self.sign_in_button.setVisible(False)

        # Which server the tab asks: small, and selectable for a support request. Set
        # only from a client's base URL, which carries no token (it travels in a header).
        self.address_label = QLabel("")
        self.address_label.setObjectName("accountAddress")
        self.address_label.setTextFormat(Qt.TextFormat.PlainText)
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        small = self.address_label.font()
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 7.0))
        self.address_label.setFont(small)
        self.address_label.setToolTip("The Bahasakita account address this tab asks; "
                                      "change it in Preferences")
        self.address_label.setVisible(False)

        self.status_label = QLabel("Not updated yet")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        # Selectable so a person can copy the service's message into a support request.
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setVisible(False)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(_COLUMNS))
        self.tree.setHeaderLabels(list(_COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(12)  # a narrow panel has no width to spare
        # File names differ by their date or number suffix and extension: keep both ends.
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # Right-aligned numbers would otherwise touch the next column and the frame.
        self.tree.setStyleSheet("QTreeWidget::item { padding-right: 6px; }")
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(_FILE, QHeaderView.ResizeMode.Stretch)
        for column in (_DURATION, _CREATED, _SIZE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
            self.tree.headerItem().setTextAlignment(column, _RIGHT)
        self._queue_rows: dict[str, QTreeWidgetItem] = {}
        for name in QUEUES:
            row = QTreeWidgetItem(self.tree)
            row.setFirstColumnSpanned(True)
            row.setFont(_FILE, bold)
            self._queue_rows[name] = row
            row.setExpanded(_EXPANDED[name])
        self._set_queue_titles(None, set())
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        # Hidden until there is data: empty queues would read as "no jobs".
        self.tree.setVisible(False)

        controls = QHBoxLayout()
        controls.addWidget(self.auto_refresh_label)
        controls.addWidget(self.interval_box)
        controls.addStretch(1)
        controls.addWidget(self.refresh_button)
        sign_in_row = QHBoxLayout()
        sign_in_row.addWidget(self.sign_in_button)
        sign_in_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.account_label)
        layout.addWidget(self.address_label)
        layout.addWidget(self.counters_label)
        layout.addLayout(controls)
        layout.addWidget(self.status_label)
        layout.addWidget(self.message_label)
        layout.addLayout(sign_in_row)
        layout.addWidget(self.tree, 1)
        layout.addStretch(0)  # takes the height only while the tree is hidden (signed out)

    # --- update methods ----------------------------------------------------------

    def show_snapshot(self, snapshot: MonitoringSnapshot, changed: set[str],
                      updated_at: datetime) -> None:
        """Show fresh queues; jobs in `changed` stay highlighted until the next snapshot."""
        self._updated_at = updated_at
        self.account_label.setText(f"Bahasakita account: {snapshot.username or '(no name)'}")
        counters = _counters_text(snapshot)
        self.counters_label.setText(counters)
        self.counters_label.setVisible(bool(counters))
        self._fill(snapshot, changed, reference=updated_at)
        self.tree.setVisible(True)
        self.status_label.setText(f"Updated {updated_at:%H:%M:%S}")
        self.status_label.setVisible(True)
        self.status_label.setToolTip(f"Last successful refresh: {updated_at:%Y-%m-%d %H:%M:%S}")
        self._style_status(stale=False)
        self.message_label.setVisible(False)
        self._set_paused(False)
        self._set_auto_refresh(True)
        self.sign_in_button.setVisible(False)

    def set_local_jobs(self, jobs: dict[str, str]) -> None:
        """uuid -> file name of the uploads made from this app: their rows say so and
        lead to the job in the Files panel."""
        self._local_jobs = dict(jobs)
        for queue in self._queue_rows.values():
            for index in range(queue.childCount()):
                child = queue.child(index)
                if child is not None:
                    self._mark_local(child)

    def show_error(self, message: str) -> None:
        """Keep the last good data on screen, marked stale, and show why the refresh failed."""
        self._show_stale()
        self._set_paused(False)
        self._set_auto_refresh(True)
        self.sign_in_button.setVisible(False)
        self._show_message(message, error=True)

    def show_paused(self, message: str, *, failures: int, next_try: datetime | None,
                    stopped: str | None = None, sign_in: bool = False) -> None:
        """Refreshes keep failing: say how often and why, and offer Retry now.

        `next_try` is when the slowed-down timer tries again (None: it does not);
        `stopped` says why the timer stays off (a refused token), and disables the
        interval box with that reason; `sign_in` offers the Sign in… button.
        """
        self._show_stale()
        times = "failure" if failures == 1 else "failures"
        lines = [f"Paused after {failures} {times}: {message}"]
        if stopped:
            lines.append(stopped)
        elif next_try is not None:
            lines.append(f"Next try at {next_try:%H:%M:%S}, or press Retry now.")
        self._set_paused(True)
        self._set_auto_refresh(stopped is None, stopped or "")
        self.sign_in_button.setVisible(sign_in)
        self._show_message("\n".join(lines), error=True)

    def set_loading(self, loading: bool) -> None:
        self.refresh_button.setEnabled(not loading)
        self.refresh_button.setText("Refreshing…" if loading else self._refresh_text())

    def set_address(self, url: str) -> None:
        """Show the address the tab polls ("" hides it)."""
        shown = _without_credentials(url)
        self.address_label.setText(f"Polls {shown}" if shown else "")
        self.address_label.setVisible(bool(shown))

    def set_interval(self, seconds: int) -> None:
        """Select `seconds` in the interval box without emitting interval_changed."""
        index = self.interval_box.findData(seconds)
        if index < 0:
            # A value from elsewhere (settings, a test) gets its own entry rather than
            # silently showing a different interval than the one in force.
            label = f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
            self.interval_box.addItem(label, seconds)
            index = self.interval_box.count() - 1
        self.interval_box.blockSignals(True)
        self.interval_box.setCurrentIndex(index)
        self.interval_box.blockSignals(False)

    def show_signed_out(self, message: str = "") -> None:
        """No token yet: clear the queues and say how to add one."""
        self._updated_at = None
        self.account_label.setText("Bahasakita account: not signed in")
        self.counters_label.setVisible(False)
        for row in self._queue_rows.values():
            row.takeChildren()
        self._set_queue_titles(None, set())
        self.tree.setVisible(False)
        self.status_label.setVisible(False)  # "not updated yet" says nothing the message doesn't
        self._set_paused(False)
        # Nothing to refresh: the controls stay in view, greyed, and say why.
        self._set_auto_refresh(False, _SIGNED_OUT_TIP)
        self.refresh_button.setEnabled(False)
        self.refresh_button.setToolTip(_SIGNED_OUT_TIP)
        self.sign_in_button.setVisible(True)
        self._show_message(message or _SIGNED_OUT, error=False)

    @property
    def is_paused(self) -> bool:
        return self._paused

    # --- internals ---------------------------------------------------------------

    def _on_interval_box_changed(self, index: int) -> None:
        self.interval_changed.emit(int(self.interval_box.itemData(index)))

    def _fill(self, snapshot: MonitoringSnapshot, changed: set[str], *,
              reference: datetime) -> None:
        # The queue rows stay, only their children are replaced, so whatever a person
        # expanded or collapsed stays that way across refreshes.
        for name in QUEUES:
            row = self._queue_rows[name]
            row.takeChildren()
            for item in newest_first(snapshot.queues[name]):
                row.addChild(self._job_row(item, item.uuid in changed, reference))
        self._set_queue_titles(snapshot, changed)

    def _job_row(self, item: QueueItem, changed: bool, reference: datetime) -> QTreeWidgetItem:
        row = QTreeWidgetItem([
            item.filename or "(unnamed)",
            format_duration(item.duration),
            _short_time(item.created, reference),
            _size(item.filesize_mb),
        ])
        for column in (_DURATION, _CREATED, _SIZE):
            row.setTextAlignment(column, _RIGHT)
        tip = [item.filename or "(unnamed)", f"ID {item.uuid}"]
        if item.created is not None:
            tip.append(f"Created {format_created(item.created)}")
        if item.filesize_mb is not None:
            tip.append(f"{item.filesize_mb:g} MB")
        if changed:
            font = row.font(_FILE)
            font.setBold(True)
            for column in range(len(_COLUMNS)):
                row.setFont(column, font)
            row.setIcon(_FILE, self._dot())
            tip.append("Changed since the last refresh")
        row.setToolTip(_FILE, "\n".join(tip))
        row.setData(_FILE, Qt.ItemDataRole.UserRole, item.uuid)
        row.setData(_FILE, _TIP_ROLE, "\n".join(tip))
        self._mark_local(row)
        return row

    def _mark_local(self, row: QTreeWidgetItem) -> None:
        uuid = row.data(_FILE, Qt.ItemDataRole.UserRole)
        tip = row.data(_FILE, _TIP_ROLE) or ""
        font = row.font(_FILE)
        font.setItalic(uuid in self._local_jobs)
        row.setFont(_FILE, font)
        if uuid in self._local_jobs:
            tip += f"\nUploaded from this app ({self._local_jobs[uuid]}): double-click to " \
                   "see the job in Files"
        row.setToolTip(_FILE, tip)

    def _on_tree_item_activated(self, row: QTreeWidgetItem, _column: int) -> None:
        uuid = row.data(_FILE, Qt.ItemDataRole.UserRole)
        if row.parent() is not None and isinstance(uuid, str):
            self.job_activated.emit(uuid)

    def _set_queue_titles(self, snapshot: MonitoringSnapshot | None, changed: set[str]) -> None:
        for name, row in self._queue_rows.items():
            items = snapshot.queues[name] if snapshot is not None else []
            moved = sum(1 for item in items if item.uuid in changed)
            title = f"{QUEUE_LABELS[name]} ({len(items)})"
            if moved:
                title += f" · {moved} changed"
            row.setText(_FILE, title)
            row.setData(_FILE, Qt.ItemDataRole.UserRole, name)
            # A collapsed queue still shows that something in it changed.
            row.setIcon(_FILE, self._dot() if moved else QIcon())
            colour = _FAILED_COLOUR if name == "failed" and items else None
            row.setForeground(_FILE, QBrush(colour) if colour else QBrush())

    def _grey_out(self) -> None:
        grey = QBrush(self.palette().color(QPalette.ColorGroup.Disabled,
                                           QPalette.ColorRole.Text))
        for row in self._queue_rows.values():
            row.setForeground(_FILE, grey)
            for child in _children(row):
                for column in range(len(_COLUMNS)):
                    child.setForeground(column, grey)

    def _show_stale(self) -> None:
        if self._updated_at is not None:
            self.status_label.setText(f"Stale: last updated {self._updated_at:%H:%M:%S}")
            self._grey_out()
        else:
            self.status_label.setText("Not updated yet")
        self.status_label.setVisible(True)
        self._style_status(stale=True)

    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.refresh_button.setText(self._refresh_text())
        self.refresh_button.setEnabled(True)
        self.refresh_button.setToolTip(_REFRESH_TIP)

    def _refresh_text(self) -> str:
        return "Retry now" if self._paused else "Refresh now"

    def _set_auto_refresh(self, enabled: bool, why_not: str = "") -> None:
        self.interval_box.setEnabled(enabled)
        self.auto_refresh_label.setEnabled(enabled)
        self.interval_box.setToolTip(_INTERVAL_TIP if enabled else why_not)

    def _show_message(self, message: str, *, error: bool) -> None:
        show_message(self.message_label, message, error=error)
        self.message_label.setVisible(True)

    def _style_status(self, *, stale: bool) -> None:
        self.status_label.setStyleSheet(
            f"QLabel {{ color: {_STALE_COLOUR.name()}; font-weight: bold; }}" if stale else "")

    def _dot(self) -> QIcon:
        if self._changed_icon is None:
            pixmap = QPixmap(10, 10)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_CHANGED_COLOUR)
            painter.drawEllipse(1, 1, 8, 8)
            painter.end()
            self._changed_icon = QIcon(pixmap)
        return self._changed_icon

    # Test and accessibility helpers: what a person would read, as text.

    def queue_titles(self) -> list[str]:
        return [self._queue_rows[name].text(_FILE) for name in QUEUES]

    def job_rows(self, queue: str) -> list[QTreeWidgetItem]:
        return _children(self._queue_rows[queue])

    @property
    def is_stale(self) -> bool:
        return self.status_label.text().startswith("Stale")



def _without_credentials(url: str) -> str:
    # A base URL carries no secret, but one typed with user:password@ or a ?query
    # must not put either on screen.
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6, as it was written
    if port is not None:
        host = f"{host}:{port}"
    return parts._replace(netloc=host, query="", fragment="").geturl()


def _children(row: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [child for i in range(row.childCount()) if (child := row.child(i)) is not None]


def _counters_text(snapshot: MonitoringSnapshot) -> str:
    parts = []
    if snapshot.msg_in is not None:
        parts.append(f"{snapshot.msg_in} in")
    if snapshot.msg_out is not None:
        parts.append(f"{snapshot.msg_out} out")
    # The service says "success" when all is well; anything else is worth reading.
    if snapshot.message_status and snapshot.message_status.lower() != "success":
        parts.append(snapshot.message_status)
    return "Messages: " + " · ".join(parts) if parts else ""


def _short_time(created: datetime | None, reference: datetime) -> str:
    """'09:12' today, '30 Apr' this year, 'Dec 2023' before: a narrow column, with the
    full time in the tooltip."""
    if created is None:
        return ""
    if created.date() == reference.date():
        return f"{created:%H:%M}"
    month = _MONTHS[created.month - 1]
    if created.year == reference.year:
        return f"{created.day} {month}"
    return f"{month} {created.year}"


def _size(megabytes: float | None) -> str:
    if megabytes is None:
        return ""
    # A tenth of a megabyte matters for a short memo, not for an hour-long recording.
    return f"{megabytes:.1f}" if megabytes < 10 else f"{megabytes:.0f}"
