"""PortalHotkeys against a GlobalShortcuts portal on a private D-Bus session bus."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dictation_app.core.resources import APP_ID
from dictation_app.desktop.hotkey import HotkeyUnavailable, KeySpec
from dictation_app.desktop.portal_hotkey import HOLD_ID, TOGGLE_ID, PortalHotkeys, portal_trigger
from tests.support.dbus_session import FakeShortcutsPortal, SessionBus

WAIT_S = 5.0


class Calls:
    """What the callbacks saw, in order, and a way to wait for a number of them."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.threads: set[str] = set()
        self._changed = threading.Condition()

    def recorder(self, name: str) -> Callable[[], None]:
        def record() -> None:
            with self._changed:
                self.seen.append(name)
                self.threads.add(threading.current_thread().name)
                self._changed.notify_all()
        return record

    def wait_for(self, count: int) -> list[str]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.seen) >= count, WAIT_S), self.seen
            return list(self.seen)


@pytest.fixture
def portal(session_bus: SessionBus) -> Iterator[FakeShortcutsPortal]:
    fake = FakeShortcutsPortal(session_bus.address, triggers={TOGGLE_ID: "Ctrl+Alt+D"})
    yield fake
    fake.close()


def _hotkeys(address: str, calls: Calls, *, hold: str | None = "F9",
             toggle: str | None = "Ctrl+Alt+D", **options: Any) -> PortalHotkeys:
    return PortalHotkeys(KeySpec.parse(hold) if hold else None,
                         KeySpec.parse(toggle) if toggle else None,
                         on_pressed=calls.recorder("pressed"),
                         on_released=calls.recorder("released"),
                         on_toggled=calls.recorder("toggled"),
                         bus_address=address, **options)


@pytest.mark.parametrize(("text", "trigger"), [
    ("F9", "F9"), ("Ctrl+Alt+D", "CTRL+ALT+d"), ("Super+Space", "LOGO+space"),
    ("Shift+PageUp", "SHIFT+Page_Up"), ("Ctrl+Enter", "CTRL+Return"), ("Alt+7", "ALT+7"),
])
def test_keys_are_offered_as_the_shortcuts_spec_writes_triggers(text: str,
                                                                 trigger: str) -> None:
    assert portal_trigger(KeySpec.parse(text)) == trigger


def test_binds_both_shortcuts_and_reports_what_the_desktop_gave(
        portal: FakeShortcutsPortal, session_bus: SessionBus) -> None:
    hotkeys = _hotkeys(session_bus.address, Calls())
    hotkeys.start()
    try:
        (asked,) = portal.bound_requests
        assert [(shortcut_id, info["description"][1], info["preferred_trigger"][1])
                for shortcut_id, info in asked] == [
            (HOLD_ID, "Hold to dictate", "F9"),
            (TOGGLE_ID, "Start or stop dictation", "CTRL+ALT+d")]
        assert hotkeys.bound == {"hold": "F9", "start/stop": "Ctrl+Alt+D"}
        assert portal.registered == [APP_ID]  # so the desktop files them under our name
        assert hotkeys.bound_note == "F9 (hold), Ctrl+Alt+D (start/stop)"
    finally:
        hotkeys.stop()


def test_activated_and_deactivated_become_press_release_and_toggle(
        portal: FakeShortcutsPortal, session_bus: SessionBus) -> None:
    calls = Calls()
    hotkeys = _hotkeys(session_bus.address, calls)
    hotkeys.start()
    try:
        portal.activate(HOLD_ID)
        portal.activate(HOLD_ID)  # a desktop repeating while held: still one press
        portal.deactivate(HOLD_ID)
        portal.activate(TOGGLE_ID)
        portal.deactivate(TOGGLE_ID)  # ignored: a toggle acts on the press
        portal.activate(TOGGLE_ID)
        assert calls.wait_for(4) == ["pressed", "released", "toggled", "toggled"]
        assert calls.threads == {"portal-shortcuts"}
    finally:
        hotkeys.stop()


def test_stop_closes_the_session_and_releases_a_held_key(
        portal: FakeShortcutsPortal, session_bus: SessionBus) -> None:
    calls = Calls()
    hotkeys = _hotkeys(session_bus.address, calls, toggle=None)
    hotkeys.start()
    assert hotkeys.bound == {"hold": "F9"}
    portal.activate(HOLD_ID)
    assert calls.wait_for(1) == ["pressed"]
    began = time.monotonic()
    hotkeys.stop()
    assert time.monotonic() - began < 1.0
    assert portal.session_closed.is_set()
    assert portal.closed_sessions == [portal.session_handle]
    assert calls.seen == ["pressed", "released"]
    hotkeys.stop()  # twice is harmless


def test_a_session_the_desktop_ends_is_reported(portal: FakeShortcutsPortal,
                                                 session_bus: SessionBus) -> None:
    failures: list[str] = []
    ended = threading.Event()

    def failed(error: Exception) -> None:
        failures.append(str(error))
        ended.set()

    calls = Calls()
    hotkeys = _hotkeys(session_bus.address, calls, on_failed=failed)
    hotkeys.start()
    try:
        portal.end_session()
        assert ended.wait(WAIT_S)
        assert failures == ["F9 and Ctrl+Alt+D no longer work as desktop shortcuts: "
                            "the desktop closed the shortcut session"]
    finally:
        hotkeys.stop()


def test_a_lost_session_bus_is_reported_and_a_held_key_released() -> None:
    bus = SessionBus()  # a bus of its own, since this one goes away
    portal = FakeShortcutsPortal(bus.address)
    failures: list[str] = []
    calls = Calls()
    failed = calls.recorder("failed")

    def on_failed(error: Exception) -> None:
        failures.append(str(error))
        failed()

    hotkeys = _hotkeys(bus.address, calls, on_failed=on_failed)
    try:
        hotkeys.start()
        portal.activate(HOLD_ID)
        assert calls.wait_for(1) == ["pressed"]
    finally:
        portal.close()
        bus.close()
    assert calls.wait_for(3) == ["pressed", "released", "failed"]
    hotkeys.stop()
    assert failures[0].startswith("F9 and Ctrl+Alt+D no longer work as desktop shortcuts: "
                                  "the connection to the session bus was lost")


def test_a_portal_that_never_answers_times_out(session_bus: SessionBus) -> None:
    silent = FakeShortcutsPortal(session_bus.address, unanswered=("CreateSession",))
    try:
        hotkeys = _hotkeys(session_bus.address, Calls(), answer_timeout_s=0.3)
        with pytest.raises(HotkeyUnavailable, match=r"the desktop did not answer the "
                                                    r"shortcut request in 0\.3 s \(to open "
                                                    r"a shortcut session\)"):
            hotkeys.start()
        hotkeys.stop()  # nothing to stop, no error
    finally:
        silent.close()


def test_a_bind_dialog_nobody_closes_times_out_and_the_session_is_closed(
        session_bus: SessionBus) -> None:
    silent = FakeShortcutsPortal(session_bus.address, unanswered=("BindShortcuts",))
    try:
        hotkeys = _hotkeys(session_bus.address, Calls(), bind_timeout_s=0.3)
        with pytest.raises(HotkeyUnavailable, match=r"did not answer the shortcut request "
                                                    r"in 0\.3 s \(to bind the shortcuts\)"):
            hotkeys.start()
        assert silent.closed_sessions == [silent.session_handle]
    finally:
        silent.close()


def test_only_the_shortcuts_the_desktop_bound_are_reported(session_bus: SessionBus) -> None:
    partial = FakeShortcutsPortal(session_bus.address, refused=(TOGGLE_ID,))
    hotkeys = _hotkeys(session_bus.address, Calls())
    try:
        hotkeys.start()
        assert hotkeys.bound == {"hold": "F9"}
    finally:
        hotkeys.stop()
        partial.close()


def test_a_desktop_that_binds_nothing_is_unavailable(session_bus: SessionBus) -> None:
    refusing = FakeShortcutsPortal(session_bus.address, refused=(HOLD_ID, TOGGLE_ID))
    try:
        with pytest.raises(HotkeyUnavailable, match="the desktop bound none of them"):
            _hotkeys(session_bus.address, Calls()).start()
        assert refusing.closed_sessions == [refusing.session_handle]
    finally:
        refusing.close()


def test_a_cancelled_dialog_says_so(session_bus: SessionBus) -> None:
    cancelling = FakeShortcutsPortal(session_bus.address, response=1)
    try:
        with pytest.raises(HotkeyUnavailable, match="shortcut dialog was cancelled"):
            _hotkeys(session_bus.address, Calls()).start()
    finally:
        cancelling.close()


def test_no_portal_on_the_bus(session_bus: SessionBus) -> None:
    with pytest.raises(HotkeyUnavailable, match=r"no desktop portal \(xdg-desktop-portal\) "
                                                r"runs on the session bus"):
        _hotkeys(session_bus.address, Calls()).start()


def test_a_portal_without_global_shortcuts(session_bus: SessionBus) -> None:
    older = FakeShortcutsPortal(session_bus.address, offers_shortcuts=False)
    try:
        with pytest.raises(HotkeyUnavailable,
                           match="the desktop portal does not offer global shortcuts"):
            _hotkeys(session_bus.address, Calls()).start()
    finally:
        older.close()


def test_an_unreachable_bus(tmp_path: object) -> None:
    with pytest.raises(HotkeyUnavailable, match="cannot reach the D-Bus session bus"):
        _hotkeys(f"unix:path={tmp_path}/no-bus", Calls()).start()
