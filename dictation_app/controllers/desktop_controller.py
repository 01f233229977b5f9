"""The desktop around the window: the push-to-talk and toggle keys while any app has the
focus, and each final typed where the cursor is (output mode "type").

The keys are grabbed on the X server (desktop/x11_hotkey.py), or on Wayland asked of the
desktop portal's GlobalShortcuts (desktop/portal_hotkey.py, started on a thread of its
own because the desktop may show a dialog first); their callbacks come on those threads
and are handed to the Qt loop. Typing runs on one worker thread, in order,
because it blocks (XTest waits while the push-to-talk key itself holds the keyboard, so
a final that settles during a hold is typed once the key is let go). A final is typed
only after the window shows it and the journal has it: typing that fails loses nothing,
and says so in the status line. What a final takes back ("scratch that") is taken back
with BackSpace, never more than this take typed.

Where none of this can work (Wayland without a portal offering shortcuts, no display),
`key_note` and `output_note` say why in words, for Preferences; the window's own
push-to-talk key and `dictation-app record` keep working.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from dictation_app.core.errors import ConfigurationError, DictationError
from dictation_app.core.settings import Key, Settings
from dictation_app.core.text.formatter import Formatted
from dictation_app.desktop.hotkey import (
    HotkeyListener,
    HotkeyUnavailable,
    KeySpec,
    PortalMissing,
)
from dictation_app.desktop.output import TextInserter, detect_inserter

if TYPE_CHECKING:
    from dictation_app.desktop.portal_hotkey import PortalHotkeys

log = logging.getLogger(__name__)

OUTPUT_WINDOW, OUTPUT_TYPE, OUTPUT_PASTE = "window", "type", "paste"
OUTPUT_MODES = (OUTPUT_WINDOW, OUTPUT_TYPE, OUTPUT_PASTE)
_TAKES_BACK = ("x11-xtest", "x11-paste")  # backends that press BackSpace for "\b"

# (spec, on_pressed, on_released, display) -> a listener, started by the caller.
HotkeyFactory = Callable[[KeySpec, Callable[[], None], Callable[[], None], str],
                         HotkeyListener]


def _x11_hotkey(spec: KeySpec, on_pressed: Callable[[], None],
                on_released: Callable[[], None], display: str) -> HotkeyListener:
    try:
        from dictation_app.desktop.x11_hotkey import X11Hotkey
    except ImportError as exc:  # python-xlib is installed on Linux only
        raise HotkeyUnavailable(f"{spec} cannot be grabbed: the X11 display {display} "
                                "needs python-xlib", spec=spec) from exc
    return X11Hotkey(spec, on_pressed, on_released, display=display)


# (hold, toggle, on_pressed, on_released, on_toggled, on_failed, bus address) -> portal
# shortcuts, started by the caller.
PortalFactory = Callable[[KeySpec | None, KeySpec | None, Callable[[], None],
                          Callable[[], None], Callable[[], None],
                          Callable[[DictationError], None], str], "PortalHotkeys"]

_WAYLAND_BINDING = ("bind `dictation-app record start` (press) and `dictation-app record "
                    "stop` (release) in your desktop's keyboard settings.")
_PORTAL_FALLBACK = f"Instead, {_WAYLAND_BINDING}"


def _portal_hotkeys(hold: KeySpec | None, toggle: KeySpec | None,
                    on_pressed: Callable[[], None], on_released: Callable[[], None],
                    on_toggled: Callable[[], None],
                    on_failed: Callable[[DictationError], None],
                    bus_address: str) -> PortalHotkeys:
    spec = hold or toggle
    assert spec is not None
    try:
        from dictation_app.desktop.portal_hotkey import PortalHotkeys
    except ImportError as exc:  # jeepney is installed on Linux only
        raise PortalMissing(f"{spec} cannot be set up as a desktop shortcut: the desktop "
                            "portal needs jeepney", spec=spec) from exc
    return PortalHotkeys(hold, toggle, on_pressed=on_pressed, on_released=on_released,
                         on_toggled=on_toggled, on_failed=on_failed, bus_address=bus_address)


def _x11_display(environ: Mapping[str, str]) -> str | None:
    """The X display keys can be grabbed on: not XWayland's, whose grabs see X apps only."""
    display = environ.get("DISPLAY", "")
    wayland = (environ.get("XDG_SESSION_TYPE", "").lower() == "wayland"
               or bool(environ.get("WAYLAND_DISPLAY")))
    return display if display and not wayland else None


class DesktopController(QObject):
    """Grabs the keys the Settings name and types finals, as the Settings say.

    `hold_started` / `hold_ended` / `toggle` are the dictation controller's intents.
    """

    def __init__(self, settings: Settings, *, hold_started: Callable[[], None],
                 hold_ended: Callable[[], None], toggle: Callable[[], None],
                 show_problem: Callable[[str], None],
                 set_overlay: Callable[[bool], None] = lambda _enabled: None,
                 environ: Mapping[str, str] | None = None,
                 hotkey_factory: HotkeyFactory = _x11_hotkey,
                 portal_factory: PortalFactory = _portal_hotkeys,
                 inserter_factory: Callable[..., TextInserter] = detect_inserter,
                 output: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._hold_started, self._hold_ended, self._toggle = hold_started, hold_ended, toggle
        self._show_problem = show_problem
        self._set_overlay = set_overlay
        self._environ = dict(os.environ if environ is None else environ)
        self._hotkey_factory = hotkey_factory
        self._portal_factory = portal_factory
        self._portal: PortalHotkeys | None = None
        # Bumped whenever the keys are let go: a portal start that ends after that is
        # stale and is stopped rather than kept.
        self._portal_round = 0
        self._inserter_factory = inserter_factory
        self._output_override = output  # `--output` at launch wins over the setting
        self._hotkeys: list[HotkeyListener] = []
        self._inserters: dict[str, TextInserter] = {}  # by output mode, made on first use
        self._typer = concurrent.futures.ThreadPoolExecutor(1, "dictation-typing")
        self._typed_in_take = 0  # characters this take typed: what BackSpace may remove
        self._ends_in_space = True  # what was typed last ended in whitespace (or nothing)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.key_note = ""
        self.output_note = ""

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Grab the keys and find a way to type, as the Settings say now."""
        self._loop = asyncio.get_event_loop()
        self.apply_settings()

    def apply_settings(self) -> None:
        """The Settings changed (or the app started): grab again, pick the output again."""
        self._release_keys()
        self.key_note = self._grab_keys()
        self.output_note = self._prepare_output()
        # Typing into another app hides the window behind it: show the take over it.
        self._set_overlay(self.output_mode != OUTPUT_WINDOW)

    def shutdown(self) -> None:
        self._release_keys()
        self._typer.shutdown(wait=False, cancel_futures=True)
        for inserter in self._inserters.values():
            close = getattr(inserter, "close", None)  # the X11 backends' connections
            if callable(close):
                self._typer_close(close)

    @property
    def output_mode(self) -> str:
        mode = self._output_override or self.settings.get_str(Key.OUTPUT_MODE)
        return mode if mode in OUTPUT_MODES else OUTPUT_WINDOW

    @property
    def grabbed(self) -> list[str]:
        """The keys held for the whole desktop now, as "F9", "Ctrl+Alt+D" (on Wayland,
        as asked of the desktop: `key_note` says what it gave)."""
        portal = [] if self._portal is None else [str(spec) for spec in self._portal.specs]
        return [str(hotkey.spec) for hotkey in self._hotkeys] + portal

    # --- keys ----------------------------------------------------------------------

    def _grab_keys(self) -> str:
        hold = self.settings.get_str(Key.PUSH_TO_TALK_KEY).strip()
        toggle = self.settings.get_str(Key.TOGGLE_KEY).strip()
        if not self.settings.get_bool(Key.SYSTEM_WIDE_KEYS) or not (hold or toggle):
            return "The keys work while this window has the focus."
        display = _x11_display(self._environ)
        bus_address = self._environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        if display is None and bus_address:
            return self._ask_portal(hold, toggle, bus_address)
        if display is None:
            return f"System-wide keys need an X11 session here. On Wayland, {_WAYLAND_BINDING}"
        problems, grabbed = [], []
        for text, pressed, released in ((hold, self._on_hold_pressed, self._on_hold_released),
                                        (toggle, self._on_toggle_pressed, _nothing)):
            if not text:
                continue
            try:
                hotkey = self._hotkey_factory(KeySpec.parse(text), pressed, released, display)
                hotkey.start()
            except (HotkeyUnavailable, ConfigurationError) as exc:
                problems.append(str(exc))
                continue
            self._hotkeys.append(hotkey)
            grabbed.append(str(hotkey.spec))
        if problems:
            message = " ".join(problems)
            self._show_problem(f"System-wide key: {message}")
            return message
        return f"{' and '.join(grabbed)} work in every app (X11 key grab on {display})."

    def _ask_portal(self, hold: str, toggle: str, bus_address: str) -> str:
        try:
            specs = [KeySpec.parse(text) if text else None for text in (hold, toggle)]
        except ConfigurationError as exc:
            self._show_problem(f"System-wide key: {exc}")
            return str(exc)
        try:
            portal = self._portal_factory(specs[0], specs[1], self._on_hold_pressed,
                                          self._on_hold_released, self._on_toggle_pressed,
                                          self._on_portal_failed, bus_address)
        except PortalMissing as exc:
            return f"{exc}. {_PORTAL_FALLBACK}"
        round_ = self._portal_round
        threading.Thread(target=self._start_portal, args=(portal, round_),
                         name="portal-shortcuts-start", daemon=True).start()
        return "Asking the desktop for the shortcuts (it may show a dialog)."

    def _start_portal(self, portal: PortalHotkeys, round_: int) -> None:
        """On its own thread: BindShortcuts may wait for a person in a dialog."""
        error: HotkeyUnavailable | None = None
        try:
            portal.start()
        except HotkeyUnavailable as exc:
            error = exc
        except Exception as exc:  # a bug of ours or jeepney's: say so, not "Asking..."
            log.exception("asking the desktop portal for the shortcuts failed")
            error = HotkeyUnavailable(f"the desktop shortcuts could not be set up ({exc})",
                                      spec=portal.specs[0])
        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("no loop")
            loop.call_soon_threadsafe(self._on_portal_started, portal, round_, error)
        except RuntimeError:  # the app closed its loop meanwhile
            portal.stop()

    def _on_portal_started(self, portal: PortalHotkeys, round_: int,
                           error: HotkeyUnavailable | None) -> None:
        if round_ != self._portal_round:
            portal.stop()  # the Settings changed, or the app is closing, meanwhile
            return
        if error is not None:
            self.key_note = f"{error}. {_PORTAL_FALLBACK}"
            if not isinstance(error, PortalMissing):  # not just a desktop without it
                self._show_problem(f"System-wide key: {error}")
        else:
            self._portal = portal
            self.key_note = (f"The desktop gave Dictation: {portal.bound_note}. Change them "
                             f"in the desktop's keyboard settings.")

    def _on_portal_failed(self, error: DictationError) -> None:
        """On the portal's thread: the desktop ended the session."""
        def report() -> None:
            portal, self._portal = self._portal, None
            if portal is None:
                return  # let go of already
            portal.stop()
            self.key_note = f"{error}. {_PORTAL_FALLBACK}"
            self._show_problem(f"System-wide key: {error}")
        self._on_loop(report)

    def _release_keys(self) -> None:
        hotkeys, self._hotkeys = self._hotkeys, []
        for hotkey in hotkeys:
            hotkey.stop()
        self._portal_round += 1
        portal, self._portal = self._portal, None
        if portal is not None:
            portal.stop()

    # Called on the X thread: hand over to the Qt loop.
    def _on_hold_pressed(self) -> None:
        self._on_loop(self._hold_started)

    def _on_hold_released(self) -> None:
        self._on_loop(self._hold_ended)

    def _on_toggle_pressed(self) -> None:
        self._on_loop(self._toggle)

    def _on_loop(self, intent: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(intent)

    # --- text ----------------------------------------------------------------------

    def _inserter(self, mode: str) -> TextInserter:
        inserter = self._inserters.get(mode)
        if inserter is None:
            inserter = self._inserter_factory(self._environ, mode=mode)
            self._inserters[mode] = inserter
        return inserter

    def _prepare_output(self) -> str:
        """What the chosen way in can do on this desktop (for "window", what typing
        could): Preferences shows it under the choice, and says why when it cannot."""
        mode = OUTPUT_TYPE if self.output_mode == OUTPUT_WINDOW else self.output_mode
        inserter = self._inserter(mode)
        verb = "Pasting" if mode == OUTPUT_PASTE else "Typing"
        if not inserter.available:
            return (f"{verb} into other apps cannot work here: {inserter.reason}. "
                    "The text stays in this window.")
        return f"{verb} into other apps works here ({inserter.reason})."

    def on_take_began(self) -> None:
        self._typed_in_take = 0

    def on_text_settled(self, formatted: Formatted) -> None:
        """A final shown and journaled: type it, if the output mode says so."""
        if self.output_mode == OUTPUT_WINDOW:
            return
        inserter = self._inserter(self.output_mode)
        if not inserter.available:
            return
        keys = ""
        retract = min(formatted.retract, self._typed_in_take)
        if retract and inserter.name in _TAKES_BACK:
            keys = "\b" * retract  # the others cannot be asked to delete
        text = formatted.text
        if self._typed_in_take == 0 and text and not text[0].isspace() \
                and not self._ends_in_space:
            text = " " + text  # a take that follows another's words in the same place
        self._typed_in_take += len(text) - retract
        if text:
            self._ends_in_space = text[-1].isspace()
        if keys or text:
            future = self._typer.submit(inserter.insert, keys + text)
            future.add_done_callback(self._on_typed)

    def _on_typed(self, future: concurrent.futures.Future[None]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            return
        log.warning("typing into the focused app failed: %s", error)
        message = str(error) if isinstance(error, DictationError) else repr(error)
        self._on_loop(lambda: self._show_problem(
            f"Could not put the text into the other app ({message}); it is in this window "
            "and in History."))

    def _typer_close(self, close: Callable[[], None]) -> None:
        try:
            close()
        except Exception:  # closing a lost X connection: nothing left to tell anyone
            log.debug("closing the typing backend failed", exc_info=True)


def _nothing() -> None:
    pass
