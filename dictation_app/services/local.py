"""File jobs on the embedded offline engine: no account, no network, one child process per file.

Each `run()` spawns `dictation-app engine-transcribe FILE` (engine/file_transcriber.py)
and follows the JSON lines it prints. A child process rather than a thread: the
recognizer's per-frame Python work would compete with the window for the GIL, a crash
in the C decoder cannot take the app down, and a cancelled job ends at once by killing
its child. The child's stdin stays open while we live, so a child whose parent
crashed notices and exits.

CPU cost: a child keeps one core busy for the whole job, decoding as fast as it can
(measured: about 8x faster than real time with the general model, so an hour of speech
takes some 8 minutes of one core), after about a second of start-up to import
and load the model; it holds about 160 MB. `max_children` runs decode at once
(default: one fewer than the machine's cores, at least one), leaving a core to the
window; further runs wait their turn.

There is nothing remote to resume or cancel: an interrupted job simply starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dictation_app.core import errors
from dictation_app.core.deadline import within
from dictation_app.core.errors import DictationError, RemoteProtocolError
from dictation_app.jobs.model import JobState
from dictation_app.jobs.service import JobContext
from dictation_app.protocols.reply_fields import decode_json
from dictation_app.protocols.transcript import Transcript, from_store_dict
from dictation_app.services.descriptors.local import PROVIDER, LocalOptions

log = logging.getLogger(__name__)

SERVICE = "Offline engine"
SUBCOMMAND = "engine-transcribe"
# The whole transcript arrives as one line: a long recording's runs to megabytes.
LINE_LIMIT = 64 * 1024 * 1024
EXIT_GRACE = 5.0  # seconds a child that has answered gets to exit before it is killed




def default_command() -> list[str]:
    """`dictation-app engine-transcribe`, for a source install or a frozen bundle."""
    # The engine's modules are imported on first use, for start-up cost: they pull in the
    # recognizer (numpy, pocketsphinx), and every command line reads the registry.
    from dictation_app.engine.process import app_command

    return app_command(SUBCOMMAND)


def default_max_children() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


# --- what the child says (pure) -------------------------------------------------


@dataclass(frozen=True)
class Progress:
    fraction: float


@dataclass(frozen=True)
class Result:
    transcript: Transcript


@dataclass(frozen=True)
class Failure:
    error: DictationError


ChildMessage = Progress | Result | Failure


def parse_line(line: bytes | str) -> ChildMessage | None:
    """One stdout line of the child; None for a blank one. RemoteProtocolError if malformed."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    if not text.strip():
        return None
    try:
        message: Any = decode_json(text, f"{SERVICE}: transcriber output")
    except RemoteProtocolError:
        raise _malformed(text, "not JSON, or nested too deep") from None
    keys = set(message) if isinstance(message, dict) else None
    if keys == {"progress"}:
        value = message["progress"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 <= value <= 1:
            raise _malformed(text, "progress is not a number in 0..1")
        return Progress(float(value))
    if keys == {"result"}:
        try:
            return Result(from_store_dict(message["result"]))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _malformed(text, f"the result is not a transcript ({exc!r})") from None
    if keys == {"error", "kind"}:
        if not (isinstance(message["error"], str) and isinstance(message["kind"], str)):
            raise _malformed(text, "error and kind must be strings")
        return Failure(error_from_child(message["kind"], message["error"]))
    raise _malformed(text, "not a progress, result or error message")


def error_from_child(kind: str, message: str) -> DictationError:
    """The DictationError subclass named `kind`, with the child's message."""
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, DictationError)):
        cls = DictationError
    try:
        return cls(message)
    except TypeError:  # a class that needs more than a message (ServiceRejected)
        return DictationError(message)


def _malformed(text: str, why: str) -> RemoteProtocolError:
    shown = text.strip()
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    return RemoteProtocolError(
        f"{SERVICE}: the transcriber process printed something it should not ({why}): "
        f"{shown!r}. This is a bug in the app; please report it.")


# --- the service ----------------------------------------------------------------


class LocalFileService:
    """The `JobService` for provider "local": transcription in a child process.

    `command` runs `dictation-app engine-transcribe` (the file, and `--grammar`
    when given, are appended); `grammar` is a JSGF file to decode against instead of
    the general model (exact on synthetic speech, for tests).
    """

    provider = PROVIDER

    def __init__(self, *, command: Sequence[str] | None = None, grammar: str | None = None,
                 max_children: int | None = None, stderr_lines: int = 40):
        self.command = list(command) if command is not None else default_command()
        self.grammar = grammar
        self.max_children = max_children if max_children is not None else default_max_children()
        if self.max_children < 1:
            raise ValueError("LocalFileService: max_children must be at least 1")
        self._stderr_lines = stderr_lines
        self._slots = asyncio.Semaphore(self.max_children)
        self._children: set[_Child] = set()

    async def run(self, context: JobContext) -> Transcript:
        async with self._slots:
            argv = [*self.command, str(context.file)]
            if self.grammar is not None:
                argv += ["--grammar", self.grammar]  # it picks its engine (tests)
            elif context.options.vendor is not None:
                argv += ["--engine", LocalOptions.of(context.options.vendor).engine]
            if context.options.language:
                argv += ["--language", context.options.language]
            child = await _Child.spawn(argv, self._stderr_lines)
            self._children.add(child)
            log.info("offline engine transcriber (pid %d) started for job %d",
                     child.pid, context.job_id)
            answered = False
            try:
                context.report(JobState.PROCESSING, 0.0)
                message = await self._follow(child, context)
                answered = True
            finally:
                # Killed unless it answered: on cancellation, failure or our own error.
                await child.close(grace=EXIT_GRACE if answered else 0.0)
                self._children.discard(child)
            if isinstance(message, Failure):
                raise message.error
            return message.transcript

    async def cancel(self, remote: Mapping[str, str]) -> None:
        """Nothing remote to stop: cancelling run() already killed the child."""

    async def aclose(self) -> None:
        """Kill every child still running; their runs fail."""
        await asyncio.gather(*(child.close() for child in list(self._children)))

    async def _follow(self, child: _Child, context: JobContext) -> Result | Failure:
        while True:
            line = await child.readline()
            if line is None:
                code = await child.close(grace=EXIT_GRACE)  # for the whole stderr tail
                raise DictationError(
                    f"{SERVICE}: the transcriber stopped (exit code {code}) before it "
                    f"finished {context.file.name}{child.stderr_suffix()}\n"
                    "Try again; if it fails again, report these messages.")
            message = parse_line(line)
            if isinstance(message, Progress):
                context.report(JobState.PROCESSING, message.fraction)
            elif message is not None:
                return message


class _Child:
    """One `engine-transcribe` process: its stdout read line by line, its stderr's tail kept."""

    def __init__(self, process: asyncio.subprocess.Process, stderr_lines: int):
        from dictation_app.engine.process import keep_tail  # on first use: see default_command

        assert process.stdout is not None and process.stderr is not None
        self._process = process
        self._stdout = process.stdout
        self._tail: deque[str] = deque(maxlen=stderr_lines)
        # Read all the time, so the child can never stall on a full stderr pipe.
        self._stderr_reader = asyncio.create_task(
            keep_tail(process.stderr, self._tail, "offline engine transcriber"))

    @classmethod
    async def spawn(cls, argv: Sequence[str], stderr_lines: int) -> _Child:
        from dictation_app.engine.server import PARENT_PIPE_ENV  # on first use: as above

        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT,
                env={**os.environ, PARENT_PIPE_ENV: "1"})
        except OSError as exc:
            raise DictationError(
                f"{SERVICE}: cannot start the transcriber {argv[0]}: {exc.strerror or exc}. "
                "Reinstall the app, or choose an online service.") from exc
        return cls(process, stderr_lines)

    @property
    def pid(self) -> int:
        return self._process.pid

    async def readline(self) -> bytes | None:
        """The next line on stdout, or None at its end."""
        try:
            line = await self._stdout.readline()
        except ValueError:  # longer than LINE_LIMIT
            raise RemoteProtocolError(
                f"{SERVICE}: the transcriber printed a line over {LINE_LIMIT} bytes. "
                "This is a bug in the app; please report it.") from None
        return line or None

    def stderr_suffix(self) -> str:
        tail = "\n".join(self._tail)
        return f"; its last messages:\n{tail}" if tail else " (it wrote nothing on stderr)"

    async def close(self, *, grace: float = 0.0) -> int:
        """Let the child exit within `grace` seconds, else kill it; reap it; its exit code."""
        process = self._process
        if process.returncode is None and grace > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await within(process.wait(), grace)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        code = await process.wait()
        # Its pipes reach end-of-file once it is gone, unless a grandchild holds them.
        _, pending = await asyncio.wait({self._stderr_reader}, timeout=2.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(self._stderr_reader, return_exceptions=True)
        if process.stdin is not None:
            process.stdin.close()
        return code

