"""SettingsDialog: emits SettingsValues on OK, refuses URLs that are not ws:// or wss://."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from dictation_app.ui.settings_dialog import SettingsDialog, SettingsValues, url_problem

VALUES = SettingsValues(
    bahasakita_url="wss://api.bahasakita.co.id/v1/prod/stream",
    bahasakita_token="s3cret-token",
    protocol_version="v1",
    language="id",
    push_to_talk_key="F9",
)


@pytest.fixture
def dialog(qtbot: QtBot) -> SettingsDialog:
    widget = SettingsDialog(VALUES)
    qtbot.addWidget(widget)
    widget.open()
    qtbot.waitExposed(widget)
    return widget


def test_ok_emits_the_edited_values(qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.url_edit.setText("ws://127.0.0.1:8765/v2/prod/stream2")
    dialog.token_edit.setText("  other-token ")
    dialog.protocol_combo.setCurrentIndex(dialog.protocol_combo.findData("v2"))
    dialog.language_edit.setText("en")
    dialog.push_to_talk_edit.setKeySequence(QKeySequence("Ctrl+Space"))

    with qtbot.waitSignal(dialog.settings_saved) as saved:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert saved.args == [
        SettingsValues(
            bahasakita_url="ws://127.0.0.1:8765/v2/prod/stream2",
            bahasakita_token="other-token",
            protocol_version="v2",
            language="en",
            push_to_talk_key="Ctrl+Space",
        )
    ]
    assert not dialog.isVisible()


def test_unchanged_values_round_trip(qtbot: QtBot, dialog: SettingsDialog) -> None:
    with qtbot.waitSignal(dialog.settings_saved) as saved:
        dialog.accept()
    assert saved.args == [VALUES]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.bahasakita.co.id/v1/prod/stream",
        "api.bahasakita.co.id",
        "",
        "wss://",
        "ws://host:99999/x",
    ],
)
def test_a_url_that_is_not_websocket_is_refused_inline(
    qtbot: QtBot, dialog: SettingsDialog, url: str
) -> None:
    dialog.url_edit.setText(url)

    assert not dialog.ok_button.isEnabled()
    assert dialog.url_error.isVisible()
    assert dialog.url_error.text()
    with qtbot.assertNotEmitted(dialog.settings_saved):
        dialog.accept()
    assert dialog.isVisible()

    dialog.url_edit.setText("wss://api.bahasakita.co.id/v1/prod/stream")
    assert dialog.ok_button.isEnabled()
    assert not dialog.url_error.isVisible()


def test_a_token_in_the_url_is_refused() -> None:
    problem = url_problem("wss://api.bahasakita.co.id/v1/prod/stream?token=abc")
    assert problem is not None and "Token field" in problem


def test_token_is_hidden_until_shown(dialog: SettingsDialog) -> None:
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password

    dialog.token_toggle.click()
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Normal
    dialog.token_toggle.click()
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password


def test_token_never_appears_in_repr() -> None:
    assert "s3cret-token" not in repr(VALUES)
    assert "s3cret-token" not in str(VALUES)


def test_language_applies_to_version_2_only(dialog: SettingsDialog) -> None:
    assert not dialog.language_edit.isEnabled()
    dialog.protocol_combo.setCurrentIndex(dialog.protocol_combo.findData("v2"))
    assert dialog.language_edit.isEnabled()


def test_push_to_talk_can_be_turned_off(qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.push_to_talk_edit.clear()
    with qtbot.waitSignal(dialog.settings_saved) as saved:
        dialog.accept()
    assert saved.args[0].push_to_talk_key == ""


def test_cancel_emits_nothing(qtbot: QtBot, dialog: SettingsDialog) -> None:
    with qtbot.assertNotEmitted(dialog.settings_saved):
        dialog.reject()
    assert not dialog.isVisible()
