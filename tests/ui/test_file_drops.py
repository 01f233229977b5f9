"""File drops on the Files panel and anywhere on the main window: only the files arrive,
once, and what was skipped is said.

Drops are real QDropEvents sent through the application, so Qt's own delivery
(parents, event filters) decides who gets them.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from dictation_app.ui.jobs_panel import JobsPanel
from dictation_app.ui.main_window import MainWindow
from tests.support.signals import recorder


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
