"""The window's log file: in the platform's log folder, rotated, with secrets masked."""

from __future__ import annotations

import io
import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_app.core.log_file import LOG_NAME, install_log_file, log_dir


@pytest.fixture
def log_file() -> Iterator[logging.Handler]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    levels = {handler: handler.level for handler in before}
    path = install_log_file()
    assert path is not None
    added = [h for h in root.handlers if h not in before]
    assert len(added) == 1
    yield added[0]
    root.removeHandler(added[0])
    added[0].close()
    root.setLevel(level)
    for handler, was in levels.items():
        handler.setLevel(was)


def test_records_go_to_the_log_folder_with_tokens_masked(log_file: logging.Handler) -> None:
    path = log_dir() / LOG_NAME
    logging.getLogger("dictation_app.test").info(
        "connecting to wss://host/stream?token=sekrit-value-123")
    log_file.flush()
    text = path.read_text(encoding="utf-8")
    assert "connecting to wss://host/stream" in text and "INFO" in text
    assert "sekrit-value-123" not in text


def test_the_file_gets_info_while_the_console_keeps_warnings_only() -> None:
    root = logging.getLogger()
    level = root.level
    levels = {handler: handler.level for handler in root.handlers}
    console = logging.StreamHandler(io.StringIO())
    root.addHandler(console)
    root.setLevel(logging.WARNING)  # as the command line's basicConfig leaves it
    try:
        install_log_file()
        file_handler = root.handlers[-1]
        logging.getLogger("dictation_app.test").info("engine loaded")
        file_handler.flush()
        assert "engine loaded" in (log_dir() / LOG_NAME).read_text(encoding="utf-8")
        assert console.stream.getvalue() == ""  # type: ignore[attr-defined]
        assert isinstance(file_handler, logging.handlers.RotatingFileHandler)
        assert file_handler.maxBytes > 0 and file_handler.backupCount > 0
    finally:
        for handler in (console, root.handlers[-1]):
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
        for handler, was in levels.items():
            handler.setLevel(was)


def test_an_unwritable_log_folder_is_reported_not_raised(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr("dictation_app.core.log_file.log_dir", lambda: blocker / "logs")
    assert install_log_file() is None
