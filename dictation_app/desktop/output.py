"""Ways to put text where the cursor is in another app, and the pick of the one that
works on this desktop.

A `TextInserter` types a final's text into whatever app has the focus. There is one
per kind of desktop: XTest on X11 (`x11_typer.py`), and on Wayland the `wtype`
(virtual-keyboard protocol) or `ydotool` (uinput) programs. `detect_inserter()` picks
one and says why, in words for Settings; when none can work it returns a
`NoInserter` that says so, and whose `insert()` raises instead of failing silently.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Protocol

from dictation_app.core.errors import DictationError

log = logging.getLogger(__name__)

# A program gets this long plus a little per character: wtype and ydotool type at a
# few ms a key, so a long final still fits, and a hung one cannot hold a take.
_DEADLINE_S = 5.0
_DEADLINE_PER_CHAR_S = 0.02


class InsertionFailed(DictationError):
    """Text could not be typed into the focused app."""


class InsertionUnavailable(InsertionFailed):
    """No way to type into other apps works on this desktop (the message says why)."""


class TextInserter(Protocol):
    """Types text into the app that has the keyboard focus.

    `name` is the backend's id ("x11-xtest", "wtype", "ydotool", "none"); `reason` says
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
    """Types by running a program with the text as its last argument (wtype, ydotool)."""

    available = True

    def __init__(self, name: str, program: str, arguments: tuple[str, ...], *,
                 reason: str, environ: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.reason = reason
        self._command = (program, *arguments)
        self._environ = dict(environ) if environ is not None else None

    def insert(self, text: str) -> None:
        if not text:
            return
        deadline = _DEADLINE_S + _DEADLINE_PER_CHAR_S * len(text)
        try:
            # "--" so a text starting with "-" is not read as an option.
            done = subprocess.run([*self._command, "--", text], env=self._environ,
                                  capture_output=True, timeout=deadline, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InsertionFailed(f"{self.name} did not finish typing within "
                                  f"{deadline:.0f} s") from exc
        except OSError as exc:
            raise InsertionFailed(f"{self.name} could not be run: {exc}") from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            said = f": {detail[-1][:200]}" if detail else ""
            raise InsertionFailed(f"{self.name} failed to type the text (exit status "
                                  f"{done.returncode}){said}")


def wtype_inserter(program: str, environ: Mapping[str, str] | None = None) -> CommandInserter:
    return CommandInserter("wtype", program, (), environ=environ,
                           reason="wtype types through the Wayland virtual-keyboard "
                                  "protocol (any character)")


def ydotool_inserter(program: str, environ: Mapping[str, str] | None = None) -> CommandInserter:
    return CommandInserter("ydotool", program, ("type",), environ=environ,
                           reason="ydotool types through the kernel's uinput (wtype is "
                                  "not installed; ydotool needs its ydotoold daemon "
                                  "running and types only what a US keyboard has)")


def detect_inserter(environ: Mapping[str, str] | None = None) -> TextInserter:
    """The inserter that works on the desktop `environ` (default: os.environ) describes:
    XTest on X11 when the server has it, else wtype, else ydotool on PATH, else none."""
    env = os.environ if environ is None else environ
    display = env.get("DISPLAY", "")
    session = env.get("XDG_SESSION_TYPE", "").lower()
    wayland = session == "wayland" or bool(env.get("WAYLAND_DISPLAY"))
    x11_problem = ""
    if display and session != "wayland":
        from dictation_app.desktop.x11_typer import X11Typer

        try:
            return X11Typer(display, reason=f"XTest on the X11 display {display}")
        except InsertionUnavailable as exc:
            x11_problem = str(exc)
            if not wayland:
                return NoInserter(f"no way to type into other apps: {_lowered(x11_problem)}")
    path = env.get("PATH", os.defpath)
    wtype = shutil.which("wtype", path=path)
    if wtype is not None:
        return wtype_inserter(wtype, env)
    ydotool = shutil.which("ydotool", path=path)
    if ydotool is not None:
        return ydotool_inserter(ydotool, env)
    if wayland:
        return NoInserter("no way to type into other apps on this Wayland compositor: "
                          "install wtype")
    return NoInserter("no way to type into other apps: no graphical session (neither "
                      "DISPLAY nor WAYLAND_DISPLAY is set)")


def _lowered(message: str) -> str:
    prefix = "cannot type into other apps: "
    return message[len(prefix):] if message.startswith(prefix) else message
