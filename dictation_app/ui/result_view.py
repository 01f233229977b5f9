"""A window showing one finished file transcription: its segments, words and confidences,
and what else the service returned (a redacted text, emotions, a translation).

Passive like every widget: copying to the clipboard happens here (it never leaves the
window), saving does not: Export… asks for a file name and emits `export_requested`
with the path and format, and the controller writes `transcript_for(format)`. Segments
live in a model (ui/segment_model.py) shown by a table, so a transcript of 10,000
segments opens and filters quickly; rows wrap their text, and only the rows on screen
are measured (see `_fit_visible_rows`).
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dictation_app.jobs.exports import ExportFormat, export
from dictation_app.jobs.model import Job
from dictation_app.protocols.transcript import Segment, Transcript
from dictation_app.ui.language_label import language_label
from dictation_app.ui.segment_model import (
    DASH,
    EMOTION,
    LOW_CONFIDENCE,
    SEGMENT_ROLE,
    SPEAKER,
    TEXT,
    TIME,
    SegmentFilter,
    SegmentModel,
    emotion_label,
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


ORIGINAL, REDACTED = "Original", "Redacted"
_ROW_PADDING = 6  # pixels above and below a row's text, so wrapped rows do not touch


class _PaddedRows(QStyledItemDelegate):
    """The style's cell size plus a little air: wrapped rows read as separate parts."""

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), size.height() + _ROW_PADDING)

class ResultView(QDialog):
    """A completed job's transcript. Non-modal: open it with show()."""

    # Path, ExportFormat, with timestamps, with speakers (the last two matter for TXT)
    export_requested = Signal(object, object, bool, bool)
    # Path: save the subtitle file the service made itself (Bahasakita's subtitle_cc)
    subtitles_export_requested = Signal(object)

    def __init__(self, transcript: Transcript, parent: QWidget | None = None, *,
                 file: Path | None = None, job_id: int | None = None,
                 service_label: str | None = None, language_detected: bool = False):
        super().__init__(parent)
        # The job asked for Automatic: the transcript's language is what was detected.
        self._language_detected = language_detected
        self.setModal(False)
        # The service's name as lists show it; the controller knows it, else the id.
        self._service_label = service_label or transcript.provider
        self.setSizeGripEnabled(True)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self._transcript = transcript
        self._redacted = transcript.redacted()
        self._shown = transcript
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

        # Only where the service gave a redacted text: a transcript without one has
        # nothing to switch to, and the control would only raise a question.
        self.version_label = QLabel("Sho&w:")
        self.version_combo = QComboBox()
        self.version_combo.addItems([ORIGINAL, REDACTED])
        self.version_combo.setAccessibleName("Show the original or the redacted text")
        self.version_combo.setToolTip(self._version_tooltip())
        self.version_label.setBuddy(self.version_combo)
        self.version_combo.currentTextChanged.connect(self._on_version_combo_text_changed)
        for widget in (self.version_label, self.version_combo):
            widget.setVisible(self._redacted is not None)

        self.model = SegmentModel(transcript, self)
        self.proxy = SegmentFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.setItemDelegate(_PaddedRows(self.table))
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setAccessibleName("Transcript segments")
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        # Not ResizeToContents: that measures all 10,000 rows at every change of width.
        # Rows start one line high and the ones on screen are fitted to their text.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        for column in (TIME, SPEAKER, EMOTION):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(TEXT, QHeaderView.ResizeMode.Stretch)
        metrics = self.fontMetrics()
        widest_time = f"00:00:00 {DASH} 00:00:00"
        self.table.setColumnWidth(TIME, metrics.horizontalAdvance(widest_time) + 16)
        self.table.setColumnWidth(SPEAKER, metrics.horizontalAdvance("Speaker 10") + 16)
        self.table.setColumnWidth(EMOTION, metrics.horizontalAdvance("Surprised") + 16)
        self.table.setColumnHidden(SPEAKER, not self.model.has_speakers)
        self.table.setColumnHidden(EMOTION, not self.model.has_emotions)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_visible_rows)
        header.sectionResized.connect(self._schedule_fit)
        self.table.verticalScrollBar().valueChanged.connect(self._schedule_fit)
        self.proxy.layoutChanged.connect(self._schedule_fit)
        self.proxy.modelReset.connect(self._schedule_fit)
        self.proxy.rowsInserted.connect(self._schedule_fit)
        self.proxy.rowsRemoved.connect(self._schedule_fit)
        self.table.viewport().installEventFilter(self)

        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.detail.setPlaceholderText("Select a part of the transcript to see its words and "
                                       "how sure the service was of each.")

        self.detail.setAccessibleName("Selected part")

        # The translation, when the service made one: the whole of it, to read and copy.
        translation = transcript.translation
        self.translation_text = QTextBrowser()
        self.translation_text.setAccessibleName("Translation")
        self.translation_text.setPlainText(translation or "")
        self.copy_translation_button = QPushButton("Copy &translation")
        self.copy_translation_button.setToolTip("Copy the whole translation as plain text")
        self.copy_translation_button.clicked.connect(self.copy_translation)
        translation_page = QWidget()
        translation_layout = QVBoxLayout(translation_page)
        translation_layout.setContentsMargins(0, 0, 0, 0)
        translation_layout.addWidget(self.translation_text, 1)
        translation_row = QHBoxLayout()
        translation_row.addStretch(1)
        translation_row.addWidget(self.copy_translation_button)
        translation_layout.addLayout(translation_row)
        self.lower_tabs = QTabWidget()
        self.lower_tabs.setDocumentMode(True)
        self.lower_tabs.setTabBarAutoHide(True)  # one page needs no tab bar
        self.lower_tabs.addTab(self.detail, "Selected part")
        if translation is not None:
            self.lower_tabs.addTab(translation_page, "Translation")
        else:
            translation_page.setParent(self)
            translation_page.hide()

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.lower_tabs)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)

        self.timestamps_box = QCheckBox("With timestamps")
        self.timestamps_box.setToolTip("Plain text only: start each paragraph with its time")
        self.speakers_box = QCheckBox("With speakers")
        self.speakers_box.setToolTip("Plain text only: name the speaker of each paragraph")
        self.speakers_box.setEnabled(self.model.has_speakers)
        self.status_label = QLabel()
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the transcript as plain text, as the table "
                                    "shows it (original or redacted)")
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
                       self.close_button, self.copy_translation_button):
            # Enter in the search box must not copy or export.
            button.setAutoDefault(False)
            button.setDefault(False)

        search_row = QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.count_label)
        search_row.addSpacing(12)
        search_row.addWidget(self.version_label)
        search_row.addWidget(self.version_combo)
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
                   service_label=service_label,
                   language_detected=job.options.language is None)

    @property
    def transcript(self) -> Transcript:
        return self._transcript

    @property
    def shown_transcript(self) -> Transcript:
        """The version the table shows: the original, or the redacted one when chosen."""
        return self._shown

    @property
    def showing_redacted(self) -> bool:
        return self._shown is not self._transcript

    def show_redacted(self, redacted: bool) -> None:
        """Show the redacted text (when there is one) or the original."""
        self.version_combo.setCurrentText(REDACTED if redacted else ORIGINAL)

    def transcript_for(self, fmt: ExportFormat) -> Transcript:
        """What an export in `fmt` writes: the shown version for text and subtitles; the
        original for JSON, which carries the redacted text beside it."""
        return self._transcript if ExportFormat(fmt) is ExportFormat.JSON else self._shown

    # --- actions ----------------------------------------------------------------------

    def copy_text(self) -> None:
        """Put the plain-text export, with the chosen options, on the clipboard."""
        text = export(self._shown, ExportFormat.TXT, **self._txt_options())
        QGuiApplication.clipboard().setText(text)
        words = len(text.split())
        which = " (redacted)" if self.showing_redacted else ""
        self.status_label.setText(f"Copied {words:,} word{'' if words == 1 else 's'}{which}")

    def copy_translation(self) -> None:
        text = self._transcript.translation
        if not text:
            return
        QGuiApplication.clipboard().setText(text)
        words = len(text.split())
        self.status_label.setText(
            f"Copied the translation, {words:,} word{'' if words == 1 else 's'}")

    def choose_export_file(self) -> None:
        """Ask where to save (window-modal, no nested event loop), then request_export()."""
        if self._export_dialog is not None:
            self._export_dialog.raise_()
            return
        dialog = QFileDialog(self, "Export the redacted transcript" if self.showing_redacted
                             else "Export transcript")
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

    def _on_version_combo_text_changed(self, text: str) -> None:
        shown = self._redacted if text == REDACTED and self._redacted is not None else (
            self._transcript)
        if shown is self._shown:
            return
        selected = [self.proxy.mapToSource(i).row()
                    for i in self.table.selectionModel().selectedRows()]
        rows = self.model.rowCount()
        self._shown = shown
        self.model.set_transcript(shown)  # a reset: the selection goes with it
        self.detail.clear()
        self.status_label.setText("")
        self._update_count()
        if selected and self.model.rowCount() == rows:
            # The same parts in other words: stay on the part the person was reading.
            row = self.proxy.mapFromSource(self.model.index(selected[0], TEXT)).row()
            if row >= 0:
                self.table.selectRow(row)

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

    # --- row heights ------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() in (
                QEvent.Type.Resize, QEvent.Type.Show):
            self._schedule_fit()
        return super().eventFilter(watched, event)

    def _schedule_fit(self, *_args: object) -> None:
        self._fit_timer.start()  # once per event-loop turn, however many changes came

    def _fit_visible_rows(self) -> None:
        """Give each row on screen the height its wrapped text needs at today's widths.

        Measured top to bottom, so a row that grows pushes the next ones down and they
        are measured too; rows off screen keep their last height until scrolled to. At
        the end of the list it is measured from the last row up, and kept at the end:
        top-down, the last rows would be pushed out of sight as the ones above grow.
        """
        table = self.table
        rows = self.proxy.rowCount()
        height = table.viewport().height()
        bar = table.verticalScrollBar()
        if bar.maximum() > 0 and bar.value() == bar.maximum():
            row, filled = rows - 1, 0
            while row >= 0 and filled < height:
                table.resizeRowToContents(row)
                filled += table.rowHeight(row)
                row -= 1
            table.scrollToBottom()
            return
        row = table.rowAt(0)
        if row < 0:
            return
        while row < rows and table.rowViewportPosition(row) < height:
            table.resizeRowToContents(row)
            row += 1

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

    def _version_tooltip(self) -> str:
        tip = ("The service's redacted text masks names and places. What is shown here "
               "is what Copy and the text and subtitle exports write; JSON always holds "
               "both.")
        redacted = self._redacted
        if redacted is not None and redacted.text.split() == self._transcript.text.split():
            tip += " In this transcript the service masked nothing."
        return tip

    def _details(self) -> str:
        transcript = self._transcript
        parts = [self._service_label]
        if transcript.language:
            detected = ", detected" if self._language_detected else ""
            parts.append(f"{language_label(transcript.language)}{detected}")
        else:
            parts.append("language not given")
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
        if segment.emotion:
            heading += f" · {html.escape(emotion_label(segment.emotion))}"
        translation = ""
        if segment.translation:
            translation = (f"<p><small>Translation:</small><br>"
                           f"{html.escape(segment.translation)}</p>")
        if self.showing_redacted:
            # The words and their confidences are the original's, names and all.
            return (f"<p><b>{heading}</b></p><p>{html.escape(segment.text)}</p>{translation}"
                    "<p><small>Redacted text: show the original to see its words and how "
                    "sure the service was of each.</small></p>")
        if not segment.words:
            return (f"<p><b>{heading}</b></p><p>{html.escape(segment.text)}</p>{translation}"
                    "<p><small>The service gave no word confidences for this part.</small></p>")
        words = " ".join(word_html(w.word, w.conf) for w in segment.words)
        low = [w for w in segment.words if w.conf is not None and w.conf < LOW_CONFIDENCE]
        note = (f"{len(low)} word{'' if len(low) == 1 else 's'} marked: the service was less "
                f"than {LOW_CONFIDENCE:.0%} sure of {'it' if len(low) == 1 else 'them'}."
                if low else "The service was fairly sure of every word.")
        return (f"<p><b>{heading}</b></p><p>{words}</p>{translation}"
                f"<p><small>{html.escape(note)}</small></p>")
