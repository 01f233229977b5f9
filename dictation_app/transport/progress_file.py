"""An upload's file, read in big pieces and counted, so a job can show its upload progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

# Per request with an upload: ProgressFile's 2 MiB pieces in 120 s need ~140 kbit/s.
UPLOAD_TIMEOUT = 120.0


class ProgressFile:
    """A binary file that reports how many bytes have been read, for upload progress.

    It keeps `fileno()`, `seek()` and `tell()`, so httpx still learns the size and
    sends a Content-Length (presigned S3 POSTs refuse chunked bodies); httpx rewinds
    it before each attempt, and the count restarts with it.

    It reads 2 MiB however little httpx asks for. httpx's multipart encoder reads 64 KiB
    at a time, and each piece costs a trip through httpcore and the event loop: on
    loopback that held an upload to a quarter of curl's speed, where 2 MiB pieces reach
    90% or more (bench/bench_upload.py). Bigger pieces gain little and hurt slow links:
    the write timeout applies to each piece, and 2 MiB in 120 s needs ~140 kbit/s.
    """

    READ_SIZE = 2 << 20

    def __init__(self, file: IO[bytes], on_progress: Callable[[int, int], None]):
        self._file = file
        self._on_progress = on_progress
        self._file.seek(0, 2)
        self.size = self._file.tell()
        self._file.seek(0)
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(max(size, self.READ_SIZE) if size >= 0 else size)
        self.sent += len(chunk)
        self._on_progress(self.sent, self.size)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._file.seek(offset, whence)
        self.sent = position
        return position

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    @property
    def name(self) -> str:
        return str(getattr(self._file, "name", "upload"))
