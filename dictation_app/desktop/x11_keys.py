"""What the X11 backends share: opening a display as our error, keysyms for our key
names, and which modifier bit (Mod1..Mod5) the server gave Alt, Super and NumLock."""

from __future__ import annotations

import gc
import warnings

from Xlib import XK, X
from Xlib import error as xerror
from Xlib.display import Display

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
