"""The Files panel's job list (model and delegate): rows in order, updated row by row,
painted for every state, with the preview and tooltips a row shows."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from dictation_app.jobs.model import Job, JobState, text_preview
from dictation_app.ui.job_list import JOB_ROLE
from dictation_app.ui.jobs_panel import DROP_HINT, JobsPanel
from tests.support.jobs import NOW, UUID, job
from tests.support.signals import recorder


def ids(panel: JobsPanel) -> list[int]:
    return [j.id for j in panel.model.jobs()]


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


def test_rows_are_plain_model_rows(panel: JobsPanel) -> None:
    # Thousands of rows must not become thousands of widgets.
    widgets = len(panel.findChildren(QWidget))
    panel.set_jobs([job(i) for i in range(300)])
    assert len(panel.findChildren(QWidget)) == widgets
    assert panel.model.rowCount(panel.model.index(0, 0)) == 0
    assert panel.model.data(QModelIndex()) is None


REFUSED = ("notes.wav: cannot decode this file (not a recognised audio or video format). "
           "Supported: WAV, FLAC, OGG/Opus, MP3, M4A/AAC, WMA, AMR, AIFF, and the sound of "
           "MP4, MOV, WebM and MKV videos.")


SERVICE_ERROR = ("Botlhale upload: the service refused the file (HTTP 415): unsupported "
                 "format. Convert it to WAV or FLAC and try again, or choose another service "
                 "for this file.")


@pytest.mark.parametrize(("error", "refused"), [(REFUSED, True), (SERVICE_ERROR, False)],
                         ids=["refused file", "service error"])
def test_a_failed_row_shows_its_whole_reason_and_only_failed_rows_are_taller(
        qtbot: QtBot, panel: JobsPanel, error: str, refused: bool) -> None:
    panel.resize(320, 600)
    panel.set_jobs([job(1, JobState.COMPLETED, text="Dumela"), job(2)])
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.list_view.uniformItemSizes()  # the usual case: thousands lay out at once
    normal = panel.list_view.sizeHintForIndex(panel.model.index(0, 0)).height()

    panel.update_job(replace(job(3, JobState.FAILED, error=error), refused=refused))
    assert not panel.list_view.uniformItemSizes()
    row = panel.model.row_of(3)
    assert row is not None
    index = panel.model.index(row, 0)
    taller = panel.list_view.sizeHintForIndex(index).height()
    assert taller > normal  # wrapped over several lines, not elided into one
    others = [panel.list_view.sizeHintForIndex(panel.model.index(r, 0)).height()
              for r in range(3) if r != row]
    assert others == [normal, normal]
    assert error in str(index.data(Qt.ItemDataRole.AccessibleTextRole))
    panel.grab()  # paints the wrapped reason; an exception in paint() fails the test

    panel.remove_job(3)
    assert panel.list_view.uniformItemSizes()


def test_a_short_error_keeps_the_row_its_usual_height(qtbot: QtBot, panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.FAILED, error="Botlhale: HTTP 503"), job(2)])
    panel.show()
    qtbot.waitExposed(panel)
    heights = {panel.list_view.sizeHintForIndex(panel.model.index(r, 0)).height()
               for r in range(2)}
    assert len(heights) == 1


def test_the_selected_job_is_described_in_full_in_selectable_text(
        qtbot: QtBot, panel: JobsPanel) -> None:
    panel.set_jobs([job(1, JobState.FAILED, error=SERVICE_ERROR),
                    job(2, JobState.PROCESSING, provider="bahasakita", remote={"uuid": UUID}),
                    job(3)])
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.details.isHidden()  # nothing selected

    panel.select_job(1)
    assert not panel.details.isHidden()
    text = panel.details.toPlainText()
    assert text.startswith(SERVICE_ERROR)  # the reason first: in view without scrolling
    assert "State: Failed" in text and "Service: Botlhale" in text
    assert panel.details.isReadOnly()
    flags = panel.details.textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.TextSelectableByKeyboard
    assert panel.details.accessibleName() == "Details of the selected job"

    # Reached from the list by Tab, and its text selected by keyboard.
    panel.list_view.setFocus()
    qtbot.waitUntil(panel.list_view.hasFocus)
    qtbot.keyClick(panel.list_view, Qt.Key.Key_Tab)
    qtbot.waitUntil(panel.details.hasFocus)
    qtbot.keyClick(panel.details, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert SERVICE_ERROR in panel.details.textCursor().selectedText()

    row = panel.model.row_of(2)
    assert row is not None
    panel.list_view.selectionModel().select(
        panel.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert f"Bahasakita job ID: {UUID}" in panel.details.toPlainText()
    panel.list_view.selectAll()
    assert panel.details.isHidden()  # several: each row's tooltip and text say it


def test_a_warning_shows_in_the_row_and_its_tooltip(qtbot: QtBot, panel: JobsPanel) -> None:
    warning = "cut.wav is shorter than its header says: it holds 1.0 s of the 4.0 s it declares"
    panel.set_jobs([replace(job(1, JobState.COMPLETED, text="Dumela"), warning=warning)])
    panel.show()
    qtbot.waitExposed(panel)
    panel.grab()
    index = panel.model.index(0, 0)
    assert str(index.data(Qt.ItemDataRole.ToolTipRole)).endswith(f"Warning: {warning}")
    assert f"warning: {warning}" in str(index.data(Qt.ItemDataRole.AccessibleTextRole))
    from dictation_app.ui.job_list import _detail

    assert _detail(panel.model.job_at(0))[0] == f"⚠ {warning}"
