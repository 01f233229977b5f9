"""The History tab wired to a real take store: open, copy, export, save the recording,
transcribe again, delete; and File ▸ Save transcript…."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dictation_app.controllers.history_controller import HistoryController
from dictation_app.core.settings import Settings
from dictation_app.jobs.exports import ExportFormat
from dictation_app.takes.model import TakeFinal
from dictation_app.takes.recording import wav_header
from dictation_app.takes.store import TakeStore
from dictation_app.ui.history_panel import HistoryPanel
from dictation_app.ui.main_window import MainWindow
from tests.support.qt_async import until


@pytest.fixture
def store() -> TakeStore:
    store = TakeStore()
    store.recordings.mkdir(parents=True)
    wav = store.recordings / "take.wav"
    wav.write_bytes(wav_header(0) + b"\x01\x00" * 16000)
    recorded = store.begin("Bahasakita", wav, started=1_700_000_000.0)
    store.add_final(recorded.id, TakeFinal("satu dua", "Bahasakita", 0, 0.6), duration=0.6)
    store.add_final(recorded.id, TakeFinal("tiga", "Bahasakita", 0.6, 1.0), duration=1.0)
    store.end(recorded.id, duration=1.0)
    bare = store.begin("Local engine", None, started=1_700_000_500.0)
    store.add_final(bare.id, TakeFinal("no audio kept", "Local engine", 0, 2), duration=2)
    store.end(bare.id, duration=2.0)
    return store


def build(qtbot: QtBot, store: TakeStore,
          added: list[list[Path]]) -> tuple[MainWindow, HistoryPanel, HistoryController]:
    window = MainWindow()
    qtbot.addWidget(window)
    panel = HistoryPanel()
    window.side_panel.addTab(panel, "History")
    controller = HistoryController(window, panel, store, Settings(), transcribe_files=added.append)
    controller.start()
    return window, panel, controller


def test_open_copy_and_transcribe_again(qtbot: QtBot, store: TakeStore) -> None:
    added: list[list[Path]] = []
    _window, panel, controller = build(qtbot, store, added)
    recorded, bare = sorted(panel.visible_takes(), key=lambda t: t.id)
    view = controller.on_panel_open_requested(recorded.id)
    assert view is not None and view.transcript.text == "satu dua tiga"
    assert [s.text for s in view.transcript.segments] == ["satu dua", "tiga"]
    assert controller.on_panel_open_requested(recorded.id) is view  # one window per take
    view.close()
    controller.on_panel_copy_requested(bare.id)
    assert QApplication.clipboard().text() == "no audio kept"
    controller.on_panel_transcribe_requested(recorded.id)
    assert added == [[recorded.recording]]
    controller.on_panel_transcribe_requested(bare.id)
    assert len(added) == 1 and "no recording" in panel.message_label.text()


def test_export_and_save_the_recording(qtbot: QtBot, loop: asyncio.AbstractEventLoop,
                                       store: TakeStore, tmp_path: Path) -> None:
    _window, panel, controller = build(qtbot, store, [])
    recorded = next(t for t in panel.visible_takes() if t.recording is not None)

    async def scenario() -> None:
        view = controller.on_panel_open_requested(recorded.id)
        assert view is not None
        view.request_export(tmp_path / "take.json", ExportFormat.JSON)
        await until(lambda: (tmp_path / "take.json").exists())
        controller.on_panel_save_recording_requested(recorded.id)
        dialog = controller.file_dialog
        assert dialog is not None
        dialog.fileSelected.emit(str(tmp_path / "audio.wav"))
        dialog.done(0)
        await until(lambda: "Saved" in panel.message_label.text())
        view.close()

    loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    exported = json.loads((tmp_path / "take.json").read_text())
    assert exported["text"] == "satu dua tiga" and exported["duration"] == 1.0
    with wave.open(str(tmp_path / "audio.wav"), "rb") as w:
        assert w.getnframes() == 16000


def test_delete_removes_the_take_and_its_recording(qtbot: QtBot, store: TakeStore) -> None:
    _window, panel, controller = build(qtbot, store, [])
    recorded = next(t for t in panel.visible_takes() if t.recording is not None)
    assert recorded.recording is not None
    controller.on_panel_delete_requested(recorded.id)
    assert store.get(recorded.id) is None and not recorded.recording.exists()
    assert [t.id for t in panel.visible_takes()] != [] and all(
        t.id != recorded.id for t in panel.visible_takes())


def test_save_transcript_writes_the_pane(qtbot: QtBot, loop: asyncio.AbstractEventLoop,
                                         store: TakeStore, tmp_path: Path) -> None:
    window, _panel, controller = build(qtbot, store, [])
    window.add_final("what was said")
    target = tmp_path / "notes.txt"

    async def scenario() -> None:
        window.save_transcript_action.trigger()
        dialog = controller.file_dialog
        assert dialog is not None
        dialog.fileSelected.emit(str(target))
        dialog.done(0)
        await until(target.exists)

    loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert target.read_text() == "what was said"
    assert "Saved notes.txt" in window.status_label.text()
