"""A take's recording: 16 kHz mono 16-bit WAV written as it is captured.

`WavRecording.append()` is on the microphone's path, so it only puts the chunk on a
queue; a writer thread writes it to the file at once (so a kill -9 loses nothing the
thread has written: the bytes are in the page cache), and about once a second
rewrites the header's two sizes and fsyncs, which bounds what a power cut can take to
about a second. A file the app died writing has a header that lags its body;
`fix_header()` sets the sizes from the file's length, which is what recovery runs.

The header is the canonical 44-byte PCM one, so its size fields sit at fixed offsets.
"""

from __future__ import annotations

import logging
import os
import queue
import struct
import tempfile
import threading
import time
from pathlib import Path

from dictation_app.audio.format import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH
from dictation_app.core.errors import ConfigurationError

log = logging.getLogger(__name__)

HEADER_BYTES = 44
SYNC_INTERVAL = 1.0  # seconds between header updates + fsyncs
BYTES_PER_SECOND = SAMPLE_RATE * CHANNELS * SAMPLE_WIDTH
_RIFF_SIZE_AT = 4
_DATA_SIZE_AT = 40


def wav_header(data_bytes: int) -> bytes:
    """The 44-byte header of a 16 kHz mono s16le WAV whose body is `data_bytes` long."""
    block = CHANNELS * SAMPLE_WIDTH
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, CHANNELS, SAMPLE_RATE,
                                    SAMPLE_RATE * block, block, SAMPLE_WIDTH * 8)
            + b"data" + struct.pack("<I", data_bytes))


def seconds(data_bytes: int) -> float:
    return data_bytes / BYTES_PER_SECOND


class WavRecording:
    """One take's WAV, written by its own thread; `close()` finishes it."""

    def __init__(self, path: Path, *, sync_interval: float = SYNC_INTERVAL):
        self.path = path
        self.error: OSError | None = None  # why writing stopped, if it did
        self._sync_interval = sync_interval
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._written = 0  # body bytes, on the writer thread
        self._synced = 0  # body bytes covered by the last header update + fsync
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(self._fd, wav_header(0))
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot write the take's recording ({path}): {exc.strerror or exc}. Check "
                "that the folder is writable and the disk has room, or turn off keeping "
                "recordings in Preferences.") from exc
        self._thread = threading.Thread(target=self._run, name=f"wav-{path.stem}", daemon=True)
        self._thread.start()

    def append(self, chunk: bytes) -> None:
        """Queue 16 kHz s16le audio; cheap enough for the microphone's path."""
        self._queue.put(chunk)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, set the header, fsync and close the file."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    @property
    def synced_seconds(self) -> float:
        """Audio the header and the last fsync cover: what survives a power cut."""
        return seconds(self._synced)

    def _run(self) -> None:
        last_sync = time.monotonic()
        try:
            while True:
                wait = max(0.0, last_sync + self._sync_interval - time.monotonic())
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    item = b""
                if item is None:
                    break
                if item:
                    self._write(item)
                if time.monotonic() - last_sync >= self._sync_interval:
                    self._sync()
                    last_sync = time.monotonic()
            self._sync()
        finally:
            os.close(self._fd)

    def _write(self, data: bytes) -> None:
        if self.error is not None:
            return  # keep draining the queue so memory does not grow
        try:
            view = memoryview(data)
            while view:
                done = os.write(self._fd, view)
                view = view[done:]
                self._written += done
        except OSError as exc:
            self.error = exc
            log.warning("stopped writing the recording %s: %s", self.path, exc)

    def _sync(self) -> None:
        if self.error is not None:
            return
        try:
            os.pwrite(self._fd, struct.pack("<I", 36 + self._written), _RIFF_SIZE_AT)
            os.pwrite(self._fd, struct.pack("<I", self._written), _DATA_SIZE_AT)
            os.fsync(self._fd)
            self._synced = self._written
        except OSError as exc:
            self.error = exc
            log.warning("stopped writing the recording %s: %s", self.path, exc)


def fix_header(path: Path) -> float:
    """Make the header say what the file holds; returns its seconds of audio.

    A body cut mid-sample loses that byte; a header cut short (or not ours) is written
    anew, since the app writes no other kind of WAV here.
    """
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        body = max(0, size - HEADER_BYTES)
        body -= body % (CHANNELS * SAMPLE_WIDTH)
        if handle.read(HEADER_BYTES) != wav_header(body):
            handle.seek(0)
            handle.write(wav_header(body))
        handle.truncate(HEADER_BYTES + body)
        handle.flush()
        os.fsync(handle.fileno())
    return seconds(body)


def copy_recording(source: Path, target: Path) -> float:
    """Write `source`'s audio to `target` as a whole WAV (atomically), without touching
    `source`, whose header may lag a take still being recorded; returns its seconds."""
    with open(source, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        body = max(0, size - HEADER_BYTES)
        body -= body % (CHANNELS * SAMPLE_WIDTH)
        src.seek(HEADER_BYTES)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(wav_header(body))
                remaining = body
                while remaining:
                    block = src.read(min(remaining, 1 << 20))
                    if not block:
                        break
                    out.write(block)
                    remaining -= len(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return seconds(body)
