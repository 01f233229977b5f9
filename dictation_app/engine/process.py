"""Run the offline engine as a child process and learn its URL from its READY line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections import deque
from collections.abc import Sequence

from dictation_app.core.deadline import within
from dictation_app.core.errors import ConnectionFailed
from dictation_app.engine.server import PARENT_PIPE_ENV

log = logging.getLogger(__name__)

READY_PREFIX = "READY "
SERVICE = "Offline engine"


def app_command(*args: str) -> list[str]:
    """`dictation-app ARGS...` as a child of this process, from source or a frozen bundle."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "dictation_app", *args]


def default_command(engine: str | None = None) -> list[str]:
    """`dictation-app serve` on a free loopback port, for `engine` (None: the default)."""
    command = app_command("serve", "--host", "127.0.0.1", "--port", "0")
    return command if engine is None else [*command, "--engine", engine]


async def keep_tail(stream: asyncio.StreamReader, tail: deque[str], label: str) -> None:
    """Read a child's stderr to its end, keeping its last lines in `tail` (for error
    messages) so that the child can never stall on a full pipe."""
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # longer than the reader's limit; it has been dropped
            tail.append("[a line too long to keep]")
            continue
        if not line:
            return
        text = line.decode("utf-8", "replace").rstrip()
        if text:
            tail.append(text)
            log.debug("%s stderr: %s", label, text)


class EngineProcess:
    """The engine server as a child process.

    `start()` spawns it and returns its WebSocket URL once it is listening; `stop()`
    ends it. Its stderr is read all the time (the last `stderr_lines` lines are kept
    for error messages) so the child can never stall on a full pipe. The child's
    stdin stays open while we live: the engine exits when it reaches end-of-file, so
    it does not outlive a parent that crashed.
    """

    def __init__(self, *, command: Sequence[str] | None = None,
                 extra_args: Sequence[str] = (), stderr_lines: int = 40):
        self.command = [*(command if command is not None else default_command()), *extra_args]
        self._stderr_tail: deque[str] = deque(maxlen=stderr_lines)
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._url: str | None = None

    @property
    def url(self) -> str | None:
        """The engine's WebSocket URL while it runs, else None."""
        return self._url if self.running else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr_tail)

    async def start(self, *, timeout: float = 60.0) -> str:
        """Spawn the engine and wait for it to listen; raise ConnectionFailed if it does not."""
        if self.running:
            raise RuntimeError("EngineProcess.start() while the engine is running")
        self._stderr_tail.clear()
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, PARENT_PIPE_ENV: "1"})
        except OSError as exc:
            raise ConnectionFailed(
                f"{SERVICE}: cannot start {self.command[0]}: {exc.strerror or exc}") from exc
        self._process = process
        assert process.stdout is not None and process.stderr is not None
        self._readers = [asyncio.create_task(
            keep_tail(process.stderr, self._stderr_tail, "offline engine"))]
        try:
            url = await within(self._read_ready(process.stdout), timeout)
        except asyncio.TimeoutError:
            await self._kill()
            raise ConnectionFailed(
                f"{SERVICE} did not become ready within {timeout:g} s"
                f"{self._stderr_suffix()}") from None
        except BaseException:
            await self._kill()
            raise
        if url is None:
            # Its stdout closed: it is exiting, or (odd, but possible) closed the pipe
            # and lives on, in which case it is no use to us either.
            try:
                await within(process.wait(), 5.0)
            except asyncio.TimeoutError:
                await self._kill()
            await self._finish_readers()
            raise ConnectionFailed(
                f"{SERVICE} exited with code {process.returncode} before it was ready"
                f"{self._stderr_suffix()}")
        # Nothing more is expected on stdout, but it is drained all the same.
        self._readers.append(asyncio.create_task(self._discard(process.stdout)))
        self._url = url
        log.info("offline engine (pid %d) ready at %s", process.pid, url)
        return url

    async def stop(self, *, timeout: float = 5.0) -> int | None:
        """Terminate the engine, killing it if it does not exit within `timeout`; its exit code."""
        process = self._process
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await within(process.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("offline engine did not exit within %g s; killing it", timeout)
                await self._kill()
        await self._finish_readers()
        self._url = None
        return process.returncode

    async def wait(self) -> int:
        """Until the engine exits (by itself or by `stop()`); its exit code."""
        if self._process is None:
            raise RuntimeError("EngineProcess.wait() before start()")
        return await self._process.wait()

    # internals

    async def _read_ready(self, stdout: asyncio.StreamReader) -> str | None:
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # longer than the reader's limit: not the READY line
                continue
            if not line:
                return None
            text = line.decode("utf-8", "replace").strip()
            if text.startswith(READY_PREFIX):
                return text[len(READY_PREFIX):].strip()
            if text:
                log.debug("offline engine stdout: %s", text)

    @staticmethod
    async def _discard(stream: asyncio.StreamReader) -> None:
        while await stream.read(65536):
            pass

    async def _kill(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        await self._finish_readers()

    async def _finish_readers(self) -> None:
        # The pipes hit end-of-file once the child is gone, unless a grandchild holds
        # them open; do not wait forever for that.
        readers, self._readers = self._readers, []
        if readers:
            _, pending = await asyncio.wait(readers, timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()

    def _stderr_suffix(self) -> str:
        tail = self.stderr_tail
        return f"; its last messages:\n{tail}" if tail else " (it wrote nothing on stderr)"
