"""Push-to-talk: which key to hold, and turning its key events into pressed and released.

The window filters key events application-wide and hands its own here; this class only
knows the key, whether it is down, and that auto-repeat and stray releases do not count.
A release is held back `REPEAT_INTERVAL_MS` (core/key_hold.py says why): X11 sends a
held key's repeats as release/press pairs that Qt does not always flag as repeats.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence

from dictation_app.core.key_hold import REPEAT_INTERVAL_MS, KeyHold

KEY_EVENTS = frozenset(
    (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride)
)


class PushToTalkKey(QObject):
    """One key to hold for talking; ``pressed`` when it goes down, ``released`` when up."""

    pressed = Signal()
    released = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._key: QKeySequence = QKeySequence()
        self._hold = KeyHold(REPEAT_INTERVAL_MS)
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._release_timer.timeout.connect(self._on_release_timer_timeout)

    def set_key(self, sequence: str) -> str:
        """Hold ``sequence`` ("F9", portable text) to talk; "" turns it off.

        Returns the key as the user sees it (native text), "" when there is none.
        """
        self.release()
        key = QKeySequence.fromString(sequence, QKeySequence.SequenceFormat.PortableText)
        self._key = key if key.count() == 1 else QKeySequence()
        return self._key.toString(QKeySequence.SequenceFormat.NativeText)

    @property
    def key_text(self) -> str:
        """The key as the platform spells it; "" when push-to-talk is off."""
        return self._key.toString(QKeySequence.SequenceFormat.NativeText)

    @property
    def is_off(self) -> bool:
        return self._key.isEmpty()

    def handle(self, event: QKeyEvent) -> bool:
        """Take a key event (press, release or shortcut override); True if it was ours."""
        kind = event.type()
        if not self._matches(event, releasing=kind == QEvent.Type.KeyRelease):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the key is ours: no shortcut may take it
        elif kind == QEvent.Type.KeyPress:
            if not event.isAutoRepeat():
                self._release_timer.stop()
                if self._hold.press(_now_ms()):
                    self.pressed.emit()
        elif not event.isAutoRepeat():
            deadline = self._hold.release(_now_ms())
            if deadline is not None:
                self._release_timer.start(self._hold.interval_ms)
        return True

    def release(self) -> None:
        """Let go of the key at once if it is down (focus left, the window closes, a new key)."""
        self._release_timer.stop()
        if self._hold.reset():
            self.released.emit()

    def _on_release_timer_timeout(self) -> None:
        if self._hold.expire():
            self.released.emit()

    def _matches(self, event: QKeyEvent, *, releasing: bool) -> bool:
        combination = self._key[0]  # type: ignore[index]  # __getitem__ not in stubs
        if event.key() != combination.key():
            return False
        if releasing:
            # Modifiers may already be up when the key itself is released.
            return self._hold.down
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return modifiers == combination.keyboardModifiers()


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000
