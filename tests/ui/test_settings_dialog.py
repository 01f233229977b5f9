"""SettingsDialog: emits SettingsValues on OK, refuses URLs that are not ws:// or wss://."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from dictation_app.ui.settings_dialog import (
    CLOUD,
    GENERAL,
    SECTIONS,
    SHORTCUTS,
    SettingsDialog,
    SettingsValues,
    url_problem,
)

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
    widget.show_section(CLOUD)  # most of these tests are of the Bahasakita fields
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


# --- sign in with email and password -------------------------------------------


def _type_credentials(qtbot: QtBot, dialog: SettingsDialog) -> None:
    qtbot.keyClicks(dialog.email_edit, "  ayu@example.co.id ")
    qtbot.keyClicks(dialog.password_edit, "pa55word")


def test_sign_in_emits_the_credentials_once_and_clears_the_password(
        qtbot: QtBot, dialog: SettingsDialog) -> None:
    assert dialog.password_edit.echoMode() == QLineEdit.EchoMode.Password
    _type_credentials(qtbot, dialog)
    emitted: list[tuple[str, str]] = []
    dialog.sign_in_requested.connect(lambda email, password: emitted.append((email, password)))

    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)  # while waiting

    assert emitted == [("ayu@example.co.id", "pa55word")]
    assert dialog.password_edit.text() == ""
    assert not dialog.sign_in_button.isEnabled()
    assert dialog.sign_in_status.text() == "Signing in…"
    assert dialog.isVisible()


def test_enter_in_the_password_field_signs_in_without_closing(
        qtbot: QtBot, dialog: SettingsDialog) -> None:
    _type_credentials(qtbot, dialog)
    with qtbot.assertNotEmitted(dialog.settings_saved), \
            qtbot.waitSignal(dialog.sign_in_requested) as signed_in:
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    assert signed_in.args == ["ayu@example.co.id", "pa55word"]
    assert dialog.isVisible()


def test_sign_in_needs_both_fields(qtbot: QtBot, dialog: SettingsDialog) -> None:
    qtbot.keyClicks(dialog.email_edit, "ayu@example.co.id")
    with qtbot.assertNotEmitted(dialog.sign_in_requested):
        dialog.sign_in_button.click()
    assert "password" in dialog.sign_in_status.text()
    assert dialog.sign_in_button.isEnabled()


def test_a_failed_sign_in_shows_the_message_and_allows_another_try(
        qtbot: QtBot, dialog: SettingsDialog) -> None:
    _type_credentials(qtbot, dialog)
    dialog.sign_in_button.click()
    dialog.show_sign_in_result(False, "Bahasakita refused the email or password (HTTP 401)")
    assert dialog.sign_in_status.isVisible()
    assert "refused the email or password" in dialog.sign_in_status.text()
    assert dialog.sign_in_button.isEnabled() and dialog.password_edit.isEnabled()
    assert dialog.password_edit.text() == ""
    assert dialog.token_edit.text() == VALUES.bahasakita_token  # untouched


def test_a_successful_sign_in_fills_the_token_and_its_info(
        qtbot: QtBot, dialog: SettingsDialog) -> None:
    assert not dialog.token_info.isVisible()
    _type_credentials(qtbot, dialog)
    dialog.sign_in_button.click()
    dialog.set_token("issued-token")
    dialog.set_token_info("2026-11-25", "600")
    dialog.show_sign_in_result(True, "Signed in as ayu@example.co.id.")

    assert dialog.token_info.isVisible()
    assert dialog.token_info.text() == "Quota: 600 · Expires: 2026-11-25"
    assert dialog.sign_in_status.text() == "Signed in as ayu@example.co.id."
    with qtbot.waitSignal(dialog.settings_saved) as saved:
        dialog.accept()
    assert saved.args[0].bahasakita_token == "issued-token"


def test_token_info_shows_what_is_known(dialog: SettingsDialog) -> None:
    dialog.set_token_info("", "unlimited")
    assert dialog.token_info.text() == "Quota: unlimited"
    dialog.set_token_info("2026-11-25 23:59", "")
    assert dialog.token_info.text() == "Expires: 2026-11-25 23:59"
    dialog.set_token_info("", "")
    assert not dialog.token_info.isVisible()


def test_a_long_message_does_not_squash_the_fields(qtbot: QtBot, dialog: SettingsDialog) -> None:
    _type_credentials(qtbot, dialog)
    dialog.sign_in_button.click()
    dialog.show_sign_in_result(False, "Bahasakita refused the email or password (HTTP 401): "
                                      "Wrong email or password. Check them and try again.")
    qtbot.waitUntil(lambda: dialog.sign_in_status.isVisible())
    assert dialog.password_edit.height() >= dialog.password_edit.sizeHint().height()
    assert dialog.email_edit.height() >= dialog.email_edit.sizeHint().height()


def test_the_history_settings_are_edited(qtbot: QtBot, dialog: SettingsDialog) -> None:
    assert dialog.keep_recordings_check.isChecked() and dialog.recordings_days_spin.value() == 30
    dialog.recordings_days_spin.setValue(7)
    dialog.keep_recordings_check.setChecked(False)
    assert not dialog.recordings_days_spin.isEnabled()  # no recordings to keep for days
    with qtbot.waitSignal(dialog.settings_saved) as saved:
        dialog.accept()
    [values] = saved.args
    assert values.keep_recordings is False and values.recordings_days == 7


def test_the_text_settings_are_edited(qtbot: QtBot, dialog: SettingsDialog) -> None:
    assert dialog.spoken_commands_check.isChecked() and dialog.timestamps_check.isChecked()
    assert not dialog.mask_profanity_check.isChecked()
    dialog.spoken_commands_check.setChecked(False)
    dialog.mask_profanity_check.setChecked(True)
    dialog.timestamps_check.setChecked(False)
    dialog.replacements_edit.setPlainText("# mine\ndictation app => Dictation App\n\n")
    with qtbot.waitSignal(dialog.settings_saved) as saved:
        dialog.accept()
    [values] = saved.args
    assert (values.spoken_commands, values.mask_profanity, values.take_timestamps) == (
        False, True, False)
    assert values.word_replacements == "# mine\ndictation app => Dictation App\n"


def test_a_replacement_that_does_not_parse_is_named_and_not_saved(
        qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.show_section(GENERAL)
    emitted: list[object] = []
    dialog.settings_saved.connect(emitted.append)
    dialog.replacements_edit.setPlainText("good => Good\nno arrow here\n")
    assert dialog.replacements_error.isVisible()
    assert "line 2" in dialog.replacements_error.text()
    assert not dialog.ok_button.isEnabled()
    dialog.accept()
    assert emitted == [] and dialog.isVisible()
    dialog.replacements_edit.setPlainText("good => Good\nno arrow => here\n")
    assert not dialog.replacements_error.isVisible() and dialog.ok_button.isEnabled()


def test_replacements_are_imported_from_a_file(
        qtbot: QtBot, dialog: SettingsDialog, tmp_path: Path) -> None:
    dialog.replacements_edit.setPlainText("one => 1")
    csv_file = tmp_path / "words.csv"
    csv_file.write_text('jakarta,Jakarta\n"new york",New York\n', encoding="utf-8")
    assert dialog.import_replacements(csv_file)
    assert dialog.replacements_edit.toPlainText() == (
        "one => 1\njakarta => Jakarta\nnew york => New York\n")
    broken = tmp_path / "broken.txt"
    broken.write_text("fine => Fine\njust one column\n", encoding="utf-8")
    assert not dialog.import_replacements(broken)
    assert "broken.txt, line 2" in dialog.replacements_error.text()
    assert not dialog.import_replacements(tmp_path / "missing.txt")
    assert "missing.txt could not be read" in dialog.replacements_error.text()
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert not dialog.import_replacements(binary)
    assert "not UTF-8" in dialog.replacements_error.text()
    # What failed to import changed nothing.
    assert "fine" not in dialog.replacements_edit.toPlainText()


@pytest.mark.parametrize(("url", "problem"), [
    ("", None),  # the documented address
    ("https://api.dikte.in", None),
    ("http://127.0.0.1:8123", None),
    ("api.dikte.in", "must start with https://"),
    ("wss://api.dikte.in", "must start with https://"),
    ("https://", "no host name"),
    ("https://ayu:pw@api.dikte.in", "Remove the name and password"),
    ("https://api.dikte.in/?token=abc", "no ?query"),
    ("https://api.dikte.in:99999", "malformed"),
])
def test_the_account_address_is_checked_in_place(dialog: SettingsDialog, url: str,
                                                 problem: str | None) -> None:
    assert dialog.account_url_edit.placeholderText() == "https://api.dikte.in"
    dialog.account_url_edit.setText(url)
    assert dialog.account_url_error.isVisible() == (problem is not None)
    assert dialog.ok_button.isEnabled() == (problem is None)
    if problem is not None:
        assert problem in dialog.account_url_error.text()
        assert "pw" not in dialog.account_url_error.text()  # the typed URL is not repeated
    else:
        assert dialog.values().bahasakita_account_url == url


def test_preferences_have_a_section_per_concern_and_focus_opens_the_right_one(
        dialog: SettingsDialog) -> None:
    assert dialog.windowTitle() == "Preferences"
    titles = [dialog.sections.item(i).text() for i in range(dialog.sections.count())]
    assert titles == list(SECTIONS)
    dialog.show_section(GENERAL)
    dialog.focus_token()  # the window's "Add token…"
    assert dialog.section == CLOUD and dialog.token_edit.isVisible()
    dialog.show_section(GENERAL)
    dialog.focus_sign_in()  # the account tab's "Sign in…"
    assert dialog.section == CLOUD and dialog.email_edit.isVisible()
    dialog.sections.setCurrentRow(SECTIONS.index(GENERAL))  # the list drives the pages
    assert dialog.replacements_edit.isVisible() and not dialog.token_edit.isVisible()


def test_the_file_services_button_asks_for_their_dialog(qtbot: QtBot,
                                                        dialog: SettingsDialog) -> None:
    with qtbot.waitSignal(dialog.services_requested):
        dialog.services_button.click()


def test_the_keys_and_the_output_are_edited_and_what_works_here_is_said(
        qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.show_section(SHORTCUTS)
    dialog.set_desktop_notes("F9 works in every app (X11 key grab on :0).",
                             "Cannot type into other apps: install wtype.")
    assert dialog.key_note.isVisible() and "X11 key grab" in dialog.key_note.text()
    assert dialog.output_note.isVisible() and "install wtype" in dialog.output_note.text()
    dialog.toggle_edit.setKeySequence(QKeySequence("Ctrl+Alt+D"))
    dialog.system_wide_check.setChecked(False)
    dialog.output_combo.setCurrentIndex(dialog.output_combo.findData("type"))
    with qtbot.waitSignal(dialog.settings_saved) as saved:
        dialog.ok_button.click()
    values = saved.args[0]
    assert (values.toggle_key, values.system_wide_keys, values.output_mode) == (
        "Ctrl+Alt+D", False, "type")
    dialog.set_desktop_notes("", "")
    assert not dialog.key_note.isVisible() and not dialog.output_note.isVisible()


def test_the_live_engine_offers_its_own_languages(qtbot: QtBot) -> None:
    engines = (("pocketsphinx", "PocketSphinx (US English)", ("en",)),
               ("whisper", "Whisper", ("es", "en", "id")))
    dialog = SettingsDialog(SettingsValues(bahasakita_url="", bahasakita_token="",
                                           live_engines=engines, live_engine="whisper",
                                           live_language="es"))
    qtbot.addWidget(dialog)
    languages = dialog.live_language_combo

    def offered() -> list[str]:
        return [str(languages.itemData(i)) for i in range(languages.count())]

    assert offered() == ["en", "id", "es"]  # English first, then by name
    assert languages.currentData() == "es" and languages.currentText() == "Spanish (es)"
    dialog.live_engine_combo.setCurrentIndex(dialog.live_engine_combo.findData("pocketsphinx"))
    assert offered() == ["en"] and languages.currentData() == "en"
    dialog.live_engine_combo.setCurrentIndex(dialog.live_engine_combo.findData("whisper"))
    languages.setCurrentIndex(languages.findData("id"))
    values = dialog.values()
    assert (values.live_engine, values.live_language) == ("whisper", "id")
    assert values.live_engines == engines


def test_start_up_choices_are_in_general_and_saved(qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.show_section(GENERAL)
    assert dialog.start_at_login_check.isVisible() and dialog.close_combo.isVisible()
    assert dialog.start_at_login_check.text() == "Start Dictation when I log in"
    assert [dialog.close_combo.itemText(i) for i in range(dialog.close_combo.count())] == [
        "Ask", "Keep running in the tray", "Quit"]
    assert not dialog.start_at_login_check.isChecked() and dialog.close_combo.currentData() == ""
    dialog.start_at_login_check.setChecked(True)
    dialog.close_combo.setCurrentIndex(1)
    with qtbot.waitSignal(dialog.settings_saved) as saved:
        dialog.accept()
    (values,) = saved.args
    assert values.start_at_login and values.close_to_tray == "tray"


def test_without_a_tray_closing_cannot_be_chosen(qtbot: QtBot) -> None:
    widget = SettingsDialog(replace(VALUES, close_to_tray="quit", tray_available=False,
                                    start_at_login=True))
    qtbot.addWidget(widget)
    assert not widget.close_combo.isEnabled() and "no tray icons" in widget.close_combo.toolTip()
    assert widget.start_at_login_check.isChecked()
    assert widget.values().close_to_tray == "quit"  # kept for a desktop that has a tray
