"""Pasting text into the focused X11 window: the text goes on the CLIPBOARD, the paste
shortcut is pressed with XTest, and the user's clipboard is given back afterwards.

An X selection is not stored by the server: its owner hands the text to each client
that asks. So the paster keeps a connection and a thread of its own (`_ClipboardOwner`)
that owns CLIPBOARD and answers requests for as long as it holds something, the user's
previous text included once it is restored; `close()` ends that, and with it whatever
we were holding for the user.

One paste: the current clipboard text is read (if some client owns it and answers as
UTF8_STRING or STRING within `read_wait_s`), the clipboard taken with our text at a
server timestamp T0, the chord sent (Ctrl+Shift+V when the focused window is a
terminal, else Ctrl+V), and then the owner waits until the target has fetched the text
or `settle_s` passed. Clipboard managers fetch every new clipboard at once, so only a
fetch by the focused window's client (X resource ids carry their client's bits) ends
the wait early; any other only spares the paste its "nothing fetched it" error.

The user's text is then put back by owning the clipboard again at T0: the server
ignores an ownership change older than the selection's last change, so if anyone
copied meanwhile (a later time) their clipboard stays theirs, without a race. With
nothing to put back the clipboard is given up the same way. A clipboard manager that
takes ownership of each new clipboard counts as someone copying: it keeps our text.

Texts are served whole (no INCR transfers): a final is far below the request size, and
a user's clipboard too large for one property is not read, so it cannot be restored.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from Xlib import XK, X, Xatom
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.ext import xtest
from Xlib.protocol import event as xevent

from dictation_app.desktop.output import InsertionFailed, InsertionUnavailable
from dictation_app.desktop.x11_keys import (
    GRAB_WAIT_S,
    open_display,
    open_xtest_display,
    release_held_modifiers,
    wait_for_keyboard,
)

log = logging.getLogger(__name__)

NAME = "x11-paste"

# How long the current clipboard owner may take to hand over its text (a hung app must
# not hold the paste), and how long the target may take to fetch ours after the chord.
READ_WAIT_S = 0.5
SETTLE_S = 1.0
# A command to the owner thread that takes longer than this means the X server or the
# thread is stuck.
_COMMAND_WAIT_S = 5.0
# Served whole; beyond this one ChangeProperty could exceed the server's request size.
MAX_TEXT_BYTES = 200_000

# WM_CLASS instance or class names of terminals, lower case: they take Ctrl+Shift+V
# (Ctrl+V is a literal-next key in a shell).
TERMINALS = frozenset({
    "xterm", "uxterm", "urxvt", "rxvt", "gnome-terminal", "gnome-terminal-server",
    "konsole", "alacritty", "kitty", "foot", "terminator", "tilix", "xfce4-terminal",
    "st", "st-256color", "wezterm", "org.wezfurlong.wezterm", "lxterminal",
    "mate-terminal", "qterminal", "terminology", "sakura", "guake", "yakuake",
    "kgx", "org.gnome.console", "ptyxis", "ghostty", "com.mitchellh.ghostty",
    "contour", "cool-retro-term", "terminix", "eterm", "aterm", "x-terminal-emulator",
})

_T = TypeVar("_T")


def is_terminal(wm_class: tuple[str, str] | None) -> bool:
    """Whether a window of this WM_CLASS (instance, class) is a terminal emulator."""
    return wm_class is not None and any(name.lower() in TERMINALS for name in wm_class)


class X11Paster:
    """Pastes text into whatever window has the keyboard focus on X display `display`
    (None: $DISPLAY). `insert()` blocks until the target fetched the text and the
    clipboard was given back (a few ms; at most `read_wait_s` + `settle_s` and the
    keyboard wait): call it off the GUI thread. `close()` ends both connections and
    the clipboard we hold for the user."""

    name = NAME
    available = True

    def __init__(self, display: str | None = None, *, reason: str = "",
                 read_wait_s: float = READ_WAIT_S, settle_s: float = SETTLE_S,
                 grab_wait_s: float = GRAB_WAIT_S) -> None:
        self._display_name = display
        self.reason = reason or "the clipboard and XTest on the X display"
        self._read_wait_s = read_wait_s
        self._settle_s = settle_s
        self._grab_wait_s = grab_wait_s
        self._lock = threading.Lock()
        self._display: Display | None = self._open()
        self._owner: _ClipboardOwner | None = None

    def _open(self) -> Display:
        return open_xtest_display(self._display_name, "paste")

    def close(self) -> None:
        with self._lock:
            self._drop_connections()

    def insert(self, text: str) -> None:
        """Paste `text` into the focused window and give the clipboard back. Backspaces
        ("\b") it starts with are pressed as BackSpace first, as X11Typer types them
        (to take words back); other control characters but newline and tab are dropped.

        InsertionFailed when the keyboard stays grabbed, the text is too long, the
        clipboard cannot be taken, nothing fetched the text within `settle_s` (the
        focused window takes no paste, or another app copied first), or the X server
        is gone."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        backspaces = len(text) - len(text.lstrip("\b"))
        text = "".join(char for char in text[backspaces:]
                       if char in "\n\t" or not (ord(char) < 0x20 or ord(char) == 0x7F))
        if not text and not backspaces:
            return
        data = text.encode("utf-8")
        if len(data) > MAX_TEXT_BYTES:
            raise InsertionFailed(f"the text is too long to paste at once ({len(data)} "
                                  f"bytes, at most {MAX_TEXT_BYTES}): use the 'type' output")
        with self._lock:
            try:
                self._paste(data, backspaces)
            except (xerror.ConnectionClosedError, OSError) as exc:
                self._drop_connections()
                raise InsertionFailed(f"the text could not be pasted: the connection to "
                                      f"the X display was lost ({exc})") from exc

    def _drop_connections(self) -> None:
        """Forget both connections after a failure; the next insert opens new ones."""
        if self._owner is not None:
            self._owner.stop()
        self._owner = None
        if self._display is not None:
            with contextlib.suppress(xerror.ConnectionClosedError, OSError):
                self._display.close()
        self._display = None

    def _paste(self, data: bytes, backspaces: int) -> None:
        if self._display is None:
            self._display = self._open()
        if self._owner is not None and not self._owner.alive:
            self._owner.stop()
            self._owner = None
        if self._owner is None:
            self._owner = _ClipboardOwner(self._display_name)
        display, owner = self._display, self._owner
        if not wait_for_keyboard(display, self._grab_wait_s):
            raise InsertionFailed(f"the text could not be pasted: another application (a "
                                  f"held shortcut key, an open menu) has held the keyboard "
                                  f"for {self._grab_wait_s:g} s")
        if backspaces:
            release_held_modifiers(display)
            self._tap(display, ("BackSpace",), times=backspaces)
        if not data:
            return
        previous = owner.call(lambda: owner.read_clipboard(self._read_wait_s))
        stamp = owner.call(lambda: owner.take(data))
        if stamp is None:
            raise InsertionFailed("the text could not be pasted: another application kept "
                                  "the clipboard")
        focus, wm_class = focused_window(display)
        terminal = is_terminal(wm_class)
        try:
            release_held_modifiers(display)
            owner.expect(focus)
            self._tap(display, ("Control_L", "Shift_L", "v") if terminal
                      else ("Control_L", "v"))
            fetched = owner.wait_fetched(self._settle_s)
        finally:
            given_back = owner.call(lambda: owner.give_back(stamp, previous))
        log.debug("pasted %d bytes with %s; the user's clipboard %s", len(data),
                  "Ctrl+Shift+V" if terminal else "Ctrl+V",
                  "put back" if given_back else "left to whoever copied since")
        if not fetched:
            raise InsertionFailed(f"the text was not pasted: nothing fetched it from the "
                                  f"clipboard within {self._settle_s:g} s (the focused "
                                  f"window may not take a paste, or another application "
                                  f"copied first)")

    def _tap(self, display: Display, names: tuple[str, ...], *, times: int = 1) -> None:
        """Press the keys `names` in order and release them in reverse, `times` times."""
        keycodes = [display.keysym_to_keycode(XK.string_to_keysym(name)) for name in names]
        if not all(keycodes):
            raise InsertionFailed("the text could not be pasted: the keyboard layout has "
                                  "no key for " + "+".join(names))
        for _ in range(times):
            for keycode in keycodes:
                xtest.fake_input(display, X.KeyPress, keycode)
            for keycode in reversed(keycodes):
                xtest.fake_input(display, X.KeyRelease, keycode)
        display.sync()


def focused_window(display: Display) -> tuple[int, tuple[str, str] | None]:
    """The id of the window with the input focus (0: none, or the root) and the WM_CLASS
    of it or of its nearest ancestor that has one (toolkits focus a child of the
    top-level window), None when none has."""
    focus: Any = display.get_input_focus().focus
    root = display.screen().root
    # An int is X.NONE or X.PointerRoot: no window of an app.
    if isinstance(focus, int) or focus.id == root.id:
        return 0, None
    window = focus
    while window.id not in (X.NONE, root.id):
        try:
            wm_class = window.get_wm_class()
            if wm_class is not None:
                return int(focus.id), (str(wm_class[0]), str(wm_class[1]))
            window = window.query_tree().parent
        except xerror.BadWindow:
            break  # the window went away meanwhile
    return int(focus.id), None


class _ClipboardOwner:
    """A connection and a thread that own CLIPBOARD for us and serve what it holds.

    Everything on the connection happens on the thread: python-xlib deadlocks when one
    thread waits for a reply while another waits for events. The caller's thread hands
    work over with `call()` and waits for the fetch with `wait_fetched()`.
    """

    def __init__(self, display_name: str | None) -> None:
        try:
            self._display = open_display(display_name)
        except OSError as exc:
            raise InsertionUnavailable(f"cannot paste into other apps: {exc}") from exc
        display = self._display
        self._window = display.screen().root.create_window(
            -10, -10, 1, 1, 0, X.CopyFromParent, X.InputOnly, X.CopyFromParent,
            event_mask=X.PropertyChangeMask)
        self._clipboard = display.intern_atom("CLIPBOARD")
        self._utf8 = display.intern_atom("UTF8_STRING")
        self._targets = display.intern_atom("TARGETS")
        self._text = display.intern_atom("TEXT")
        self._mime_utf8 = display.intern_atom("text/plain;charset=utf-8")
        self._incr = display.intern_atom("INCR")
        self._transfer = display.intern_atom("DICTATION_APP_CLIPBOARD")
        self._stamp = display.intern_atom("DICTATION_APP_TIMESTAMP")
        display.sync()
        self._content: bytes | None = None  # what we serve while we own the clipboard
        self._changed = threading.Condition()
        self._fetches = 0  # data requests served (TARGETS not counted)
        self._target_fetches = 0  # of which by the client of the window expected
        self._target_client: int | None = None  # its resource-id base (None: any)
        # The server gives every client the same mask; the bits above it are the client.
        self._client_mask = ~int(display.display.info.resource_id_mask)
        self._lost = False  # another client took the clipboard since we last took it
        self._commands: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]]
        self._commands = queue.Queue()
        self._wake_read, self._wake_write = os.pipe()
        self._stopping = False
        self._stopped = False
        self.alive = True
        self._thread = threading.Thread(target=self._run, name="x11-clipboard", daemon=True)
        self._thread.start()

    # -- the caller's thread ------------------------------------------------------------

    def call(self, work: Callable[[], _T]) -> _T:
        """Run `work` on the owner thread and return its result (or raise its error)."""
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        if not self.alive:
            raise InsertionFailed("the text could not be pasted: the clipboard connection "
                                  "to the X display was lost")
        self._commands.put((work, future))
        os.write(self._wake_write, b"x")
        try:
            return future.result(_COMMAND_WAIT_S)
        except concurrent.futures.TimeoutError as exc:
            raise InsertionFailed(f"the text could not be pasted: the X server did not "
                                  f"answer within {_COMMAND_WAIT_S:g} s") from exc

    def expect(self, window_id: int) -> None:
        """The paste is for window `window_id` (0: unknown): a fetch by its client is it."""
        with self._changed:
            self._target_client = window_id & self._client_mask if window_id else None

    def wait_fetched(self, wait_s: float) -> bool:
        """Whether the text taken last was fetched: at once when the expected client
        (any, if unknown) fetched it, else once `wait_s` passed, by any client."""
        def done() -> bool:
            return (self._target_fetches > 0 or self._lost or not self.alive
                    or (self._target_client is None and self._fetches > 0))

        with self._changed:
            self._changed.wait_for(done, wait_s)
            return self._fetches > 0

    def stop(self) -> None:
        """End the thread and the connection (and so our hold on the clipboard)."""
        if self._stopped:
            return
        self._stopped = self._stopping = True
        os.write(self._wake_write, b"x")
        self._thread.join(_COMMAND_WAIT_S)
        # Closed only here, after the thread: a closed descriptor's number is reused.
        os.close(self._wake_read)
        os.close(self._wake_write)

    # -- the owner thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping:
                event = self._next_event(None)
                if event is not None:
                    self._handle(event)
                self._run_commands()
        except (xerror.ConnectionClosedError, OSError) as exc:
            log.warning("the clipboard connection to the X display was lost: %s", exc)
        finally:
            self.alive = False
            with self._changed:
                self._changed.notify_all()
            self._fail_commands()
            with contextlib.suppress(xerror.ConnectionClosedError, OSError):
                self._display.close()

    def _run_commands(self) -> None:
        while True:
            try:
                work, future = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                future.set_result(work())
            except (xerror.ConnectionClosedError, OSError) as exc:
                future.set_exception(exc)
                raise
            except Exception as exc:  # handed to the caller, who raises it
                future.set_exception(exc)

    def _fail_commands(self) -> None:
        while True:
            try:
                _, future = self._commands.get_nowait()
            except queue.Empty:
                return
            future.set_exception(OSError("the clipboard connection was closed"))

    def _next_event(self, deadline: float | None) -> Any:
        """The next event; None when woken for a command or stop, or at `deadline`."""
        display = self._display
        while True:
            if display.pending_events():
                return display.next_event()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([display, self._wake_read], [], [], timeout)
            if self._wake_read in readable:
                os.read(self._wake_read, 64)
                return None
            if not readable:
                return None

    def _wait_for(self, matches: Callable[[Any], bool], wait_s: float) -> Any:
        """The first event that `matches` within `wait_s` (None), serving others."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not self._stopping:
            event = self._next_event(deadline)
            if event is None:
                continue
            if matches(event):
                return event
            self._handle(event)
        return None

    def _handle(self, event: Any) -> None:
        if event.type == X.SelectionRequest:
            self._serve(event)
        elif event.type == X.SelectionClear and event.atom == self._clipboard:
            with self._changed:
                self._content = None
                self._lost = True
                self._changed.notify_all()

    def _serve(self, request: Any) -> None:
        requestor = request.requestor
        # A property of None comes from obsolete clients: the target names it then.
        prop = request.property or request.target
        catcher = xerror.CatchError()  # the requestor may be gone already
        answered, fetched = True, False
        if self._content is None or request.selection != self._clipboard:
            answered = False
        elif request.target == self._targets:
            requestor.change_property(prop, Xatom.ATOM, 32,
                                      [self._targets, self._utf8, self._mime_utf8,
                                       Xatom.STRING, self._text], onerror=catcher)
        elif request.target in (self._utf8, self._text, self._mime_utf8):
            kind = self._mime_utf8 if request.target == self._mime_utf8 else self._utf8
            requestor.change_property(prop, kind, 8, self._content, onerror=catcher)
            fetched = True
        elif request.target == Xatom.STRING:
            latin1 = self._content.decode("utf-8", "replace").encode("latin-1", "replace")
            requestor.change_property(prop, Xatom.STRING, 8, latin1, onerror=catcher)
            fetched = True
        else:
            answered = False
        notify = xevent.SelectionNotify(time=request.time, requestor=requestor,
                                        selection=request.selection, target=request.target,
                                        property=prop if answered else X.NONE)
        requestor.send_event(notify, onerror=catcher)
        self._display.sync()
        if fetched and catcher.get_error() is None:
            with self._changed:
                self._fetches += 1
                if requestor.id & self._client_mask == self._target_client:
                    self._target_fetches += 1
                self._changed.notify_all()

    # -- commands (run on the owner thread) ---------------------------------------------------

    def read_clipboard(self, wait_s: float) -> bytes | None:
        """The clipboard's text as UTF-8 now, or None: no owner, no answer within
        `wait_s`, no text, or too large for one transfer."""
        owner = self._display.get_selection_owner(self._clipboard)
        if owner == X.NONE:
            return None
        if owner.id == self._window.id:
            return self._content
        self._window.delete_property(self._transfer)
        self._window.convert_selection(self._clipboard, self._utf8, self._transfer,
                                       X.CurrentTime)
        self._display.flush()
        reply = self._wait_for(lambda e: e.type == X.SelectionNotify
                               and e.requestor.id == self._window.id
                               and e.selection == self._clipboard, wait_s)
        if reply is None:
            log.info("the clipboard's owner did not hand over its text within %g s: it "
                     "will not be restored after the paste", wait_s)
            return None
        if reply.property == X.NONE:
            return None  # it holds no text (an image, files)
        found = self._window.get_property(self._transfer, X.AnyPropertyType, 0,
                                          MAX_TEXT_BYTES // 4 + 1, delete=True)
        if found is None or found.format != 8:
            return None
        if found.property_type == self._incr or found.bytes_after:
            log.info("the clipboard holds too much text to restore after the paste")
            return None
        value = bytes(found.value)
        if found.property_type == Xatom.STRING:
            return value.decode("latin-1").encode("utf-8")
        return value if found.property_type in (self._utf8, self._text) else None

    def take(self, data: bytes) -> int | None:
        """Own the clipboard holding `data`; the server time it was taken at, or None
        when the server did not give it to us."""
        stamp = self._server_time()
        self._window.set_selection_owner(self._clipboard, stamp)
        owner = self._display.get_selection_owner(self._clipboard)
        if owner == X.NONE or owner.id != self._window.id:
            return None
        with self._changed:
            self._content = data
            self._fetches = self._target_fetches = 0
            self._target_client = None
            self._lost = False
        return stamp

    def give_back(self, stamp: int, previous: bytes | None) -> bool:
        """Own the clipboard again at `stamp` holding `previous`, or give it up when
        None, unless another client took it since (then theirs stays): whether ours
        was given back."""
        self._display.sync()
        while self._display.pending_events():  # a SelectionClear already sent to us
            self._handle(self._display.next_event())
        if self._lost:
            return False
        # At `stamp` the server ignores the change if anyone took the clipboard later.
        if previous is None:
            nobody = self._display.create_resource_object("window", X.NONE)
            nobody.set_selection_owner(self._clipboard, stamp)
            self._display.sync()
            with self._changed:
                self._content = None
            return True
        with self._changed:
            self._content = previous  # before the change: a request may follow at once
        self._window.set_selection_owner(self._clipboard, stamp)
        owner = self._display.get_selection_owner(self._clipboard)
        return owner != X.NONE and owner.id == self._window.id

    def _server_time(self) -> int:
        """The server's time now, from the PropertyNotify of an empty append (ICCCM: a
        selection is not to be taken at CurrentTime)."""
        self._window.change_property(self._stamp, Xatom.STRING, 8, b"", X.PropModeAppend)
        self._display.flush()
        event = self._wait_for(lambda e: e.type == X.PropertyNotify
                               and e.window.id == self._window.id and e.atom == self._stamp,
                               _COMMAND_WAIT_S)
        if event is None:
            raise InsertionFailed("the text could not be pasted: the X server did not "
                                  "report its time")
        return int(event.time)
