"""Typing text into the focused X11 window with XTest fake key events.

Each character is looked up in the server's keyboard mapping (the plain and the Shift
level of every keycode); one the layout lacks (é on a US layout, ß, €, CJK, emoji) is
bound for the moment to a spare keycode, one the layout leaves empty, as its Unicode
keysym, typed, and the keycode emptied again when the text is done. A newline is
Return, a tab is Tab, a backspace ("\b", to take back words) is BackSpace; other
control characters are dropped.

X gives the whole keyboard to the client whose key grab is active, fake keys included:
while the push-to-talk key (ours, or any app's grab, an open menu) is held, typed text
would vanish into the grab. So typing waits until no other client holds the keyboard,
up to `grab_wait_s`, and fails saying why after that: a final that settles during a
hold arrives when the key is let go.

Modifiers a person is holding (the push-to-talk chord, say Ctrl+Alt) would turn the
text into shortcuts, so any modifier key down when typing starts is released first
and deliberately not pressed again: if it were, and the person let go meanwhile, it
would stay stuck down; released, the worst case is a chord to press again. CapsLock
is switched off for the text and back on after, so it cannot invert the case.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict

from Xlib import XK, X
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.ext import xtest

from dictation_app.desktop.output import InsertionFailed
from dictation_app.desktop.x11_keys import (
    GRAB_WAIT_S,
    open_xtest_display,
    release_held_modifiers,
    wait_for_keyboard,
)

log = logging.getLogger(__name__)

NAME = "x11-xtest"
UNICODE_KEYSYM_BASE = 0x01000000
_RETURN = int(XK.string_to_keysym("Return"))
_TAB = int(XK.string_to_keysym("Tab"))
_BACKSPACE = int(XK.string_to_keysym("BackSpace"))
_SHIFT_L = int(XK.string_to_keysym("Shift_L"))
_CAPS_LOCK = int(XK.string_to_keysym("Caps_Lock"))
# Keysyms older than the Unicode range that layouts bind for a common character.
_LEGACY_KEYSYMS = {0x20AC: "€"}  # EuroSign

# How long a target may take to read a remapped key before the mapping changes again.
# The target looks the key up when it handles the MappingNotify queued ahead of it,
# which a responsive app does within a few ms.
SETTLE_S = 0.1


def keysym_to_char(keysym: int) -> str | None:
    """The character a keysym types, for the ones typing needs (None: not a character)."""
    if keysym == _BACKSPACE:
        return "\b"
    if keysym == _RETURN:
        return "\n"
    if keysym == _TAB:
        return "\t"
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if UNICODE_KEYSYM_BASE + 0x100 <= keysym <= UNICODE_KEYSYM_BASE + 0x10FFFF:
        return chr(keysym - UNICODE_KEYSYM_BASE)
    return _LEGACY_KEYSYMS.get(keysym)


def char_to_keysym(char: str) -> int:
    """The keysym to bind for a character: Latin-1 as itself, anything else Unicode."""
    if char == "\b":
        return _BACKSPACE
    if char == "\n":
        return _RETURN
    if char == "\t":
        return _TAB
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return UNICODE_KEYSYM_BASE + code


class X11Typer:
    """Types text into whatever window has the keyboard focus on X display `display`
    (None: $DISPLAY). `insert()` blocks until the text is typed (a few ms for a
    sentence, plus `settle_s` when a character needed a spare keycode): call it off the
    GUI thread. One connection, opened here; `close()` ends it."""

    name = NAME
    available = True

    def __init__(self, display: str | None = None, *, reason: str = "",
                 settle_s: float = SETTLE_S, grab_wait_s: float = GRAB_WAIT_S) -> None:
        self._display_name = display
        self.reason = reason or "XTest on the X display"
        self._settle_s = settle_s
        self._grab_wait_s = grab_wait_s
        self._lock = threading.Lock()
        self._display: Display | None = self._open()

    def _open(self) -> Display:
        return open_xtest_display(self._display_name, "type")

    def close(self) -> None:
        with self._lock:
            if self._display is not None:
                with contextlib.suppress(xerror.ConnectionClosedError, OSError):
                    self._display.close()
                self._display = None

    def insert(self, text: str) -> None:
        """Type `text` into the focused window; InsertionFailed if the X server is gone
        or has no spare keycode for a character its layout lacks."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text:
            return
        with self._lock:
            if self._display is None:
                self._display = self._open()
            try:
                if not wait_for_keyboard(self._display, self._grab_wait_s):
                    raise InsertionFailed(f"the text could not be typed: another "
                                          f"application (a held shortcut key, an open "
                                          f"menu) has held the keyboard for "
                                          f"{self._grab_wait_s:g} s")
                _Typing(self._display, self._settle_s).type(text)
            except (xerror.ConnectionClosedError, OSError) as exc:
                self._display = None
                raise InsertionFailed(f"the text could not be typed: the connection to the "
                                      f"X display was lost ({exc})") from exc


class _Typing:
    """One insert: the keyboard as it is now, the keycodes borrowed, put back at the end."""

    def __init__(self, display: Display, settle_s: float) -> None:
        self._display = display
        self._settle_s = settle_s
        while display.pending_events():  # MappingNotify of earlier inserts: not needed
            display.next_event()
        info = display.display.info
        self._first = info.min_keycode
        self._rows = display.get_keyboard_mapping(info.min_keycode,
                                                  info.max_keycode - info.min_keycode + 1)
        self._found: dict[str, tuple[int, bool]] = {}  # char -> keycode, with Shift
        self._spares: list[int] = []
        for index, row in enumerate(self._rows):
            keycode = self._first + index
            if not any(row):
                self._spares.append(keycode)
            for level in (0, 1):
                char = keysym_to_char(row[level]) if level < len(row) else None
                if char is not None and (char not in self._found
                                         or (level == 0 and self._found[char][1])):
                    self._found[char] = (keycode, level == 1)
        # Highest first: the low empty codes (8 above all) are the ones other tools and
        # odd drivers are likeliest to use.
        self._spares.sort(reverse=True)
        self._borrowed: OrderedDict[str, int] = OrderedDict()  # char -> spare, oldest first
        self._shift = self._keycode_of(_SHIFT_L)

    def _keycode_of(self, keysym: int) -> int:
        for index, row in enumerate(self._rows):
            if keysym in row[:2]:
                return self._first + index
        return 0

    def type(self, text: str) -> None:
        release_held_modifiers(self._display)
        caps = self._caps_lock_on()
        if caps:
            self._tap(self._keycode_of(_CAPS_LOCK))
        try:
            for char in text:
                self._type_char(char)
        finally:
            if caps:
                self._tap(self._keycode_of(_CAPS_LOCK))
            self._display.sync()
            self._give_back()

    def _type_char(self, char: str) -> None:
        if char in self._found:
            keycode, shifted = self._found[char]
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            log.debug("dropped control character U+%04X", ord(char))
            return
        else:
            keycode, shifted = self._borrow(char), False
        if shifted and self._shift:
            xtest.fake_input(self._display, X.KeyPress, self._shift)
        self._tap(keycode)
        if shifted and self._shift:
            xtest.fake_input(self._display, X.KeyRelease, self._shift)
        self._display.sync()

    def _tap(self, keycode: int) -> None:
        if keycode:
            xtest.fake_input(self._display, X.KeyPress, keycode)
            xtest.fake_input(self._display, X.KeyRelease, keycode)

    def _borrow(self, char: str) -> int:
        if char in self._borrowed:
            self._borrowed.move_to_end(char)
            return self._borrowed[char]
        if len(self._borrowed) < len(self._spares):
            keycode = self._spares[len(self._borrowed)]
        elif self._borrowed:
            # Every spare holds a character of this text: the oldest one is reused,
            # once the target has had the time to read what was typed with it.
            self._display.sync()
            time.sleep(self._settle_s)
            _, keycode = self._borrowed.popitem(last=False)
        else:
            raise InsertionFailed(f"{char!r} could not be typed: the keyboard layout lacks "
                                  f"it and has no free key to lend it")
        keysym = char_to_keysym(char)
        # Both levels, so that a Shift state cannot change what the key types.
        self._display.change_keyboard_mapping(keycode, [[keysym, keysym]])
        # The server must hold the new mapping (and have queued its MappingNotify to the
        # target, ahead of the key) before the key is sent.
        self._display.sync()
        self._borrowed[char] = keycode
        return keycode

    def _give_back(self) -> None:
        if not self._borrowed:
            return
        time.sleep(self._settle_s)
        for keycode in sorted(set(self._borrowed.values())):
            self._display.change_keyboard_mapping(keycode, [self._rows[keycode - self._first]])
        self._borrowed.clear()
        self._display.sync()

    def _caps_lock_on(self) -> bool:
        pointer = self._display.screen().root.query_pointer()
        return bool(pointer.mask & X.LockMask)
