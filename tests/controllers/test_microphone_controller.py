"""Microphones as the sound server names them, followed as they come and go: the real
window and controller, a private PulseAudio daemon whose FIFO-fed sources are plugged
in and unplugged with pactl, and a Bahasakita-protocol server on loopback for takes.

The Qt event loop is qasync's, driven explicitly (tests/support/qt_async.py): each
scenario waits on conditions, never sleeps.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.controllers.microphone_controller import NO_MICROPHONE
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.takes.journal import TakeJournal
from dictation_app.takes.model import TakeState
from dictation_app.takes.store import TakeStore
from dictation_app.ui.main_window import NO_MICROPHONE as NO_MICROPHONE_ENTRY
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.settings_dialog import MICROPHONE
from tests.servers.bahasakita_server import FakeBahasakita
from tests.support.pulse import PulseMic
from tests.support.qt_async import run, until

pytestmark = pytest.mark.pulse

DEFAULT = "Virtual Microphone (default)"


def build(qtbot: QtBot, server: FakeBahasakita, *, stored: str = "",
          journal: TakeJournal | None = None) -> tuple[MainWindow, DictationController]:
    settings = Settings()
    settings.set(Key.PROVIDER, "bahasakita")
    settings.set(Key.BAHASAKITA_URL, server.url)
    settings.set(Key.INPUT_DEVICE, stored)
    secrets = SecretStore()
    secrets.set(BAHASAKITA_TOKEN, "fake-live-token")
    window = MainWindow()
    qtbot.addWidget(window)
    return window, DictationController(window, settings, secrets, journal=journal)


def entries(window: MainWindow) -> list[str]:
    combo = window.device_combo
    return [combo.itemText(i) for i in range(combo.count())]


def tone(seconds: float, rate: int = 16_000) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2").tobytes()


def test_a_microphone_plugged_in_is_listed_without_refresh(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)
        refreshes: list[bool] = []
        window.devices_refresh_requested.connect(lambda: refreshes.append(True))

        async def scenario() -> None:
            controller.start()
            assert entries(window) == [DEFAULT]  # not "pulse" and "default" for one device
            first = controller.microphone
            assert first is not None and first.device_name == "Virtual Microphone"
            mic.add_source("usbmic", "USB Microphone")
            # The watch's own timer (every 2.5 s) notices; nobody presses Refresh.
            await until(lambda: len(entries(window)) == 2, timeout=10)
            assert entries(window) == [DEFAULT, "USB Microphone"]
            assert window.device_combo.currentText() == DEFAULT
            assert controller.microphone is first  # the default stays open, untouched

        run(loop, controller, scenario())
    assert refreshes == []


def test_the_choice_is_remembered_by_id_and_records_that_microphone(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    usb = mic.add_source("usbmic", "USB Microphone")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server, stored="usbmic")
        levels: list[float] = []

        async def scenario() -> None:
            controller.start()
            assert window.device_combo.currentText() == "USB Microphone"
            original = window.set_level
            window.set_level = (  # type: ignore[method-assign]
                lambda peak, rms: (levels.append(peak), original(peak, rms)))
            usb.write(tone(1.0))  # the default plays silence meanwhile
            await until(lambda: bool(levels) and max(levels) > 0.4)

            combo = window.device_combo
            combo.setCurrentIndex(0)
            combo.activated.emit(0)  # the person picks the default: it is followed
            assert controller.settings.get_str(Key.INPUT_DEVICE) == ""
            assert controller.microphone is not None
            assert controller.microphone.device_name == "Virtual Microphone"
            combo.setCurrentIndex(1)
            combo.activated.emit(1)
            assert controller.settings.get_str(Key.INPUT_DEVICE) == "usbmic"

        run(loop, controller, scenario())


def test_a_name_an_older_version_stored_is_taken_once_and_stored_as_the_id(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    mic.add_source("usbmic", "USB Microphone")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server, stored="USB Microphone")

        async def scenario() -> None:
            controller.start()
            assert window.device_combo.currentText() == "USB Microphone"
            assert controller.settings.get_str(Key.INPUT_DEVICE) == "usbmic"

        run(loop, controller, scenario())


def test_the_pinned_microphone_unplugged_and_back_is_followed_while_idle(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    usb = mic.add_source("usbmic", "USB Microphone")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server, stored="usbmic")

        async def scenario() -> None:
            controller.start()
            assert controller.microphone is not None
            mic.remove_source(usb)
            controller.microphones.watch.poll()  # not waiting for the timer's turn
            await until(lambda: entries(window) == [DEFAULT])
            assert controller.microphone is not None
            assert controller.microphone.device_name == "Virtual Microphone"
            # still pinned: when it is back, it is used again
            assert controller.settings.get_str(Key.INPUT_DEVICE) == "usbmic"
            mic.add_source("usbmic", "USB Microphone")
            controller.microphones.watch.poll()
            await until(lambda: window.device_combo.currentText() == "USB Microphone")
            assert controller.microphone is not None
            assert controller.microphone.device_name == "USB Microphone"

        run(loop, controller, scenario())


def test_the_microphone_unplugged_mid_take_ends_the_take_says_so_and_keeps_its_audio(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    usb = mic.add_source("usbmic", "USB Microphone")
    with FakeBahasakita() as server, TakeStore() as store:
        window, controller = build(qtbot, server, stored="usbmic",
                                   journal=TakeJournal(store))

        async def scenario() -> None:
            controller.start()
            usb.write(tone(3.0))
            controller.start_take()
            await until(lambda: bool(server.sessions)
                        and len(server.sessions[0].chunk_sizes) >= 10)
            mic.remove_source(usb)
            controller.microphones.watch.poll()
            await until(lambda: controller.phase is Phase.IDLE)
            assert window.status_kind == "error"
            assert "“USB Microphone”" in window.status_text
            # PulseAudio moves a stream whose source goes to another source, so it is
            # the watch, not the stream, that notices.
            assert "“USB Microphone” was disconnected, so recording stopped" \
                in window.status_text
            assert "recorded until then is kept" in window.status_text
            assert entries(window) == [DEFAULT]
            assert controller.microphone is not None  # the default is open for the next

        run(loop, controller, scenario())
        (take,) = store.list()
    (session,) = server.sessions
    assert session.stopped  # the audio sent before the unplug was settled, not dropped
    assert take.state is TakeState.ENDED and take.recording is not None
    with wave.open(str(take.recording)) as recording:
        assert recording.getnframes() >= 10 * 1600  # the ten chunks the server had


def test_without_a_sound_server_it_says_so_and_a_server_starting_is_picked_up(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, no_sound_server: list[str],
        pulse_mic: Callable[..., PulseMic]) -> None:
    if no_sound_server:
        pytest.skip(f"this machine has input devices of its own: {no_sound_server}")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            assert entries(window) == [NO_MICROPHONE_ENTRY]
            assert window.status_text == NO_MICROPHONE
            assert "sound server (PulseAudio/PipeWire)" in NO_MICROPHONE
            pulse_mic()  # the sound server starts, with its microphone
            controller.microphones.watch.poll()
            await until(lambda: entries(window) == [DEFAULT])
            assert controller.microphone is not None
            assert window.status_text.startswith("Ready: Bahasakita (cloud).")

        run(loop, controller, scenario())


def test_following_the_default_a_new_default_is_shown_and_opened(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    usb = mic.add_source("usbmic", "USB Microphone")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)
        levels: list[float] = []

        async def scenario() -> None:
            controller.start()
            assert window.device_combo.currentText() == DEFAULT
            mic.set_default_source("usbmic")  # as a desktop does for a headset plugged in
            controller.microphones.watch.poll()
            await until(lambda: window.device_combo.currentText() == "USB Microphone (default)")
            assert entries(window) == ["Virtual Microphone", "USB Microphone (default)"]
            assert controller.settings.get_str(Key.INPUT_DEVICE) == ""  # still following
            original = window.set_level
            window.set_level = (  # type: ignore[method-assign]
                lambda peak, rms: (levels.append(peak), original(peak, rms)))
            usb.write(tone(1.0))
            await until(lambda: bool(levels) and max(levels) > 0.4)

        run(loop, controller, scenario())


def test_preferences_choose_the_microphone_as_the_picker_does(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    mic.add_source("usbmic", "USB Microphone")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            window.settings_requested.emit()
            dialog = window.settings_dialog
            assert dialog is not None
            dialog.show_section(MICROPHONE)
            combo = dialog.microphone_combo
            assert [combo.itemText(i) for i in range(combo.count())] == [
                DEFAULT, "USB Microphone"]
            assert combo.currentText() == DEFAULT  # following the default
            combo.setCurrentIndex(combo.findData("usbmic"))
            dialog.accept()
            await until(lambda: controller.microphone is not None
                        and controller.microphone.device_name == "USB Microphone")
            assert window.device_combo.currentText() == "USB Microphone"
            assert controller.settings.get_str(Key.INPUT_DEVICE) == "usbmic"

        run(loop, controller, scenario())
