"""The desktop controller on a private X server: the keys grabbed for the whole desktop
reach the take's intents while another app has the focus, and in type mode each final
of a real take (a Bahasakita-protocol server on loopback, the PulseAudio microphone) is
typed into that app, exactly as the window shows it.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dictation_app.app import build_desktop
from dictation_app.controllers.desktop_controller import DesktopController
from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.core.text.formatter import Formatted
from dictation_app.desktop.hotkey import KeySpec
from dictation_app.desktop.portal_hotkey import HOLD_ID, TOGGLE_ID
from dictation_app.desktop.x11_hotkey import X11Hotkey
from dictation_app.ui.main_window import MainWindow
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
from tests.support.dbus_session import FakeShortcutsPortal, SessionBus
from tests.support.qt_async import run, until
from tests.support.x11 import (
    ClipboardHolder,
    KeySender,
    PasteTargetWindow,
    TypedTextWindow,
    XvfbServer,
    clipboard_text,
)


def desktop_for(settings: Settings, environ: dict[str, str], calls: list[str],
                problems: list[str]) -> DesktopController:
    return DesktopController(
        settings, hold_started=lambda: calls.append("hold"),
        hold_ended=lambda: calls.append("release"), toggle=lambda: calls.append("toggle"),
        show_problem=problems.append, environ=environ)


def dictate_into(qtbot: QtBot, loop: asyncio.AbstractEventLoop, mic: object,
                 xvfb: XvfbServer, target: TypedTextWindow | PasteTargetWindow,
                 mode: str, then: Callable[[], None] = lambda: None) -> str:
    """One real take with output `mode`; what the window shows once the take is over,
    after `target` has received as much (or the wait ran out) and `then()` ran, while
    the app still runs."""
    # "comma" replaces the space after a word; "scratch that" takes back a final.
    script = ("hello world", "comma", "second part", "scratch that", "last words é")
    with FakeBahasakita(Behaviour(final_every=3, partial_every=1, script=script)) as server:
        settings = Settings()
        for key, value in ((Key.PROVIDER, "bahasakita"), (Key.BAHASAKITA_URL, server.url),
                           (Key.LANGUAGE, "en"), (Key.TAKE_TIMESTAMPS, False),
                           (Key.OUTPUT_MODE, mode)):
            settings.set(key, value)
        secrets = SecretStore()
        secrets.set(BAHASAKITA_TOKEN, "fake-live-token")
        window = MainWindow()
        qtbot.addWidget(window)
        controller = DictationController(window, settings, secrets)
        desktop = build_desktop(window, controller, settings,
                                environ={"DISPLAY": xvfb.display})
        shown: list[str] = []

        async def scenario() -> None:
            controller.start()
            desktop.start()
            assert "into other apps works here" in desktop.output_note
            mic.write(bytes(16000 * 2 * 4))  # type: ignore[attr-defined]
            controller.start_take()
            await until(lambda: bool(server.sessions)
                        and len(server.sessions[-1].finals) >= len(script))
            controller.stop_take()
            await until(lambda: controller.phase is Phase.IDLE)
            shown.append(window.transcript.plain_text().strip())
            await asyncio.to_thread(target.wait_until, lambda text: text == shown[0])
            await asyncio.to_thread(then)

        try:
            run(loop, controller, scenario())
        finally:
            desktop.shutdown()
    return shown[0]


@pytest.mark.pulse
def test_in_type_mode_each_final_is_typed_into_the_focused_app_as_the_window_shows_it(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        xvfb: XvfbServer, focused_app: TypedTextWindow) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    shown = dictate_into(qtbot, loop, mic, xvfb, focused_app, "type")
    assert shown.startswith("Hello world, last words é")
    assert focused_app.text == shown


@pytest.mark.pulse
def test_in_paste_mode_each_final_is_pasted_and_the_clipboard_given_back(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        xvfb: XvfbServer) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    copied = ClipboardHolder(xvfb.display, "what the user copied")
    target = PasteTargetWindow(xvfb.display)
    clipboard: list[str | None] = []
    try:
        # Asked while the app runs: the clipboard it gave back lives in the app, as
        # every X clipboard lives in its owner.
        shown = dictate_into(qtbot, loop, mic, xvfb, target, "paste",
                             then=lambda: clipboard.append(clipboard_text(xvfb.display)))
        assert shown.startswith("Hello world, last words é")
        assert target.text == shown
        assert clipboard == ["what the user copied"]
    finally:
        target.close()
        copied.close()


def test_the_keys_work_while_another_app_has_the_focus(
        loop: asyncio.AbstractEventLoop, xvfb: XvfbServer, keys: KeySender,
        focused_app: TypedTextWindow) -> None:
    settings = Settings()
    settings.set(Key.TOGGLE_KEY, "Ctrl+Alt+D")
    calls: list[str] = []
    problems: list[str] = []
    desktop = desktop_for(settings, {"DISPLAY": xvfb.display}, calls, problems)

    async def scenario() -> None:
        desktop.start()
        assert desktop.grabbed == ["F9", "Ctrl+Alt+D"]
        assert desktop.key_note.startswith("F9 and Ctrl+Alt+D work in every app")
        keys.press("F9")
        keys.sync()
        await until(lambda: calls == ["hold"])
        keys.release("F9")
        keys.sync()
        await until(lambda: calls == ["hold", "release"])
        keys.tap("Control_L", "Alt_L", "d")
        await until(lambda: calls == ["hold", "release", "toggle"])
        # Turned off in Preferences: the keys are let go at once.
        settings.set(Key.SYSTEM_WIDE_KEYS, False)
        desktop.apply_settings()
        assert desktop.grabbed == []
        assert desktop.key_note == "The keys work while this window has the focus."

    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    finally:
        desktop.shutdown()
    assert problems == []
    # The grabbed keys never reached the app that had the focus.
    assert focused_app.text == ""


def test_a_key_another_app_holds_is_named_and_nothing_else_is_taken(
        loop: asyncio.AbstractEventLoop, xvfb: XvfbServer) -> None:
    other = X11Hotkey(KeySpec.parse("F9"), lambda: None, lambda: None, xvfb.display)
    other.start()
    settings = Settings()
    settings.set(Key.TOGGLE_KEY, "Ctrl+Alt+T")
    problems: list[str] = []
    desktop = desktop_for(settings, {"DISPLAY": xvfb.display}, [], problems)
    try:
        desktop.start()
        assert desktop.grabbed == ["Ctrl+Alt+T"]  # the other key is still ours
        assert "F9 is already taken by another application" in desktop.key_note
        assert problems == [f"System-wide key: {desktop.key_note}"]
    finally:
        desktop.shutdown()
        other.stop()


def failing_wtype(folder: Path) -> dict[str, str]:
    """A Wayland session whose only way to type is a `wtype` that fails."""
    program = folder / "wtype"
    program.write_text("#!/bin/sh\necho 'compositor does not support virtual keyboard' >&2\n"
                       "exit 1\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland",
            "PATH": str(folder), "HOME": os.environ.get("HOME", "/")}


def test_on_wayland_the_notes_say_what_to_bind_and_a_failed_typing_is_reported(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    settings = Settings()
    settings.set(Key.OUTPUT_MODE, "type")
    problems: list[str] = []
    desktop = desktop_for(settings, failing_wtype(tmp_path), [], problems)

    async def scenario() -> None:
        desktop.start()
        assert desktop.grabbed == []
        assert "dictation-app record start" in desktop.key_note
        assert "wtype" in desktop.output_note
        desktop.on_take_began()
        desktop.on_text_settled(Formatted("Hello."))
        await until(lambda: bool(problems))

    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    finally:
        desktop.shutdown()
    [problem] = problems
    assert problem.startswith("Could not put the text into the other app (")
    assert problem.endswith("it is in this window and in History.")


def wayland_with_bus(address: str) -> dict[str, str]:
    return {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland",
            "DBUS_SESSION_BUS_ADDRESS": address}


def test_on_wayland_the_portal_shortcuts_reach_the_take_and_are_closed_at_the_end(
        loop: asyncio.AbstractEventLoop, session_bus: SessionBus) -> None:
    settings = Settings()
    settings.set(Key.TOGGLE_KEY, "Ctrl+Alt+D")
    portal = FakeShortcutsPortal(session_bus.address, triggers={HOLD_ID: "F9",
                                                                TOGGLE_ID: "Ctrl+Alt+D"})
    calls: list[str] = []
    problems: list[str] = []
    desktop = desktop_for(settings, wayland_with_bus(session_bus.address), calls, problems)

    async def scenario() -> None:
        desktop.start()
        assert desktop.key_note.startswith("Asking the desktop for the shortcuts")
        await until(lambda: desktop.key_note.startswith("The desktop gave"))
        assert desktop.key_note == ("The desktop gave Dictation: F9 (hold), Ctrl+Alt+D "
                                    "(start/stop). Change them in the desktop's keyboard "
                                    "settings.")
        assert desktop.grabbed == ["F9", "Ctrl+Alt+D"]
        portal.activate(HOLD_ID)
        await until(lambda: calls == ["hold"])
        portal.deactivate(HOLD_ID)
        portal.activate(TOGGLE_ID)
        await until(lambda: calls == ["hold", "release", "toggle"])
        # Saving Preferences asks again: the first session is closed, a second opened.
        first = portal.session_handle
        desktop.apply_settings()
        await until(lambda: desktop.key_note.startswith("The desktop gave"))
        assert portal.closed_sessions == [first]

    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    finally:
        desktop.shutdown()
        portal.close()
    assert portal.closed_sessions[1:] == [portal.session_handle]
    assert problems == []


def test_on_wayland_a_session_the_desktop_ends_is_reported_with_what_to_bind(
        loop: asyncio.AbstractEventLoop, session_bus: SessionBus) -> None:
    portal = FakeShortcutsPortal(session_bus.address)
    problems: list[str] = []
    desktop = desktop_for(Settings(), wayland_with_bus(session_bus.address), [], problems)

    async def scenario() -> None:
        desktop.start()
        await until(lambda: desktop.grabbed == ["F9"])
        portal.end_session()
        await until(lambda: bool(problems))

    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    finally:
        desktop.shutdown()
        portal.close()
    assert problems == ["System-wide key: F9 no longer works as a desktop shortcut: the "
                        "desktop closed the shortcut session"]
    assert desktop.key_note.endswith("Instead, bind `dictation-app record start` (press) "
                                     "and `dictation-app record stop` (release) in your "
                                     "desktop's keyboard settings.")
    assert desktop.grabbed == []


def test_on_wayland_without_a_portal_the_note_says_what_to_bind(
        loop: asyncio.AbstractEventLoop, session_bus: SessionBus) -> None:
    problems: list[str] = []
    desktop = desktop_for(Settings(), wayland_with_bus(session_bus.address), [], problems)

    async def scenario() -> None:
        desktop.start()
        await until(lambda: not desktop.key_note.startswith("Asking"))

    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    finally:
        desktop.shutdown()
    assert desktop.key_note == (
        "F9 cannot be set up as a desktop shortcut: no desktop portal (xdg-desktop-portal) "
        "runs on the session bus. Instead, bind `dictation-app record start` (press) and "
        "`dictation-app record stop` (release) in your desktop's keyboard settings.")
    assert desktop.grabbed == []
    assert problems == []  # a desktop without the portal is no fault to report


def test_with_no_way_to_type_the_note_says_so_and_nothing_is_attempted(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    settings = Settings()
    settings.set(Key.OUTPUT_MODE, "type")
    problems: list[str] = []
    environ = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland",
               "PATH": str(tmp_path)}
    desktop = desktop_for(settings, environ, [], problems)
    try:
        desktop.start()
        assert desktop.output_note == (
            "Typing into other apps cannot work here: no way to type into other apps on "
            "this Wayland compositor: install wtype. The text stays in this window.")
        desktop.on_text_settled(Formatted("Hello."))
    finally:
        desktop.shutdown()
    assert problems == []


def test_the_overlay_is_on_in_type_mode_and_follows_a_change_in_preferences(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop) -> None:
    settings = Settings()
    settings.set(Key.OUTPUT_MODE, "window")
    window = MainWindow()
    qtbot.addWidget(window)
    controller = DictationController(window, settings, SecretStore())
    desktop = build_desktop(window, controller, settings, environ={})
    try:
        desktop.start()
        assert not window.overlay_enabled
        settings.set(Key.OUTPUT_MODE, "type")
        desktop.apply_settings()  # as saving Preferences does
        assert window.overlay_enabled
        settings.set(Key.OUTPUT_MODE, "window")
        desktop.apply_settings()
        assert not window.overlay_enabled
    finally:
        desktop.shutdown()
    # `--output type` at launch wins over the setting.
    launched = build_desktop(window, controller, settings, output="type", environ={})
    try:
        launched.start()
        assert window.overlay_enabled
    finally:
        launched.shutdown()
