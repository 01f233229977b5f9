"""A private X server (Xvfb) for the desktop tests, and real X clients to drive it.

`XvfbServer()` starts `Xvfb` on a display number it picks itself (`-displayfd`: the
server writes the number once it accepts connections, so no guessing and no race
with another test run) and `close()` kills it. `KeySender` is a second client that
presses keys with XTest, as a person would; `TypedTextWindow` is a mapped, focused
window that decodes the KeyPress events it receives back to text, with its own
keysym table (the X protocol's rules, not the app's code).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import threading
from collections.abc import Callable

from Xlib import XK, X
from Xlib.display import Display
from Xlib.ext import xtest

_START_TIMEOUT_S = 10.0


class XvfbUnavailable(Exception):
    """Xvfb is not installed or did not start."""


class XvfbServer:
    def __init__(self) -> None:
        program = shutil.which("Xvfb")
        if program is None:
            raise XvfbUnavailable("Xvfb is not installed (the xvfb package)")
        read_end, write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [program, "-displayfd", str(write_end), "-screen", "0", "1024x768x24",
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        finally:
            os.close(write_end)
        try:
            number = self._read_display_number(read_end)
        except BaseException:
            self.close()
            raise
        finally:
            os.close(read_end)
        self.display = f":{number}"
        Display(self.display).close()  # it accepts a connection

    def _read_display_number(self, read_end: int) -> int:
        received = b""
        while not received.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], _START_TIMEOUT_S)
            chunk = os.read(read_end, 64) if ready else b""
            if not chunk:
                stderr = b""
                if self._process.poll() is not None and self._process.stderr is not None:
                    stderr = self._process.stderr.read()
                raise XvfbUnavailable(f"Xvfb did not start: {stderr.decode(errors='replace')}")
            received += chunk
        return int(received)

    def close(self) -> None:
        self._process.kill()
        self._process.wait(10)
        if self._process.stderr is not None:
            self._process.stderr.close()


class KeySender:
    """A client that fakes key presses with XTest; `delay_ms` is the server's own
    wait before it acts (XTest's time field), so timing needs no sleep here."""

    def __init__(self, display: str) -> None:
        self.display = Display(display)

    def keycode(self, keysym_name: str) -> int:
        keycode = self.display.keysym_to_keycode(XK.string_to_keysym(keysym_name))
        assert keycode, keysym_name
        return int(keycode)

    def press(self, keysym_name: str, delay_ms: int = 0) -> None:
        xtest.fake_input(self.display, X.KeyPress, self.keycode(keysym_name), time=delay_ms)

    def release(self, keysym_name: str, delay_ms: int = 0) -> None:
        xtest.fake_input(self.display, X.KeyRelease, self.keycode(keysym_name), time=delay_ms)

    def tap(self, *keysym_names: str) -> None:
        """Press the keys in order and release them in reverse: a chord."""
        for name in keysym_names:
            self.press(name)
        for name in reversed(keysym_names):
            self.release(name)
        self.sync()

    def sync(self) -> None:
        self.display.sync()

    def lock_mask(self) -> int:
        return int(self.display.screen().root.query_pointer().mask)

    def close(self) -> None:
        # Processed before the next test's client acts: the server does not order the
        # requests of different clients.
        self.display.sync()
        self.display.close()


def keysym_text(keysym: int) -> str | None:
    """The text a keysym stands for, by the X protocol's encoding (appendix A)."""
    if keysym == XK.XK_Return:
        return "\n"
    if keysym == XK.XK_Tab:
        return "\t"
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if 0x01000100 <= keysym <= 0x0110FFFF:
        return chr(keysym - 0x01000000)
    if keysym == 0x20AC:
        return "€"
    return None


class TypedTextWindow:
    """A focused top-level window on `display` collecting the text its keys type.

    After the constructor only its thread uses the connection. It handles MappingNotify
    as a client must (refreshing its keymap before the keys that follow), and reads each
    KeyPress with the Shift level its state says.
    """

    def __init__(self, display: str) -> None:
        self._display_name = display
        self._display = Display(display)
        screen = self._display.screen()
        self._window = screen.root.create_window(
            0, 0, 400, 200, 0, screen.root_depth,
            event_mask=X.KeyPressMask | X.StructureNotifyMask | X.FocusChangeMask)
        self._window.map()
        self._display.sync()
        self._wait(lambda event: event.type == X.MapNotify)
        self._window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self._display.sync()
        self._changed = threading.Condition()
        self.text = ""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _wait(self, matches: Callable[[object], bool]) -> None:
        while not matches(self._display.next_event()):
            pass

    def _run(self) -> None:
        while not self._stopping:
            event = self._display.next_event()
            if event.type == X.MappingNotify:
                self._display.refresh_keyboard_mapping(event)
            elif event.type == X.KeyPress:
                level = 1 if event.state & X.ShiftMask else 0
                keysym = (self._display.keycode_to_keysym(event.detail, level)
                          or self._display.keycode_to_keysym(event.detail, 0))
                if keysym == XK.XK_BackSpace:  # as a text field takes it
                    with self._changed:
                        self.text = self.text[:-1]
                        self._changed.notify_all()
                    continue
                text = keysym_text(keysym)
                if text is not None:
                    with self._changed:
                        self.text += text
                        self._changed.notify_all()

    def wait_for_text(self, expected: str, timeout: float = 10.0) -> str:
        """Wait until as many characters as `expected` holds arrived (or the timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.text) >= len(expected), timeout)
            return self.text

    def wait_until(self, condition: Callable[[str], bool], timeout: float = 10.0) -> str:
        """Wait until the text so far meets `condition` (or the timeout); the text."""
        with self._changed:
            self._changed.wait_for(lambda: condition(self.text), timeout)
            return self.text

    def close(self) -> None:
        # From a connection of its own: python-xlib deadlocks when one thread waits for
        # a reply while another waits for an event on the same connection.
        self._stopping = True
        other = Display(self._display_name)
        other.create_resource_object("window", self._window.id).destroy()
        other.sync()  # the DestroyNotify wakes the thread to see the flag
        other.close()
        self._thread.join(5)
        self._display.close()
