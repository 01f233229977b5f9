"""Dropped files: what a drag carries, which of it are files, and what to say about the rest.

Shared by the main window and the Files panel, which both take drops of audio files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QDragMoveEvent, QDropEvent


def has_local_urls(mime: QMimeData) -> bool:
    """Whether a drag carries anything from the local file system (checked on drop)."""
    return mime.hasUrls() and any(url.isLocalFile() for url in mime.urls())


def dropped_files(mime: QMimeData) -> tuple[list[Path], int]:
    """The regular files among dropped URLs, and how many other items were skipped.

    Folders are not searched: a person who drops a folder of a thousand files by
    mistake should not start a thousand uploads.
    """
    files: list[Path] = []
    skipped = 0
    for url in mime.urls():
        path = Path(url.toLocalFile()) if url.isLocalFile() else None
        if path is not None and path.is_file():
            files.append(path)
        else:
            skipped += 1
    return files, skipped


def skipped_text(count: int) -> str:
    """What to tell a person whose drop held folders or other things that are not files."""
    items = "item that is not a file" if count == 1 else "items that are not files"
    return f"Skipped {count} {items}; drop the audio files themselves (folders are not opened)."


def accept_file_drag(event: QDragMoveEvent) -> None:
    """Accept a drag that carries local files (a window and a panel alike)."""
    if has_local_urls(event.mimeData()):
        event.acceptProposedAction()
    else:
        event.ignore()


def take_file_drop(event: QDropEvent, say: Callable[[str], object]) -> list[Path]:
    """The regular files of a drop; what was skipped (folders, links) goes to `say`."""
    mime = event.mimeData()
    if not has_local_urls(mime):
        event.ignore()
        return []
    event.acceptProposedAction()
    files, skipped = dropped_files(mime)
    if skipped:
        say(skipped_text(skipped))
    return files
