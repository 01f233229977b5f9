"""A window showing one finished file transcription: its segments, words and confidences.

Passive like every widget: copying to the clipboard happens here (it never leaves the
window), saving does not: Export… asks for a file name and emits `export_requested`
with the path and format, and the controller writes the file. Segments live in a
model (ui/segment_model.py) shown by a table, so a transcript of 10,000 segments opens
and filters quickly.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import (
    QItemSelection,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dictation_app.jobs.exports import ExportFormat, export
from dictation_app.jobs.model import Job
from dictation_app.protocols.transcript import Segment, Transcript
from dictation_app.ui.segment_model import (
    DASH,
    LOW_CONFIDENCE,
    SEGMENT_ROLE,
    SPEAKER,
    TEXT,
    TIME,
    SegmentFilter,
    SegmentModel,
    format_clock,
    time_range,
    word_html,
)


def export_target(path: str | Path, chosen: ExportFormat) -> tuple[Path, ExportFormat]:
    """The file and format to export to: a suffix the person typed (".srt") wins over
    the dialog's filter; a name without one gets the filter's."""
    target = Path(path)
    typed = ExportFormat.for_path(target)
    if typed is not None:
        return target, typed
    return target.with_name(target.name + chosen.extension), chosen



class ResultView(QDialog):
    """A completed job's transcript. Non-modal: open it with show()."""

    # Path, ExportFormat, with timestamps, with speakers (the last two matter for TXT)
    export_requested = Signal(object, object, bool, bool)
    # Path: save the subtitle file the service made itself (Bahasakita's subtitle_cc)
    subtitles_export_requested = Signal(object)

    def __init__(self, transcript: Transcript, parent: QWidget | None = None, *,
                 file: Path | None = None, job_id: int | None = None,
                 service_label: str | None = None):
        super().__init__(parent)
        self.setModal(False)
        # The service's name as lists show it; the controller knows it, else the id.
        self._service_label = service_label or transcript.provider
        self.setSizeGripEnabled(True)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self._transcript = transcript
        self._file = file if file is not None else (
            Path(transcript.file) if transcript.file else None)
        self.job_id = job_id
        # Where the save dialogs open: the last export's folder if set, else the audio's.
        self.export_directory: Path | None = None
        self._format = ExportFormat.TXT
        self._export_dialog: QFileDialog | None = None
        name = self._file.name if self._file is not None else "Transcript"
        self.setWindowTitle(f"{name} — transcript")
        self.resize(820, 600)

        self.title_label = QLabel(name)
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        bold.setPointSizeF(max(bold.pointSizeF(), 1.0) * 1.15)
        self.title_label.setFont(bold)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_label = QLabel(self._details())
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search the transcript")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self,
                  self.search_edit.setFocus)
        self.count_label = QLabel()

        self.model = SegmentModel(transcript, self)
        self.proxy = SegmentFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setAccessibleName("Transcript segments")
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        # Fixed heights: the view never measures 10,000 rows to lay them out.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(TIME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SPEAKER, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(TEXT, QHeaderView.ResizeMode.Stretch)
        metrics = self.fontMetrics()
        widest_time = f"00:00:00 {DASH} 00:00:00"
        self.table.setColumnWidth(TIME, metrics.horizontalAdvance(widest_time) + 16)
        self.table.setColumnWidth(SPEAKER, metrics.horizontalAdvance("Speaker 10") + 16)
        self.table.setColumnHidden(SPEAKER, not self.model.has_speakers)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)

        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.detail.setPlaceholderText("Select a part of the transcript to see its words and "
                                       "how sure the service was of each.")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)

        self.timestamps_box = QCheckBox("With timestamps")
        self.timestamps_box.setToolTip("Plain text only: start each paragraph with its time")
        self.speakers_box = QCheckBox("With speakers")
        self.speakers_box.setToolTip("Plain text only: name the speaker of each paragraph")
        self.speakers_box.setEnabled(self.model.has_speakers)
        self.status_label = QLabel()
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the transcript as plain text")
        self.copy_button.clicked.connect(self.copy_text)
        self.export_button = QPushButton("&Export…")
        self.export_button.setToolTip("Save the transcript as plain text, subtitles or JSON")
        self.export_button.clicked.connect(self.choose_export_file)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Save), self, self.choose_export_file)
        self.subtitles_button = QPushButton("Service &subtitles…")
        self.subtitles_button.setToolTip("Save the subtitle file the service made (SRT)")
        self.subtitles_button.clicked.connect(self.choose_subtitles_file)
        self.subtitles_button.setVisible(self.service_subtitles is not None)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        for button in (self.copy_button, self.export_button, self.subtitles_button,
                       self.close_button):
            # Enter in the search box must not copy or export.
            button.setAutoDefault(False)
            button.setDefault(False)

        search_row = QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.count_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.timestamps_box)
        buttons.addWidget(self.speakers_box)
        buttons.addWidget(self.status_label, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.subtitles_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.details_label)
        layout.addLayout(search_row)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self._update_count()

    @classmethod
    def for_job(cls, job: Job, parent: QWidget | None = None, *,
                service_label: str | None = None) -> ResultView:
        if job.result is None:
            raise ValueError(f"job {job.id} ({job.label}) has no transcript to show")
        return cls(job.result, parent, file=job.file, job_id=job.id,
                   service_label=service_label)

    @property
    def transcript(self) -> Transcript:
        return self._transcript

    # --- actions ----------------------------------------------------------------------

    def copy_text(self) -> None:
        """Put the plain-text export, with the chosen options, on the clipboard."""
        text = export(self._transcript, ExportFormat.TXT, **self._txt_options())
        QGuiApplication.clipboard().setText(text)
        words = len(text.split())
        self.status_label.setText(f"Copied {words:,} word{'' if words == 1 else 's'}")

    def choose_export_file(self) -> None:
        """Ask where to save (window-modal, no nested event loop), then request_export()."""
        if self._export_dialog is not None:
            self._export_dialog.raise_()
            return
        dialog = QFileDialog(self, "Export transcript")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilters([fmt.label for fmt in ExportFormat])
        dialog.selectNameFilter(self._format.label)
        dialog.setDefaultSuffix(self._format.value)
        self._place(dialog, self._format.extension)
        dialog.filterSelected.connect(self._on_export_dialog_filter_selected)
        dialog.fileSelected.connect(self._on_export_dialog_file_selected)
        dialog.finished.connect(self._on_export_dialog_finished)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._export_dialog = dialog
        dialog.open()

    @property
    def service_subtitles(self) -> str | None:
        """The subtitle file the service made, when it made one."""
        text = self._transcript.extra("subtitle_cc")
        return text if isinstance(text, str) and text.strip() else None

    def choose_subtitles_file(self) -> None:
        """Ask where to save the service's own subtitles (no nested event loop)."""
        dialog = QFileDialog(self, "Save the service's subtitles")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters([ExportFormat.SRT.label])
        dialog.setDefaultSuffix(ExportFormat.SRT.value)
        self._place(dialog, f".service{ExportFormat.SRT.extension}")
        dialog.fileSelected.connect(
            lambda path: self.subtitles_export_requested.emit(Path(path)))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    @property
    def export_dialog(self) -> QFileDialog | None:
        """The open export file dialog, if any."""
        return self._export_dialog

    def request_export(self, path: Path | str, fmt: ExportFormat) -> None:
        """Ask for the transcript to be saved to `path` in `fmt` with the chosen options."""
        options = self._txt_options()
        self._format = fmt
        self.status_label.setText("")
        self.export_requested.emit(Path(path), fmt, options["timestamps"], options["speakers"])

    def show_status(self, text: str) -> None:
        """A short note next to the buttons, e.g. "Saved to notes.srt"."""
        self.status_label.setText(text)

    def visible_rows(self) -> int:
        return self.proxy.rowCount()

    def segment_at(self, row: int) -> Segment:
        """The segment shown at `row` of the (filtered) table."""
        segment = self.proxy.index(row, TEXT).data(SEGMENT_ROLE)
        assert isinstance(segment, Segment)
        return segment

    # --- slots ------------------------------------------------------------------------

    def _on_search_edit_text_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._update_count()

    def _on_table_selection_changed(self, selected: QItemSelection,
                                    _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            self.detail.clear()
            return
        segment = indexes[0].data(SEGMENT_ROLE)
        if isinstance(segment, Segment):
            self.detail.setHtml(self._detail_html(segment))

    def _on_export_dialog_filter_selected(self, name_filter: str) -> None:
        fmt = next((f for f in ExportFormat if f.label == name_filter), None)
        if fmt is not None and self._export_dialog is not None:
            self._export_dialog.setDefaultSuffix(fmt.value)

    def _on_export_dialog_file_selected(self, path: str) -> None:
        dialog = self._export_dialog
        chosen = self._format
        if dialog is not None:
            chosen = next((f for f in ExportFormat if f.label == dialog.selectedNameFilter()),
                          chosen)
        target, fmt = export_target(path, chosen)
        if target != Path(path) and target.exists():
            # The dialog asked about the name as typed, not the one with the extension.
            self._confirm_replace(target, fmt)
            return
        self.request_export(target, fmt)

    def _confirm_replace(self, target: Path, fmt: ExportFormat) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Replace file?",
                          f"{target.name} already exists in {target.parent}. Replace it?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          self)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def on_clicked(button: QAbstractButton) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self.request_export(target, fmt)
            else:
                self.show_status("Not exported")

        box.buttonClicked.connect(on_clicked)
        box.open()

    def _on_export_dialog_finished(self) -> None:
        self._export_dialog = None

    # --- internals --------------------------------------------------------------------

    def _place(self, dialog: QFileDialog, suffix: str) -> None:
        folder = self.export_directory or (self._file.parent if self._file else None)
        if folder is not None:
            dialog.setDirectory(str(folder))
        if self._file is not None:
            dialog.selectFile(self._file.stem + suffix)

    def _txt_options(self) -> dict[str, bool]:
        return {"timestamps": self.timestamps_box.isChecked(),
                "speakers": self.speakers_box.isEnabled() and self.speakers_box.isChecked()}

    def _details(self) -> str:
        transcript = self._transcript
        parts = [self._service_label]
        parts.append(f"language {transcript.language}" if transcript.language
                     else "language not given")
        if transcript.duration is not None:
            parts.append(f"{format_clock(transcript.duration)} long")
        words = len(transcript.text.split())
        parts.append(f"{words:,} word{'' if words == 1 else 's'}")
        return " · ".join(parts)

    def _update_count(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        noun = "part" if total == 1 else "parts"
        if shown == total:
            self.count_label.setText(f"{total:,} {noun}")
        else:
            self.count_label.setText(f"{shown:,} of {total:,} {noun}")

    def _detail_html(self, segment: Segment) -> str:
        heading = html.escape(time_range(segment) or "No times given")
        speaker = self.model.speaker(segment)
        if speaker:
            heading += f" · {html.escape(speaker)}"
        if not segment.words:
            return (f"<p><b>{heading}</b></p><p>{html.escape(segment.text)}</p>"
                    "<p><small>The service gave no word confidences for this part.</small></p>")
        words = " ".join(word_html(w.word, w.conf) for w in segment.words)
        low = [w for w in segment.words if w.conf is not None and w.conf < LOW_CONFIDENCE]
        note = (f"{len(low)} word{'' if len(low) == 1 else 's'} marked: the service was less "
                f"than {LOW_CONFIDENCE:.0%} sure of {'it' if len(low) == 1 else 'them'}."
                if low else "The service was fairly sure of every word.")
        return f"<p><b>{heading}</b></p><p>{words}</p><p><small>{html.escape(note)}</small></p>"
