"""The icon in the system tray: the take's state at a glance, and a menu to start or stop
dictating, pick where the text goes, bring the window back or quit.

Passive like every widget: it shows what it is told (`set_state`, `set_recording`,
`set_output_mode`) and emits intents. The app builds it only where a tray exists;
nothing here needs one, so the menu, the icons and the signals work offscreen too.

The look is the app icon with a badge in its lower right corner, bold enough to read at
16 px: none when idle, a red dot while listening, an amber ring while (re)connecting or
finishing, a warning triangle on an error.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QFont,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from dictation_app.core.resources import app_icon_files

IDLE, LISTENING, CONNECTING, ERROR = "idle", "listening", "connecting", "error"
LOOKS = (IDLE, LISTENING, CONNECTING, ERROR)
# The status line's kinds (ui/status_line.py), as the tray shows them.
LOOK_OF_STATUS = {"idle": IDLE, "stopped": IDLE, "starting": CONNECTING,
                  "connecting": CONNECTING, "streaming": LISTENING, "error": ERROR}
LOOK_WORDS = {IDLE: "Ready", LISTENING: "Listening", CONNECTING: "Connecting",
              ERROR: "Problem"}
OUTPUT_MODES = (("window", "Only in this window"),
                ("type", "Type into the focused app"),
                ("paste", "Paste into the focused app"))
ICON_SIZES = (16, 20, 22, 24, 32, 48, 64)

_LISTENING_RED = QColor("#e53935")
_CONNECTING_AMBER = QColor("#f2a600")
_WARNING_YELLOW = QColor("#ffc107")
_OUTLINE = QColor("#ffffff")
_MARK = QColor("#202124")
_MIC_BLUE = QColor("#1e6fd9")


def _base_pixmap(size: int) -> QPixmap:
    """The app icon at `size` px (from the nearest rendered size at or above it), or a
    microphone drawn here when the icons are not installed."""
    files = app_icon_files()
    source = next((p for p in files if int(p.stem.rsplit("-", 1)[1]) >= size),
                  files[-1] if files else None)
    if source is not None:
        pixmap = QPixmap(str(source))
        if not pixmap.isNull():
            return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
    return _microphone(size)


def _microphone(size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(_MIC_BLUE)
    painter.drawRoundedRect(QRectF(0.35 * s, 0.08 * s, 0.3 * s, 0.5 * s), 0.15 * s, 0.15 * s)
    pen = QPen(_MIC_BLUE, max(1.5, 0.08 * s))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawArc(QRectF(0.22 * s, 0.25 * s, 0.56 * s, 0.5 * s), 180 * 16, 180 * 16)
    painter.drawLine(QPointF(0.5 * s, 0.75 * s), QPointF(0.5 * s, 0.9 * s))
    painter.end()
    return pixmap


def tray_pixmap(look: str, size: int) -> QPixmap:
    """The tray's picture for `look` (one of LOOKS) at `size` device pixels."""
    if look not in LOOKS:
        raise ValueError(f"unknown tray look {look!r}; expected one of: {', '.join(LOOKS)}")
    pixmap = _base_pixmap(size)
    if look == IDLE:
        return pixmap
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    # Half the icon: at 16 px a smaller badge is a speck. The white outline keeps it
    # apart from the blue icon and from dark or light panels alike.
    badge = 0.5 * size
    outline = max(1.0, size / 16)
    box = QRectF(size - badge, size - badge, badge, badge).adjusted(
        outline / 2, outline / 2, -outline / 2, -outline / 2)
    if look == LISTENING:
        painter.setPen(QPen(_OUTLINE, outline))
        painter.setBrush(_LISTENING_RED)
        painter.drawEllipse(box)
    elif look == CONNECTING:
        painter.setPen(QPen(_OUTLINE, outline))
        painter.setBrush(_OUTLINE)
        painter.drawEllipse(box)
        ring = QPen(_CONNECTING_AMBER, max(2.0, badge * 0.28))
        painter.setPen(ring)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        inset = ring.widthF() / 2 + outline / 2
        painter.drawEllipse(box.adjusted(inset, inset, -inset, -inset))
    else:
        # A triangle fills less of its box than a dot: it gets a larger box.
        grow = 0.12 * size
        box = box.adjusted(-grow, -grow, 0, 0)
        triangle = QPainterPath()
        triangle.moveTo(box.center().x(), box.top())
        triangle.lineTo(box.right(), box.bottom())
        triangle.lineTo(box.left(), box.bottom())
        triangle.closeSubpath()
        painter.setPen(QPen(_MARK, outline, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                            Qt.PenJoinStyle.RoundJoin))
        painter.setBrush(_WARNING_YELLOW)
        painter.drawPath(triangle)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(6, round(box.height() * 0.62)))
        painter.setFont(font)
        painter.setPen(_MARK)
        painter.drawText(box.adjusted(0, box.height() * 0.25, 0, 0),
                         Qt.AlignmentFlag.AlignCenter, "!")
    painter.end()
    return pixmap


def tray_icon(look: str) -> QIcon:
    """All sizes of `look`, so each desktop's tray picks its own without scaling."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(tray_pixmap(look, size))
    return icon


class TrayIcon(QSystemTrayIcon):
    """Shows the take's state; its menu and a click on it are intents."""

    record_toggled = Signal()
    output_mode_chosen = Signal(str)  # "window", "type" or "paste"
    show_window_requested = Signal()
    quit_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._icons = {look: tray_icon(look) for look in LOOKS}
        self._look = IDLE
        self._text = ""
        self._recording = False

        # A QMenu has no parent here (the tray icon is no widget): this object keeps it.
        self.menu = QMenu()
        self.record_action = QAction("Start dictating", self.menu)
        self.record_action.triggered.connect(self.record_toggled.emit)
        self.menu.addAction(self.record_action)
        self.menu.addSeparator()
        output_menu = self.menu.addMenu("Output")
        self._output_group = QActionGroup(self.menu)
        self._output_group.setExclusive(True)
        self.output_actions: dict[str, QAction] = {}
        for mode, label in OUTPUT_MODES:
            action = QAction(label, self._output_group)
            action.setCheckable(True)
            action.setData(mode)
            action.triggered.connect(lambda _checked=False, m=mode: self.output_mode_chosen.emit(m))
            output_menu.addAction(action)
            self.output_actions[mode] = action
        self.output_menu = output_menu
        self.menu.addSeparator()
        self.show_action = QAction("Show window", self.menu)
        self.show_action.triggered.connect(self.show_window_requested.emit)
        self.menu.addAction(self.show_action)
        self.quit_action = QAction("Quit", self.menu)
        self.quit_action.triggered.connect(self.quit_requested.emit)
        self.menu.addAction(self.quit_action)
        self.setContextMenu(self.menu)

        self.activated.connect(self._on_activated)
        self.set_output_mode("window")
        self._show()

    # --- updates -------------------------------------------------------------------

    def set_state(self, kind: str, text: str = "") -> None:
        """The pipeline's state: a status line kind ("streaming", "connecting", ...) or a
        look (LOOKS); `text` says it in words in the tooltip."""
        look = LOOK_OF_STATUS.get(kind, kind)
        if look not in LOOKS:
            expected = ", ".join(sorted(set(LOOK_OF_STATUS) | set(LOOKS)))
            raise ValueError(f"unknown tray state {kind!r}; expected one of: {expected}")
        self._look, self._text = look, text
        self._show()

    def set_recording(self, recording: bool) -> None:
        """Whether a take runs: the menu offers Stop, or Start."""
        self._recording = recording
        self.record_action.setText("Stop dictating" if recording else "Start dictating")

    def set_output_mode(self, mode: str) -> None:
        action = self.output_actions.get(mode, self.output_actions["window"])
        action.setChecked(True)

    def set_record_enabled(self, enabled: bool) -> None:
        """While busy (connecting) the take cannot be started or stopped."""
        self.record_action.setEnabled(enabled)

    # --- what it shows -------------------------------------------------------------

    @property
    def look(self) -> str:
        return self._look

    @property
    def output_mode(self) -> str:
        checked = self._output_group.checkedAction()
        return str(checked.data()) if checked is not None else "window"

    def _show(self) -> None:
        self.setIcon(self._icons[self._look])
        words = f"Dictation: {LOOK_WORDS[self._look]}"
        self.setToolTip(f"{words}\n{self._text}" if self._text else words)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.show_window_requested.emit()

