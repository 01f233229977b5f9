"""What the X11 backends share: opening a display as our error, keysyms for our key
names, which modifier bit (Mod1..Mod5) the server gave Alt, Super and NumLock, and
the two courtesies owed before sending fake keys: waiting out another client's
keyboard grab, and letting go of the modifiers a person still holds."""

from __future__ import annotations

import gc
import logging
import time
import warnings

from Xlib import XK, X
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.ext import xtest

log = logging.getLogger(__name__)

# How long the fake-key backends wait for another client's keyboard grab to end (a
# held push-to-talk key): longer than people hold one for a sentence, short of forever.
GRAB_WAIT_S = 120.0
_GRAB_POLL_S = 0.02

# Our canonical key names (hotkey.KEY_NAMES) whose X keysym name differs.
_KEYSYM_NAMES = {
    "Space": "space", "Enter": "Return", "Backspace": "BackSpace", "PageUp": "Prior",
    "PageDown": "Next", "ScrollLock": "Scroll_Lock",
}


def keysym_of(key: str) -> int:
    """The keysym for a canonical key name (letters by their lower case, as X binds them)."""
    name = _KEYSYM_NAMES.get(key, key.lower() if len(key) == 1 else key)
    return int(XK.string_to_keysym(name))


def open_display(name: str | None) -> Display:
    """A connection to the X server; `OSError` naming the display when it is unreachable
    (the callers turn it into their own error)."""
    # python-xlib drops the sockets of a failed connection without closing them; they
    # are collected here, quietly, rather than warn later from wherever the GC runs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return Display(name)
        except (xerror.DisplayError, xerror.ConnectionClosedError, OSError) as exc:
            failure = f"cannot reach the X display {name or '$DISPLAY'}: {exc}"
        gc.collect()
    raise OSError(failure)


def open_xtest_display(name: str | None, doing: str) -> Display:
    """A connection to a server that has XTEST; InsertionUnavailable saying what cannot
    be done (`doing`: "type", "paste") and why."""
    from dictation_app.desktop.output import InsertionUnavailable

    try:
        display = open_display(name)
    except OSError as exc:
        raise InsertionUnavailable(f"cannot {doing} into other apps: {exc}") from exc
    if not display.has_extension("XTEST"):
        display.close()
        raise InsertionUnavailable(f"cannot {doing} into other apps: the X server at "
                                   f"{name or '$DISPLAY'} has no XTEST extension")
    return display


def modifier_masks(display: Display) -> dict[str, int]:
    """The mask of each of "Alt", "Super", "NumLock", looked up in the server's modifier
    map (layouts differ); the usual Mod1, Mod4, Mod2 where a keysym is not bound."""
    wanted = {"Alt": ("Alt_L", "Alt_R", "Meta_L"), "Super": ("Super_L", "Super_R"),
              "NumLock": ("Num_Lock",)}
    masks = {"Alt": X.Mod1Mask, "Super": X.Mod4Mask, "NumLock": X.Mod2Mask}
    by_keycode: dict[int, int] = {}
    for index, keycodes in enumerate(display.get_modifier_mapping()):
        for keycode in keycodes:
            if keycode:
                by_keycode.setdefault(keycode, 1 << index)
    for name, keysym_names in wanted.items():
        for keysym_name in keysym_names:
            keycode = display.keysym_to_keycode(XK.string_to_keysym(keysym_name))
            if keycode in by_keycode:
                masks[name] = by_keycode[keycode]
                break
    return masks


def wait_for_keyboard(display: Display, wait_s: float) -> bool:
    """Whether the keyboard became free of other clients' grabs within `wait_s` (tried
    by grabbing it for an instant). X gives the whole keyboard to an active grab, fake
    keys included, so keys sent during someone's grab would vanish into it."""
    root = display.screen().root
    deadline = time.monotonic() + wait_s
    logged = False
    while True:
        status = root.grab_keyboard(False, X.GrabModeAsync, X.GrabModeAsync, X.CurrentTime)
        if status == X.GrabSuccess:
            display.ungrab_keyboard(X.CurrentTime)
            display.sync()
            return True
        if time.monotonic() >= deadline:
            return False
        if not logged:
            log.info("the keyboard is grabbed (a shortcut key held?): sending keys once it "
                     "is let go")
            logged = True
        time.sleep(_GRAB_POLL_S)


def release_held_modifiers(display: Display) -> None:
    """Send a release for every modifier key down now (the locks aside), so the keys that
    follow are not read as shortcuts. Deliberately not pressed again afterwards: had the
    person let go meanwhile, it would stay stuck down."""
    numlock = modifier_masks(display)["NumLock"]
    pressed = display.query_keymap()  # 32 bytes, a bit per keycode
    for index, keycodes in enumerate(display.get_modifier_mapping()):
        if index == 1 or (1 << index) == numlock:
            continue  # the locks: their state is handled apart (or harmless)
        for keycode in keycodes:
            if keycode and pressed[keycode // 8] & (1 << (keycode % 8)):
                xtest.fake_input(display, X.KeyRelease, keycode)
    display.sync()
