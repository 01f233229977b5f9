"""A private D-Bus session bus, and a desktop portal offering GlobalShortcuts on it.

`SessionBus()` starts `dbus-daemon` with a configuration of our own (no service
activation, so nothing of the machine's can answer for a name we did not start) on a
socket in a temporary folder, and `close()` stops it. `FakeShortcutsPortal` owns
org.freedesktop.portal.Desktop on that bus and answers CreateSession and BindShortcuts
as the portal spec says (a Request object path built from the caller's unique name and
its `handle_token`, then a `Response` signal on it), records what it was asked, and
emits Activated/Deactivated when a test says so. It is written from the spec's XML in
xdg-desktop-portal (data/org.freedesktop.portal.*.xml), not with the app's code.
"""

from __future__ import annotations

import os
import queue
import select
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    MatchRule,
    Message,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusRouter, Proxy, open_dbus_connection

_START_TIMEOUT_S = 10.0
BUS_NAME = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class DBusUnavailable(Exception):
    """dbus-daemon is not installed or did not start."""


class SessionBus:
    def __init__(self) -> None:
        program = shutil.which("dbus-daemon")
        if program is None:
            raise DBusUnavailable("dbus-daemon is not installed (the dbus-daemon package)")
        self._folder = tempfile.TemporaryDirectory(prefix="dictation-dbus-")
        folder = Path(self._folder.name)
        config = folder / "bus.conf"
        config.write_text(_CONFIG.format(socket=folder / "bus"))
        self._process = subprocess.Popen(
            [program, f"--config-file={config}", "--print-address", "--nofork"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.address = self._read_address()
        except BaseException:
            self.close()
            raise

    def _read_address(self) -> str:
        # The daemon prints its address once it listens.
        assert self._process.stdout is not None
        out = self._process.stdout.fileno()
        received = b""
        while not received.endswith(b"\n"):
            ready, _, _ = select.select([out], [], [], _START_TIMEOUT_S)
            chunk = os.read(out, 256) if ready else b""
            if not chunk:
                raise DBusUnavailable("dbus-daemon did not start")
            received += chunk
        return received.decode().strip()

    def close(self) -> None:
        self._process.kill()
        self._process.wait(10)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
        self._folder.cleanup()


class FakeShortcutsPortal:
    """The GlobalShortcuts portal on `address`.

    `offers_shortcuts=False` is a portal without the interface; `unanswered` names the
    methods (CreateSession, BindShortcuts) it replies to with the Request handle but
    never sends the Response for (a dialog nobody closes, a hung backend). `triggers`
    are the trigger descriptions it reports (by shortcut id; default: the preferred
    trigger it was given), `refused` the shortcut ids it leaves out of what it bound,
    `response` the code of every Response (1: the user cancelled). `bound_requests`
    holds each BindShortcuts call's shortcuts, `closed_sessions` the session paths
    closed, `registered` the app ids the host registry was given, `session_handle` the
    last session opened.
    """

    def __init__(self, address: str, *, offers_shortcuts: bool = True,
                 unanswered: tuple[str, ...] = (), triggers: dict[str, str] | None = None,
                 refused: tuple[str, ...] = (), response: int = 0) -> None:
        self.offers_shortcuts = offers_shortcuts
        self.unanswered = unanswered
        self.triggers = dict(triggers or {})
        self.refused = refused
        self.response = response
        self.bound_requests: list[list[tuple[str, dict[str, Any]]]] = []
        self.closed_sessions: list[str] = []
        self.session_handle = ""
        self.registered: list[str] = []
        self.session_closed = threading.Event()
        self.bound = threading.Event()
        self._connection = open_dbus_connection(address)
        self._router = DBusRouter(self._connection)
        self._calls: queue.Queue[Message | None] = queue.Queue()
        self._filter = self._router.filter(MatchRule(type="method_call"), queue=self._calls)
        owned = Proxy(message_bus, self._router, timeout=5).RequestName(BUS_NAME, 4)
        assert owned == (1,), f"could not own {BUS_NAME}: {owned}"
        self._thread = threading.Thread(target=self._serve, name="fake-portal", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._calls.put(None)
        self._thread.join(5)
        self._filter.close()
        self._router.close()
        self._connection.close()

    # -- what a test makes the desktop do ------------------------------------------------

    def activate(self, shortcut_id: str, timestamp: int = 1000) -> None:
        self._emit_shortcut("Activated", shortcut_id, timestamp)

    def deactivate(self, shortcut_id: str, timestamp: int = 1100) -> None:
        self._emit_shortcut("Deactivated", shortcut_id, timestamp)

    def end_session(self) -> None:
        """The desktop closes the session (the user revoked it, the portal restarted)."""
        self._router.send(new_signal(DBusAddress(self.session_handle,
                                                 interface="org.freedesktop.portal.Session"),
                                     "Closed", "a{sv}", ({},)))

    def _emit_shortcut(self, member: str, shortcut_id: str, timestamp: int) -> None:
        self._router.send(new_signal(DBusAddress(PATH, interface=SHORTCUTS), member, "osta{sv}",
                                     (self.session_handle, shortcut_id, timestamp, {})))

    # -- the portal's thread ----------------------------------------------------------------

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            fields = call.header.fields
            interface = fields.get(HeaderFields.interface)
            member = fields.get(HeaderFields.member)
            if interface == "org.freedesktop.DBus.Properties" and member == "Get":
                self._get_property(call)
            elif interface == SHORTCUTS and self.offers_shortcuts and member == "CreateSession":
                self._create_session(call)
            elif interface == SHORTCUTS and self.offers_shortcuts and member == "BindShortcuts":
                self._bind_shortcuts(call)
            elif interface == "org.freedesktop.host.portal.Registry" and member == "Register":
                self.registered.append(call.body[0])
                self._router.send(new_method_return(call))
            elif interface == "org.freedesktop.portal.Session" and member == "Close":
                self.closed_sessions.append(str(fields.get(HeaderFields.path)))
                self._router.send(new_method_return(call))
                self.session_closed.set()
            else:
                self._router.send(new_error(call, "org.freedesktop.DBus.Error.UnknownMethod",
                                            "s", (f"no {interface}.{member} here",)))

    def _get_property(self, call: Message) -> None:
        interface, name = call.body
        if interface == SHORTCUTS and self.offers_shortcuts and name == "version":
            self._router.send(new_method_return(call, "v", (("u", 2),)))
        else:
            self._router.send(new_error(call, "org.freedesktop.DBus.Error.UnknownInterface",
                                        "s", (f"no interface {interface}",)))

    def _request_path(self, call: Message, token: str) -> str:
        sender = str(call.header.fields[HeaderFields.sender]).lstrip(":").replace(".", "_")
        return f"{PATH}/request/{sender}/{token}"

    def _create_session(self, call: Message) -> None:
        (options,) = call.body
        request = self._request_path(call, options["handle_token"][1])
        sender = str(call.header.fields[HeaderFields.sender]).lstrip(":").replace(".", "_")
        self.session_handle = f"{PATH}/session/{sender}/{options['session_handle_token'][1]}"
        self._router.send(new_method_return(call, "o", (request,)))
        self._respond("CreateSession", request, {"session_handle": ("s", self.session_handle)})

    def _bind_shortcuts(self, call: Message) -> None:
        _session, shortcuts, _parent_window, options = call.body
        self.bound_requests.append(list(shortcuts))
        request = self._request_path(call, options["handle_token"][1])
        self._router.send(new_method_return(call, "o", (request,)))
        given = [(shortcut_id, {
            "description": info["description"],
            "trigger_description": ("s", self.triggers.get(
                shortcut_id, info.get("preferred_trigger", ("s", ""))[1])),
        }) for shortcut_id, info in shortcuts if shortcut_id not in self.refused]
        self._respond("BindShortcuts", request, {"shortcuts": ("a(sa{sv})", given)})
        self.bound.set()

    def _respond(self, method: str, request: str, results: dict[str, Any]) -> None:
        if method not in self.unanswered:
            self._router.send(new_signal(DBusAddress(request, interface=
                                                     "org.freedesktop.portal.Request"),
                                         "Response", "ua{sv}", (self.response, results)))
