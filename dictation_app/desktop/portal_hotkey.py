"""System-wide keys on Wayland through the XDG Desktop Portal's GlobalShortcuts interface.

The portal does not grab a key for us: we describe our shortcuts (hold to dictate,
start/stop) with the trigger we would like, the desktop lets the user confirm or change
them, and then tells us when each is activated and deactivated. One session holds both
shortcuts. Every portal call is a request answered later by a `Response` signal on a
Request object whose path we can predict from our unique name and a token of our own, so
we listen before we call (the spec's advice, to avoid missing a quick answer).

D-Bus is spoken with jeepney over one connection that a single thread reads at a time:
the caller's during `start()` (which waits for each answer, with a deadline), then a
thread of ours that turns the signals into the callbacks, so the callbacks run on that
thread, never the caller's, as with `X11Hotkey`; `stop()` interrupts it, joins it, and
closes the session from the caller's thread.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusConnection, ReceiveStopped, open_dbus_connection

from dictation_app.core.errors import DictationError
from dictation_app.core.resources import APP_ID
from dictation_app.desktop.hotkey import (
    HotkeyCallback,
    HotkeyUnavailable,
    KeySpec,
    Modifier,
    PortalMissing,
)

log = logging.getLogger(__name__)

PORTAL_BUS_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS_INTERFACE = "org.freedesktop.portal.GlobalShortcuts"
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
SESSION_INTERFACE = "org.freedesktop.portal.Session"
REGISTRY_INTERFACE = "org.freedesktop.host.portal.Registry"

HOLD_ID = "dictate-hold"
TOGGLE_ID = "dictate-toggle"
_DESCRIPTIONS = {HOLD_ID: "Hold to dictate", TOGGLE_ID: "Start or stop dictation"}
_ROLES = {HOLD_ID: "hold", TOGGLE_ID: "start/stop"}

ANSWER_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 1.0
# The portal shows a dialog for BindShortcuts, and a person takes their time with it.
BIND_TIMEOUT_S = 120.0

# The shortcuts spec names modifiers as xkbcommon does, keys by their keysym names.
_TRIGGER_MODIFIERS = {Modifier.CTRL: "CTRL", Modifier.ALT: "ALT", Modifier.SHIFT: "SHIFT",
                      Modifier.SUPER: "LOGO"}
_TRIGGER_KEYS = {
    "Space": "space", "Enter": "Return", "Backspace": "BackSpace", "PageUp": "Page_Up",
    "PageDown": "Page_Down", "ScrollLock": "Scroll_Lock",
}
_NO_OWNER = ("org.freedesktop.DBus.Error.ServiceUnknown",
             "org.freedesktop.DBus.Error.NameHasNoOwner")
_tokens = itertools.count(1)


def portal_trigger(spec: KeySpec) -> str:
    """`spec` as the shortcuts spec writes a trigger: "CTRL+ALT+d", "F9", "LOGO+space"."""
    modifiers = [_TRIGGER_MODIFIERS[m] for m in Modifier if m in spec.modifiers]
    key = _TRIGGER_KEYS.get(spec.key, spec.key.lower() if len(spec.key) == 1 else spec.key)
    return "+".join([*modifiers, key])


def _token(kind: str) -> str:
    # Unique in this process and not guessable across processes, as the spec asks.
    return f"dictation_{kind}_{os.getpid()}_{next(_tokens)}_{os.urandom(4).hex()}"


class PortalHotkeys:
    """The hold-to-talk and start/stop shortcuts of one GlobalShortcuts session.

    `hold` or `toggle` may be None (that shortcut is not asked for). `on_pressed` and
    `on_released` follow the hold shortcut's Activated and Deactivated; `on_toggled` the
    toggle's Activated. `app_id` is the name the desktop files the shortcuts under (our
    .desktop file's). The callbacks, and `on_failed(error)` when the desktop ends the
    session or the bus goes away, are called on a thread this object starts. After
    `start()`, `bound` maps "hold" and "start/stop" to the trigger the desktop says it
    gave (in its own words, "Ctrl+Alt+D"), for the shortcuts it bound.
    """

    def __init__(self, hold: KeySpec | None, toggle: KeySpec | None, *,
                 on_pressed: HotkeyCallback, on_released: HotkeyCallback,
                 on_toggled: HotkeyCallback, bus_address: str,
                 on_failed: Callable[[DictationError], None] | None = None,
                 app_id: str = APP_ID, answer_timeout_s: float = ANSWER_TIMEOUT_S,
                 bind_timeout_s: float = BIND_TIMEOUT_S) -> None:
        if hold is None and toggle is None:
            raise ValueError("PortalHotkeys needs a hold or a toggle key")
        self.hold, self.toggle = hold, toggle
        self.specs = [spec for spec in (hold, toggle) if spec is not None]
        self._wanted = {shortcut_id: spec for shortcut_id, spec in
                        ((HOLD_ID, hold), (TOGGLE_ID, toggle)) if spec is not None}
        self._on_pressed, self._on_released = on_pressed, on_released
        self._on_toggled, self._on_failed = on_toggled, on_failed
        self._address = bus_address
        self._app_id = app_id
        self._answer_timeout_s = answer_timeout_s
        self._bind_timeout_s = bind_timeout_s
        self.bound: dict[str, str] = {}
        # One thread uses the connection at a time: the caller's in start() and stop(),
        # ours in between; stop() interrupts ours and joins it before taking over.
        self._connection: DBusConnection | None = None
        self._session_handle = ""
        self._responses: list[Message] = []  # Request::Response signals not yet claimed
        self._early: list[Message] = []  # shortcut signals read during start()
        self._thread: threading.Thread | None = None
        self._held = False
        self._stopping = False
        self._stopped_from_callback = False

    # -- the caller's thread -------------------------------------------------------------

    def start(self) -> None:
        """Open a session and bind the shortcuts; HotkeyUnavailable when there is no
        portal, it has no GlobalShortcuts, the user declined, or it does not answer."""
        if self._connection is not None or self._thread is not None:
            raise RuntimeError("PortalHotkeys.start() called twice")
        try:
            self._connection = open_dbus_connection(self._address)
        except (OSError, RuntimeError, ValueError, TimeoutError) as exc:
            raise self._unavailable(f"cannot reach the D-Bus session bus "
                                    f"({self._address}): {exc}", PortalMissing) from exc
        try:
            self._subscribe()
            self._register()
            self._check_interface()
            self._session_handle = self._create_session()
            self.bound = self._bind_shortcuts()
        except BaseException:
            self._close_session()
            self._close_connection()
            raise
        self._thread = threading.Thread(target=self._run, name="portal-shortcuts",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the session and the connection (within about a second); a hold in
        progress is reported released first. Safe to call twice or before start()."""
        connection, thread = self._connection, self._thread
        if connection is None or thread is None or self._stopping:
            return
        self._stopping = True
        connection.interrupt()
        if thread is threading.current_thread():
            # Called from a callback: the thread closes everything when it returns.
            self._stopped_from_callback = True
            return
        thread.join(_STOP_TIMEOUT_S)
        if thread.is_alive():
            log.warning("the desktop shortcuts thread did not end within %s s",
                        _STOP_TIMEOUT_S)
            return  # it still reads the connection: leave it to the daemon thread
        self._finish()

    @property
    def bound_note(self) -> str:
        """What the desktop gave, for Preferences: "F9 (hold), Ctrl+Alt+D (start/stop)"."""
        return ", ".join(f"{trigger} ({role})" for role, trigger in self.bound.items())

    def _finish(self) -> None:
        connection = self._connection
        if connection is not None:
            connection.reset_interrupt()
        self._close_session()
        self._close_connection()

    def _close_session(self) -> None:
        if not self._session_handle or self._connection is None:
            return
        close = new_method_call(DBusAddress(self._session_handle, PORTAL_BUS_NAME,
                                            SESSION_INTERFACE), "Close")
        try:
            self._call(close, "close the shortcut session", timeout_s=_STOP_TIMEOUT_S)
        except HotkeyUnavailable as exc:
            log.warning("%s", exc)
        self._session_handle = ""

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _unavailable(self, reason: str, kind: type[HotkeyUnavailable] = HotkeyUnavailable,
                     ) -> HotkeyUnavailable:
        keys = " and ".join(str(spec) for spec in self.specs)
        what = "desktop shortcuts" if len(self.specs) > 1 else "a desktop shortcut"
        return kind(f"{keys} cannot be set up as {what}: {reason}", spec=self.specs[0])

    def _lost(self, reason: str) -> HotkeyUnavailable:
        keys = " and ".join(str(spec) for spec in self.specs)
        what = "work as desktop shortcuts" if len(self.specs) > 1 else "works as a desktop shortcut"
        return HotkeyUnavailable(f"{keys} no longer {what}: {reason}", spec=self.specs[0])

    def _subscribe(self) -> None:
        for fields in ({"interface": REQUEST_INTERFACE, "member": "Response"},
                       {"interface": SHORTCUTS_INTERFACE, "path": PORTAL_PATH},
                       {"interface": SESSION_INTERFACE, "member": "Closed"}):
            rule = MatchRule(type="signal", sender=PORTAL_BUS_NAME, **fields)
            self._call(message_bus.AddMatch(rule), "subscribe to the portal's signals")

    def _register(self) -> None:
        # An app outside Flatpak or Snap has no app id the portal can see; the desktops
        # keep shortcuts per app id, so say ours (the .desktop file's name) first. An
        # older portal without the registry, or one that cannot find our .desktop file,
        # works on without it.
        register = new_method_call(DBusAddress(PORTAL_PATH, PORTAL_BUS_NAME,
                                               REGISTRY_INTERFACE),
                                   "Register", "sa{sv}", (self._app_id, {}))
        reply = self._call(register, "register the app", check=False)
        if reply.header.message_type is MessageType.error:
            log.debug("the desktop portal did not register %s: %s", self._app_id,
                      _error_text(reply))

    def _check_interface(self) -> None:
        get = new_method_call(DBusAddress(PORTAL_PATH, PORTAL_BUS_NAME,
                                          "org.freedesktop.DBus.Properties"),
                              "Get", "ss", (SHORTCUTS_INTERFACE, "version"))
        reply = self._call(get, "ask for the GlobalShortcuts portal", check=False)
        if reply.header.message_type is MessageType.error:
            if reply.header.fields.get(HeaderFields.error_name) in _NO_OWNER:
                raise self._unavailable("no desktop portal (xdg-desktop-portal) runs on "
                                        "the session bus", PortalMissing)
            raise self._unavailable("the desktop portal does not offer global shortcuts "
                                    f"(GlobalShortcuts: {_error_text(reply)})", PortalMissing)

    def _create_session(self) -> str:
        token = _token("session")
        results = self._request("CreateSession", "a{sv}", (
            {"handle_token": ("s", token), "session_handle_token": ("s", token)},),
            token, self._answer_timeout_s, "open a shortcut session")
        handle = results.get("session_handle", ("s", ""))[1]
        if not handle:
            raise self._unavailable("the desktop portal opened no shortcut session")
        return str(handle)

    def _bind_shortcuts(self) -> dict[str, str]:
        token = _token("bind")
        shortcuts = [(shortcut_id, {"description": ("s", _DESCRIPTIONS[shortcut_id]),
                                    "preferred_trigger": ("s", portal_trigger(spec))})
                     for shortcut_id, spec in self._wanted.items()]
        results = self._request("BindShortcuts", "oa(sa{sv})sa{sv}", (
            self._session_handle, shortcuts, "", {"handle_token": ("s", token)}),
            token, self._bind_timeout_s, "bind the shortcuts")
        given = dict(results.get("shortcuts", ("a(sa{sv})", []))[1])
        bound = {}
        for shortcut_id in self._wanted:
            if shortcut_id in given:
                trigger = given[shortcut_id].get("trigger_description", ("s", ""))[1]
                bound[_ROLES[shortcut_id]] = str(trigger) or "a key of your choice"
        if not bound:
            raise self._unavailable("the desktop bound none of them (change them in the "
                                    "desktop's keyboard settings)")
        return bound

    def _request(self, method: str, signature: str, body: tuple[Any, ...], token: str,
                 timeout_s: float, doing: str) -> dict[str, Any]:
        """Call a portal method that answers with a Request's Response; its results."""
        connection = self._connection
        assert connection is not None
        sender = str(connection.unique_name).lstrip(":").replace(".", "_")
        expected = f"{PORTAL_PATH}/request/{sender}/{token}"
        deadline = time.monotonic() + timeout_s
        call = new_method_call(DBusAddress(PORTAL_PATH, PORTAL_BUS_NAME, SHORTCUTS_INTERFACE),
                               method, signature, body)
        handle = str(self._call(call, doing).body[0])
        # Portals older than the token scheme pick their own path: take either.
        paths = {expected, handle}
        while True:
            response = next((r for r in self._responses
                             if r.header.fields.get(HeaderFields.path) in paths), None)
            if response is not None:
                self._responses.remove(response)
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._unavailable(f"the desktop did not answer the shortcut request "
                                        f"in {timeout_s:g} s (to {doing})")
            try:
                self._file(self._receive(remaining, doing))
            except TimeoutError:
                continue  # the deadline check above says so
        code, results = response.body
        if code == 1:
            raise self._unavailable(f"the desktop's shortcut dialog was cancelled (to "
                                    f"{doing}); set them again in Preferences to retry")
        if code != 0:
            raise self._unavailable(f"the desktop portal refused to {doing} "
                                    f"(response {code})")
        return dict(results)

    def _call(self, message: Message, doing: str, *, check: bool = True,
              timeout_s: float | None = None) -> Message:
        """Send a method call and wait for its reply, filing the signals read meanwhile."""
        connection = self._connection
        assert connection is not None
        timeout_s = self._answer_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        serial = next(connection.outgoing_serial)
        try:
            connection.send(message, serial=serial)
        except OSError as exc:
            raise self._unavailable(f"the D-Bus connection failed (to {doing}): {exc}") from exc
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._unavailable(f"the desktop did not answer the shortcut request "
                                        f"in {timeout_s:g} s (to {doing})")
            try:
                reply = self._receive(remaining, doing)
            except TimeoutError:
                continue  # the deadline check above says so
            if reply.header.fields.get(HeaderFields.reply_serial) == serial:
                break
            self._file(reply)
        if check and reply.header.message_type is MessageType.error:
            if reply.header.fields.get(HeaderFields.error_name) in _NO_OWNER:
                raise self._unavailable("no desktop portal (xdg-desktop-portal) runs on "
                                        "the session bus", PortalMissing)
            raise self._unavailable(f"the desktop portal could not {doing}: "
                                    f"{_error_text(reply)}")
        return reply

    def _receive(self, timeout_s: float, doing: str) -> Message:
        connection = self._connection
        assert connection is not None
        try:
            return connection.receive(timeout=timeout_s)
        except TimeoutError:
            raise  # the caller knows the whole wait
        except (OSError, ReceiveStopped) as exc:
            raise self._unavailable(f"the D-Bus connection failed (to {doing}): "
                                    f"{exc or 'closed'}") from exc

    def _file(self, message: Message) -> None:
        """Keep a signal read while waiting for something else."""
        if message.header.message_type is not MessageType.signal:
            return
        if message.header.fields.get(HeaderFields.interface) == REQUEST_INTERFACE:
            self._responses.append(message)
        else:
            self._early.append(message)

    # -- the signal thread ---------------------------------------------------------------

    def _run(self) -> None:
        connection = self._connection
        assert connection is not None
        failure: DictationError | None = None
        try:
            for message in self._early:
                if not self._handle(message):
                    return
            self._early.clear()
            while True:
                message = connection.receive()
                if (message.header.message_type is MessageType.signal
                        and not self._handle(message)):
                    return
        except ReceiveStopped:
            pass  # stop() asked
        except OSError as exc:
            self._session_handle = ""  # gone with the connection
            failure = self._lost(f"the connection to the session bus was lost ({exc})")
        finally:
            if self._held:
                self._held = False
                self._dispatch(self._on_released)
        if failure is not None and not self._stopping:
            self._report(failure)
        if self._stopped_from_callback:
            self._finish()

    def _handle(self, message: Message) -> bool:
        """Act on one signal; False when the session is over."""
        fields = message.header.fields
        member = fields.get(HeaderFields.member)
        if fields.get(HeaderFields.interface) == SESSION_INTERFACE:
            if member != "Closed" or fields.get(HeaderFields.path) != self._session_handle:
                return True
            self._session_handle = ""  # closed already: nothing to Close at stop()
            self._report(self._lost("the desktop closed the shortcut session"))
            return False
        if fields.get(HeaderFields.interface) != SHORTCUTS_INTERFACE or len(message.body) < 2:
            return True
        session, shortcut_id = message.body[0], message.body[1]
        if session != self._session_handle:
            return True  # not our session
        if shortcut_id == HOLD_ID:
            # A desktop that repeats Activated while the key is held gives one press.
            if member == "Activated" and not self._held:
                self._held = True
                self._dispatch(self._on_pressed)
            elif member == "Deactivated" and self._held:
                self._held = False
                self._dispatch(self._on_released)
        elif shortcut_id == TOGGLE_ID and member == "Activated":
            self._dispatch(self._on_toggled)
        return True

    def _report(self, failure: DictationError) -> None:
        log.warning("%s", failure)
        on_failed = self._on_failed
        if on_failed is not None and not self._stopping:
            self._dispatch(lambda: on_failed(failure))

    def _dispatch(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:
            # A callback's bug must not end the thread and leave the shortcuts dead.
            log.exception("a callback of the desktop shortcuts failed")


def _error_text(reply: Message) -> str:
    name = reply.header.fields.get(HeaderFields.error_name, "an error")
    detail = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
    return f"{name}: {detail}" if detail else str(name)
