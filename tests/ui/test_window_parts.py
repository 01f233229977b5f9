"""The main window's parts alone: the control bar, the transcript pane and the
push-to-talk key, each without a window around it (the window's own tests in
test_main_window.py check them wired together)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QMainWindow, QStatusBar
from pytestqt.qtbot import QtBot

from dictation_app.audio.devices import InputDevice
from dictation_app.ui.control_bar import NO_MICROPHONE, ControlBar
from dictation_app.ui.help_dialog import HOW_TO_TAB, SHORTCUTS_TAB
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.push_to_talk import PushToTalkKey
from dictation_app.ui.status_line import StatusLine
from dictation_app.ui.transcript_pane import UNDO_CLEAR_OFFER_MS, TranscriptPane
from dictation_app.ui.window_actions import WindowActions

MIC = InputDevice(index=3, name="USB Headset", source="alsa_input.usb-Headset-00.mono")


def key(kind: QEvent.Type, code: Qt.Key, *, repeat: bool = False,
        modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> QKeyEvent:
    return QKeyEvent(kind, code, modifiers, "", repeat)


# ------------------------------------------------------------------ control bar


def test_the_record_button_asks_to_record_then_to_stop(qtbot: QtBot) -> None:
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.set_recording(False)

    with qtbot.waitSignal(bar.record_requested):
        bar.record_button.click()
    bar.set_recording(True)
    with qtbot.waitSignal(bar.stop_requested):
        bar.toggle_recording()

    assert bar.record_button.text() == "Stop"
    assert not bar.device_combo.isEnabled()  # no choosing while recording


def test_while_busy_the_bar_asks_for_nothing(qtbot: QtBot) -> None:
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.set_busy(True)

    with qtbot.assertNotEmitted(bar.record_requested):
        bar.toggle_recording()

    assert not bar.record_button.isEnabled()


def test_without_microphones_the_picker_says_so_and_is_off(qtbot: QtBot) -> None:
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.set_devices([], None)
    assert bar.device_combo.currentText() == NO_MICROPHONE
    assert not bar.device_combo.isEnabled()

    bar.set_devices([MIC], None)
    assert bar.device_combo.currentData() == "alsa_input.usb-Headset-00.mono"
    assert bar.device_combo.isEnabled()


# ------------------------------------------------------------------ transcript pane


def test_a_cleared_transcript_comes_back_and_the_pane_says_so(qtbot: QtBot) -> None:
    pane = TranscriptPane()
    qtbot.addWidget(pane)
    messages: list[tuple[str, int]] = []
    offers: list[bool] = []
    pane.message_posted.connect(lambda text, ms: messages.append((text, ms)))
    pane.undo_clear_available.connect(offers.append)
    pane.transcript.add_final("Keep this.")

    pane.clear_transcript()
    assert pane.transcript.plain_text() == ""
    assert pane.clear_button.text() == "Undo clear"
    pane.clear_button.click()  # while offered, Clear undoes

    assert pane.transcript.plain_text() == "Keep this."
    assert offers == [True, False]
    assert messages[0][1] == UNDO_CLEAR_OFFER_MS
    assert messages[-1][0] == "Transcript restored"
    assert pane.clear_button.text() == "Clear"


def test_copying_nothing_says_so(qtbot: QtBot) -> None:
    pane = TranscriptPane()
    qtbot.addWidget(pane)
    with qtbot.waitSignal(pane.message_posted) as posted:
        pane.copy_all()
    assert posted.args is not None and posted.args[0] == "Nothing to copy yet"
    assert not pane.copy_button.isEnabled()


# ------------------------------------------------------------------ push-to-talk key


def test_the_key_goes_down_once_however_long_it_is_held(qtbot: QtBot) -> None:
    ptt = PushToTalkKey()
    events: list[str] = []
    ptt.pressed.connect(lambda: events.append("pressed"))
    ptt.released.connect(lambda: events.append("released"))
    assert ptt.set_key("F9") == "F9"

    assert ptt.handle(key(QEvent.Type.KeyPress, Qt.Key.Key_F9))
    assert ptt.handle(key(QEvent.Type.KeyPress, Qt.Key.Key_F9, repeat=True))
    assert ptt.handle(key(QEvent.Type.KeyRelease, Qt.Key.Key_F9, repeat=True))
    assert ptt.handle(key(QEvent.Type.KeyRelease, Qt.Key.Key_F9))
    # The release counts once the auto-repeat interval passes with no press.
    qtbot.waitUntil(lambda: events == ["pressed", "released"])
    assert not ptt.handle(key(QEvent.Type.KeyRelease, Qt.Key.Key_F9))  # already up

    assert events == ["pressed", "released"]


def test_other_keys_and_other_modifiers_are_not_the_key() -> None:
    ptt = PushToTalkKey()
    ptt.set_key("Ctrl+Space")
    assert not ptt.handle(key(QEvent.Type.KeyPress, Qt.Key.Key_Space))
    assert not ptt.handle(key(QEvent.Type.KeyPress, Qt.Key.Key_F9,
                              modifiers=Qt.KeyboardModifier.ControlModifier))
    override = key(QEvent.Type.ShortcutOverride, Qt.Key.Key_Space,
                   modifiers=Qt.KeyboardModifier.ControlModifier)
    override.ignore()
    assert ptt.handle(override)
    assert override.isAccepted()  # no shortcut may take the key


def test_setting_a_new_key_lets_go_of_the_old_one(qtbot: QtBot) -> None:
    ptt = PushToTalkKey()
    ptt.set_key("F9")
    ptt.handle(key(QEvent.Type.KeyPress, Qt.Key.Key_F9))

    with qtbot.waitSignal(ptt.released):
        assert ptt.set_key("") == ""
    assert ptt.is_off


# ------------------------------------------------------------------ status line and menus


def test_the_status_line_refuses_a_kind_it_has_no_colour_for(qtbot: QtBot) -> None:
    bar = QStatusBar()
    qtbot.addWidget(bar)
    line = StatusLine(bar)
    line.set_status("error", "It broke.")
    assert line.kind == "error"
    assert line.status_label.toolTip() == "It broke."

    with pytest.raises(ValueError, match="unknown status kind 'purple'"):
        line.set_status("purple", "?")
    assert line.kind == "error"


def test_the_menus_hold_every_action_once(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    actions = WindowActions(window)
    actions.fill_menu_bar(window.menuBar())

    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&Help"]
    assert not actions.undo_clear.isEnabled()
    menus = {a.text(): [b.text() for b in a.menu().actions() if b.text()]
             for a in window.menuBar().actions()}
    # Preferences where Linux and Windows apps keep them; the role moves it on macOS.
    assert menus["&Edit"][-1] == "Preferences…"
    assert actions.settings.menuRole() is QAction.MenuRole.PreferencesRole
    assert menus["&Help"] == ["How to dictate", "Keyboard shortcuts", "Open log folder",
                              "About Dictation"]
    every = [text for entries in menus.values() for text in entries]
    assert len(every) == len(set(every))


def test_help_lists_every_action_with_a_key_and_the_push_to_talk_key(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_push_to_talk_key("F8")
    dialog = window.show_help(SHORTCUTS_TAB)
    assert dialog.tabs.currentIndex() == SHORTCUTS_TAB
    rows = dict(dialog.rows())
    assert rows["F8"] == "Hold to dictate (push-to-talk)"
    assert rows["Ctrl+R"] == "Start recording"
    assert rows["Ctrl+,"] == "Preferences"
    assert "Files list: remove the selected finished jobs" in rows.values()
    assert "F8" in dialog.how_to.toPlainText()  # the page names the key in use
    # Asking again raises the same dialog at the other tab.
    assert window.show_help(HOW_TO_TAB) is dialog
    assert dialog.tabs.currentIndex() == HOW_TO_TAB


def test_without_push_to_talk_the_help_does_not_name_a_key(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_push_to_talk_key("")
    dialog = window.show_help()
    assert "Hold to dictate (push-to-talk)" not in dict(dialog.rows()).values()
    assert "To dictate, press Record (Ctrl+R)" in dialog.how_to.toPlainText()
