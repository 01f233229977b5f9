"""The first-run welcome: a few lines above the transcript, dismissed for good with "Got it".

Passive like every widget: it only emits ``dismissed``. Whoever places it hides it, and
the controller remembers the dismissal (``Key.WELCOME_SEEN``) so it never comes back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

TITLE = "Welcome to Dictation"
LINES = (
    "Press Record and speak: your words appear below as text you can copy anywhere.",
    "Local (offline) works at once, in English and 98 other languages: no internet, no account.",
    "Have a Bahasakita account? Paste your token in Preferences, then choose Bahasakita.",
    "Drop audio files here to transcribe them offline, or with Botlhale, Nevisa or Bahasakita.",
)

# palette() keeps the banner readable in light and dark themes alike.
_STYLE = """
QFrame#welcomeBanner {
    background: palette(alternate-base);
    border: 1px solid palette(mid);
    border-left: 4px solid palette(highlight);
}
QLabel#welcomeTitle { font-weight: 600; }
QPushButton#welcomeGotIt { padding: 4px 16px; }
"""


class WelcomeBanner(QFrame):
    """What the app does and how to start; "Got it" emits ``dismissed``."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeBanner")
        self.setAccessibleName(TITLE)
        self.setStyleSheet(_STYLE)

        self.title_label = QLabel(TITLE)
        self.title_label.setObjectName("welcomeTitle")
        self.line_labels = [QLabel(line) for line in LINES]
        for label in self.line_labels:
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)

        self.got_it_button = QPushButton("Got it")
        self.got_it_button.setObjectName("welcomeGotIt")
        self.got_it_button.setToolTip("Hide this welcome; it will not be shown again")
        self.got_it_button.setAutoDefault(False)
        self.got_it_button.clicked.connect(self.dismissed.emit)

        text = QVBoxLayout()
        text.setSpacing(3)
        text.addWidget(self.title_label)
        text.addSpacing(2)
        for label in self.line_labels:
            text.addWidget(label)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 10, 12, 10)
        row.setSpacing(16)
        row.addLayout(text, 1)
        row.addWidget(self.got_it_button, 0, Qt.AlignmentFlag.AlignBottom)

    def text(self) -> str:
        """Everything the banner says, title first."""
        return "\n".join(label.text() for label in (self.title_label, *self.line_labels))
