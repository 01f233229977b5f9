"""A system-wide key or chord, and what a listener for it promises: pure, no I/O.

`KeySpec.parse("Ctrl+Alt+D")` reads what Settings stores (case-insensitive, modifiers in
any order, a few aliases); `str(spec)` gives the canonical form back ("Ctrl+Alt+D",
modifiers always in the order Ctrl, Alt, Shift, Super). A `HotkeyListener` grabs one
spec and reports its press and release; `HotkeyUnavailable` says why it cannot.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dictation_app.core.errors import ConfigurationError


class Modifier(str, enum.Enum):
    """The modifiers a chord may hold, in their canonical order."""

    CTRL = "Ctrl"
    ALT = "Alt"
    SHIFT = "Shift"
    SUPER = "Super"


_MODIFIER_ORDER = tuple(Modifier)
_MODIFIER_ALIASES: dict[str, Modifier] = {
    "ctrl": Modifier.CTRL, "control": Modifier.CTRL, "ctl": Modifier.CTRL,
    "alt": Modifier.ALT, "option": Modifier.ALT,
    "shift": Modifier.SHIFT,
    "super": Modifier.SUPER, "win": Modifier.SUPER, "windows": Modifier.SUPER,
    "meta": Modifier.SUPER, "cmd": Modifier.SUPER, "command": Modifier.SUPER,
    "mod4": Modifier.SUPER,
}

# Named keys: the canonical spelling, keyed by every spelling accepted (lower case).
_NAMED_KEYS: dict[str, str] = {
    "space": "Space", "tab": "Tab", "enter": "Enter", "return": "Enter",
    "escape": "Escape", "esc": "Escape", "backspace": "Backspace",
    "insert": "Insert", "ins": "Insert", "delete": "Delete", "del": "Delete",
    "home": "Home", "end": "End", "pageup": "PageUp", "pgup": "PageUp",
    "pagedown": "PageDown", "pgdown": "PageDown", "pgdn": "PageDown",
    "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "pause": "Pause", "scrolllock": "ScrollLock", "print": "Print",
    "printscreen": "Print", "menu": "Menu",
}
_FUNCTION_KEYS = range(1, 36)  # F1..F35, as X knows them

# Every canonical key name, for the backends' own keysym tables to cover.
KEY_NAMES: tuple[str, ...] = (
    *(f"F{n}" for n in _FUNCTION_KEYS),
    *sorted(set(_NAMED_KEYS.values())),
    *(chr(c) for c in range(ord("A"), ord("Z") + 1)),
    *(str(d) for d in range(10)),
)


def _canonical_key(word: str) -> str | None:
    lowered = word.lower()
    if lowered in _NAMED_KEYS:
        return _NAMED_KEYS[lowered]
    if len(word) == 1 and word.isascii() and word.isalnum():
        return word.upper()
    if lowered.startswith("f") and lowered[1:].isdigit() and int(lowered[1:]) in _FUNCTION_KEYS:
        return f"F{int(lowered[1:])}"
    return None


@dataclass(frozen=True)
class KeySpec:
    """One key and the modifiers held with it."""

    key: str  # canonical, one of KEY_NAMES
    modifiers: frozenset[Modifier] = frozenset()

    @classmethod
    def parse(cls, text: str) -> KeySpec:
        """Read "F9", "ctrl+alt+d", "Super + Space"; ConfigurationError naming a bad one."""
        words = [w.strip() for w in text.split("+")]
        if not text.strip() or any(not w for w in words):
            raise ConfigurationError(f"{text!r} is not a key: write a key such as F9, "
                                     f"optionally after modifiers, as in Ctrl+Alt+D")
        *modifier_words, key_word = words
        modifiers: set[Modifier] = set()
        for word in modifier_words:
            modifier = _MODIFIER_ALIASES.get(word.lower())
            if modifier is None:
                raise ConfigurationError(f"{text!r} is not a key: {word!r} is not a modifier "
                                         f"(use Ctrl, Alt, Shift or Super)")
            if modifier in modifiers:
                raise ConfigurationError(f"{text!r} is not a key: {modifier.value} is "
                                         f"named twice")
            modifiers.add(modifier)
        key = _canonical_key(key_word)
        if key is None:
            hint = (" (a modifier alone cannot be grabbed: add a key)"
                    if key_word.lower() in _MODIFIER_ALIASES else "")
            raise ConfigurationError(f"{text!r} is not a key: {key_word!r} is not a key "
                                     f"name{hint}")
        return cls(key, frozenset(modifiers))

    def __str__(self) -> str:
        held = [m.value for m in _MODIFIER_ORDER if m in self.modifiers]
        return "+".join([*held, self.key])


class HotkeyUnavailable(ConfigurationError):
    """The key cannot be grabbed on this desktop (no display, no such key, taken)."""

    def __init__(self, message: str, *, spec: KeySpec):
        super().__init__(message)
        self.spec = spec


class HotkeyTaken(HotkeyUnavailable):
    """Another application already holds a grab on the key."""

    def __init__(self, spec: KeySpec):
        super().__init__(f"{spec} is already taken by another application; choose "
                         f"another key in Preferences", spec=spec)


class PortalMissing(HotkeyUnavailable):
    """No desktop portal on the session bus, or one without GlobalShortcuts: the normal
    state of many Wayland desktops, where the compositor's own key bindings are the way."""


class HotkeyListener(Protocol):
    """Reports one system-wide key's presses and releases.

    The callbacks are given to the constructor and called on the listener's own thread
    (the X thread, say), never on the caller's: a Qt caller marshals them with
    `loop.call_soon_threadsafe`. A held key gives one press and one release, whatever
    auto-repeat does.
    """

    spec: KeySpec

    def start(self) -> None:
        """Grab the key; raises HotkeyUnavailable (HotkeyTaken) if it cannot."""

    def stop(self) -> None:
        """Let the key go and end the thread; prompt, and safe to call twice."""


# What a listener calls: no arguments, on the listener's thread.
HotkeyCallback = Callable[[], None]
