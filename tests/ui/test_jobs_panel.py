"""The Files tab: updates in, intents out (its list: test_job_list.py; drops: test_file_drops.py).

Jobs are fed through the panel's update methods as the controller would; intents are
watched through the signals.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QMenu, QToolButton
from pytestqt.qtbot import QtBot

from dictation_app.core.errors import ConfigurationError
from dictation_app.engine.registry import default_engine
from dictation_app.jobs.model import JobOptions, JobState
from dictation_app.services import registry
from dictation_app.services.descriptors.bahasakita_upload import BahasakitaUploadOptions
from dictation_app.services.descriptors.botlhale import BotlhaleOptions
from dictation_app.services.descriptors.local import LocalOptions
from dictation_app.ui.jobs_panel import JobsPanel
from dictation_app.ui.main_window import MainWindow
from tests.support.jobs import job
from tests.support.signals import recorder


def button_for(panel: JobsPanel, text: str) -> QToolButton:
    buttons = [b for b in panel.findChildren(QToolButton) if b.defaultAction() is not None
               and b.defaultAction().text() == text]
    assert len(buttons) == 1, text
    return buttons[0]


def select(panel: JobsPanel, *job_ids: int) -> None:
    selection = panel.list_view.selectionModel()
    selection.clearSelection()
    for job_id in job_ids:
        row = panel.model.row_of(job_id)
        assert row is not None
        selection.select(panel.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select)


# --- actions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "enabled"), [
    (JobState.QUEUED, {"Cancel"}),
    (JobState.UPLOADING, {"Cancel"}),
    (JobState.PROCESSING, {"Cancel"}),
    (JobState.COMPLETED, {"Open", "Copy text", "Export…", "Remove"}),
    (JobState.FAILED, {"Retry", "Remove"}),
    (JobState.CANCELLED, {"Retry", "Remove"}),
])
def test_buttons_follow_the_selected_jobs_state(panel: JobsPanel, state: JobState,
                                                enabled: set[str]) -> None:
    panel.set_jobs([job(1, state), job(2)])
    names = {"Open", "Copy text", "Export…", "Retry", "Cancel", "Remove"}
    assert {n for n in names if button_for(panel, n).isEnabled()} == set()  # nothing selected
    assert panel.select_job(1)
    assert {n for n in names if button_for(panel, n).isEnabled()} == enabled


@pytest.mark.parametrize(("state", "button", "signal"), [
    (JobState.PROCESSING, "Cancel", "cancel_requested"),
    (JobState.COMPLETED, "Open", "open_requested"),
    (JobState.COMPLETED, "Copy text", "copy_requested"),
    (JobState.COMPLETED, "Export…", "export_requested"),
    (JobState.FAILED, "Retry", "retry_requested"),
    (JobState.CANCELLED, "Remove", "remove_requested"),
])
def test_buttons_emit_the_selected_job_id(qtbot: QtBot, panel: JobsPanel, state: JobState,
                                          button: str, signal: str) -> None:
    panel.set_jobs([job(1), job(7, state), job(3, JobState.COMPLETED)])
    panel.select_job(7)
    with qtbot.waitSignal(getattr(panel, signal)) as blocker:
        qtbot.mouseClick(button_for(panel, button), Qt.MouseButton.LeftButton)
    assert blocker.args == [7]


def test_actions_on_a_mixed_selection_apply_where_they_can(panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.FAILED), job(2, JobState.PROCESSING),
                    job(3, JobState.CANCELLED), job(4, JobState.COMPLETED)])
    select(panel, 1, 2, 3, 4)
    retried, cancelled = recorder(panel.retry_requested), recorder(panel.cancel_requested)
    removed = recorder(panel.remove_requested)

    assert not button_for(panel, "Open").isEnabled()  # one result at a time
    panel.retry_action.trigger()
    panel.cancel_action.trigger()
    panel.remove_action.trigger()

    assert retried == [3, 1] and cancelled == [2] and removed == [4, 3, 1]


def test_a_selected_job_that_finishes_changes_the_buttons(panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.PROCESSING, progress=0.9)])
    panel.select_job(1)
    assert panel.cancel_action.isEnabled() and not panel.open_action.isEnabled()
    panel.update_job(job(1, JobState.COMPLETED, text="Done."))
    assert not panel.cancel_action.isEnabled() and panel.open_action.isEnabled()


def test_keyboard_opens_copies_exports_cancels_and_removes(qtbot: QtBot,
                                                           panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.COMPLETED, text="Hello."), job(2, JobState.FAILED),
                    job(3, JobState.PROCESSING)])
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    panel.list_view.setFocus()
    qtbot.waitUntil(panel.list_view.hasFocus)
    opened, copied = recorder(panel.open_requested), recorder(panel.copy_requested)
    removed = recorder(panel.remove_requested)
    exported, cancelled = recorder(panel.export_requested), recorder(panel.cancel_requested)

    panel.select_job(2)
    qtbot.keyClick(panel.list_view, Qt.Key.Key_Return)  # a failed job has nothing to open
    panel.select_job(3)
    qtbot.keyClick(panel.list_view, Qt.Key.Key_Escape)
    panel.select_job(1)
    qtbot.keyClick(panel.list_view, Qt.Key.Key_Escape)  # a finished job is not cancelled
    qtbot.keyClick(panel.list_view, Qt.Key.Key_Return)
    qtbot.keyClick(panel.list_view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.list_view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.list_view, Qt.Key.Key_Delete)

    assert opened == [1] and copied == [1] and removed == [1]
    assert exported == [1] and cancelled == [3]


def test_double_click_opens_a_completed_job(qtbot: QtBot, panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.COMPLETED, text="Hello.")])
    panel.show()
    qtbot.waitExposed(panel)
    centre = panel.list_view.visualRect(panel.model.index(0, 0)).center()
    opened = recorder(panel.open_requested)
    # A double click starts with a click (QTest's alone lacks the first press).
    qtbot.mouseClick(panel.list_view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert opened == []
    qtbot.mouseDClick(panel.list_view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert opened == [1]


def test_the_context_menu_holds_every_action(qtbot: QtBot, panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.FAILED)])
    panel.show()
    qtbot.waitExposed(panel)
    panel.select_job(1)
    panel.list_view.customContextMenuRequested.emit(QPoint(10, 10))  # right click, Menu key

    menu = panel.findChild(QMenu)
    assert menu is not None
    qtbot.waitUntil(menu.isVisible)
    texts = {a.text(): a.isEnabled() for a in menu.actions()
             if not a.isSeparator() and a.isVisible()}
    # "High priority" shows only for Bahasakita uploads.
    assert texts == {"Open": False, "Copy text": False, "Export…": False, "Retry": True,
                     "Cancel": False, "Remove": True}
    menu.close()


def test_a_queued_bahasakita_upload_can_be_moved_to_high_priority(qtbot: QtBot,
                                                                  panel: JobsPanel) -> None:
    waiting = replace(job(1, JobState.PROCESSING), provider="bahasakita",
                      remote={"uuid": "9b2f7d6e-0c1a-4e5b-8f3d-2a1c0b9e8d7f"})
    done = replace(job(2, JobState.COMPLETED), provider="bahasakita",
                   remote={"uuid": "1c4e8a2b-3d5f-4a6b-9c7d-8e0f1a2b3c4d"})
    panel.set_jobs([waiting, done])
    panel.select_job(2)
    assert panel.priority_action.isVisible() and not panel.priority_action.isEnabled()
    panel.select_job(1)
    assert panel.priority_action.isEnabled()
    with qtbot.waitSignal(panel.priority_requested) as signal:
        panel.priority_action.trigger()
    assert signal.args == [1, "high"]


# --- options ---------------------------------------------------------------------------


def test_service_specific_controls_show_only_for_their_service(panel: JobsPanel) -> None:
    mode_combo = panel.option_controls[("botlhale", "mode")]
    priority_combo = panel.option_controls[("bahasakita", "priority")]
    subtitle_box = panel.option_controls[("bahasakita", "subtitle")]
    changes = recorder(panel.provider_changed)
    panel.set_provider("local")
    assert mode_combo.isHidden() and priority_combo.isHidden()
    assert changes == []  # set_provider is an update, not a choice

    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("botlhale"))
    assert not mode_combo.isHidden() and priority_combo.isHidden()
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("bahasakita"))
    assert mode_combo.isHidden() and not priority_combo.isHidden()
    assert not subtitle_box.isHidden()
    panel.set_provider("nevisa")
    assert subtitle_box.isHidden()
    panel.set_provider("bahasakita")

    assert changes == ["botlhale", "bahasakita"] and panel.provider() == "bahasakita"
    with pytest.raises(ValueError, match="unknown provider"):
        panel.set_provider("whisper")


def test_the_vendor_controls_come_from_the_option_declarations(panel: JobsPanel) -> None:
    shown = {(d.id, spec.name) for d in registry.DESCRIPTORS for spec in d.options
             if spec.in_panel}
    assert set(panel.option_controls) == shown
    mode_combo = panel.option_controls[("botlhale", "mode")]
    assert isinstance(mode_combo, QComboBox)
    assert [mode_combo.itemText(i) for i in range(mode_combo.count())] == [
        "Automatic", "Direct (up to 60 s)", "Queued (long files)"]
    subtitle_box = panel.option_controls[("bahasakita", "subtitle")]
    assert isinstance(subtitle_box, QCheckBox)
    assert subtitle_box.text() == "Subtitles from the service"


def test_botlhale_offers_redaction_as_a_check_box(panel: JobsPanel) -> None:
    redact_box = panel.option_controls[("botlhale", "redact")]
    assert isinstance(redact_box, QCheckBox)
    assert redact_box.text() == "Mask names and places"
    assert "60 s" in redact_box.toolTip() or "a minute" in redact_box.toolTip()
    panel.set_provider("local")
    assert redact_box.isHidden()
    panel.set_provider("botlhale")
    assert not redact_box.isHidden()
    redact_box.setChecked(True)
    assert panel.options().vendor == BotlhaleOptions(redact=True)
    panel.set_options(JobOptions(vendor=BotlhaleOptions(redact=False)))
    assert not redact_box.isChecked()


def test_options_reflect_the_controls(panel: JobsPanel) -> None:
    mode_combo = panel.option_controls[("botlhale", "mode")]
    priority_combo = panel.option_controls[("bahasakita", "priority")]
    subtitle_box = panel.option_controls[("bahasakita", "subtitle")]
    assert isinstance(mode_combo, QComboBox) and isinstance(priority_combo, QComboBox)
    assert isinstance(subtitle_box, QCheckBox)
    panel.set_provider("local")
    local = LocalOptions(engine=default_engine().name)
    assert panel.options() == JobOptions(vendor=local)
    panel.language_combo.setCurrentIndex(panel.language_combo.findData("af"))
    panel.speakers_box.setChecked(True)
    mode_combo.setCurrentIndex(mode_combo.findData("async"))
    priority_combo.setCurrentIndex(priority_combo.findData("high"))
    subtitle_box.setChecked(True)

    # The offline engine cannot tell speakers apart: it is not asked to.
    assert panel.options() == JobOptions(language="af", diarization=False, vendor=local)
    panel.set_provider("botlhale")
    assert panel.options() == JobOptions(language="af", diarization=True,
                                         vendor=BotlhaleOptions(mode="async"))
    panel.set_provider("bahasakita")
    assert panel.options() == JobOptions(
        language="af", diarization=True,
        vendor=BahasakitaUploadOptions(priority="high", subtitle=True))


def test_set_options_round_trips_and_keeps_fields_without_controls(panel: JobsPanel) -> None:
    panel.set_provider("botlhale")
    chosen = JobOptions(language="pt-BR", diarization=True,
                        vendor=BotlhaleOptions(mode="sync", api_version=1))
    panel.set_options(chosen)
    assert panel.language_combo.currentText() == "pt-BR"
    assert panel.options() == chosen
    panel.set_options(replace(chosen, language="zu"))
    assert panel.language_combo.currentText() == "isiZulu (zu)"
    assert panel.options().language == "zu"
    bahasakita = BahasakitaUploadOptions(priority="high", subtitle=True)
    panel.set_options(JobOptions(vendor=bahasakita))  # goes to its vendor, not the current
    assert panel.options().vendor == BotlhaleOptions(mode="sync", api_version=1)
    assert panel.option_values()["bahasakita"] == bahasakita.to_dict()


def test_a_typed_language_is_checked(qtbot: QtBot, panel: JobsPanel) -> None:
    panel.set_provider("botlhale")  # takes any code: typing is possible
    assert panel.language_combo.isEditable()
    panel.language_combo.setEditText("")
    qtbot.keyClicks(panel.language_combo, "en-za")
    assert panel.options().language == "en-ZA"

    panel.language_combo.setEditText("english please")
    with pytest.raises(ConfigurationError, match="not a language code"):
        panel.options()
    assert "not a language code" in panel.language_combo.toolTip()
    panel.language_combo.setEditText("Automatic")
    assert panel.options().language is None
    assert "not a language code" not in panel.language_combo.toolTip()


def items(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_language_list_offers_what_the_service_and_engine_take(panel: JobsPanel) -> None:
    combo = panel.language_combo
    engine = panel.option_controls[("local", "engine")]
    assert isinstance(engine, QComboBox)
    panel.set_provider("local")
    engine.setCurrentIndex(engine.findData("whisper"))
    assert items(combo)[0] == "Automatic" and len(items(combo)) == 1 + 99
    assert "German (de)" in items(combo) and not combo.isEditable()  # a closed list
    engine.setCurrentIndex(engine.findData("pocketsphinx"))
    assert items(combo) == ["English (en)"]  # English only, and no detection
    panel.set_provider("nevisa")
    assert items(combo) == ["Persian (fa)"] and panel.options().language == "fa"
    panel.set_provider("botlhale")
    assert items(combo)[:3] == ["Automatic", "English (en)", "Afrikaans (af)"]
    assert "Sepedi (nso)" in items(combo) and combo.isEditable()  # any code can be typed
    assert panel.language_support().who == "Botlhale"


def test_a_language_the_new_choice_does_not_take_gives_way_to_its_default_saying_so(
        panel: JobsPanel) -> None:
    combo = panel.language_combo
    engine = panel.option_controls[("local", "engine")]
    assert isinstance(engine, QComboBox)
    panel.set_provider("botlhale")
    combo.setEditText("pt-BR")
    panel.set_provider("local")
    engine.setCurrentIndex(engine.findData("whisper"))
    assert combo.currentText() == "Portuguese (pt)"  # Whisper knows Portuguese: kept
    assert panel.message_label.isHidden()

    engine.setCurrentIndex(engine.findData("pocketsphinx"))
    assert panel.options().language == "en"
    assert not panel.message_label.isHidden()
    assert panel.message_label.text() == (
        "Offline engine PocketSphinx (US English) does not know Portuguese (pt): the "
        "language is now English (en).")

    panel.set_provider("botlhale")
    combo.setCurrentIndex(0)  # Automatic
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("nevisa"))
    assert panel.options().language == "fa"
    assert panel.message_label.text() == (
        "Nevisa cannot detect the language: the language is now Persian (fa).")


def test_a_remembered_language_the_service_does_not_take_is_replaced_saying_so(
        panel: JobsPanel) -> None:
    panel.set_provider("local")
    panel.set_options(JobOptions(language="nso", vendor=LocalOptions(engine="whisper")))
    assert panel.options().language is None  # Whisper detects; it has no Sepedi
    assert "does not know Sepedi (nso): the language is now Automatic" in (
        panel.message_label.text())
    panel.show_message("")
    panel.set_options(JobOptions(language="en-GB", vendor=LocalOptions(engine="pocketsphinx")))
    assert panel.language_combo.currentText() == "English (en)"  # its primary subtag
    assert panel.message_label.isHidden()


def test_add_files_button_asks_for_files(qtbot: QtBot, panel: JobsPanel) -> None:
    with qtbot.waitSignal(panel.open_files_requested):
        qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)


def test_show_message(panel: JobsPanel) -> None:
    panel.show_message("2 files were not audio and were skipped")
    assert panel.message_label.text() == "2 files were not audio and were skipped"
    assert not panel.message_label.isHidden()
    panel.show_message("Botlhale refused the token", error=True)
    assert "#fce8e6" in panel.message_label.styleSheet()
    panel.show_message("")
    assert panel.message_label.isHidden()


# --- the main window ---------------------------------------------------------------------


def test_the_files_tab_is_the_jobs_panel(qtbot: QtBot) -> None:
    panel = JobsPanel()
    window = MainWindow(jobs_panel=panel)
    qtbot.addWidget(window)
    assert window.jobs_panel is panel
    assert window.side_panel.tabText(0) == "Files" and window.side_panel.widget(0) is panel


def test_ctrl_o_and_add_files_ask_for_files(qtbot: QtBot, window: MainWindow) -> None:
    asked = recorder(window.open_files_requested)
    assert window.transcribe_files_action.shortcut().toString() == "Ctrl+O"
    assert window.transcribe_files_action in window.menuBar().actions()[0].menu().actions()

    qtbot.keyClick(window.transcript, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.mouseClick(window.jobs_panel.add_button, Qt.MouseButton.LeftButton)

    assert len(asked) == 2


def test_retry_is_not_offered_for_a_refused_file(panel: JobsPanel) -> None:
    refused = replace(job(5, JobState.FAILED, error="notes.wav: cannot decode this file"),
                      refused=True)
    panel.set_jobs([refused, job(6, JobState.FAILED)])
    retried = recorder(panel.retry_requested)
    panel.select_job(5)
    assert not panel.retry_action.isEnabled()
    assert panel.remove_action.isEnabled()  # it can still be removed
    select(panel, 5, 6)
    assert panel.retry_action.isEnabled()
    panel.retry_action.trigger()
    assert retried == [6]


def test_tell_speakers_apart_is_offered_only_where_the_service_can(panel: JobsPanel) -> None:
    box = panel.speakers_box
    panel.set_provider("botlhale")
    box.setChecked(True)
    assert box.isEnabled() and panel.options().diarization
    for provider in ("local", "nevisa"):
        panel.set_provider(provider)
        assert not box.isEnabled() and not panel.options().diarization
        assert "cannot tell speakers apart" in box.toolTip()
    assert box.isChecked()  # kept for the next service that can
    panel.set_provider("bahasakita")
    assert box.isEnabled() and panel.options().diarization


def test_the_language_tooltip_says_what_the_list_holds(panel: JobsPanel) -> None:
    panel.set_provider("nevisa")
    assert panel.language_combo.toolTip().endswith("Nevisa knows Persian (fa) only")
    panel.set_provider("botlhale")
    assert "type a code" in panel.language_combo.toolTip()
    panel.set_provider("local")
    assert "knows the languages listed" in panel.language_combo.toolTip()
