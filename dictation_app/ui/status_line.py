"""The main window's status line: a coloured dot, the pipeline's state in words, a button
for the one thing that fixes it (when there is one), the PTT hint.

It is not a widget of its own: its three labels go straight into the window's QStatusBar,
so that transient messages (``showMessage``) keep the status bar's own layout.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPalette, QResizeEvent
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStatusBar, QWidget

from dictation_app.ui.dot_icon import dot_icon

STATUS_COLOURS = {
    "idle": "#8a8f98",
    "starting": "#d99a1e",
    "connecting": "#d99a1e",
    "streaming": "#2e9d57",
    "stopped": "#8a8f98",
    "error": "#c62828",
}


class StatusLine:
    """The labels a status bar shows for the pipeline's state and the push-to-talk key."""

    def __init__(self, status_bar: QStatusBar) -> None:
        self._status_bar = status_bar
        self._kind = "idle"
        self.status_icon = QLabel()
        self.status_icon.setObjectName("statusIcon")
        self.status_icon.setContentsMargins(6, 0, 0, 0)
        self.status_label = WrappingLabel()
        self.status_label.setObjectName("statusText")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_bar.addWidget(self.status_icon)
        status_bar.addWidget(self.status_label, 1)
        # The fix for what the line says, one click away ("Add token…"); hidden otherwise.
        self.action_button = QPushButton()
        self.action_button.setObjectName("statusAction")
        self.action_button.setAutoDefault(False)
        self.action_button.setVisible(False)
        status_bar.addWidget(self.action_button)
        self.push_to_talk_label = caption("")
        self.push_to_talk_label.setObjectName("pushToTalkHint")
        status_bar.addPermanentWidget(self.push_to_talk_label)

    def set_status(self, kind: str, text: str, *, action: str = "") -> None:
        """Show the state of the pipeline; ``kind`` picks the colour, errors show in full.

        ``action`` labels the button beside the text ("Add token…"); "" hides it, so a
        later status never offers the fix for an earlier one."""
        if kind not in STATUS_COLOURS:
            expected = ", ".join(STATUS_COLOURS)
            raise ValueError(f"unknown status kind {kind!r}; expected one of: {expected}")
        self.status_icon.setPixmap(dot_icon(STATUS_COLOURS[kind], 10).pixmap(10, 10))
        self.status_label.setText(text)
        self.status_label.setToolTip(text if kind == "error" else "")
        self.status_label.setProperty("kind", kind)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.action_button.setText(action)
        self.action_button.setVisible(bool(action))
        self._kind = kind
        self._status_bar.clearMessage()

    @property
    def kind(self) -> str:
        return self._kind

    def set_push_to_talk_key(self, shown: str) -> None:
        """Name the push-to-talk key (as the user sees it); "" shows nothing."""
        self.push_to_talk_label.setText(f"Hold {shown} to talk" if shown else "")


class WrappingLabel(QLabel):
    """A word-wrapped label whose height follows its width, even in a status bar.

    QStatusBar's layout ignores height-for-width, so a plain wrapped label asks for the
    height its text needs at zero width. This one reports the height for the width it has.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def hasHeightForWidth(self) -> bool:
        return False  # the height is reported through the size hints instead

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.height() != self._height():
            self.updateGeometry()

    def _height(self) -> int:
        # Before the first layout the label is tiny; assume a sensible width till then.
        width = max(self.width(), 400)
        return max(self.fontMetrics().height(), self.heightForWidth(width))


def caption(text: str) -> QLabel:
    """A secondary label: text colour blended toward the background, legible in any theme."""
    label = QLabel(text)
    palette = label.palette()
    text_colour = palette.color(QPalette.ColorRole.WindowText)
    background = palette.color(QPalette.ColorRole.Window)
    palette.setColor(
        QPalette.ColorRole.WindowText,
        QColor(
            round(text_colour.red() * 0.6 + background.red() * 0.4),
            round(text_colour.green() * 0.6 + background.green() * 0.4),
            round(text_colour.blue() * 0.6 + background.blue() * 0.4),
        ),
    )
    label.setPalette(palette)
    return label
