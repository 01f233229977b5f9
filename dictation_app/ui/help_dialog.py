"""Help ▸ How to dictate and Help ▸ Keyboard shortcuts: one dialog with a tab for each,
written into the app so it works offline.

The shortcuts are the window's own actions' (passed in), plus the push-to-talk key and
the keys the lists take, so the page cannot drift from what the keys do.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

HOW_TO_TAB, SHORTCUTS_TAB = 0, 1

# Keys that belong to a list or a dialog, not to a menu action: (key, what it does).
_Standard = QKeySequence.StandardKey
_LIST_KEYS: tuple[tuple[_Standard | str, str], ...] = (
    ("Enter", "Files list: open the selected job's transcript"),
    (_Standard.Copy, "Files list: copy the selected job's transcript"),
    (_Standard.Save, "Files list and result view: export the transcript"),
    (_Standard.Cancel, "Files list: stop the selected jobs"),
    (_Standard.Delete, "Files list: remove the selected finished jobs"),
    (_Standard.Find, "Result view: search the segments"),
)


def list_shortcuts() -> list[tuple[str, str]]:
    """The lists' keys, as this platform spells them."""
    native = QKeySequence.SequenceFormat.NativeText
    return [(key if isinstance(key, str) else QKeySequence(key).toString(native), does)
            for key, does in _LIST_KEYS]


def _how_to_html(push_to_talk: str) -> str:
    hold = (f"hold <b>{escape(push_to_talk)}</b> while you speak and let go when you are "
            "done, or ") if push_to_talk else ""
    return f"""
<h3>Dictate</h3>
<p>Pick a recognizer in the bar at the top: <b>Local</b> works offline with no
account; <b>Bahasakita</b> is a cloud service and needs a token (Edit ▸ Preferences).</p>
<p>To dictate, {hold}press <b>Record</b> (Ctrl+R) to start and again to stop. Grey
words are the recognizer's guesses while you speak; they become plain text once
settled.</p>
<h3>Punctuation and corrections</h3>
<p>Say <i>comma</i>, <i>period</i> or <i>full stop</i>, <i>question mark</i>,
<i>new line</i> or <i>new paragraph</i> at the end of a phrase, or on their own.
<i>Scratch that</i> removes what you said last. In Indonesian: <i>koma</i>,
<i>titik</i>, <i>tanda tanya</i>, <i>baris baru</i>, <i>paragraf baru</i>,
<i>hapus itu</i>. Preferences ▸ General turns these off and holds your word
replacements.</p>
<h3>Files</h3>
<p>Drop audio or video files on the window, or use File ▸ Transcribe files… (Ctrl+O).
Each becomes a job in the Files panel; double-click a finished job to read, search and
export its transcript.</p>
<h3>Nothing is lost</h3>
<p>Every take is kept in the History panel with its recording (Preferences ▸ Privacy
and storage says for how long). If the connection drops, the app reconnects and sends
what it missed; if the app
is closed by a crash, the next start shows the take it recovered.</p>
<h3>From a desktop shortcut</h3>
<p><code>dictation-app record toggle</code> starts or stops dictating in the running
window: bind it to a key in your desktop's keyboard settings. Run
<code>dictation-app --help</code> for the command-line tools.</p>
"""


class HelpDialog(QDialog):
    """How to dictate, and the keyboard shortcuts as a table."""

    def __init__(self, parent: QWidget | None = None, *,
                 shortcuts: Sequence[tuple[str, str]] = (), push_to_talk: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Dictation Help")
        self.resize(560, 520)
        self.tabs = QTabWidget()

        self.how_to = QTextBrowser()
        self.how_to.setAccessibleName("How to dictate")
        self.how_to.setOpenLinks(False)
        self.how_to.setHtml(_how_to_html(push_to_talk))
        self.tabs.addTab(self.how_to, "How to dictate")

        rows = list(shortcuts)
        if push_to_talk:
            rows.insert(0, (push_to_talk, "Hold to dictate (push-to-talk)"))
        rows.extend(list_shortcuts())
        self.shortcuts = QTableWidget(len(rows), 2)
        self.shortcuts.setAccessibleName("Keyboard shortcuts")
        self.shortcuts.setHorizontalHeaderLabels(["Key", "Action"])
        self.shortcuts.verticalHeader().hide()
        self.shortcuts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.shortcuts.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.shortcuts.setWordWrap(True)
        for row, (key, does) in enumerate(rows):
            key_item = QTableWidgetItem(key)
            key_item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.shortcuts.setItem(row, 0, key_item)
            self.shortcuts.setItem(row, 1, QTableWidgetItem(does))
        header = self.shortcuts.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tabs.addTab(self.shortcuts, "Keyboard shortcuts")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def rows(self) -> list[tuple[str, str]]:
        """The shortcuts table as (key, what it does)."""
        table = self.shortcuts

        def text(row: int, column: int) -> str:
            item = table.item(row, column)
            return item.text() if item is not None else ""

        return [(text(r, 0), text(r, 1)) for r in range(table.rowCount())]
