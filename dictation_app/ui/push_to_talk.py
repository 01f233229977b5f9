"""Push-to-talk: which key to hold, and turning its key events into pressed and released.

The window filters key events application-wide and hands its own here; this class only
knows the key, whether it is down, and that auto-repeat and stray releases do not count.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence

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
        self._down = False

    def set_key(self, sequence: str) -> str:
        """Hold ``sequence`` ("F9", portable text) to talk; "" turns it off.

        Returns the key as the user sees it (native text), "" when there is none.
        """
        self.release()
        key = QKeySequence.fromString(sequence, QKeySequence.SequenceFormat.PortableText)
        self._key = key if key.count() == 1 else QKeySequence()
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
            if not event.isAutoRepeat() and not self._down:
                self._down = True
                self.pressed.emit()
        elif not event.isAutoRepeat():
            self.release()
        return True

    def release(self) -> None:
        """Let go of the key if it is down (focus left, the window closes, a new key)."""
        if self._down:
            self._down = False
            self.released.emit()

    def _matches(self, event: QKeyEvent, *, releasing: bool) -> bool:
        combination = self._key[0]  # type: ignore[index]  # __getitem__ not in stubs
        if event.key() != combination.key():
            return False
        if releasing:
            # Modifiers may already be up when the key itself is released.
            return self._down
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return modifiers == combination.keyboardModifiers()
