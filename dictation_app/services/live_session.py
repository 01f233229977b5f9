"""One live take, Qt-free: audio blocks in, a streaming session out, events to a listener.

`LiveSession` is the loop around the connection, in the websockets shape: the
protocol (`protocols/bahasakita_stream.StreamClient`) is pure, `StreamConnection`
(transport/) moves its frames, and this object owns what a take needs around them:
the pre-roll ring (the last `PRE_ROLL_SECONDS` of source audio while idle, so the
first syllable is not clipped), the `ChunkPipeline` that turns source blocks into
3200-byte chunks, the in-order queue that holds audio captured while the session
is being opened, and the phase IDLE -> CONNECTING -> RECORDING -> STOPPING -> IDLE.

Any source of audio drives it the same way: the microphone calls `feed()` for
every block on the event loop, `dictation-app stream` feeds file blocks. Any source
of intent (a window button, a key, a command) calls `start()` / `stop()`. What
happens is reported to a `LiveListener`; the Qt controller turns those calls into
window updates, the CLI into printed lines.

It lives in services/ because it is a session on top of a transport and below the
controllers, which is what that layer holds; no PySide6 import may reach it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import numpy as np

from dictation_app.audio.convert import ChunkPipeline
from dictation_app.core.errors import DictationError
from dictation_app.protocols.bahasakita_stream import FinalTranscript, PartialTranscript
from dictation_app.services.live_target import LiveTarget
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener

__all__ = ["LiveListener", "LiveSession", "LiveTarget", "Phase", "open_stream"]

log = logging.getLogger(__name__)

PRE_ROLL_SECONDS = 0.3


class Phase(enum.IntEnum):
    IDLE = 0
    CONNECTING = 1
    RECORDING = 2
    STOPPING = 3


class LiveListener(Protocol):
    """What a session reports; every call happens on the event loop."""

    def on_session_state(self, phase: Phase, busy: bool) -> None:
        """The phase changed, or whether Record/Stop can be used now (`busy`)."""

    def on_session_status(self, kind: str, message: str) -> None:
        """A status line: `kind` is one of the window's status kinds."""

    def on_session_partial(self, text: str) -> None:
        """The words so far of the current utterance (replaced by the next)."""

    def on_session_final(self, text: str) -> None:
        """A settled utterance."""

    def on_session_error(self, error: DictationError) -> None:
        """The take failed; a final with the unconfirmed words may follow."""


# (target, resolved url, where transcripts go) -> an unopened connection
ConnectionFactory = Callable[[LiveTarget, str, TranscriptListener], StreamConnection]
EngineUrl = Callable[[], Awaitable[str]]


def open_stream(target: LiveTarget, url: str,
                on_transcript: TranscriptListener) -> StreamConnection:
    """The default connection: the Bahasakita streaming protocol, which the engine speaks too."""
    return StreamConnection(url, token=target.token, version=target.version,
                            language=target.language, on_transcript=on_transcript,
                            service=target.service)


async def _no_engine() -> str:
    raise DictationError("this session has no embedded engine to stream to")


class LiveSession:
    """Feed blocks all the time; `start()` a take, `stop()` it; `close()` at the end."""

    def __init__(
        self,
        listener: LiveListener,
        *,
        engine_url: EngineUrl = _no_engine,
        connect: ConnectionFactory = open_stream,
        pre_roll_seconds: float = PRE_ROLL_SECONDS,
        recorder: Callable[[bytes], None] | None = None,
    ):
        self._listener = listener
        self._engine_url = engine_url
        self._connect = connect
        self._pre_roll_seconds = pre_roll_seconds
        # Gets every 16 kHz chunk of a take once, in order, as it is queued (the take
        # journal's recording); on the microphone's path, so it must be cheap.
        self._recorder = recorder
        self.phase = Phase.IDLE
        self.error: DictationError | None = None  # why the last take failed, if it did
        self.chunks_sent = 0  # of the current (or last) take
        self._samplerate = 0
        self._channels = 0
        self._pre_roll: collections.deque[np.ndarray] = collections.deque()
        self._pre_roll_frames = 0
        self._pipeline: ChunkPipeline | None = None
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._partial = ""
        self._busy = False
        self._drain_limit = 0
        self._drain_waiter: asyncio.Future[None] | None = None

    # --- the source ----------------------------------------------------------

    def set_source(self, samplerate: int, channels: int) -> None:
        """The format of the blocks `feed()` will get from now on (forgets the pre-roll)."""
        self._samplerate = int(samplerate)
        self._channels = int(channels)
        self.clear_pre_roll()

    def clear_pre_roll(self) -> None:
        self._pre_roll.clear()
        self._pre_roll_frames = 0

    def feed(self, block: np.ndarray) -> None:
        """One block of source frames, on the loop: converted and queued, or kept as pre-roll.

        On the microphone's path for every block, so it does only the conversion push
        and the queue put; sending happens in the session's own task.
        """
        pipeline = self._pipeline
        if pipeline is not None:
            put = self._queue.put_nowait  # type: ignore[union-attr]
            recorder = self._recorder
            for chunk in pipeline.push(block):
                put(chunk)
                if recorder is not None:
                    recorder(chunk)
            return
        if not self._samplerate:
            return
        self._pre_roll.append(block)
        self._pre_roll_frames += len(block)
        limit = int(self._pre_roll_seconds * self._samplerate)
        while self._pre_roll and self._pre_roll_frames - len(self._pre_roll[0]) >= limit:
            self._pre_roll_frames -= len(self._pre_roll.popleft())

    # --- a take --------------------------------------------------------------

    def start(self, target: LiveTarget) -> None:
        """Open a session to `target`; the pre-roll and every block fed from now are sent."""
        if self.phase is not Phase.IDLE:
            raise RuntimeError(f"cannot start a take while {self.phase.name}")
        if not self._samplerate:
            raise RuntimeError("set_source() first: the session does not know the audio format")
        self.phase = Phase.CONNECTING
        self.error = None
        self.chunks_sent = 0
        self._pipeline = ChunkPipeline(self._samplerate, self._channels)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queue = queue
        for block in self._pre_roll:
            for chunk in self._pipeline.push(block):
                queue.put_nowait(chunk)
                if self._recorder is not None:
                    self._recorder(chunk)
        self.clear_pre_roll()
        self._set_busy(True)
        self._task = asyncio.ensure_future(self._run(target, queue))

    def stop(self) -> None:
        """Flush the audio, then end the session; finals still arriving are kept.

        Does nothing unless a take is connecting or recording, so a key release or a
        second Stop can arrive at any time.
        """
        if self.phase not in (Phase.CONNECTING, Phase.RECORDING):
            return
        self.phase = Phase.STOPPING
        self._listener.on_session_state(self.phase, self._busy)
        self._listener.on_session_status("connecting", "Finishing the transcript…")
        if self._pipeline is not None and self._queue is not None:
            for chunk in self._pipeline.finish():
                self._queue.put_nowait(chunk)
                if self._recorder is not None:
                    self._recorder(chunk)
            self._queue.put_nowait(None)
        self._pipeline = None

    async def finished(self) -> None:
        """Wait until the take has ended; raise the DictationError it failed with, if any."""
        if self._task is not None:
            await asyncio.shield(self._task)
        if self.error is not None:
            raise self.error

    async def drain(self, limit: int = 0) -> None:
        """Wait until at most `limit` chunks wait to be sent, or the take has ended.

        The queue itself is unbounded, because a microphone cannot wait; a source that
        can (a file) bounds it by calling this between blocks.
        """
        queue = self._queue
        if queue is None or queue.qsize() <= limit:
            return
        self._drain_limit = limit
        self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None

    async def close(self) -> None:
        """End the take now, without the audioStop handshake (idempotent)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.clear_pre_roll()

    # --- internals -----------------------------------------------------------

    async def _run(self, target: LiveTarget, queue: asyncio.Queue[bytes | None]) -> None:
        listener = self._listener
        connection: StreamConnection | None = None
        try:
            url = target.url
            if url is None:
                listener.on_session_status("starting", "Waiting for the offline engine…")
                url = await asyncio.shield(self._engine_url())
            listener.on_session_status("connecting", f"Connecting to {target.service}…")
            connection = self._connect(target, url, self._on_transcript)
            await connection.open()
            if self.phase is Phase.CONNECTING:
                self.phase = Phase.RECORDING
                listener.on_session_status("streaming",
                                           f"Listening — streaming to {target.service}")
            self._set_busy(False)
            while (chunk := await queue.get()) is not None:
                await connection.send_audio(chunk)
                self.chunks_sent += 1
                waiter = self._drain_waiter
                if waiter is not None and queue.qsize() <= self._drain_limit and not waiter.done():
                    waiter.set_result(None)
            self._set_busy(True)
            await connection.stop()
            listener.on_session_status("stopped", "Stopped. The transcript is ready to copy.")
        except DictationError as exc:
            self.error = exc
            listener.on_session_error(exc)
            if connection is not None:
                await connection.close()
            # The session is gone and no final will replace the grey words: keep them.
            if self._partial:
                listener.on_session_final(self._partial)
        except asyncio.CancelledError:
            if connection is not None:
                await connection.close()
            raise
        finally:
            self._partial = ""
            self._pipeline = None
            self._queue = None
            if self._drain_waiter is not None and not self._drain_waiter.done():
                self._drain_waiter.set_result(None)
            self.phase = Phase.IDLE
            self._busy = False
            listener.on_session_state(self.phase, False)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._listener.on_session_state(self.phase, busy)

    def _on_transcript(self, event: PartialTranscript | FinalTranscript) -> None:
        if isinstance(event, FinalTranscript):
            self._partial = ""
            self._listener.on_session_final(event.text)
        else:
            self._partial = event.text
            self._listener.on_session_partial(event.text)
