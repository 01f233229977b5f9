"""The History tab's controller: it owns the take store's reading side and answers the
panel's intents (open, copy, export, save the recording, transcribe again, delete),
and File ▸ Save transcript… for the transcript pane.

The dictation controller writes the takes (through the journal) and emits
`take_journaled` when one has ended or been recovered; this refreshes the list then.
Files are written off the event loop (`asyncio.to_thread`): a recording can be large.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QFileDialog

from dictation_app.core.errors import DictationError
from dictation_app.core.settings import Key, Settings
from dictation_app.jobs.exports import ExportFormat, export, write_export
from dictation_app.takes.model import Take
from dictation_app.takes.recording import copy_recording
from dictation_app.takes.store import TakeStore
from dictation_app.ui.history_panel import HistoryPanel
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.result_view import ResultView

log = logging.getLogger(__name__)

WAV_FILTER = "WAV audio (*.wav)"
TEXT_FILTER = "Plain text (*.txt)"


class HistoryController(QObject):
    def __init__(self, window: MainWindow, panel: HistoryPanel, store: TakeStore,
                 settings: Settings, *,
                 transcribe_files: Callable[[list[Path]], object] | None = None):
        super().__init__()
        self.window = window
        self.panel = panel
        self.store = store
        self.settings = settings
        self._transcribe_files = transcribe_files
        self._views: dict[int, ResultView] = {}
        self._dialog: QFileDialog | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        panel.open_requested.connect(self.on_panel_open_requested)
        panel.copy_requested.connect(self.on_panel_copy_requested)
        panel.export_requested.connect(self.on_panel_export_requested)
        panel.save_recording_requested.connect(self.on_panel_save_recording_requested)
        panel.transcribe_requested.connect(self.on_panel_transcribe_requested)
        panel.delete_requested.connect(self.on_panel_delete_requested)
        window.save_transcript_requested.connect(self.on_window_save_transcript_requested)

    def start(self) -> None:
        self.refresh()

    def refresh(self, *_: object) -> None:
        try:
            self.panel.set_takes(self.store.list())
        except sqlite3.Error as exc:
            self.panel.show_message(f"The take history could not be read: {exc}.", error=True)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task

    # --- the panel's intents ------------------------------------------------------------

    def on_panel_open_requested(self, take_id: int) -> ResultView | None:
        view = self._views.get(take_id)
        if view is not None:
            view.raise_()
            view.activateWindow()
            return view
        take = self._take(take_id)
        if take is None:
            return None
        view = ResultView(take.to_transcript(), self.window, file=take.recording,
                          service_label=take.engine)
        view.setWindowTitle(f"Take of {_when(take)} — transcript")
        folder = self.settings.get_str(Key.LAST_EXPORT_DIR)
        view.export_directory = Path(folder) if folder and Path(folder).is_dir() else None
        # Bound slots, not lambdas: a lambda holding this controller, connected to a
        # dialog that is deleted on close, crashed PySide at the deletion.
        view.export_requested.connect(self._on_view_export_requested)
        view.finished.connect(self._on_view_finished)
        self._views[take_id] = view
        view.show()
        return view

    def _on_view_finished(self, _result: int) -> None:
        view = self.sender()
        for take_id, open_view in list(self._views.items()):
            if open_view is view:
                del self._views[take_id]
                open_view.deleteLater()

    def _on_view_export_requested(self, path: object, fmt: ExportFormat, timestamps: bool,
                                  speakers: bool) -> None:
        view = self.sender()
        if isinstance(view, ResultView) and view in self._views.values():
            text = export(view.transcript_for(fmt), fmt, timestamps=timestamps, speakers=speakers)
            self._spawn(self._write_text(Path(str(path)), text, view=view))

    def on_panel_copy_requested(self, take_id: int) -> None:
        take = self._take(take_id)
        if take is not None:
            QApplication.clipboard().setText(take.text)
            self.panel.show_message(f"Copied the take of {_when(take)}.")

    def on_panel_export_requested(self, take_id: int) -> None:
        view = self.on_panel_open_requested(take_id)
        if view is not None:
            view.choose_export_file()

    def on_panel_save_recording_requested(self, take_id: int) -> None:
        take = self._take(take_id)
        if take is None:
            return
        if take.recording is None or not take.recording.is_file():
            self.panel.show_message("This take has no recording: recordings were turned off "
                                    "in Preferences, or it was older than the days they are "
                                    "kept.", error=True)
            return
        source = take.recording
        self._ask_for_file("Save recording", WAV_FILTER, "wav", source.name,
                           lambda path: self._spawn(self._save_recording(source, path)))

    def on_panel_transcribe_requested(self, take_id: int) -> None:
        take = self._take(take_id)
        if take is None or self._transcribe_files is None:
            return
        if take.recording is None or not take.recording.is_file():
            self.panel.show_message("This take has no recording to transcribe again.",
                                    error=True)
            return
        self._transcribe_files([take.recording])

    def on_panel_delete_requested(self, take_id: int) -> None:
        view = self._views.pop(take_id, None)
        if view is not None:
            view.close()
        try:
            self.store.delete(take_id)
        except KeyError:
            pass
        except (sqlite3.Error, OSError) as exc:
            self.panel.show_message(f"The take could not be deleted: {exc}.", error=True)
            return
        self.panel.remove_take(take_id)
        self.panel.show_message("Deleted the take.")

    def on_window_save_transcript_requested(self) -> None:
        text = self.window.transcript.plain_text()
        if not text.strip():
            self.window.set_status("idle", "The transcript is empty: there is nothing to save.")
            return
        self._ask_for_file("Save transcript", TEXT_FILTER, "txt", "transcript.txt",
                           lambda path: self._spawn(self._write_text(path, text)))

    # --- internals --------------------------------------------------------------------

    def _take(self, take_id: int) -> Take | None:
        try:
            take = self.store.get(take_id)
        except sqlite3.Error as exc:
            self.panel.show_message(f"The take history could not be read: {exc}.", error=True)
            return None
        if take is None:
            self.panel.show_message("This take is no longer in the history.", error=True)
            self.panel.remove_take(take_id)
        return take

    def _ask_for_file(self, title: str, name_filter: str, suffix: str, name: str,
                      chosen: Callable[[Path], None]) -> None:
        if self._dialog is not None:
            self._dialog.raise_()
            return
        folder = self.settings.get_str(Key.LAST_EXPORT_DIR)
        start = str(Path(folder) / name) if folder and Path(folder).is_dir() else name
        dialog = QFileDialog(self.window, title, start, name_filter)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix)
        dialog.fileSelected.connect(lambda path: chosen(Path(path)))
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        dialog.open()

    @property
    def file_dialog(self) -> QFileDialog | None:
        return self._dialog

    def _on_dialog_finished(self) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None

    async def _save_recording(self, source: Path, target: Path) -> None:
        try:
            seconds = await asyncio.to_thread(copy_recording, source, target)
        except OSError as exc:
            self.panel.show_message(f"Could not save the recording to {target}: "
                                    f"{exc.strerror or exc}. Choose a folder you can write "
                                    "to, with free space.", error=True)
            return
        self._remember_folder(target)
        self.panel.show_message(f"Saved {seconds:.0f} s of audio as {target.name}.")

    async def _write_text(self, path: Path, text: str, *, view: ResultView | None = None) -> None:
        try:
            await asyncio.to_thread(write_export, path, text)
        except DictationError as exc:  # names the file, the reason and what to do
            self._tell(view, str(exc), error=True)
            return
        self._remember_folder(path)
        self._tell(view, f"Saved {path.name}")

    def _tell(self, view: ResultView | None, text: str, *, error: bool = False) -> None:
        if view is not None and view in self._views.values():
            view.show_status(text)
        elif view is None:
            self.window.set_status("error" if error else "idle", text)
        else:
            self.panel.show_message(text, error=error)

    def _remember_folder(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            self.settings.set(Key.LAST_EXPORT_DIR, str(path.parent))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _when(take: Take) -> str:
    return datetime.fromtimestamp(take.started).strftime("%d %b %H:%M")

