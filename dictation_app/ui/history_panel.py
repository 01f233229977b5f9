"""The History tab: every dictated take, searchable, and what can be done with one.

Passive, like every widget: it emits intents (`open_requested`, `copy_requested`,
`export_requested`, `save_recording_requested`, `transcribe_requested`,
`delete_requested`, each with a take id) and shows what it is told (`set_takes`,
`show_message`). A controller (controllers/history_controller.py) owns the take store
and connects the two. The list is a model (`TakeListModel`, newest first) behind a
filter proxy, so search is a fixed-string match on each take's text and engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dictation_app.takes.model import Take
from dictation_app.ui.message_line import show_message

TAKE_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
_RECOVERED = QColor("#8c5a00")

Index = QModelIndex | QPersistentModelIndex


def take_summary(take: Take) -> str:
    """Two lines: when, how long, who transcribed it (and whether it was recovered);
    then its first words."""
    when = datetime.fromtimestamp(take.started).strftime("%d %b %Y %H:%M")
    minutes, seconds = divmod(round(take.duration), 60)
    badge = " · recovered" if take.recovered else ""
    words = take.preview or "(nothing was said)"
    return f"{when} · {minutes}:{seconds:02d} · {take.engines_label}{badge}\n{words}"


class TakeListModel(QAbstractListModel):
    """The takes, newest first."""

    def __init__(self) -> None:
        super().__init__()
        self._takes: list[Take] = []

    def set_takes(self, takes: Sequence[Take]) -> None:
        self.beginResetModel()
        self._takes = sorted(takes, key=lambda t: (t.started, t.id), reverse=True)
        self.endResetModel()

    def remove(self, take_id: int) -> None:
        for row, take in enumerate(self._takes):
            if take.id == take_id:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._takes[row]
                self.endRemoveRows()
                return

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._takes)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._takes):
            return None
        take = self._takes[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return take_summary(take)
        if role == TAKE_ROLE:
            return take
        if role == SEARCH_ROLE:
            return f"{take.engine} {take.text}"
        if role == Qt.ItemDataRole.ToolTipRole:
            if take.recovered:
                return ("The app closed during this take; what was said up to then was "
                        "recovered.")
            return None if take.recording is not None else "No recording kept"
        if role == Qt.ItemDataRole.ForegroundRole and take.recovered:
            return QBrush(_RECOVERED)
        return None


class HistoryPanel(QWidget):
    open_requested = Signal(int)
    copy_requested = Signal(int)
    export_requested = Signal(int)
    save_recording_requested = Signal(int)
    transcribe_requested = Signal(int)  # again, as a file job, with the Files panel's service
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.model = TakeListModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search the takes")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()

        self.list_view = QListView()
        self.list_view.setModel(self.proxy)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list_view.setWordWrap(True)
        self.list_view.setAlternatingRowColors(True)
        self.list_view.setSpacing(2)
        self.list_view.activated.connect(self._on_list_view_activated)
        selection = self.list_view.selectionModel()
        selection.selectionChanged.connect(self._update_buttons)

        self.empty_label = QLabel("What you dictate is kept here, take by take.")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        def button(text: str, tip: str, signal: Any) -> QPushButton:
            push = QPushButton(text)
            push.setToolTip(tip)
            push.clicked.connect(lambda: self._emit_for_selected(signal))
            return push

        self.open_button = button("Open", "Show the take's transcript", self.open_requested)
        self.copy_button = button("Copy", "Copy the take's text", self.copy_requested)
        self.export_button = button("Export…", "Save as TXT, SRT, WebVTT or JSON",
                                    self.export_requested)
        self.save_recording_button = button("Save audio…", "Save the take's audio as WAV",
                                            self.save_recording_requested)
        self.transcribe_button = button(
            "Re-transcribe", "Add the recording to the Files list, with the service "
            "chosen there", self.transcribe_requested)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the take and its recording")
        self.delete_button.clicked.connect(self._on_delete_button_clicked)

        buttons = QGridLayout()
        for position, push in enumerate((self.open_button, self.copy_button,
                                         self.export_button, self.save_recording_button,
                                         self.transcribe_button, self.delete_button)):
            buttons.addWidget(push, position // 3, position % 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.message_label)
        layout.addWidget(self.list_view, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)
        self._confirm: QMessageBox | None = None
        self._sync()

    # --- updates ----------------------------------------------------------------------

    def set_takes(self, takes: Sequence[Take]) -> None:
        selected = self.selected_take()
        self.model.set_takes(takes)
        if selected is not None:
            self.select_take(selected.id)
        self._sync()

    def remove_take(self, take_id: int) -> None:
        self.model.remove(take_id)
        self._sync()

    def show_message(self, text: str, error: bool = False) -> None:
        show_message(self.message_label, text, error=error)

    def select_take(self, take_id: int) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            take = index.data(TAKE_ROLE)
            if isinstance(take, Take) and take.id == take_id:
                self.list_view.setCurrentIndex(index)
                return True
        return False

    def selected_take(self) -> Take | None:
        index = self.list_view.currentIndex()
        if not index.isValid() or not self.list_view.selectionModel().isSelected(index):
            return None
        take = index.data(TAKE_ROLE)
        return take if isinstance(take, Take) else None

    def visible_takes(self) -> list[Take]:
        return [self.proxy.index(row, 0).data(TAKE_ROLE) for row in range(self.proxy.rowCount())]

    # --- internals --------------------------------------------------------------------

    def _emit_for_selected(self, signal: Any) -> None:
        take = self.selected_take()
        if take is not None:
            signal.emit(take.id)

    def _on_list_view_activated(self, index: QModelIndex) -> None:
        take = index.data(TAKE_ROLE)
        if isinstance(take, Take):
            self.open_requested.emit(take.id)

    def _on_search_edit_text_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._sync()

    def _on_delete_button_clicked(self) -> None:
        take = self.selected_take()
        if take is None:
            return
        what = " and its recording" if take.recording is not None else ""
        box = QMessageBox(QMessageBox.Icon.Question, "Delete take",
                          f"Delete this take{what}? This cannot be undone.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def on_finished(result: int, take_id: int = take.id) -> None:
            self._confirm = None
            if result == QMessageBox.StandardButton.Yes:
                self.delete_requested.emit(take_id)

        box.finished.connect(on_finished)
        self._confirm = box
        box.open()  # no nested event loop: the app runs on qasync

    @property
    def confirm_dialog(self) -> QMessageBox | None:
        return self._confirm

    def _sync(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setVisible(empty)
        self.list_view.setVisible(not empty)
        if empty:
            self.empty_label.setText("What you dictate is kept here, take by take.")
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        take = self.selected_take()
        chosen = take is not None
        for push in (self.open_button, self.copy_button, self.export_button,
                     self.delete_button):
            push.setEnabled(chosen)
        recorded = take is not None and take.recording is not None
        self.save_recording_button.setEnabled(recorded)
        self.transcribe_button.setEnabled(recorded)
