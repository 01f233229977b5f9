"""A private X server (Xvfb) for the desktop tests, and real X clients to drive it.

`XvfbServer()` starts `Xvfb` on a display number it picks itself (`-displayfd`: the
server writes the number once it accepts connections, so no guessing and no race
with another test run) and `close()` kills it. `KeySender` is a second client that
presses keys with XTest, as a person would; `TypedTextWindow` is a mapped, focused
window that decodes the KeyPress events it receives back to text, with its own
keysym table (the X protocol's rules, not the app's code). `PasteTargetWindow` pastes
on Ctrl+V, `ClipboardHolder` is an app that copied, and `request_clipboard()` asks for
the clipboard as any client would: the ICCCM's rules, written here from the protocol.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from Xlib import XK, X, Xatom
from Xlib.display import Display
from Xlib.ext import xfixes, xtest
from Xlib.protocol import event as xevent

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


class _ReceivedText:
    """The text a test window received (`text`, guarded by `_changed`) and the waits
    on it; the window's thread appends and notifies."""

    text: str
    _changed: threading.Condition

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


class TypedTextWindow(_ReceivedText):
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


def _next_event(display: Display, deadline: float) -> Any:
    """The next event on `display`, or None once the monotonic `deadline` passed."""
    while not display.pending_events():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        select.select([display], [], [], remaining)
    return display.next_event()


def clipboard_owner(display_name: str) -> int:
    """The id of the window owning CLIPBOARD now (0: nobody)."""
    display = Display(display_name)
    try:
        owner = display.get_selection_owner(display.intern_atom("CLIPBOARD"))
        return 0 if owner == X.NONE else int(owner.id)
    finally:
        display.close()


def request_clipboard(display_name: str, target: str = "UTF8_STRING",
                      timeout: float = 5.0) -> tuple[str, bytes | list[int]] | None:
    """Ask CLIPBOARD's owner for `target` as a fresh client does: (the type's name, the
    value) of what arrived, None when refused or nobody owns it."""
    display = Display(display_name)
    try:
        window = display.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent,
                                                     X.InputOnly, X.CopyFromParent)
        clipboard, prop = display.intern_atom("CLIPBOARD"), display.intern_atom("FETCHED")
        window.convert_selection(clipboard, display.intern_atom(target), prop, X.CurrentTime)
        display.flush()
        deadline = time.monotonic() + timeout
        while True:
            event = _next_event(display, deadline)
            assert event is not None, f"no SelectionNotify for {target} within {timeout} s"
            if event.type == X.SelectionNotify:
                break
        if event.property == X.NONE:
            return None
        found = window.get_property(prop, X.AnyPropertyType, 0, 1 << 20, delete=True)
        if found is None:
            return None
        value = bytes(found.value) if found.format == 8 else list(found.value)
        return display.get_atom_name(found.property_type), value
    finally:
        display.close()


def clipboard_text(display_name: str) -> str | None:
    """CLIPBOARD as UTF8_STRING, decoded; None when nobody owns it or it was refused."""
    got = request_clipboard(display_name)
    if got is None:
        return None
    assert got[0] == "UTF8_STRING", got
    assert isinstance(got[1], bytes)
    return got[1].decode("utf-8")


class _SelectionClient:
    """A client whose thread serves CLIPBOARD while it owns it (as UTF8_STRING, with
    TARGETS) and hands other events to `_other()`; only the thread uses the connection
    once it runs."""

    def __init__(self, display: str, window_mask: int, wm_class: tuple[str, str] | None,
                 mapped: bool) -> None:
        self._display_name = display
        self._display = Display(display)
        self.clipboard = self._display.intern_atom("CLIPBOARD")
        self._utf8 = self._display.intern_atom("UTF8_STRING")
        self._targets = self._display.intern_atom("TARGETS")
        screen = self._display.screen()
        self.window = screen.root.create_window(0, 0, 400, 200, 0, screen.root_depth,
                                                event_mask=window_mask)
        if wm_class is not None:
            self.window.set_wm_class(*wm_class)
        if mapped:
            self.window.map()
            self._display.sync()
            while self._display.next_event().type != X.MapNotify:
                pass
            self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self._display.sync()
        self.owned: bytes | None = None
        self.lost = threading.Event()  # a SelectionClear came: someone else copied
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _own(self, text: str) -> None:
        self.owned = text.encode("utf-8")
        self.window.set_selection_owner(self.clipboard, X.CurrentTime)

    def _run(self) -> None:
        while not self._stopping:
            event = self._display.next_event()
            if event.type == X.SelectionRequest:
                self._serve(event)
            elif event.type == X.SelectionClear:
                self.owned = None
                self.lost.set()
            else:
                self._other(event)

    def _other(self, event: Any) -> None:
        pass

    def _serve(self, request: Any) -> None:
        requestor = request.requestor
        prop = request.property
        target = request.target
        if self.owned is None:
            prop = X.NONE
        elif target == self._targets:
            requestor.change_property(prop, Xatom.ATOM, 32, [self._targets, self._utf8])
        elif target == self._utf8:
            requestor.change_property(prop, self._utf8, 8, self.owned)
        else:
            prop = X.NONE
        requestor.send_event(xevent.SelectionNotify(
            time=request.time, requestor=requestor,
            selection=request.selection, target=target,
            property=prop))
        self._display.flush()

    def close(self) -> None:
        # From a connection of its own (see TypedTextWindow.close).
        self._stopping = True
        other = Display(self._display_name)
        other.create_resource_object("window", self.window.id).destroy()
        other.sync()
        other.close()
        self._thread.join(5)
        self._display.close()


class ClipboardHolder(_SelectionClient):
    """A client that copied `text`: it owns CLIPBOARD and serves it until it loses it."""

    def __init__(self, display: str, text: str) -> None:
        super().__init__(display, X.StructureNotifyMask, None, mapped=False)
        self._own(text)
        self._display.sync()
        self._thread.start()


class PasteTargetWindow(_SelectionClient, _ReceivedText):
    """A focused window that pastes: on Ctrl+V (Shift or not) it asks for CLIPBOARD as
    UTF8_STRING and appends what arrives to `text` (BackSpace takes its last character
    off); `chords` holds the Control and
    Shift state of each. With `copies` it also copies that text the moment it asks,
    as a person copying during the paste would (its request is answered first). With
    `after` it asks only once that call returned, as a slow app would."""

    def __init__(self, display: str, *, wm_class: tuple[str, str] | None = None,
                 copies: str | None = None, after: Callable[[], object] | None = None
                 ) -> None:
        super().__init__(display, X.KeyPressMask | X.StructureNotifyMask, wm_class,
                         mapped=True)
        self._copies = copies
        self._after = after  # a slow app: it asks only once this returned
        self._pasted = self._display.intern_atom("PASTED")
        self.text = ""
        self.chords: list[int] = []
        self._thread.start()

    def _other(self, event: Any) -> None:
        kind = event.type
        if kind == X.MappingNotify:
            self._display.refresh_keyboard_mapping(event)
        elif kind == X.KeyPress:
            state = event.state
            keysym = self._display.keycode_to_keysym(event.detail, 0)
            if keysym == XK.XK_BackSpace:  # as a text field takes it
                with self._changed:
                    self.text = self.text[:-1]
                    self._changed.notify_all()
            elif keysym == XK.XK_v and state & X.ControlMask:
                if self._after is not None:
                    self._after()
                self.window.convert_selection(self.clipboard, self._utf8, self._pasted,
                                              event.time)
                if self._copies is not None:
                    self._own(self._copies)
                self._display.flush()
                with self._changed:
                    self.chords.append(state & (X.ControlMask | X.ShiftMask))
                    self._changed.notify_all()
        elif kind == X.SelectionNotify and event.property != X.NONE:
            found = self.window.get_property(self._pasted, X.AnyPropertyType, 0, 1 << 20,
                                             delete=True)
            if found is not None:
                with self._changed:
                    self.text += bytes(found.value).decode("utf-8")
                    self._changed.notify_all()


class ClipboardWatcher(_SelectionClient):
    """A clipboard manager: told by XFixes of each new CLIPBOARD owner (`changes`
    counts them), it fetches the text at once (into `seen`) and never owns it itself."""

    def __init__(self, display: str) -> None:
        super().__init__(display, X.StructureNotifyMask, None, mapped=False)
        self._display.xfixes_query_version()
        self._display.xfixes_select_selection_input(
            self.window, self.clipboard, xfixes.XFixesSetSelectionOwnerNotifyMask)
        self._watched = self._display.intern_atom("WATCHED")
        self._xfixes_event = self._display.query_extension("XFIXES").first_event
        self.seen: list[str] = []
        self.changes = 0
        self._display.sync()
        self._thread.start()

    def _other(self, event: Any) -> None:
        if (event.type == self._xfixes_event
                and event.sub_code == xfixes.XFixesSetSelectionOwnerNotify):
            with self._changed:
                self.changes += 1
                self._changed.notify_all()
            if event.owner != X.NONE:
                self.window.convert_selection(self.clipboard, self._utf8, self._watched,
                                              event.selection_timestamp)
                self._display.flush()
        elif event.type == X.SelectionNotify and event.property != X.NONE:
            found = self.window.get_property(self._watched, X.AnyPropertyType, 0, 1 << 20,
                                             delete=True)
            if found is not None:
                self.seen.append(bytes(found.value).decode("utf-8"))

    def wait_for_changes(self, count: int, timeout: float) -> bool:
        """Whether the clipboard changed owner `count` times within `timeout`."""
        with self._changed:
            return self._changed.wait_for(lambda: self.changes >= count, timeout)
