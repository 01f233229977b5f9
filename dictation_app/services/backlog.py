"""The audio of a take waiting to be sent: in memory up to a bound, on disk beyond it.

A microphone cannot wait, so a link slower than real time (or one being reconnected)
makes the queue grow without limit. `Backlog` keeps the first `memory_chunks` in a
deque and appends the rest to an unnamed temporary file (in the platform's cache
directory; the kernel deletes it when it is closed, or when the process dies), which
is read back in order once the deque runs dry. Nothing is ever dropped unless the
caller asks (`discard()`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import struct
import tempfile
from pathlib import Path
from typing import IO

import platformdirs

_LENGTH = struct.Struct("<I")


def spill_dir() -> Path:
    """Where spilled audio goes: the app's cache directory, created when needed."""
    path = Path(platformdirs.user_cache_dir("dictation-app", appauthor=False)) / "backlog"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Backlog:
    """An in-order queue of chunks, then an end marker; `get()` waits for the next one."""

    def __init__(self, *, memory_chunks: int = 300, directory: Path | None = None):
        self._memory_chunks = max(1, memory_chunks)
        self._directory = directory
        self._memory: collections.deque[bytes] = collections.deque()
        self._file: IO[bytes] | None = None
        self._read_at = 0  # file offsets: what has been read back, what was written
        self._write_at = 0
        self._spilled = 0  # chunks in the file not yet read back
        self._ended = False
        self._changed = asyncio.Event()
        self.spilled_total = 0  # chunks that ever went to disk, for tests and benches

    def __len__(self) -> int:
        return len(self._memory) + self._spilled

    @property
    def ended(self) -> bool:
        """`end()` was called; `get()` returns None once the chunks before it are out."""
        return self._ended

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def put(self, chunk: bytes) -> None:
        if self._ended:
            raise RuntimeError("the backlog has ended: no chunk may follow")
        # Once anything is on disk, newer chunks go there too, behind it, to keep order.
        if self._spilled or len(self._memory) >= self._memory_chunks:
            self._spill(chunk)
        else:
            self._memory.append(chunk)
        self._changed.set()

    def end(self) -> None:
        self._ended = True
        self._changed.set()

    def discard(self) -> int:
        """Forget every chunk waiting (the person chose not to send them); how many."""
        count = len(self)
        self._memory.clear()
        self._spilled = 0
        self._read_at = self._write_at = 0
        if self._file is not None:
            self._file.truncate(0)
        return count

    def get_nowait(self) -> bytes | None:
        """The next chunk, or None at the end; raises IndexError when one may still come."""
        if not self._memory and self._spilled:
            self._read_back()
        if self._memory:
            return self._memory.popleft()
        if self._ended:
            return None
        raise IndexError("no chunk waiting")

    async def get(self) -> bytes | None:
        """The next chunk, waiting for it; None once the backlog has ended and is empty."""
        while True:
            with contextlib.suppress(IndexError):
                return self.get_nowait()
            self._changed.clear()
            await self._changed.wait()

    def close(self) -> None:
        """Delete the spill file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory.clear()
        self._spilled = 0

    # internals

    def _spill(self, chunk: bytes) -> None:
        if self._file is None:
            # Open for the take's life, closed by close(); no name, so nothing to clean up.
            self._file = tempfile.TemporaryFile(  # noqa: SIM115
                prefix="take-", suffix=".pcm", dir=self._directory or spill_dir())
        self._file.seek(self._write_at)
        self._file.write(_LENGTH.pack(len(chunk)))
        self._file.write(chunk)
        self._write_at = self._file.tell()
        self._spilled += 1
        self.spilled_total += 1

    def _read_back(self) -> None:
        # Half the memory bound at a time: few reads, and room left for new chunks.
        assert self._file is not None
        self._file.flush()
        self._file.seek(self._read_at)
        for _ in range(min(self._spilled, max(1, self._memory_chunks // 2))):
            (size,) = _LENGTH.unpack(self._file.read(_LENGTH.size))
            self._memory.append(self._file.read(size))
            self._spilled -= 1
        self._read_at = self._file.tell()
        if not self._spilled:
            # Everything is back in memory: start the file over rather than let it grow.
            self._file.truncate(0)
            self._read_at = self._write_at = 0
