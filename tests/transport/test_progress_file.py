"""ProgressFile alone: it counts what is read, reads big pieces, and restarts on a rewind."""

from __future__ import annotations

import io

from dictation_app.transport.progress_file import ProgressFile


def test_it_reports_the_bytes_read_of_the_whole_size() -> None:
    heard: list[tuple[int, int]] = []
    upload = ProgressFile(io.BytesIO(b"x" * 10), lambda sent, size: heard.append((sent, size)))

    assert upload.size == 10
    assert upload.read(4) == b"x" * 10  # never less than READ_SIZE, however little is asked
    assert upload.read(4) == b""

    assert heard == [(10, 10), (10, 10)]


def test_a_rewind_restarts_the_count() -> None:
    heard: list[int] = []
    data = bytes(range(256)) * (ProgressFile.READ_SIZE // 256 + 1)
    upload = ProgressFile(io.BytesIO(data), lambda sent, size: heard.append(sent))

    upload.read(1)
    upload.seek(0)
    assert upload.tell() == 0
    assert upload.sent == 0
    upload.read(1)

    assert heard == [ProgressFile.READ_SIZE, ProgressFile.READ_SIZE]
    assert upload.name == "upload"  # a BytesIO has no name
