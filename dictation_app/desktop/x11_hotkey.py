"""A system-wide push-to-talk key under X11: a passive grab on the root window.

The grab is taken for the key with its modifiers and again with each combination of
the lock modifiers (CapsLock, NumLock), since X matches a grab's modifiers exactly and
a lit NumLock would otherwise hide the key. A thread of our own reads the connection;
auto-repeat, which arrives as release/press pairs, is folded away by the shared
`KeyHold` rule (core/key_hold.py) so a held key gives one press and one release.

While the key is held X gives the whole keyboard to the grab (XTest's fake keys too),
as it does for every passive grab: `X11Typer` waits for the key to be let go before it
types, so a final that settles during a hold is typed at the release.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable

from Xlib import X
from Xlib import error as xerror
from Xlib.display import Display

from dictation_app.core.errors import DictationError
from dictation_app.core.key_hold import REPEAT_INTERVAL_MS, KeyHold
from dictation_app.desktop.hotkey import (
    HotkeyCallback,
    HotkeyTaken,
    HotkeyUnavailable,
    KeySpec,
    Modifier,
)
from dictation_app.desktop.x11_keys import keysym_of, modifier_masks, open_display

log = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 1.0
_WRAP = 1 << 32  # X server timestamps are 32-bit milliseconds


class X11Hotkey:
    """Grabs `spec` on the X display `display` (None: $DISPLAY) and reports it.

    `on_pressed()` and `on_released()` are called on the X thread this object starts,
    never on the caller's; so is `on_failed(error)` when the connection to the X server
    is lost after start (the key is then no longer grabbed). A release is reported
    `repeat_interval_ms` after the key went up, once it is sure not to be auto-repeat.
    """

    def __init__(self, spec: KeySpec, on_pressed: HotkeyCallback,
                 on_released: HotkeyCallback, display: str | None = None, *,
                 on_failed: Callable[[DictationError], None] | None = None,
                 repeat_interval_ms: int = REPEAT_INTERVAL_MS) -> None:
        self.spec = spec
        self._on_pressed = on_pressed
        self._on_released = on_released
        self._on_failed = on_failed
        self._display_name = display
        self._hold = KeyHold(repeat_interval_ms)
        self._display: Display | None = None
        self._thread: threading.Thread | None = None
        self._wake_read = self._wake_write = -1
        self._keycode = 0
        self._grabs: list[int] = []  # the modifier masks grabbed
        self._release_due: float | None = None  # monotonic time a pending release counts
        self._last_time = 0  # the last server timestamp, unwrapped
        self._released_stamp = 0  # the server time of the release pending, if any
        self._stopping = False
        self._stopped_from_callback = False

    # -- the caller's thread -------------------------------------------------------------

    def start(self) -> None:
        """Grab the key; HotkeyTaken when another client holds it, HotkeyUnavailable
        when there is no display or no such key. Returns once the grab is in place."""
        if self._thread is not None:
            raise RuntimeError("X11Hotkey.start() called twice")
        try:
            display = open_display(self._display_name)
        except OSError as exc:
            raise HotkeyUnavailable(f"cannot grab {self.spec}: {exc}", spec=self.spec) from exc
        try:
            self._grab(display)
        except BaseException:
            display.close()
            raise
        self._display = display
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"x11-hotkey-{self.spec}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ungrab and end the thread (within a second); a key held is reported released
        first, on the X thread. Safe to call twice or before start()."""
        thread = self._thread
        if thread is None or self._stopping:
            return
        self._stopping = True
        with contextlib.suppress(OSError):  # the thread may be gone and its end closed
            os.write(self._wake_write, b"x")
        if thread is threading.current_thread():
            # Called from a callback: the thread ends when it returns, and closes the pipe.
            self._stopped_from_callback = True
            return
        thread.join(_STOP_TIMEOUT_S)
        if thread.is_alive():
            log.warning("the X thread of %s did not end within %s s", self.spec,
                        _STOP_TIMEOUT_S)
        os.close(self._wake_write)

    def _grab(self, display: Display) -> None:
        keycode = display.keysym_to_keycode(keysym_of(self.spec.key))
        if not keycode:
            raise HotkeyUnavailable(f"cannot grab {self.spec}: the keyboard layout has no "
                                    f"{self.spec.key} key", spec=self.spec)
        masks = modifier_masks(display)
        wanted = 0
        for modifier in self.spec.modifiers:
            wanted |= {Modifier.CTRL: X.ControlMask, Modifier.SHIFT: X.ShiftMask,
                       Modifier.ALT: masks["Alt"], Modifier.SUPER: masks["Super"]}[modifier]
        numlock = masks["NumLock"]
        root = display.screen().root
        # An error handler of our own per grab: X reports BadAccess asynchronously, and
        # python-xlib would otherwise print it from whichever call reads it next.
        catcher = xerror.CatchError(xerror.BadAccess)
        self._keycode = keycode
        self._grabs = [wanted | locks for locks in (0, X.LockMask, numlock, X.LockMask | numlock)]
        for grab_mask in self._grabs:
            root.grab_key(keycode, grab_mask, False, X.GrabModeAsync, X.GrabModeAsync,
                          onerror=catcher)
        display.sync()
        if catcher.get_error() is not None:
            self._ungrab(display)
            display.sync()
            raise HotkeyTaken(self.spec)

    def _ungrab(self, display: Display) -> None:
        root = display.screen().root
        for grab_mask in self._grabs:
            root.ungrab_key(self._keycode, grab_mask)

    # -- the X thread ----------------------------------------------------------------------

    def _run(self) -> None:
        display = self._display
        assert display is not None
        failure: DictationError | None = None
        try:
            self._read_events(display)
        except (xerror.ConnectionClosedError, OSError) as exc:
            failure = HotkeyUnavailable(f"{self.spec} is no longer grabbed: the connection "
                                        f"to the X display was lost ({exc})", spec=self.spec)
        finally:
            if self._hold.reset():
                self._call(self._on_released)
            try:
                self._ungrab(display)
                display.close()
            except (xerror.ConnectionClosedError, OSError):
                pass  # the server is gone, and the grabs with it
            os.close(self._wake_read)
            if self._stopped_from_callback:
                os.close(self._wake_write)
        if failure is not None and not self._stopping:
            log.warning("%s", failure)
            on_failed = self._on_failed
            if on_failed is not None:
                self._call(lambda: on_failed(failure))

    def _read_events(self, display: Display) -> None:
        while True:
            # Events already read into python-xlib's queue do not make the socket
            # readable: drain them before waiting.
            while display.pending_events():
                self._handle(display.next_event())
            if self._release_due is not None and time.monotonic() >= self._release_due:
                self._release_due = None
                if self._hold.expire():
                    self._call(self._on_released)
            timeout = (None if self._release_due is None
                       else max(0.0, self._release_due - time.monotonic()))
            readable, _, _ = select.select([display, self._wake_read], [], [], timeout)
            if self._wake_read in readable:
                return

    def _handle(self, event: object) -> None:
        kind = getattr(event, "type", None)
        if kind not in (X.KeyPress, X.KeyRelease) or getattr(event, "detail", 0) != self._keycode:
            return
        stamp = self._unwrapped(int(getattr(event, "time", 0)))
        if kind == X.KeyPress:
            self._release_due = None
            # A re-press after a real release whose deadline we had not reached yet (a
            # busy thread): the release counts first.
            if (self._hold.release_pending
                    and stamp - self._released_stamp > self._hold.interval_ms
                    and self._hold.expire()):
                self._call(self._on_released)
            if self._hold.press(stamp):
                self._call(self._on_pressed)
        elif self._hold.release(stamp) is not None:
            self._released_stamp = stamp
            # Counted from when we read it, which is no earlier than the server's stamp:
            # the repeat's press, stamped with the release, cannot arrive after it.
            self._release_due = time.monotonic() + self._hold.interval_ms / 1000

    def _unwrapped(self, stamp: int) -> int:
        base = self._last_time - self._last_time % _WRAP
        value = base + stamp
        if value < self._last_time - _WRAP // 2:
            value += _WRAP
        self._last_time = max(self._last_time, value)
        return value

    def _call(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:
            # A callback's bug must not end the thread and leave the key grabbed dead.
            log.exception("a callback of the %s key failed", self.spec)
