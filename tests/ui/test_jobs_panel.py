"""The Files tab and the main window's file drops: updates in, intents out.

Jobs are fed through the panel's update methods as the controller would; intents are
watched through the signals. Drops are real QDropEvents sent through the application,
so Qt's own delivery (parents, event filters) decides who gets them.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QItemSelectionModel, QMimeData, QModelIndex, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QMenu, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from dictation_app.controllers.jobs_controller import vendor_job_actions
from dictation_app.core.errors import ConfigurationError
from dictation_app.jobs.model import Job, JobOptions, JobState, text_preview
from dictation_app.protocols.transcript import Transcript
from dictation_app.services import registry
from dictation_app.services.bahasakita_upload import BahasakitaUploadOptions
from dictation_app.services.botlhale import BotlhaleOptions
from dictation_app.ui.job_list import JOB_ROLE
from dictation_app.ui.jobs_panel import DROP_HINT, JobsPanel
from dictation_app.ui.main_window import MainWindow

NOW = 1_714_550_400.0  # 2024-05-01 08:00 UTC
UUID = "3f2a9c1e-7b4d-4e2a-9c1e-7b4d4e2a9c1e"


def job(job_id: int, state: JobState = JobState.QUEUED, *, created: float | None = None,
        provider: str = "botlhale", progress: float | None = None, error: str | None = None,
        remote: dict[str, str] | None = None, text: str | None = None,
        preview: str | None = None) -> Job:
    """A job as the store makes it: with `text`, a result and its preview (the preview
    alone, as listed, when `preview` is given)."""
    when = NOW - 1000 + job_id * 10 if created is None else created
    if text is not None and preview is None:
        preview = text_preview(text)
    return Job(id=job_id, file=Path(f"/audio/recording-{job_id}.wav"), provider=provider,
               options=JobOptions(), state=state, progress=progress, created=when,
               updated=when + 65, remote=remote or {}, error=error,
               result=None if text is None else Transcript(provider, f"recording-{job_id}.wav",
                                                           "en", 3.0, text),
               preview=preview)


@pytest.fixture
def panel(qtbot: QtBot) -> JobsPanel:
    widget = JobsPanel(clock=lambda: NOW)
    # As the jobs controller does:
    widget.set_providers(registry.choices(), registry.options_types())
    widget.set_job_actions(vendor_job_actions())
    qtbot.addWidget(widget)
    widget.resize(320, 600)
    return widget


def ids(panel: JobsPanel) -> list[int]:
    return [j.id for j in panel.model.jobs()]


def button_for(panel: JobsPanel, text: str) -> QToolButton:
    buttons = [b for b in panel.findChildren(QToolButton) if b.defaultAction() is not None
               and b.defaultAction().text() == text]
    assert len(buttons) == 1, text
    return buttons[0]


def recorder(signal: object) -> list[Any]:
    """What the signal carried, each time: the argument, or a tuple when there are more."""
    seen: list[Any] = []

    def record(*args: object) -> None:
        seen.append(args[0] if len(args) == 1 else args)

    signal.connect(record)  # type: ignore[attr-defined]
    return seen


def select(panel: JobsPanel, *job_ids: int) -> None:
    selection = panel.list_view.selectionModel()
    selection.clearSelection()
    for job_id in job_ids:
        row = panel.model.row_of(job_id)
        assert row is not None
        selection.select(panel.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select)


# --- the list ------------------------------------------------------------------------


def test_jobs_are_listed_newest_first_and_the_hint_shows_when_empty(panel: JobsPanel) -> None:
    assert panel._stack.currentWidget() is panel.drop_hint
    assert panel.drop_hint.text() == DROP_HINT

    panel.set_jobs([job(2), job(5), job(1), job(4, created=NOW - 1000 + 50), job(3)])

    # Jobs 4 and 5 were added in the same second: the later id is the newer.
    assert ids(panel) == [5, 4, 3, 2, 1]
    assert panel._stack.currentWidget() is panel.list_view
    panel.set_jobs([])
    assert panel._stack.currentWidget() is panel.drop_hint


def test_update_job_changes_only_that_row(panel: JobsPanel) -> None:
    panel.set_jobs([job(i) for i in range(1, 6)])
    changed = recorder(panel.model.dataChanged)
    resets = recorder(panel.model.modelReset)
    inserted = recorder(panel.model.rowsInserted)

    panel.update_job(job(3, JobState.PROCESSING, progress=0.42))

    assert [(first.row(), last.row()) for first, last, _roles in changed] == [(2, 2)]
    assert resets == [] and inserted == []
    assert ids(panel) == [5, 4, 3, 2, 1]
    index = panel.model.index(2, 0)
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) == (
        "recording-3.wav, Botlhale, Processing 42%")
    assert panel.model.index(1, 0).data(JOB_ROLE).state is JobState.QUEUED


def test_a_new_job_goes_to_the_top_and_an_old_one_into_its_place(panel: JobsPanel) -> None:
    panel.set_jobs([job(1), job(2), job(4)])
    inserted: list[int] = []
    panel.model.rowsInserted.connect(lambda _parent, first, _last: inserted.append(first))

    panel.update_job(job(9))
    panel.update_job(job(3))  # e.g. loaded late from the store

    assert inserted == [0, 2]
    assert ids(panel) == [9, 4, 3, 2, 1]


def test_remove_job(panel: JobsPanel) -> None:
    panel.set_jobs([job(1), job(2)])
    panel.remove_job(2)
    panel.remove_job(77)  # unknown: nothing happens
    assert ids(panel) == [1]
    panel.remove_job(1)
    assert panel._stack.currentWidget() is panel.drop_hint


def test_thousands_of_jobs_update_row_by_row(panel: JobsPanel) -> None:
    panel.set_jobs([job(i, created=NOW - 10_000 + i) for i in range(5_000)])
    resets = recorder(panel.model.modelReset)
    layouts = recorder(panel.model.layoutChanged)
    changed = recorder(panel.model.dataChanged)

    for step in range(1_000):
        job_id = (step * 37) % 5_000
        panel.update_job(job(job_id, JobState.UPLOADING, created=NOW - 10_000 + job_id,
                             progress=step / 1_000))
    panel.update_job(job(6_000, created=NOW))

    assert panel.model.rowCount() == 5_001
    assert resets == [] and layouts == []
    assert len(changed) == 1_000
    assert ids(panel)[:2] == [6_000, 4_999]
    assert panel.model.job(37 * 999 % 5_000).progress == pytest.approx(0.999)  # type: ignore[union-attr]


def test_rows_show_the_service_error_and_bahasakita_id(qtbot: QtBot, panel: JobsPanel) -> None:
    error = ("Botlhale upload: the service refused the file (HTTP 415): unsupported format. "
             "Convert it to WAV or FLAC and try again.")
    panel.set_jobs([
        job(1, JobState.FAILED, error=error),
        job(2, JobState.PROCESSING, provider="bahasakita", remote={"uuid": UUID}),
        job(3, JobState.UPLOADING, progress=0.3),
        job(4, JobState.COMPLETED, text="Dumela, le kae?"),
        job(5, JobState.CANCELLED),
        job(6),
    ])
    panel.show()
    qtbot.waitExposed(panel)
    panel.grab()  # paints every row kind; an exception in paint() fails the test

    def tip(job_id: int) -> str:
        row = panel.model.row_of(job_id)
        return str(panel.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole))

    assert tip(1).endswith(error)  # in full, where the row elides it
    assert f"Bahasakita job ID: {UUID}" in tip(2)
    assert "ID" not in tip(3).replace("/audio", "")
    assert "/audio/recording-4.wav" in tip(4)


def test_a_completed_row_shows_the_preview_and_the_list_keeps_no_transcript(
        qtbot: QtBot, panel: JobsPanel) -> None:
    long_text = "Dumela,   le kae?\n\n" + "ke a leboga " * 200_000  # ~2.4 million characters
    panel.show()
    qtbot.waitExposed(panel)

    def row_image(shown: Job) -> object:
        panel.set_jobs([shown])
        return panel.list_view.viewport().grab().toImage()

    notified = row_image(job(1, JobState.COMPLETED, text=long_text))  # a completion notice
    assert panel.model.job(1).result is None  # type: ignore[union-attr]
    assert panel.model.job(1).preview == text_preview(long_text)  # type: ignore[union-attr]
    panel.update_job(job(1, JobState.COMPLETED, text=long_text))
    assert panel.model.job(1).result is None  # type: ignore[union-attr]
    # The row paints the preview (whatever the result says), so listed and notified
    # jobs look alike, and a different preview looks different.
    listed = row_image(job(1, JobState.COMPLETED, preview=text_preview(long_text)))
    other_result = row_image(replace(job(1, JobState.COMPLETED, text="something else"),
                                     preview=text_preview(long_text)))
    other_preview = row_image(job(1, JobState.COMPLETED, preview="Something else"))
    assert notified == listed == other_result
    assert other_preview != listed
    empty = row_image(job(1, JobState.COMPLETED, preview=""))
    assert empty == row_image(job(1, JobState.COMPLETED, preview="(no speech found)"))


def test_the_list_repaints_on_a_timer_only_while_jobs_run(panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.COMPLETED)])
    assert not panel._tick.isActive()
    panel.update_job(job(2, JobState.PROCESSING))  # progress unknown: the bar sweeps
    assert panel._tick.isActive() and panel._tick.interval() < 200
    panel.update_job(job(2, JobState.PROCESSING, progress=0.5))  # only the elapsed time moves
    assert panel._tick.isActive() and panel._tick.interval() == 1000
    panel.update_job(job(2, JobState.COMPLETED))
    assert not panel._tick.isActive()


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


def test_options_reflect_the_controls(panel: JobsPanel) -> None:
    mode_combo = panel.option_controls[("botlhale", "mode")]
    priority_combo = panel.option_controls[("bahasakita", "priority")]
    subtitle_box = panel.option_controls[("bahasakita", "subtitle")]
    assert isinstance(mode_combo, QComboBox) and isinstance(priority_combo, QComboBox)
    assert isinstance(subtitle_box, QCheckBox)
    panel.set_provider("local")
    assert panel.options() == JobOptions()
    panel.language_combo.setCurrentIndex(panel.language_combo.findData("zu"))
    panel.speakers_box.setChecked(True)
    mode_combo.setCurrentIndex(mode_combo.findData("async"))
    priority_combo.setCurrentIndex(priority_combo.findData("high"))
    subtitle_box.setChecked(True)

    assert panel.options() == JobOptions(language="zu", diarization=True)
    panel.set_provider("botlhale")
    assert panel.options() == JobOptions(language="zu", diarization=True,
                                         vendor=BotlhaleOptions(mode="async"))
    panel.set_provider("bahasakita")
    assert panel.options() == JobOptions(
        language="zu", diarization=True,
        vendor=BahasakitaUploadOptions(priority="high", subtitle=True))


def test_set_options_round_trips_and_keeps_fields_without_controls(panel: JobsPanel) -> None:
    panel.set_provider("botlhale")
    chosen = JobOptions(language="pt-BR", diarization=True,
                        vendor=BotlhaleOptions(mode="sync", api_version=1))
    panel.set_options(chosen)
    assert panel.language_combo.currentText() == "pt-BR"
    assert panel.options() == chosen
    panel.set_options(replace(chosen, language="fa"))
    assert panel.language_combo.currentText() == "Persian (fa)"
    assert panel.options().language == "fa"
    bahasakita = BahasakitaUploadOptions(priority="high", subtitle=True)
    panel.set_options(JobOptions(vendor=bahasakita))  # goes to its vendor, not the current
    assert panel.options().vendor == BotlhaleOptions(mode="sync", api_version=1)
    assert panel.option_values()["bahasakita"] == bahasakita.to_dict()


def test_a_typed_language_is_checked(qtbot: QtBot, panel: JobsPanel) -> None:
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


# --- drops -----------------------------------------------------------------------------


@pytest.fixture
def dropped(tmp_path: Path) -> tuple[list[Path], list[QUrl]]:
    """Two audio files, and three things that are not files to transcribe."""
    files = [tmp_path / "interview.wav", tmp_path / "memo.m4a"]
    for file in files:
        file.write_bytes(b"RIFF")
    folder = tmp_path / "more recordings"
    folder.mkdir()
    urls = [QUrl.fromLocalFile(str(files[0])), QUrl.fromLocalFile(str(folder)),
            QUrl("https://example.org/talk.mp3"), QUrl.fromLocalFile(str(files[1])),
            QUrl.fromLocalFile(str(tmp_path / "deleted.wav"))]
    return files, urls


def drag_and_drop(widget: QWidget, mime: QMimeData) -> tuple[bool, bool]:
    """Enter and drop on `widget` through the application; whether each was accepted."""
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, QEvent.Type.Drop)
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), drop.isAccepted()


def urls_mime(urls: list[QUrl]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls(urls)
    return mime


def test_dropping_on_the_panel_gives_only_the_files(
        panel: JobsPanel, dropped: tuple[list[Path], list[QUrl]]) -> None:
    files, urls = dropped
    got = recorder(panel.files_dropped)

    assert drag_and_drop(panel.list_view.viewport(), urls_mime(urls)) == (True, True)

    assert got == [files]
    assert panel.message_label.text().startswith("Skipped 3 items that are not files")


def test_the_panel_refuses_a_drag_without_files(panel: JobsPanel) -> None:
    text = QMimeData()
    text.setText("just words")
    got = recorder(panel.files_dropped)
    assert drag_and_drop(panel, text) == (False, False)
    assert drag_and_drop(panel, urls_mime([QUrl("https://example.org/a.wav")])) == (False, False)
    assert got == []


# --- the main window ---------------------------------------------------------------------


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    widget = MainWindow()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    return widget


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


@pytest.mark.parametrize("target", ["window", "transcript", "status bar", "panel"])
def test_files_dropped_anywhere_on_the_window_arrive_once(
        window: MainWindow, dropped: tuple[list[Path], list[QUrl]], target: str) -> None:
    files, urls = dropped
    widget = {"window": window, "transcript": window.transcript.viewport(),
              "status bar": window.statusBar(), "panel": window.jobs_panel.list_view.viewport()
              }[target]
    got = recorder(window.files_dropped)

    assert drag_and_drop(widget, urls_mime(urls)) == (True, True)

    assert got == [files]
    assert window.transcript.toPlainText() == ""  # no paths pasted into the transcript
    skipped = (window.jobs_panel.message_label.text() if target == "panel"
               else window.statusBar().currentMessage())
    assert skipped.startswith("Skipped 3 items that are not files")


def test_text_dragged_in_the_transcript_stays_the_editors(window: MainWindow) -> None:
    window.add_final("Hello there.")
    text = QMimeData()
    text.setText("moved ")
    got = recorder(window.files_dropped)
    drag_and_drop(window.transcript.viewport(), text)
    assert got == []
    assert "moved" in window.transcript.toPlainText()


def test_a_drop_of_only_folders_says_why_nothing_happened(
        window: MainWindow, tmp_path: Path) -> None:
    got = recorder(window.files_dropped)
    assert drag_and_drop(window, urls_mime([QUrl.fromLocalFile(str(tmp_path))])) == (True, True)
    assert got == []
    assert window.statusBar().currentMessage().startswith("Skipped 1 item that is not a file")


def test_rows_are_plain_model_rows(panel: JobsPanel) -> None:
    # Thousands of rows must not become thousands of widgets.
    widgets = len(panel.findChildren(QWidget))
    panel.set_jobs([job(i) for i in range(300)])
    assert len(panel.findChildren(QWidget)) == widgets
    assert panel.model.rowCount(panel.model.index(0, 0)) == 0
    assert panel.model.data(QModelIndex()) is None
