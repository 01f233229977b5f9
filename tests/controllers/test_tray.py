"""The tray as app.py wires it (`build_tray`): the real window, dictation controller and
desktop controller; offscreen has no system tray, so the tests say there is one.
Preferences' start-up section, through the dictation controller, writes the autostart
entry and the close setting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from dictation_app.app import build_desktop, build_tray
from dictation_app.controllers.desktop_controller import DesktopController
from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.core.autostart import Autostart
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.tray_icon import TrayIcon
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_async import run, until

TOKEN = "fake-tray-token"


class Parts:
    def __init__(self, qtbot: QtBot, settings: Settings) -> None:
        secrets = SecretStore()
        secrets.set(BAHASAKITA_TOKEN, TOKEN)
        self.settings = settings
        self.window = MainWindow()
        qtbot.addWidget(self.window)
        self.controller = DictationController(self.window, settings, secrets)
        # No display: no keys grabbed, nothing typed; the output mode is still chosen.
        self.desktop: DesktopController = build_desktop(self.window, self.controller,
                                                        settings, environ={})
        self.tray = build_tray(self.window, self.controller, settings, self.desktop,
                               available=True)


@pytest.fixture
def parts(qtbot: QtBot, memory_keyring: MemoryKeyring) -> Iterator[Parts]:
    built = Parts(qtbot, Settings())
    yield built
    built.desktop.shutdown()
    if built.tray is not None:
        built.tray.hide()
        built.tray.menu.deleteLater()
        built.tray.deleteLater()


def test_without_a_tray_there_is_no_icon_and_closing_quits(
        qtbot: QtBot, memory_keyring: MemoryKeyring) -> None:
    settings = Settings()
    settings.set(Key.CLOSE_TO_TRAY, "tray")
    window = MainWindow()
    qtbot.addWidget(window)
    controller = DictationController(window, settings, SecretStore())
    desktop = build_desktop(window, controller, settings, environ={})
    try:
        assert build_tray(window, controller, settings, desktop, available=False) is None
        assert window.tray is None
        window.show()
        with qtbot.waitSignal(window.closing):
            window.close()
    finally:
        desktop.shutdown()


def test_the_output_mode_chosen_in_the_tray_is_saved_and_applied(parts: Parts) -> None:
    tray = parts.tray
    assert isinstance(tray, TrayIcon) and parts.window.tray is tray
    assert tray.output_mode == "window" and not parts.window.overlay_enabled
    tray.output_actions["type"].trigger()
    assert parts.settings.get_str(Key.OUTPUT_MODE) == "type"
    assert Settings().get_str(Key.OUTPUT_MODE) == "type"  # on disk
    assert parts.desktop.output_mode == "type"
    assert parts.window.overlay_enabled  # as Preferences would have it
    assert tray.output_mode == "type"


def test_the_answer_to_the_close_question_is_a_setting(qtbot: QtBot, parts: Parts) -> None:
    window = parts.window
    window.show()
    qtbot.waitExposed(window)
    window.close()
    qtbot.waitUntil(lambda: window.close_question is not None)
    assert window.close_question is not None
    button = window.close_question.findChild(QPushButton, "keepRunningButton")
    assert button is not None
    button.click()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert Settings().get_str(Key.CLOSE_TO_TRAY) == "tray"
    # The next run starts with it: closing hides at once.
    again = Parts(qtbot, Settings())
    try:
        assert again.window.close_policy == "tray"
        again.window.show()
        qtbot.waitExposed(again.window)
        again.window.close()
        assert again.window.close_question is None and not again.window.isVisible()
    finally:
        again.desktop.shutdown()
        assert again.tray is not None
        again.tray.hide()
    # Show window from the tray brings it back.
    assert parts.tray is not None
    parts.tray.show_action.trigger()
    qtbot.waitExposed(window)


def test_preferences_turn_start_at_login_on_and_off_and_set_closing(
        qtbot: QtBot, parts: Parts) -> None:
    autostart = Autostart()  # this user's (a temporary XDG_CONFIG_HOME: conftest)
    assert autostart.path is not None and not autostart.is_enabled()
    parts.window.settings_requested.emit()
    dialog = parts.window.settings_dialog
    assert dialog is not None
    assert not dialog.start_at_login_check.isChecked()
    assert dialog.close_combo.currentData() == "" and dialog.close_combo.isEnabled()
    dialog.start_at_login_check.setChecked(True)
    dialog.close_combo.setCurrentIndex(dialog.close_combo.findData("quit"))
    with qtbot.waitSignal(parts.window.settings_saved):
        dialog.accept()
    assert autostart.is_enabled()
    assert autostart.command[-2:] == ["-m", "dictation_app"]
    assert parts.settings.get_str(Key.CLOSE_TO_TRAY) == "quit"
    assert parts.window.close_policy == "quit"

    qtbot.waitUntil(lambda: parts.window.settings_dialog is None)
    parts.window.settings_requested.emit()
    dialog = parts.window.settings_dialog
    assert dialog is not None and dialog.start_at_login_check.isChecked()
    assert dialog.close_combo.currentData() == "quit"
    dialog.start_at_login_check.setChecked(False)
    with qtbot.waitSignal(parts.window.settings_saved):
        dialog.accept()
    assert not autostart.is_enabled() and not autostart.path.exists()


def test_an_autostart_entry_that_cannot_be_written_is_said(
        qtbot: QtBot, parts: Parts) -> None:
    autostart = Autostart()
    assert autostart.path is not None
    autostart.path.parent.parent.mkdir(parents=True, exist_ok=True)
    autostart.path.parent.write_text("a file where the folder should be")
    parts.window.settings_requested.emit()
    dialog = parts.window.settings_dialog
    assert dialog is not None
    dialog.start_at_login_check.setChecked(True)
    with qtbot.waitSignal(parts.window.settings_saved):
        dialog.accept()
    assert parts.window.status_kind == "error"
    assert "Could not set Dictation to start at login" in parts.window.status_text


@pytest.mark.pulse
def test_a_take_runs_on_in_the_tray_and_quit_from_the_tray_finishes_it(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring,
        pulse_mic: Callable[..., object]) -> None:
    # As the app runs it (app.py): closing the window must not stop the event loop.
    QApplication.instance().setQuitOnLastWindowClosed(False)  # type: ignore[union-attr]
    mic = pulse_mic(rate=16000, channels=1)
    with FakeBahasakita(Behaviour(final_every=10)) as server:
        settings = Settings()
        settings.set(Key.PROVIDER, "bahasakita")
        settings.set(Key.BAHASAKITA_URL, server.url)
        settings.set(Key.CLOSE_TO_TRAY, "tray")
        built = Parts(qtbot, settings)
        window, controller, tray = built.window, built.controller, built.tray
        assert tray is not None
        closing: list[bool] = []
        window.closing.connect(lambda: closing.append(True))

        async def scenario() -> None:
            controller.start()
            window.show()
            mic.write(bytes(16000 * 2 * 6))  # type: ignore[attr-defined]
            tray.record_action.trigger()  # Start dictating, from the tray
            await until(lambda: bool(server.sessions)
                        and len(server.sessions[0].chunk_sizes) >= 5)
            assert tray.look == "listening" and tray.record_action.text() == "Stop dictating"
            window.close()
            assert not window.isVisible() and controller.phase is not Phase.IDLE
            sent = len(server.sessions[0].chunk_sizes)
            # Hidden, it goes on hearing and sending.
            await until(lambda: len(server.sessions[0].chunk_sizes) >= sent + 5)
            assert closing == []
            tray.quit_action.trigger()
            await until(lambda: closing == [True])

        try:
            run(loop, controller, scenario())
        finally:
            built.desktop.shutdown()
            tray.hide()
    assert not window.finishing_skipped
    (session,) = server.sessions
    assert session.stopped  # the take was finished: audioStop sent and answered
    assert session.finals[-1] in window.transcript.plain_text()
