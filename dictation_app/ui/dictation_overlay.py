"""A small always-on-top panel that shows a take's state, level and words while the person
dictates into another app (output mode "type"), when the main window is out of sight.

It never takes the keyboard focus: the app being typed into must keep it, or the typed
finals would land here. Only finals are typed; the grey partial words live here, and a
final shows in white for a moment, then goes. Its colours are its own (light text on a
dark, semi-opaque panel), so it reads the same over light and dark desktops.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFontMetrics,
    QGuiApplication,
    QPainter,
    QPaintEvent,
    QPalette,
    QScreen,
    QShowEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from dictation_app.ui.dot_icon import dot_icon
from dictation_app.ui.level_meter import (
    AMBER_FROM_DB,
    BAR_RELEASE_DB_PER_S,
    FLOOR_DB,
    RED_FROM_DB,
    to_dbfs,
)
from dictation_app.ui.status_line import STATUS_COLOURS

WIDTH = 480
BOTTOM_MARGIN = 56  # above the bottom of the screen's free area (taskbars excluded)
MAX_LINES = 3
FINAL_SHOWN_MS = 1500
ELLIPSIS = "…"

_BACKGROUND = QColor(24, 26, 30, 222)
_BORDER = QColor(255, 255, 255, 40)
_STATE_TEXT = QColor("#e8eaed")
_PARTIAL_TEXT = QColor("#a9aeb7")
_FINAL_TEXT = QColor("#ffffff")
_TRACK = QColor(255, 255, 255, 36)
_GREEN, _AMBER, _RED = QColor("#35b36a"), QColor("#e6a82a"), QColor("#e2574a")
_RADIUS = 12.0


def elide_start(text: str, metrics: QFontMetrics, width: int, lines: int) -> str:
    """`text` as it fits in `lines` wrapped lines of `width` px: whole, or its end after
    "…" (the newest words are the ones worth seeing), cut at a word where possible."""
    # Half a line of slack: the wrapped height of n lines is not always n line spacings.
    limit = round((lines + 0.5) * metrics.lineSpacing())
    flags = int(Qt.TextFlag.TextWordWrap)

    def fits(candidate: str) -> bool:
        return metrics.boundingRect(QRect(0, 0, width, 10 * limit), flags,
                                    candidate).height() <= limit

    text = " ".join(text.split())
    if fits(text):
        return text
    # The shortest cut that fits: binary search over where the kept tail starts.
    low, high = 1, len(text)
    while low < high:
        middle = (low + high) // 2
        if fits(ELLIPSIS + text[middle:]):
            high = middle
        else:
            low = middle + 1
    space = text.find(" ", low)
    start = space + 1 if 0 <= space < len(text) - 1 else low
    return ELLIPSIS + text[start:]


class _LevelBar(QWidget):
    """A thin microphone level bar on level_meter's -60..0 dBFS scale and zones, with the
    same calm fall, drawn for the overlay's dark panel."""

    def __init__(self, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._clock = clock
        self._db = FLOOR_DB
        self._last: float | None = None
        self.setFixedSize(132, 5)

    @property
    def db(self) -> float:
        return self._db

    def set_level(self, peak: float, rms: float) -> None:
        now = self._clock()
        elapsed = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        self._db = max(to_dbfs(rms), self._db - BAR_RELEASE_DB_PER_S * elapsed)
        self.update()

    def reset(self) -> None:
        self._db, self._last = FLOOR_DB, None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(self.rect())
        radius = track.height() / 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_TRACK)
        painter.drawRoundedRect(track, radius, radius)
        if self._db > FLOOR_DB:
            colour = (_RED if self._db >= RED_FROM_DB else
                      _AMBER if self._db >= AMBER_FROM_DB else _GREEN)
            filled = QRectF(track)
            filled.setWidth(max(track.height(), track.width() * (self._db - FLOOR_DB) / -FLOOR_DB))
            painter.setBrush(colour)
            painter.drawRoundedRect(filled, radius, radius)
        painter.end()


class _ElidingLabel(QLabel):
    """One line that ends in "…" when the state says more than fits (errors can be long;
    the whole text is the overlay's accessible description)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def elided(self) -> str:
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             self.contentsRect().width())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(self.contentsRect(),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         self.elided())
        painter.end()


class DictationOverlay(QWidget):
    """The take at a glance, over whatever app has the focus. Passive: update methods only."""

    def __init__(self, *, final_shown_ms: int = FINAL_SHOWN_MS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # No parent: a transient child of the main window could be minimized with it,
        # and the main window is exactly what the person is not looking at.
        super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint
                         | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setObjectName("dictationOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)  # the rounded corners
        self.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Dictation")
        self._final_shown_ms = final_shown_ms
        self._text = ""
        self._is_final = False
        self._state = ""
        self._screen: QScreen | None = None

        self.state_dot = QLabel()
        self.state_label = _ElidingLabel()
        self.state_label.setObjectName("overlayState")
        self.level_bar = _LevelBar(clock=clock)
        self.text_label = QLabel()
        self.text_label.setObjectName("overlayText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setVisible(False)
        font = self.text_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.text_label.setFont(font)
        for label in (self.state_label, self.text_label):
            label.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(7)
        header.addWidget(self.state_dot)
        header.addWidget(self.state_label, 1)
        header.addWidget(self.level_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        layout = self._layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 12)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.text_label)

        self._clear_timer = QTimer(self)
        self._clear_timer.setSingleShot(True)
        self._clear_timer.timeout.connect(self._on_clear_timer_timeout)
        self._paint_label(self.state_label, _STATE_TEXT)
        self.set_state("idle", "Ready")
        self._fit()

    # ------------------------------------------------------------------ updates

    def set_state(self, kind: str, text: str) -> None:
        """The take's state, as the status line says it; ``kind`` as in STATUS_COLOURS."""
        if kind not in STATUS_COLOURS:
            expected = ", ".join(STATUS_COLOURS)
            raise ValueError(f"unknown status kind {kind!r}; expected one of: {expected}")
        self.state_dot.setPixmap(dot_icon(STATUS_COLOURS[kind], 10).pixmap(10, 10))
        self._state = text
        self.state_label.setText(text)
        self.setAccessibleDescription(text)  # screen readers announce the change

    def set_level(self, peak: float, rms: float) -> None:
        """One microphone measurement, linear 0..1 of full scale."""
        self.level_bar.set_level(peak, rms)

    def show_partial(self, text: str) -> None:
        """The words the recognizer is still unsure of, grey; "" clears them."""
        self._clear_timer.stop()
        self._set_text(text, final=False)

    def show_final(self, text: str) -> None:
        """A settled final, white for a moment; "" (a withdrawn partial) just clears."""
        if not text.strip():
            self.show_partial("")
            return
        self._set_text(text, final=True)
        self._clear_timer.start(self._final_shown_ms)

    def clear(self) -> None:
        """No words and a silent meter: ready for the next take."""
        self._clear_timer.stop()
        self.level_bar.reset()
        self._set_text("", final=False)

    @property
    def text(self) -> str:
        """The words shown now (before eliding)."""
        return self._text

    @property
    def shown_text(self) -> str:
        return self.text_label.text()

    @property
    def showing_final(self) -> bool:
        return self._is_final and bool(self._text)

    @property
    def state_text(self) -> str:
        return self._state

    @property
    def shown_state(self) -> str:
        """The state as it fits on its line."""
        return self.state_label.elided()

    @property
    def level_db(self) -> float:
        return self.level_bar.db

    # ------------------------------------------------------------------ placing

    def showEvent(self, event: QShowEvent) -> None:
        # The screen is chosen once per showing, so the panel never jumps between screens
        # in the middle of a take as the pointer moves.
        self._screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        self._fit()
        super().showEvent(event)

    def _fit(self) -> None:
        """Width as designed (narrower on a small screen); height for at most MAX_LINES of
        words; bottom centre of the screen's free area."""
        screen = self._screen or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, WIDTH, 400)
        width = min(WIDTH, area.width() - 2 * 16)
        self.setFixedWidth(width)
        self._elide()
        height = max(self._layout.totalHeightForWidth(width),
                     self._layout.totalMinimumSize().height())
        self.setFixedHeight(height)
        self.move(area.center().x() - width // 2 + 1, area.bottom() + 1 - BOTTOM_MARGIN - height)

    # ------------------------------------------------------------------ painting

    def sizeHint(self) -> QSize:
        return QSize(WIDTH, super().sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        panel = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(_BORDER)
        painter.setBrush(_BACKGROUND)
        painter.drawRoundedRect(panel, _RADIUS, _RADIUS)
        painter.end()

    # ------------------------------------------------------------------ helpers

    def _set_text(self, text: str, *, final: bool) -> None:
        self._text = " ".join(text.split())
        self._is_final = final
        self._paint_label(self.text_label, _FINAL_TEXT if final else _PARTIAL_TEXT)
        self.text_label.setVisible(bool(self._text))
        self._fit()

    def _elide(self) -> None:
        margins = self._layout.contentsMargins()
        width = self.width() - margins.left() - margins.right()
        self.text_label.setText(
            elide_start(self._text, self.text_label.fontMetrics(), width, MAX_LINES))

    def _on_clear_timer_timeout(self) -> None:
        self._set_text("", final=False)

    @staticmethod
    def _paint_label(label: QLabel, colour: QColor) -> None:
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, colour)
        label.setPalette(palette)
