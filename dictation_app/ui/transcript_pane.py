"""The main window's left pane: the first-run welcome, the live transcript, Clear and Copy all.

Copying and clearing never leave the window, so the pane does them itself; what it has
to say about them (``message_posted``) the window shows in its status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from dictation_app.ui.transcript_view import TranscriptView
from dictation_app.ui.welcome_banner import WelcomeBanner

COPIED_MESSAGE_MS = 2500
UNDO_CLEAR_OFFER_MS = 10_000


class TranscriptPane(QWidget):
    """The transcript with its welcome above and its Clear / Copy all buttons below."""

    welcome_dismissed = Signal()
    message_posted = Signal(str, int)  # text, milliseconds to show it
    undo_clear_available = Signal(bool)  # for the window's Edit ▸ Undo clear

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 6, 8)
        column.setSpacing(6)
        # Hidden until the controller calls show_welcome(): only a first run shows it.
        self.welcome_banner = WelcomeBanner()
        self.welcome_banner.hide()
        self.welcome_banner.dismissed.connect(self._on_welcome_banner_dismissed)
        column.addWidget(self.welcome_banner)
        self.transcript = TranscriptView()
        self.transcript.textChanged.connect(self._on_transcript_text_changed)
        column.addWidget(self.transcript, 1)

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addStretch(1)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Empty the transcript (you can undo this)")
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        self.copy_button = QPushButton("Copy all")
        self.copy_button.setObjectName("copyAllButton")
        self.copy_button.setToolTip("Copy the whole transcript to the clipboard (Ctrl+Shift+C)")
        self.copy_button.setDefault(False)
        self.copy_button.clicked.connect(self.copy_all)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.copy_button)
        column.addLayout(buttons)

        self._undo_clear_timer = QTimer(self)
        self._undo_clear_timer.setSingleShot(True)
        self._undo_clear_timer.setInterval(UNDO_CLEAR_OFFER_MS)
        self._undo_clear_timer.timeout.connect(self._end_undo_clear_offer)
        self._on_transcript_text_changed()

    def set_push_to_talk_key(self, shown: str) -> None:
        """Name the push-to-talk key (as the user sees it) in the empty transcript's hint."""
        if shown:
            self.transcript.setPlaceholderText(
                f"Press Record (Ctrl+R) or hold {shown}, then speak.\n\n"
                "Words in grey are still being recognized; they become plain text once settled."
            )
        else:
            self.transcript.setPlaceholderText(
                "Press Record (Ctrl+R), then speak.\n\n"
                "Words in grey are still being recognized; they become plain text once settled."
            )

    def copy_all(self) -> None:
        """Put the whole transcript (without the grey guess) on the clipboard."""
        text = self.transcript.plain_text()
        if not text.strip():
            self.message_posted.emit("Nothing to copy yet", COPIED_MESSAGE_MS)
            return
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(text)
        words = len(text.split())
        plural = "" if words == 1 else "s"
        self.message_posted.emit(
            f"Copied — {words:,} word{plural} on the clipboard", COPIED_MESSAGE_MS
        )

    def clear_transcript(self) -> None:
        """Empty the transcript; the Clear button offers "Undo clear" for a few seconds."""
        if not self.transcript.plain_text().strip():
            self.transcript.clear_partial()
            return
        self._undo_clear_timer.start()  # before clearing: keeps the button enabled
        self.clear_button.setText("Undo clear")
        self.clear_button.setToolTip("Bring back the text you just cleared")
        self.undo_clear_available.emit(True)
        self.transcript.clear_transcript()
        self.message_posted.emit(
            "Transcript cleared. Undo with the button or Edit ▸ Undo clear.", UNDO_CLEAR_OFFER_MS
        )

    def undo_clear(self) -> None:
        if self.transcript.undo_clear():
            self.message_posted.emit("Transcript restored", COPIED_MESSAGE_MS)
        self._end_undo_clear_offer()
        self.undo_clear_available.emit(False)

    def _on_clear_button_clicked(self) -> None:
        if self._undo_clear_timer.isActive():
            self.undo_clear()
        else:
            self.clear_transcript()

    def _on_transcript_text_changed(self) -> None:
        empty = self.transcript.document().isEmpty()
        self.copy_button.setEnabled(not empty)
        if not self._undo_clear_timer.isActive():
            self.clear_button.setEnabled(not empty)

    def _on_welcome_banner_dismissed(self) -> None:
        self.welcome_banner.hide()
        self.welcome_dismissed.emit()

    def _end_undo_clear_offer(self) -> None:
        self._undo_clear_timer.stop()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Empty the transcript (you can undo this)")
        self._on_transcript_text_changed()
