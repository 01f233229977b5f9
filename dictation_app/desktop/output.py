"""Ways to put text where the cursor is in another app, and the pick of the one that
works on this desktop.

A `TextInserter` types a final's text into whatever app has the focus. There is one
per kind of desktop: XTest on X11 (`x11_typer.py`), and on Wayland the `wtype`
(virtual-keyboard protocol) or `ydotool` (uinput) programs. The paste mode has its own
on X11 (`x11_paster.py`: the clipboard and the paste shortcut). `detect_inserter()`
picks one for a mode and says why, in words for Settings; when none can work it
returns a `NoInserter` that says so, and whose `insert()` raises instead of failing
silently.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from typing import Literal, Protocol

from dictation_app.core.errors import DictationError

log = logging.getLogger(__name__)

# A program gets this long plus a little per character: wtype and ydotool type at a
# few ms a key, so a long final still fits, and a hung one cannot hold a take.
_DEADLINE_S = 5.0
_DEADLINE_PER_CHAR_S = 0.02

InsertMode = Literal["type", "paste"]


class InsertionFailed(DictationError):
    """Text could not be typed into the focused app."""


class InsertionUnavailable(InsertionFailed):
    """No way to type into other apps works on this desktop (the message says why)."""


class TextInserter(Protocol):
    """Types text into the app that has the keyboard focus.

    `name` is the backend's id ("x11-xtest", "x11-paste", "wtype", "ydotool", "none");
    `reason` says
    in a sentence why it was chosen, or why nothing could be. `insert()` blocks until the
    text is sent (call it off the GUI thread) and raises InsertionFailed.
    """

    name: str
    reason: str
    available: bool

    def insert(self, text: str) -> None: ...


class NoInserter:
    """What detection returns when nothing can type: it keeps the reason to show."""

    name = "none"
    available = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def insert(self, text: str) -> None:
        raise InsertionUnavailable(self.reason)


class CommandInserter:
    """Types by running a program with the text as its last argument (wtype, ydotool),
    given `deadline_s` (default: a few seconds, more for a long text) to finish."""

    available = True

    def __init__(self, name: str, program: str, arguments: tuple[str, ...], *,
                 reason: str, environ: Mapping[str, str] | None = None,
                 deadline_s: float | None = None) -> None:
        self.name = name
        self.reason = reason
        self._command = (program, *arguments)
        self._environ = dict(environ) if environ is not None else None
        self._deadline_s = deadline_s

    def insert(self, text: str) -> None:
        if not text:
            return
        deadline = (self._deadline_s if self._deadline_s is not None
                    else _DEADLINE_S + _DEADLINE_PER_CHAR_S * len(text))
        try:
            # "--" so a text starting with "-" is not read as an option. A session of
            # its own, so a deadline kills whatever the program started too.
            child = subprocess.Popen([*self._command, "--", text], env=self._environ,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise InsertionFailed(f"{self.name} could not be run: {exc}") from exc
        try:
            _, stderr = child.communicate(timeout=deadline)
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise InsertionFailed(f"{self.name} did not finish typing within "
                                  f"{deadline:g} s") from exc
        if child.returncode != 0:
            detail = stderr.decode("utf-8", "replace").strip().splitlines()
            said = f": {detail[-1][:200]}" if detail else ""
            raise InsertionFailed(f"{self.name} failed to type the text (exit status "
                                  f"{child.returncode}){said}")


def wtype_inserter(program: str, environ: Mapping[str, str] | None = None, *,
                 deadline_s: float | None = None) -> CommandInserter:
    return CommandInserter("wtype", program, (), environ=environ, deadline_s=deadline_s,
                           reason="wtype types through the Wayland virtual-keyboard "
                                  "protocol (any character)")


def ydotool_inserter(program: str, environ: Mapping[str, str] | None = None, *,
                     deadline_s: float | None = None) -> CommandInserter:
    return CommandInserter("ydotool", program, ("type",), environ=environ,
                           deadline_s=deadline_s,
                           reason="ydotool types through the kernel's uinput (wtype is "
                                  "not installed; ydotool needs its ydotoold daemon "
                                  "running and types only what a US keyboard has)")


def detect_inserter(environ: Mapping[str, str] | None = None, *,
                    mode: InsertMode = "type") -> TextInserter:
    """The inserter that works on the desktop `environ` (default: os.environ) describes.

    mode "type": XTest on X11 when the server has it, else wtype, else ydotool on PATH,
    else none. mode "paste": the clipboard and Ctrl+V (Ctrl+Shift+V in terminals) on
    X11; elsewhere, as nothing pastes there yet, the "type" pick, its reason saying so.
    The X11 picks connect to the display (its XTEST extension is checked)."""
    inserter = _detect(os.environ if environ is None else environ, mode)
    log.info("%s into other apps: %s (%s)", "pasting" if mode == "paste" else "typing",
             inserter.name, inserter.reason)
    return inserter


def _detect(env: Mapping[str, str], mode: InsertMode) -> TextInserter:
    display = env.get("DISPLAY", "")
    session = env.get("XDG_SESSION_TYPE", "").lower()
    wayland = session == "wayland" or bool(env.get("WAYLAND_DISPLAY"))
    # Under a Wayland session DISPLAY is XWayland's, whose XTest reaches X clients only.
    if display and session != "wayland":
        try:
            import Xlib  # noqa: F401  (python-xlib is installed on Linux only)
        except ImportError:
            return NoInserter(f"the X11 display {display} needs python-xlib, which this "
                              "installation does not have")
        try:
            if mode == "paste":
                from dictation_app.desktop.x11_paster import X11Paster

                return X11Paster(display, reason=f"the clipboard and Ctrl+V (Ctrl+Shift+V "
                                                 f"in terminals) on the X11 display "
                                                 f"{display}, the clipboard given back")
            from dictation_app.desktop.x11_typer import X11Typer

            return X11Typer(display, reason=f"XTest on the X11 display {display}")
        except InsertionUnavailable as exc:
            if not wayland:
                return NoInserter(str(exc))
    if mode == "paste":
        typer = _detect(env, "type")
        if isinstance(typer, NoInserter):
            return typer
        typer.reason = (f"pasting works on X11 only for now, so the text is typed: "
                        f"{typer.reason}")
        return typer
    if not wayland:
        return NoInserter("cannot type into other apps: no graphical session (neither "
                          "DISPLAY nor WAYLAND_DISPLAY is set)")
    path = env.get("PATH", os.defpath)
    wtype = shutil.which("wtype", path=path)
    if wtype is not None:
        return wtype_inserter(wtype, env)
    ydotool = shutil.which("ydotool", path=path)
    if ydotool is not None:
        return ydotool_inserter(ydotool, env)
    return NoInserter("no way to type into other apps on this Wayland compositor: "
                      "install wtype")
