"""MainWindow: intents out, updates in, and the window-only actions (copy, clear, PTT)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from dictation_app import __version__
from dictation_app.app import about_engines
from dictation_app.audio.devices import InputDevice
from dictation_app.core.key_hold import REPEAT_INTERVAL_MS
from dictation_app.ui.about_dialog import AboutDialog
from dictation_app.ui.main_window import NO_MICROPHONE, MainWindow
from dictation_app.ui.settings_dialog import SettingsValues
from dictation_app.ui.transcript_view import TranscriptView
from dictation_app.ui.tray_icon import TrayIcon
from tests.ui.test_about_dialog import EXPECTED_LICENCES

DEVICES = [
    InputDevice(index=7, name="Built-in Microphone", is_default=True,
                source="alsa_input.pci-0000_00_1f.3.analog-stereo"),
    InputDevice(index=7, name="USB Headset", source="alsa_input.usb-Headset-00.mono"),
]
PROVIDERS = [("local", "Local (offline)"), ("bahasakita", "Bahasakita (cloud)")]


def send_key(
    widget: QWidget,
    kind: QEvent.Type,
    key: Qt.Key,
    *,
    repeat: bool = False,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
    text: str = "",
) -> None:
    QApplication.sendEvent(widget, QKeyEvent(kind, key, modifiers, text, repeat))


# ------------------------------------------------------------------ transcript and copy


def test_results_are_delegated_to_the_transcript(window: MainWindow) -> None:
    assert isinstance(window.transcript, TranscriptView)
    window.add_final("Hello there.")
    window.show_partial("general")

    assert window.transcript.toPlainText() == "Hello there. general"
    assert window.transcript.plain_text() == "Hello there."


def test_copy_all_puts_the_settled_text_on_the_clipboard(qtbot: QtBot, window: MainWindow) -> None:
    window.add_final("First utterance.")
    window.add_final("Second one.")
    window.show_partial("not yet")

    qtbot.mouseClick(window.copy_button, Qt.MouseButton.LeftButton)

    assert QGuiApplication.clipboard().text() == "First utterance. Second one."
    assert window.statusBar().currentMessage().startswith("Copied")


def test_copy_all_shortcut_works_from_the_editor(qtbot: QtBot, window: MainWindow) -> None:
    QGuiApplication.clipboard().clear()
    window.add_final("Shortcut text.")
    window.transcript.setFocus()
    qtbot.waitUntil(window.transcript.hasFocus)

    qtbot.keyClick(
        window.transcript,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )

    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "Shortcut text.")
    assert window.transcript.toPlainText() == "Shortcut text."


def test_copy_with_nothing_settled_says_so(window: MainWindow) -> None:
    QGuiApplication.clipboard().setText("untouched")
    window.show_partial("only a guess")
    window.copy_all()

    assert QGuiApplication.clipboard().text() == "untouched"
    assert window.statusBar().currentMessage() == "Nothing to copy yet"


def test_clear_can_be_undone(qtbot: QtBot, window: MainWindow) -> None:
    window.add_final("Precious words.")
    qtbot.mouseClick(window.clear_button, Qt.MouseButton.LeftButton)

    assert window.transcript.toPlainText() == ""
    assert window.clear_button.text() == "Undo clear"
    assert window.undo_clear_action.isEnabled()

    qtbot.mouseClick(window.clear_button, Qt.MouseButton.LeftButton)
    assert window.transcript.toPlainText() == "Precious words."
    assert window.clear_button.text() == "Clear"
    assert not window.undo_clear_action.isEnabled()


def test_copy_and_clear_are_disabled_while_empty(window: MainWindow) -> None:
    assert not window.copy_button.isEnabled()
    assert not window.clear_button.isEnabled()
    window.add_final("Text.")
    assert window.copy_button.isEnabled()
    assert window.clear_button.isEnabled()


# ------------------------------------------------------------------ push-to-talk


def test_push_to_talk_emits_once_per_press_and_release(qtbot: QtBot, window: MainWindow) -> None:
    pressed: list[str] = []
    released: list[str] = []
    window.push_to_talk_pressed.connect(lambda: pressed.append("p"))
    window.push_to_talk_released.connect(lambda: released.append("r"))
    editor = window.transcript
    editor.setFocus()

    send_key(editor, QEvent.Type.KeyPress, Qt.Key.Key_F9)
    for _ in range(5):  # held down: the system repeats the key
        send_key(editor, QEvent.Type.KeyRelease, Qt.Key.Key_F9, repeat=True)
        send_key(editor, QEvent.Type.KeyPress, Qt.Key.Key_F9, repeat=True)
    assert pressed == ["p"]
    assert released == []

    send_key(editor, QEvent.Type.KeyRelease, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: released == ["r"])
    assert pressed == ["p"]


def test_unflagged_auto_repeat_pairs_keep_one_take(qtbot: QtBot, window: MainWindow) -> None:
    """X11 repeats a held key as release/press pairs that Qt may not flag as repeats."""
    pressed: list[float] = []
    released: list[float] = []
    window.push_to_talk_pressed.connect(lambda: pressed.append(time.monotonic()))
    window.push_to_talk_released.connect(lambda: released.append(time.monotonic()))
    editor = window.transcript
    editor.setFocus()

    send_key(editor, QEvent.Type.KeyPress, Qt.Key.Key_F9)
    for _ in range(8):  # a held key at 30 Hz, over a quarter of a second
        send_key(editor, QEvent.Type.KeyRelease, Qt.Key.Key_F9)
        send_key(editor, QEvent.Type.KeyPress, Qt.Key.Key_F9)
        qtbot.wait(33)  # the repeat period: the loop runs, the release timers with it
    assert len(pressed) == 1
    assert released == []

    let_go = time.monotonic()
    send_key(editor, QEvent.Type.KeyRelease, Qt.Key.Key_F9)
    assert released == []  # held back for the repeat interval
    with qtbot.waitSignal(window.push_to_talk_released, timeout=1000):
        pass
    assert released[0] - let_go >= REPEAT_INTERVAL_MS / 1000 * 0.9
    assert len(pressed) == 1


def test_push_to_talk_key_does_not_type_into_the_editor(qtbot: QtBot, window: MainWindow) -> None:
    window.set_push_to_talk_key("Space")
    editor = window.transcript
    editor.setFocus()

    with qtbot.waitSignal(window.push_to_talk_pressed):
        send_key(editor, QEvent.Type.KeyPress, Qt.Key.Key_Space, text=" ")
    send_key(editor, QEvent.Type.KeyPress, Qt.Key.Key_Space, text=" ", repeat=True)
    with qtbot.waitSignal(window.push_to_talk_released):
        send_key(editor, QEvent.Type.KeyRelease, Qt.Key.Key_Space, text=" ")

    assert editor.toPlainText() == ""
    qtbot.keyClicks(editor, "ok")
    assert editor.toPlainText() == "ok"


def test_push_to_talk_with_a_modifier(qtbot: QtBot, window: MainWindow) -> None:
    window.set_push_to_talk_key("Ctrl+Space")
    button = window.record_button

    with qtbot.assertNotEmitted(window.push_to_talk_pressed):
        send_key(button, QEvent.Type.KeyPress, Qt.Key.Key_Space)
        send_key(button, QEvent.Type.KeyRelease, Qt.Key.Key_Space)
    with qtbot.waitSignal(window.push_to_talk_pressed):
        send_key(
            button,
            QEvent.Type.KeyPress,
            Qt.Key.Key_Space,
            modifiers=Qt.KeyboardModifier.ControlModifier,
        )
    with qtbot.waitSignal(window.push_to_talk_released):  # Ctrl may be up already
        send_key(button, QEvent.Type.KeyRelease, Qt.Key.Key_Space)


def test_push_to_talk_is_released_when_the_window_loses_focus(
    qtbot: QtBot, window: MainWindow
) -> None:
    send_key(window.transcript, QEvent.Type.KeyPress, Qt.Key.Key_F9)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitSignal(window.push_to_talk_released):
        other.activateWindow()


def test_push_to_talk_off_and_other_windows_ignored(qtbot: QtBot, window: MainWindow) -> None:
    other = QWidget()
    qtbot.addWidget(other)
    with qtbot.assertNotEmitted(window.push_to_talk_pressed):
        send_key(other, QEvent.Type.KeyPress, Qt.Key.Key_F9)
        window.set_push_to_talk_key("")
        send_key(window.transcript, QEvent.Type.KeyPress, Qt.Key.Key_F9)
    assert window.push_to_talk_label.text() == ""


# ------------------------------------------------------------------ devices and providers


def test_no_devices_shows_a_disabled_message_and_emits_nothing(
    qtbot: QtBot, window: MainWindow
) -> None:
    with qtbot.assertNotEmitted(window.device_selected):
        window.set_devices([], None)

    combo = window.device_combo
    assert combo.count() == 1
    assert combo.currentText() == NO_MICROPHONE
    assert not combo.isEnabled()
    assert not combo.model().item(0).isEnabled()  # type: ignore[attr-defined]
    assert window.refresh_button.isEnabled()


def test_devices_are_listed_once_each_and_the_choice_is_emitted_by_id(
    qtbot: QtBot, window: MainWindow
) -> None:
    with qtbot.assertNotEmitted(window.device_selected):
        window.set_devices(DEVICES, "alsa_input.usb-Headset-00.mono")

    combo = window.device_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Built-in Microphone (default)",
        "USB Headset",
    ]
    assert combo.currentText() == "USB Headset"
    assert combo.isEnabled()

    with qtbot.waitSignal(window.device_selected) as chosen:
        combo.setCurrentIndex(0)
        combo.activated.emit(0)
    assert chosen.args == ["alsa_input.pci-0000_00_1f.3.analog-stereo"]
    with qtbot.assertNotEmitted(window.device_selected):
        combo.activated.emit(0)  # picking the same device again is no change


def test_refresh_button_asks_for_devices(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.devices_refresh_requested):
        qtbot.mouseClick(window.refresh_button, Qt.MouseButton.LeftButton)


def test_no_or_an_unknown_selection_shows_the_default_device(window: MainWindow) -> None:
    window.set_devices(DEVICES, "alsa_input.unplugged")
    assert window.device_combo.currentText() == "Built-in Microphone (default)"
    window.set_devices(list(reversed(DEVICES)), None)
    assert window.device_combo.currentText() == "Built-in Microphone (default)"


def test_providers_are_listed_and_the_choice_is_emitted(qtbot: QtBot, window: MainWindow) -> None:
    window.set_providers(PROVIDERS, "bahasakita")
    combo = window.provider_combo
    assert combo.currentText() == "Bahasakita (cloud)"
    assert combo.isEnabled()

    with qtbot.waitSignal(window.provider_selected) as chosen:
        combo.setCurrentIndex(0)
        combo.activated.emit(0)
    assert chosen.args == ["local"]


# ------------------------------------------------------------------ recording


def test_record_button_asks_to_record_then_to_stop(qtbot: QtBot, window: MainWindow) -> None:
    button = window.record_button
    assert button.text() == "Record"
    with qtbot.waitSignal(window.record_requested), qtbot.assertNotEmitted(window.stop_requested):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert button.text() == "Record"  # only the controller says recording has started

    window.set_providers(PROVIDERS, "local")
    window.set_devices(DEVICES, None)
    window.set_recording(True)
    assert button.text() == "Stop"
    assert not window.provider_combo.isEnabled()
    assert not window.device_combo.isEnabled()
    window.set_devices(DEVICES, None)  # a refresh while recording keeps them locked
    assert not window.device_combo.isEnabled()
    with qtbot.waitSignal(window.stop_requested), qtbot.assertNotEmitted(window.record_requested):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    window.set_recording(False)
    assert button.text() == "Record"
    assert window.provider_combo.isEnabled()
    assert window.device_combo.isEnabled()


def test_record_shortcut(qtbot: QtBot, window: MainWindow) -> None:
    window.transcript.setFocus()
    with qtbot.waitSignal(window.record_requested):
        qtbot.keyClick(window.transcript, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    window.set_recording(True)
    with qtbot.waitSignal(window.stop_requested):
        qtbot.keyClick(window.transcript, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)


def test_busy_disables_record(qtbot: QtBot, window: MainWindow) -> None:
    window.set_busy(True)
    assert not window.record_button.isEnabled()
    assert not window.record_action.isEnabled()
    with qtbot.assertNotEmitted(window.record_requested):
        qtbot.mouseClick(window.record_button, Qt.MouseButton.LeftButton)
    window.set_busy(False)
    assert window.record_button.isEnabled()


def test_level_goes_to_the_meter(window: MainWindow) -> None:
    window.set_level(1.0, 0.1)
    assert window.level_meter.bar_db == pytest.approx(-20.0)


# ------------------------------------------------------------------ status


@pytest.mark.parametrize("kind", ["idle", "starting", "connecting", "streaming", "stopped"])
def test_status_kinds(window: MainWindow, kind: str) -> None:
    window.set_status(kind, f"Now {kind}")
    assert window.status_label.text() == f"Now {kind}"
    assert window.status_kind == kind


def test_error_status_shows_the_full_selectable_message(window: MainWindow) -> None:
    message = (
        "Could not connect to Bahasakita (wss://api.bahasakita.co.id/v1/prod/stream): "
        "the server refused the token (HTTP 401). Check the token in Preferences. " * 3
    )
    window.set_status("error", message)

    assert window.status_label.text() == message
    assert window.status_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert window.status_kind == "error"


def test_unknown_status_kind_is_refused(window: MainWindow) -> None:
    with pytest.raises(ValueError, match="unknown status kind"):
        window.set_status("exploded", "?")


# ------------------------------------------------------------------ settings, panel, closing


def test_settings_menu_asks_for_settings(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.settings_requested):
        window.settings_action.trigger()


def test_show_settings_opens_the_dialog_and_forwards_the_result(
    qtbot: QtBot, window: MainWindow
) -> None:
    values = SettingsValues("wss://example.test/stream", "tok", "v2", "id", "F8")
    window.show_settings(values)
    dialog = window.settings_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.values() == values
    window.show_settings(values)  # a second request reuses the open dialog
    assert window.settings_dialog is dialog

    with qtbot.waitSignal(window.settings_saved) as saved:
        dialog.accept()
    assert saved.args == [values]
    assert window.settings_dialog is None


def test_side_panel_has_a_files_tab(window: MainWindow) -> None:
    assert window.side_panel.count() == 1
    assert window.side_panel.tabText(0) == "Files"


def test_push_to_talk_hint(window: MainWindow) -> None:
    window.set_push_to_talk_key("F8")
    assert window.push_to_talk_label.text() == "Hold F8 to talk"


def test_closing_is_announced(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.closing):
        window.close()


def test_quit_action_closes(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.closing):
        window.quit_action.trigger()


# ------------------------------------------------------------------ welcome and about


def test_welcome_is_hidden_until_asked_for(window: MainWindow) -> None:
    assert not window.welcome_banner.isVisible()
    window.show_welcome(True)
    assert window.welcome_banner.isVisible()
    window.show_welcome(False)
    assert not window.welcome_banner.isVisible()


def test_welcome_sits_above_the_transcript(window: MainWindow) -> None:
    window.show_welcome(True)
    banner = window.welcome_banner
    banner_bottom = banner.mapTo(window, banner.rect().bottomLeft()).y()
    transcript_top = window.transcript.mapTo(window, window.transcript.rect().topLeft()).y()
    assert banner_bottom < transcript_top


def test_got_it_hides_the_welcome_and_reports_it_once(qtbot: QtBot, window: MainWindow) -> None:
    window.show_welcome(True)
    dismissed: list[bool] = []
    window.welcome_dismissed.connect(lambda: dismissed.append(True))

    with qtbot.waitSignal(window.welcome_dismissed):
        qtbot.mouseClick(window.welcome_banner.got_it_button, Qt.MouseButton.LeftButton)

    assert dismissed == [True]
    assert not window.welcome_banner.isVisible()


def test_dictating_works_with_the_welcome_showing(qtbot: QtBot, window: MainWindow) -> None:
    window.show_welcome(True)
    with qtbot.waitSignal(window.record_requested):
        qtbot.mouseClick(window.record_button, Qt.MouseButton.LeftButton)


def help_menu_about_action(window: MainWindow) -> QAction:
    (help_menu,) = (a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert isinstance(help_menu, QMenu)
    (action,) = (a for a in help_menu.actions() if a.text() == "About Dictation")
    return action


def test_about_opens_from_the_help_menu_without_blocking_the_window(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.set_about_engines(about_engines())  # as the composition root does
    help_menu_about_action(window).trigger()
    dialog = window.about_dialog
    assert isinstance(dialog, AboutDialog)
    qtbot.waitExposed(dialog)

    assert not dialog.isModal()
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    assert dialog.version_label.text() == f"Version {__version__}"
    text = dialog.credits_text()
    # The list is generated from what the app runs on, the engines' credits with it.
    for name, licence in [*EXPECTED_LICENCES[1:3], ("FFmpeg", "LGPL-2.1-or-later"),
                          ("libsndfile", "LGPL-2.1-or-later"), ("httpx", "BSD-3-Clause"),
                          ("qasync", "BSD-2-Clause"), ("websockets", "BSD-3-Clause")]:
        (row,) = (row for row in dialog.credits if row.name == name)
        assert row.licence == licence
        assert name in text
        assert licence in text


def test_about_is_opened_once_and_forgotten_when_closed(qtbot: QtBot, window: MainWindow) -> None:
    window.about_action.trigger()
    dialog = window.about_dialog
    assert dialog is not None
    window.about_action.trigger()
    assert window.about_dialog is dialog

    with qtbot.waitSignal(dialog.finished):
        dialog.reject()
    assert window.about_dialog is None


def test_the_start_and_stop_key_works_beside_ctrl_r(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_toggle_key("F8")
    assert [k.toString() for k in window.record_action.shortcuts()] == ["Ctrl+R", "F8"]
    window.set_toggle_key("")
    assert [k.toString() for k in window.record_action.shortcuts()] == ["Ctrl+R"]


# ------------------------------------------------------------------ tray


@pytest.fixture
def tray(qtbot: QtBot) -> Iterator[TrayIcon]:
    # Offscreen has no system tray: the window is handed an icon as if there were one.
    icon = TrayIcon()
    yield icon
    icon.menu.deleteLater()
    icon.deleteLater()


def closings(window: MainWindow) -> list[bool]:
    seen: list[bool] = []
    window.closing.connect(lambda: seen.append(True))
    return seen


def answer_close_question(qtbot: QtBot, window: MainWindow, button: str, *,
                          remember: bool = True) -> None:
    qtbot.waitUntil(lambda: window.close_question is not None
                    and window.close_question.isVisible())
    box = window.close_question
    assert box is not None
    assert box.text() == "Keep Dictation running in the tray?"
    check = box.checkBox()
    assert check is not None and check.text() == "Don't ask again" and check.isChecked()
    check.setChecked(remember)
    clicked = box.findChild(QPushButton, button) if button else box.button(
        QMessageBox.StandardButton.Cancel)
    assert clicked is not None
    clicked.click()
    qtbot.waitUntil(lambda: window.close_question is None)


def test_the_tray_follows_the_status_recording_and_busy(window: MainWindow,
                                                        tray: TrayIcon) -> None:
    window.set_status("connecting", "Reconnecting (attempt 2)…")
    window.set_tray(tray)  # takes the state the window shows now
    assert tray.look == "connecting" and "Reconnecting (attempt 2)" in tray.toolTip()
    window.set_recording(True)
    window.set_status("streaming", "Listening…")
    assert tray.look == "listening" and tray.record_action.text() == "Stop dictating"
    window.set_busy(True)
    assert not tray.record_action.isEnabled()
    window.set_busy(False)
    window.set_status("error", "The microphone went away.")
    assert tray.look == "error" and tray.toolTip().endswith("The microphone went away.")
    window.set_recording(False)
    assert tray.record_action.text() == "Start dictating"
    assert window.status_kind == "error"  # the window's own line is as before


def test_closing_asks_once_and_keep_running_hides_the_window(
        qtbot: QtBot, window: MainWindow, tray: TrayIcon) -> None:
    window.set_tray(tray)
    closed = closings(window)
    with qtbot.waitSignal(window.close_policy_chosen) as chosen:
        window.close()
        assert window.isVisible()  # while the question is up
        answer_close_question(qtbot, window, "keepRunningButton")
    assert chosen.args == ["tray"] and window.close_policy == "tray"
    qtbot.waitUntil(lambda: not window.isVisible())
    assert closed == []  # the app runs on: nothing shuts down
    # Shown again from the tray and closed again: hidden at once, no question.
    window.show_from_tray()
    qtbot.waitExposed(window)
    window.close()
    assert window.close_question is None and not window.isVisible() and closed == []
    # Quit (the tray's or Ctrl+Q) really quits, even from the tray.
    with qtbot.waitSignal(window.closing):
        window.quit_action.trigger()


def test_answering_quit_quits_and_is_remembered(
        qtbot: QtBot, window: MainWindow, tray: TrayIcon) -> None:
    window.set_tray(tray)
    chosen: list[str] = []
    window.close_policy_chosen.connect(chosen.append)
    with qtbot.waitSignal(window.closing):
        window.close()
        answer_close_question(qtbot, window, "quitButton")
    assert chosen == ["quit"] and window.close_policy == "quit"


def test_without_dont_ask_again_the_question_comes_back(
        qtbot: QtBot, window: MainWindow, tray: TrayIcon) -> None:
    window.set_tray(tray)
    chosen: list[str] = []
    window.close_policy_chosen.connect(chosen.append)
    window.close()
    answer_close_question(qtbot, window, "keepRunningButton", remember=False)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert chosen == [] and window.close_policy == ""
    window.show_from_tray()
    qtbot.waitExposed(window)
    closed = closings(window)
    window.close()
    answer_close_question(qtbot, window, "")  # Cancel: nothing happens
    assert window.isVisible() and closed == [] and chosen == []


def test_a_remembered_quit_and_no_tray_close_as_before(
        qtbot: QtBot, window: MainWindow, tray: TrayIcon) -> None:
    window.set_tray(tray)
    window.set_close_policy("quit")
    with qtbot.waitSignal(window.closing):
        window.close()
    assert window.close_question is None


def test_without_a_tray_closing_never_asks(qtbot: QtBot, window: MainWindow) -> None:
    window.set_close_policy("tray")  # a setting from a desktop that had a tray
    with qtbot.waitSignal(window.closing):
        window.close()
    assert window.close_question is None


def test_a_take_in_progress_keeps_running_when_the_window_goes_to_the_tray(
        qtbot: QtBot, window: MainWindow, tray: TrayIcon) -> None:
    window.set_tray(tray)
    window.set_close_policy("tray")
    window.set_recording(True)
    deferred: list[bool] = []
    window.close_deferred.connect(lambda: deferred.append(True))
    window.close()
    assert not window.isVisible() and deferred == []  # the take is not stopped
    # Quit from the tray mid-take: the take is finished first, as when closing today.
    closed = closings(window)
    window.quit()
    assert deferred == [True] and closed == []
    with qtbot.waitSignal(window.closing):
        window.set_recording(False)  # the take has ended
    assert not window.finishing_skipped


def test_the_file_services_button_in_preferences_opens_their_dialog_from_the_window(
        qtbot: QtBot, window: MainWindow) -> None:
    window.show_settings(SettingsValues(bahasakita_url="wss://x/stream", bahasakita_token=""))
    dialog = window.settings_dialog
    assert dialog is not None
    with qtbot.waitSignal(window.services_requested):
        dialog.services_button.click()
