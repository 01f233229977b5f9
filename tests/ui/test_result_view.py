"""The result window: segments, search, word confidences, copy and the export request."""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from dictation_app.jobs.exports import ExportFormat, export
from dictation_app.jobs.model import Job, JobOptions, JobState
from dictation_app.protocols import botlhale
from dictation_app.protocols.transcript import Segment, Transcript, Word
from dictation_app.ui.result_view import ResultView, export_target
from dictation_app.ui.segment_model import EMOTION, SPEAKER, TEXT, TIME, emotion_label, format_clock
from tests.servers.botlhale_server import data_v2_body, sync_body

TRANSCRIPT = Transcript(
    provider="botlhale", file="/audio/meeting.wav", language="en", duration=3725.0,
    text="Good morning everyone. Thanks, Thabo. Let us start.",
    segments=(
        Segment(0.0, 2.4, "spk_0", "Good morning everyone.",
                (Word("Good", 0.0, 0.4, 0.98), Word("morning", 0.4, 1.0, 0.95),
                 Word("everyone.", 1.0, 2.4, 0.91))),
        Segment(3661.0, 3663.5, "spk_1", "Thanks, Thabo.",
                (Word("Thanks,", 3661.0, 3662.0, 0.97), Word("Thabo.", 3662.0, 3663.5, 0.31))),
        Segment(3664.0, 3666.0, "spk_0", "Let us start."),
    ),
)


@pytest.fixture
def view(qtbot: QtBot) -> ResultView:
    dialog = ResultView(TRANSCRIPT, file=Path("/audio/meeting.wav"), job_id=12,
                        service_label="Botlhale")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def cell(view: ResultView, row: int, column: int,
         role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> object:
    return view.proxy.index(row, column).data(role)


def test_shows_the_header_and_every_segment(view: ResultView) -> None:
    assert not view.isModal()
    assert view.title_label.text() == "meeting.wav"
    assert view.details_label.text() == "Botlhale · English (en) · 1:02:05 long · 8 words"
    assert view.visible_rows() == 3
    assert [cell(view, 1, c) for c in (TIME, SPEAKER, TEXT)] == [
        "1:01:01 \N{EN DASH} 1:01:03", "Speaker 2", "Thanks, Thabo."]
    assert cell(view, 2, SPEAKER) == "Speaker 1"  # the same names the exports use
    assert not view.table.isColumnHidden(SPEAKER)
    assert view.count_label.text() == "3 parts"


def test_low_confidence_words_are_marked(view: ResultView) -> None:
    decoration = Qt.ItemDataRole.DecorationRole
    assert [cell(view, row, TEXT, decoration) is not None for row in range(3)] == [
        False, True, False]
    tooltip = str(cell(view, 1, TEXT, Qt.ItemDataRole.ToolTipRole))
    assert "Thabo.&nbsp;<small>31%</small></span>" in tooltip
    assert tooltip.split("<br>")[1].count("background-color") == 1  # only the unsure word

    view.table.selectRow(1)
    detail = view.detail.toPlainText()
    assert "1 word marked: the service was less than 50% sure of it." in detail
    view.table.selectRow(2)
    assert "no word confidences" in view.detail.toPlainText()


def test_search_filters_the_segments(qtbot: QtBot, view: ResultView) -> None:
    qtbot.keyClicks(view.search_edit, "THABO")
    assert view.visible_rows() == 1
    assert view.segment_at(0).text == "Thanks, Thabo."
    assert view.count_label.text() == "1 of 3 parts"

    view.search_edit.setText("speaker 1")  # speakers are searchable by their shown names
    assert [view.segment_at(r).start for r in range(view.visible_rows())] == [0.0, 3664.0]
    view.search_edit.setText("nothing like this")
    assert view.visible_rows() == 0
    view.search_edit.clear()
    assert view.visible_rows() == 3


def test_copy_puts_the_plain_text_export_on_the_clipboard(qtbot: QtBot, view: ResultView) -> None:
    QGuiApplication.clipboard().setText("old")
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == export(TRANSCRIPT, ExportFormat.TXT)
    assert view.status_label.text() == "Copied 8 words"

    view.timestamps_box.setChecked(True)
    view.speakers_box.setChecked(True)
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == export(
        TRANSCRIPT, ExportFormat.TXT, timestamps=True, speakers=True)


def test_enter_in_the_search_box_neither_copies_nor_closes(qtbot: QtBot,
                                                           view: ResultView) -> None:
    QGuiApplication.clipboard().setText("untouched")
    qtbot.keyClicks(view.search_edit, "start")
    qtbot.keyClick(view.search_edit, Qt.Key.Key_Return)
    assert QGuiApplication.clipboard().text() == "untouched"
    assert view.isVisible()


def test_request_export_emits_the_path_format_and_options(qtbot: QtBot, view: ResultView,
                                                          tmp_path: Path) -> None:
    with qtbot.waitSignal(view.export_requested) as blocker:
        view.request_export(tmp_path / "meeting.srt", ExportFormat.SRT)
    assert blocker.args == [tmp_path / "meeting.srt", ExportFormat.SRT, False, False]

    view.timestamps_box.setChecked(True)
    with qtbot.waitSignal(view.export_requested) as blocker:
        view.request_export(str(tmp_path / "meeting.txt"), ExportFormat.TXT)
    assert blocker.args == [tmp_path / "meeting.txt", ExportFormat.TXT, True, False]
    assert not (tmp_path / "meeting.srt").exists()  # the view writes nothing itself
    assert not (tmp_path / "meeting.txt").exists()


def test_export_button_asks_for_a_file_without_blocking(qtbot: QtBot, view: ResultView,
                                                        tmp_path: Path) -> None:
    qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    dialog = view.export_dialog
    assert isinstance(dialog, QFileDialog)  # open() returned: no nested event loop
    assert dialog.nameFilters() == [fmt.label for fmt in ExportFormat]
    assert dialog.selectedNameFilter() == ExportFormat.TXT.label

    dialog.setDirectory(str(tmp_path))
    # Pick "WebVTT" in the file type box the way a person does, with the keyboard.
    types = dialog.findChild(QComboBox, "fileTypeCombo")
    assert types is not None
    qtbot.keyClick(types, Qt.Key.Key_Down)
    qtbot.keyClick(types, Qt.Key.Key_Down)
    assert dialog.selectedNameFilter() == ExportFormat.VTT.label
    assert dialog.defaultSuffix() == "vtt"  # so the dialog's overwrite check sees the real name
    dialog.selectFile(str(tmp_path / "minutes"))
    with qtbot.waitSignal(view.export_requested) as blocker:
        dialog.accept()
    assert blocker.args == [tmp_path / "minutes.vtt", ExportFormat.VTT, False, False]
    qtbot.waitUntil(lambda: view.export_dialog is None)


def test_a_name_that_only_gets_its_extension_here_asks_before_replacing_a_file(
        qtbot: QtBot, view: ResultView, tmp_path: Path) -> None:
    earlier = tmp_path / "Interview 12.03.2024.txt"
    earlier.write_text("an earlier export")
    requested: list[object] = []
    view.export_requested.connect(lambda *args: requested.append(args))

    def choose(answer: QMessageBox.StandardButton) -> None:
        view.choose_export_file()
        dialog = view.export_dialog
        assert dialog is not None
        dialog.setDirectory(str(tmp_path))
        # The dialog checked "Interview 12.03.2024" (suffix "2024") and found no such file.
        dialog.fileSelected.emit(str(tmp_path / "Interview 12.03.2024"))
        dialog.close()
        qtbot.waitUntil(lambda: view.export_dialog is None)
        [box] = [b for b in view.findChildren(QMessageBox) if b.isVisible()]
        assert earlier.name in box.text()
        assert requested == []  # nothing is written before the answer
        box.button(answer).click()
        assert not box.isVisible()

    choose(QMessageBox.StandardButton.No)
    assert requested == [] and view.status_label.text() == "Not exported"
    choose(QMessageBox.StandardButton.Yes)
    assert requested == [(earlier, ExportFormat.TXT, False, False)]


def test_the_save_dialog_opens_in_the_last_export_folder(view: ResultView,
                                                        tmp_path: Path) -> None:
    view.export_directory = tmp_path
    view.choose_export_file()
    dialog = view.export_dialog
    assert dialog is not None
    assert Path(dialog.directory().absolutePath()) == tmp_path
    assert dialog.selectedFiles()[0].endswith("meeting.txt")
    dialog.close()


@pytest.mark.parametrize(("typed", "chosen", "expected"), [
    ("notes", ExportFormat.SRT, ("notes.srt", ExportFormat.SRT)),
    ("notes.JSON", ExportFormat.SRT, ("notes.JSON", ExportFormat.JSON)),
    ("notes.v2", ExportFormat.TXT, ("notes.v2.txt", ExportFormat.TXT)),
])
def test_export_target(typed: str, chosen: ExportFormat,
                       expected: tuple[str, ExportFormat]) -> None:
    path, fmt = export_target(Path("/out") / typed, chosen)
    assert (path.name, fmt) == expected and path.parent == Path("/out")


def test_close_hides_the_window(qtbot: QtBot, view: ResultView) -> None:
    qtbot.mouseClick(view.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.isVisible())


def test_ten_thousand_segments_are_model_rows(qtbot: QtBot) -> None:
    segments = tuple(Segment(i * 2.0, i * 2.0 + 1.5, None, f"segment {i} of the day")
                     for i in range(10_000))
    transcript = Transcript("nevisa", "long.wav", "fa", 20_000.0,
                            " ".join(s.text for s in segments), segments)
    view = ResultView(transcript)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)

    assert view.model.rowCount() == 10_000
    assert len(view.findChildren(QWidget)) < 100  # rows are painted, not built
    assert view.table.isColumnHidden(SPEAKER)  # nobody to name
    assert not view.speakers_box.isEnabled()
    view.search_edit.setText("segment 9999")
    assert view.visible_rows() == 1 and view.segment_at(0).start == 19_998.0
    assert cell(view, 0, TIME) == "5:33:18 \N{EN DASH} 5:33:19"


def test_a_text_only_transcript_gets_one_row() -> None:
    view = ResultView(Transcript("botlhale", None, None, None, "Short memo."),
                      service_label="Botlhale")
    try:
        assert view.visible_rows() == 1
        assert view.segment_at(0).text == "Short memo."
        assert view.windowTitle() == "Transcript — transcript"
        assert view.details_label.text() == "Botlhale · language not given · 2 words"
    finally:
        view.deleteLater()


def test_a_language_the_job_left_to_automatic_is_shown_as_detected(qtbot: QtBot) -> None:
    spanish = dataclasses.replace(TRANSCRIPT, language="es")
    for options, shown in ((JobOptions(), "Spanish (es), detected"),
                           (JobOptions(language="es"), "Spanish (es) ·")):
        view = ResultView.for_job(Job(1, Path("/audio/a.wav"), "local", options,
                                      JobState.COMPLETED, None, 0.0, 0.0, result=spanish))
        qtbot.addWidget(view)
        assert shown in view.details_label.text()
        if options.language:
            assert "detected" not in view.details_label.text()


def test_for_job_needs_a_result() -> None:
    running = Job(1, Path("/audio/a.wav"), "local", JobOptions(), JobState.PROCESSING, None,
                  0.0, 0.0)
    with pytest.raises(ValueError, match="has no transcript"):
        ResultView.for_job(running)
    view = ResultView.for_job(
        Job(1, Path("/audio/a.wav"), "local", JobOptions(), JobState.COMPLETED, None, 0.0, 0.0,
            result=TRANSCRIPT))
    try:
        assert view.job_id == 1 and view.title_label.text() == "a.wav"
    finally:
        view.deleteLater()


@pytest.mark.parametrize(("seconds", "text"), [
    (None, ""), (0.0, "0:00:00"), (59.99, "0:00:59"), (3725.0, "1:02:05"), (-3.0, "0:00:00"),
])
def test_format_clock(seconds: float | None, text: str) -> None:
    assert format_clock(seconds) == text


# --- what else the service returned: redaction, emotions, translation ------------------------


def botlhale_result() -> Transcript:
    """A Botlhale async reply, parsed by the app's own parser: two segments of the
    documented example and one with a translation and another emotion."""
    body = data_v2_body()
    body["timestamps"].append({
        "start": 293000, "end": 293400, "speaker": "SPEAKER_00", "emotion": "hap",
        "transcription": "Sala kahle, Nick.", "redaction": "Sala kahle, <PERSON>.",
        "translation": "Goodbye, <PERSON>.", "language": "isiZulu"})
    return botlhale.parse_data_reply(body, file="/audio/call.wav")


@pytest.fixture
def rich(qtbot: QtBot) -> ResultView:
    dialog = ResultView(botlhale_result(), service_label="Botlhale")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def texts(view: ResultView) -> list[str]:
    return [str(cell(view, row, TEXT)) for row in range(view.visible_rows())]


def test_the_redacted_switch_changes_the_rows_and_what_copy_and_exports_write(
        qtbot: QtBot, rich: ResultView, tmp_path: Path) -> None:
    transcript = rich.transcript
    redacted = transcript.redacted()
    assert redacted is not None
    assert rich.version_combo.isVisible()
    assert rich.version_combo.accessibleName() == "Show the original or the redacted text"
    assert "JSON always holds both" in rich.version_combo.toolTip()
    assert rich.version_label.buddy() is rich.version_combo  # Alt+W reaches it
    assert texts(rich)[0] == "Hello, good day. You're speaking to Nick from Kuru."

    # With the keyboard, as a person without a mouse does.
    rich.version_combo.setFocus()
    qtbot.keyClick(rich.version_combo, Qt.Key.Key_Down)
    assert rich.version_combo.currentText() == "Redacted" and rich.showing_redacted
    assert texts(rich) == ["Hello, good day. You're speaking to <PERSON> from <LOCATION>.",
                           "Thank you.", "Sala kahle, <PERSON>."]
    rich.search_edit.setText("nick")  # the hidden original is not searched
    assert rich.visible_rows() == 0
    rich.search_edit.setText("<person>")
    assert rich.visible_rows() == 2
    rich.search_edit.clear()

    qtbot.mouseClick(rich.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied == export(redacted, ExportFormat.TXT)
    assert "Nick" not in copied and "<LOCATION>" in copied
    assert rich.status_label.text().endswith("(redacted)")
    for fmt in (ExportFormat.TXT, ExportFormat.SRT, ExportFormat.VTT):
        assert "Nick" not in export(rich.transcript_for(fmt), fmt)
    json_text = export(rich.transcript_for(ExportFormat.JSON), ExportFormat.JSON)
    assert "Nick" in json_text and "<PERSON>" in json_text  # JSON has both, whichever shown
    rich.choose_export_file()
    dialog = rich.export_dialog
    assert dialog is not None and dialog.windowTitle() == "Export the redacted transcript"
    dialog.close()

    rich.table.selectRow(0)
    assert "show the original to see its words" in rich.detail.toPlainText()
    assert "Nick" not in rich.detail.toPlainText()

    rich.show_redacted(False)
    assert texts(rich)[0].endswith("Nick from Kuru.")
    # The part being read stays selected, its detail now in the original words.
    assert [i.row() for i in rich.table.selectionModel().selectedRows()] == [0]
    assert "Nick from Kuru." in rich.detail.toPlainText()
    qtbot.mouseClick(rich.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == export(transcript, ExportFormat.TXT)
    assert rich.transcript_for(ExportFormat.SRT) is transcript


def test_a_sync_reply_whose_redaction_masks_nothing_says_so() -> None:
    view = ResultView(botlhale.parse_sync_reply(sync_body()))
    try:
        assert not view.version_combo.isHidden()
        assert "masked nothing" in view.version_combo.toolTip()
        view.show_redacted(True)
        assert texts(view) == ["The stale smell of old beer lingers."]
    finally:
        view.deleteLater()


def test_emotions_get_a_column_in_words(rich: ResultView) -> None:
    assert not rich.table.isColumnHidden(EMOTION)
    assert [cell(rich, row, EMOTION) for row in range(3)] == ["Neutral", "Neutral", "Happy"]
    assert cell(rich, 2, EMOTION, Qt.ItemDataRole.ToolTipRole) == "The service's label: 'hap'"
    rich.table.selectRow(2)
    assert "Speaker 1 · Happy" in rich.detail.toPlainText()
    rich.search_edit.setText("happy")
    assert rich.visible_rows() == 1
    assert emotion_label("xyz") == "xyz" and emotion_label(None) == ""


def test_the_translation_is_shown_below_and_copied(qtbot: QtBot, rich: ResultView) -> None:
    assert rich.lower_tabs.count() == 2
    assert rich.lower_tabs.tabText(1) == "Translation"
    assert rich.lower_tabs.tabBar().isVisible()
    rich.lower_tabs.setCurrentIndex(1)
    assert rich.translation_text.toPlainText() == "Goodbye, <PERSON>."
    assert rich.translation_text.accessibleName() == "Translation"
    QGuiApplication.clipboard().setText("old")
    qtbot.mouseClick(rich.copy_translation_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "Goodbye, <PERSON>."
    assert rich.status_label.text() == "Copied the translation, 2 words"
    rich.lower_tabs.setCurrentIndex(0)
    rich.table.selectRow(2)
    assert "Translation:\nGoodbye, <PERSON>." in rich.detail.toPlainText()


def test_a_service_without_extras_shows_none_of_their_controls(view: ResultView) -> None:
    assert view.version_combo.isHidden() and view.version_label.isHidden()
    assert view.table.isColumnHidden(EMOTION)
    assert view.lower_tabs.count() == 1
    assert not view.lower_tabs.tabBar().isVisible()
    assert not view.copy_translation_button.isVisibleTo(view)
    view.show_redacted(True)  # nothing to switch to: the original stays
    assert not view.showing_redacted
    assert view.transcript_for(ExportFormat.TXT) is TRANSCRIPT


# --- wrapping ----------------------------------------------------------------------------------

LONG = ("So the first thing we need to talk about is the budget for next quarter, which the "
        "finance team has been preparing over the last three weeks, and I think we should go "
        "through it line by line before the board meeting on Thursday morning.")


def test_long_segments_wrap_and_rows_follow_the_width(qtbot: QtBot) -> None:
    transcript = Transcript("nevisa", "talk.wav", "en", 30.0, f"Short. {LONG}",
                            (Segment(0.0, 1.0, None, "Short."), Segment(1.0, 30.0, None, LONG)))
    view = ResultView(transcript)
    qtbot.addWidget(view)
    assert view.table.wordWrap()
    assert view.table.textElideMode() == Qt.TextElideMode.ElideNone
    view.resize(460, 500)
    view.show()
    qtbot.waitExposed(view)
    one_line = view.fontMetrics().height() + 8  # before a row is measured
    # At this width the long part needs several lines; its row grows to show them all.
    qtbot.waitUntil(lambda: view.table.rowHeight(1) >= 3 * one_line)
    narrow = view.table.rowHeight(1)
    line = view.table.rowHeight(0)
    assert line < 2 * one_line  # a short part stays one line high
    text_width = view.table.columnWidth(TEXT)
    needed = view.fontMetrics().boundingRect(
        0, 0, text_width - 12, 10_000, Qt.TextFlag.TextWordWrap, LONG).height()
    assert narrow >= needed

    view.resize(1400, 500)  # wider: the same text takes fewer lines, and the row shrinks
    qtbot.waitUntil(lambda: view.table.rowHeight(1) < narrow)
    assert view.table.rowHeight(0) == line


def test_rows_scrolled_into_view_are_fitted(qtbot: QtBot) -> None:
    segments = tuple(Segment(i * 10.0, i * 10.0 + 9.0, None, f"{i} {LONG}") for i in range(400))
    transcript = Transcript("nevisa", "long.wav", "en", 4000.0,
                            " ".join(s.text for s in segments), segments)
    view = ResultView(transcript)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    one_line = view.fontMetrics().height() + 8
    qtbot.waitUntil(lambda: view.table.rowHeight(0) > one_line)
    assert view.table.rowHeight(399) == one_line  # not measured while off screen
    view.table.scrollToBottom()
    qtbot.waitUntil(lambda: view.table.rowHeight(399) > one_line)
