"""One live take, Qt-free: audio blocks in, a streaming session out, events to a listener.

`LiveSession` is the loop around the connection, in the websockets shape: the
protocol (`protocols/bahasakita_stream.StreamClient`) is pure, `StreamConnection`
(transport/) moves its frames, and this object owns what a take needs around them:
the pre-roll ring (the last `PRE_ROLL_SECONDS` of source audio while idle, so the
first syllable is not clipped), the `ChunkPipeline` that turns source blocks into
3200-byte chunks, the in-order queue that holds audio captured while the session
is being opened, and the phase IDLE -> CONNECTING -> RECORDING -> STOPPING -> IDLE.

A take survives its connection: when the socket drops, stalls or stops reading, the
session keeps queueing audio (the `Backlog`, spilled to disk beyond a bound),
reconnects with backoff (`ReconnectPolicy`), opens a new session, resends the audio
sent since the last final and then the backlog, faster than real time, and carries
on live. A refusal (bad token, rejected audioConn) is not retried; after the
policy's limit the take ends with `ReconnectGaveUp`. With a fallback target (the
person chose failover), a cloud take that cannot reach its service continues on the
offline engine meanwhile and goes back once the service answers (services/failover.py).
See docs/ARCHITECTURE.md.

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
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from dictation_app.audio.convert import ChunkPipeline
from dictation_app.audio.format import CHUNK_SECONDS
from dictation_app.core.deadline import within
from dictation_app.core.errors import DictationError, ReconnectGaveUp
from dictation_app.protocols.bahasakita_stream import FinalTranscript, PartialTranscript
from dictation_app.services.backlog import Backlog
from dictation_app.services.failover import (
    ConnectionFactory,
    Route,
    probe_delays,
    wait_until_reachable,
)
from dictation_app.services.live_target import LiveTarget
from dictation_app.services.reconnect import ReconnectPolicy, is_retryable
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener

__all__ = ["ConnectionFactory", "LiveListener", "LiveSession", "LiveTarget", "Phase",
           "ReconnectPolicy", "open_stream"]

log = logging.getLogger(__name__)

PRE_ROLL_SECONDS = 0.3
DEFAULT_POLICY = ReconnectPolicy()
_SWITCH = object()  # the route is to change: what `_next_chunk` returns instead of a chunk


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

    def on_session_final(self, text: str, service: str) -> None:
        """A settled utterance, and the service or engine that produced it."""

    def on_session_error(self, error: DictationError) -> None:
        """The take failed; a final with the unconfirmed words may follow."""


# Every 16 kHz chunk of a take, once, in order, as it is captured (sent or not).
ChunkRecorder = Callable[[bytes], None]
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
        policy: ReconnectPolicy = DEFAULT_POLICY,
        spill_directory: Path | None = None,
        rng: random.Random | None = None,
    ):
        self._listener = listener
        self._engine_url = engine_url
        self._connect = connect
        self._pre_roll_seconds = pre_roll_seconds
        # Gets every 16 kHz chunk of a take once, in order, as it is queued (the take
        # journal's recording); on the microphone's path, so it must be cheap.
        self._recorder = recorder
        self.policy = policy
        self._spill_directory = spill_directory
        self._rng = rng or random.Random()
        self.chunks_resent = 0  # of chunks_sent, those sent again after a reconnect
        self.reconnects = 0  # sessions opened again in the current (or last) take
        self.chunks_spilled = 0  # chunks that waited on disk, in the current (or last) take
        # The chunks sent to the current session since the last final (and those sent
        # just before it arrived), oldest first, each with the loop time it went out; at
        # most `policy.resend_seconds` of them; and whether older ones had to be let go.
        self._unconfirmed: collections.deque[tuple[float, bytes]] = collections.deque()
        self._overflowed = False
        self._generation = 0  # which connection's transcripts count
        self._service = ""  # the service the current connection goes to
        self._opened_once = False
        self._discarded = False
        self._wake = asyncio.Event()
        self._confirmed = 0  # chunks of the take that finals have made safe
        self._shown_behind = -1  # the whole seconds behind last shown while catching up
        self.phase = Phase.IDLE
        self.error: DictationError | None = None  # why the last take failed, if it did
        self.chunks_sent = 0  # of the current (or last) take
        self._samplerate = 0
        self._channels = 0
        self._pre_roll: collections.deque[np.ndarray] = collections.deque()
        self._pre_roll_frames = 0
        self._pipeline: ChunkPipeline | None = None
        self._queue: Backlog | None = None
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
            for chunk in pipeline.push(block):
                self._enqueue(chunk)
            return
        if not self._samplerate:
            return
        self._pre_roll.append(block)
        self._pre_roll_frames += len(block)
        limit = int(self._pre_roll_seconds * self._samplerate)
        while self._pre_roll and self._pre_roll_frames - len(self._pre_roll[0]) >= limit:
            self._pre_roll_frames -= len(self._pre_roll.popleft())

    # --- a take --------------------------------------------------------------

    def start(self, target: LiveTarget, *, fallback: LiveTarget | None = None) -> None:
        """Open a session to `target`; the pre-roll and every block fed from now are sent.

        With a `fallback` (the offline engine), the take continues there whenever
        `target` cannot be reached, and goes back to it once it can.
        """
        if self.phase is not Phase.IDLE:
            raise RuntimeError(f"cannot start a take while {self.phase.name}")
        if not self._samplerate:
            raise RuntimeError("set_source() first: the session does not know the audio format")
        self.phase = Phase.CONNECTING
        self.error = None
        self.chunks_sent = self.chunks_resent = self.reconnects = self.chunks_spilled = 0
        self._unconfirmed.clear()
        self._overflowed = self._opened_once = self._discarded = False
        self._confirmed = 0
        self._pipeline = ChunkPipeline(self._samplerate, self._channels)
        queue = Backlog(memory_chunks=round(self.policy.memory_seconds / CHUNK_SECONDS),
                        directory=self._spill_directory)
        self._queue = queue
        for block in self._pre_roll:
            for chunk in self._pipeline.push(block):
                self._enqueue(chunk)
        self.clear_pre_roll()
        self._set_busy(True)
        self._service = target.service
        self._task = asyncio.ensure_future(self._run(Route(target, fallback), queue))

    def stop(self, *, discard_backlog: bool = False) -> None:
        """Send what is queued, then end the session; finals still arriving are kept.

        With `discard_backlog`, the audio not sent yet is dropped instead (the person
        chose not to wait for a slow or lost link), and a take that is reconnecting
        ends at once; it may be given while the take is already stopping. Otherwise
        does nothing unless a take is connecting or recording, so a key release or a
        second Stop can arrive at any time.
        """
        if discard_backlog and self.phase is Phase.STOPPING and self._queue is not None:
            self._discard()
            return
        if self.phase not in (Phase.CONNECTING, Phase.RECORDING):
            return
        self.phase = Phase.STOPPING
        self._listener.on_session_state(self.phase, self._busy)
        self._listener.on_session_status("connecting", "Finishing the transcript…")
        if self._pipeline is not None and self._queue is not None:
            for chunk in self._pipeline.finish():
                self._enqueue(chunk)
            self._queue.end()
        self._pipeline = None
        if discard_backlog:
            self._discard()

    @property
    def behind_seconds(self) -> float:
        """How much captured audio waits to be sent, in seconds."""
        return len(self._queue) * CHUNK_SECONDS if self._queue is not None else 0.0

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
        if queue is None or len(queue) <= limit:
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

    def _enqueue(self, chunk: bytes) -> None:
        if self._recorder is not None:
            self._recorder(chunk)
        assert self._queue is not None
        self._queue.put(chunk)

    def _discard(self) -> None:
        assert self._queue is not None
        dropped = self._queue.discard()
        if dropped:
            log.info("discarded %.1f s of audio not sent yet", dropped * CHUNK_SECONDS)
        self._discarded = True
        self._wake.set()

    async def _run(self, route: Route, queue: Backlog) -> None:
        listener = self._listener
        connection: StreamConnection | None = None
        try:
            attempt = 0  # failed reconnect attempts in a row
            lost_at = 0.0  # when the last working session was lost
            confirmed_then = -1  # self._confirmed when it was lost
            delays = self.policy.delays(self._rng)
            first = True
            while True:
                current = route.current
                connection = None
                probe: asyncio.Task[bool] | None = None
                try:
                    url = await self._url_of(current, announce=not route.on_fallback)
                    if first:
                        listener.on_session_status("connecting",
                                                   f"Connecting to {current.service}…")
                        first = False
                    self._generation += 1
                    self._service = current.service
                    connection = self._connect(current, url, self._transcripts_of(
                        self._generation, current.service))
                    if route.on_fallback and route.primary.url is not None:
                        probe = asyncio.ensure_future(wait_until_reachable(
                            route.primary, route.primary.url, self._connect,
                            probe_delays(self.policy.probe_initial, self.policy.probe_max)))
                    if await self._stream(connection, route, queue,
                                          resuming=self._opened_once, switch=probe):
                        break
                    self._switched_back(route)
                except DictationError as exc:
                    if connection is not None:
                        await connection.close()
                    if route.fails_over(exc) and not self._discarded:
                        self._fail_over(route, exc)
                        continue
                    if route.on_fallback:
                        # The offline engine failed too: reconnecting to the cloud is left.
                        log.warning("the %s failed during failover (%s); reconnecting to %s "
                                    "instead", current.service, exc, route.primary.service)
                        exc = route.drop_fallback() or exc
                    if not (self.policy.enabled and self._opened_once and is_retryable(exc)):
                        raise exc
                    if self._discarded:
                        log.info("%s; the rest of the take was discarded, so no reconnect", exc)
                        break
                    loop = asyncio.get_running_loop()
                    if self._confirmed > confirmed_then:
                        # Finals moved the take on since the last loss: that session
                        # worked, and this is a new loss. One that opens but drops before
                        # confirming anything does not count as back, or a server that
                        # drops every session early would be retried for ever.
                        attempt = 0
                        confirmed_then = self._confirmed
                        lost_at = loop.time()
                        delays = self.policy.delays(self._rng)
                    self._let_go_of_partial()
                    attempt += 1
                    waited = loop.time() - lost_at
                    if attempt > self.policy.max_attempts or waited > self.policy.give_up_after:
                        raise ReconnectGaveUp(
                            f"{current.service}: the connection was lost and could not be "
                            f"restored ({attempt - 1} attempts in {waited:.0f} s; the last "
                            f"failure: {exc}). Stopped retrying: the transcript so far stays, "
                            "and the recording of the take is kept.") from exc
                    log.info("%s Reconnecting (attempt %d).", exc, attempt)
                    await self._wait_before(attempt, next(delays))
                    if self._discarded:
                        break
                finally:
                    if probe is not None and not probe.done():
                        probe.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await probe
            if self._discarded and queue.ended and self._partial:
                # No session will finalize the grey words: keep them as they are.
                listener.on_session_final(self._partial, self._service)
                self._partial = ""
            listener.on_session_status("stopped", "Stopped. The transcript is ready to copy.")
        except DictationError as exc:
            self.error = exc
            listener.on_session_error(exc)
            if connection is not None:
                await connection.close()
            # The session is gone and no final will replace the grey words: keep them.
            if self._partial:
                listener.on_session_final(self._partial, self._service)
        except asyncio.CancelledError:
            if connection is not None:
                await connection.close()
            raise
        finally:
            self._generation += 1  # whatever still arrives belongs to no take
            self._partial = ""
            self._pipeline = None
            self._queue = None
            self.chunks_spilled = queue.spilled_total
            queue.close()
            self._unconfirmed.clear()
            if self._drain_waiter is not None and not self._drain_waiter.done():
                self._drain_waiter.set_result(None)
            self.phase = Phase.IDLE
            self._busy = False
            listener.on_session_state(self.phase, False)

    async def _url_of(self, target: LiveTarget, *, announce: bool) -> str:
        if target.url is not None:
            return target.url
        if announce:
            self._listener.on_session_status("starting", "Waiting for the offline engine…")
        return await asyncio.shield(self._engine_url())

    def _fail_over(self, route: Route, error: DictationError) -> None:
        """The cloud cannot be reached: the take goes on with the fallback at once."""
        assert route.fallback is not None
        log.info("%s Continuing on the %s until it is back.", error, route.fallback.service)
        self._let_go_of_partial()
        route.fail_over(error)
        self._listener.on_session_status(
            "connecting", f"{route.primary.service} cannot be reached: continuing on the "
            f"{route.fallback.service}…")

    def _switched_back(self, route: Route) -> None:
        """The fallback's session ended cleanly (its audioStop answered): every word it
        heard is final, so nothing is resent; the take goes back to the primary."""
        self._confirmed += len(self._unconfirmed)
        self._unconfirmed.clear()
        self._overflowed = False
        if self._partial:
            self._listener.on_session_final(self._partial, self._service)
            self._partial = ""
        route.back()
        self._listener.on_session_status(
            "connecting", f"{route.primary.service} can be reached again: switching back…")

    async def _stream(self, connection: StreamConnection, route: Route, queue: Backlog,
                      *, resuming: bool, switch: asyncio.Task[bool] | None = None) -> bool:
        """Open a session, resend what the last one left unconfirmed, send, stop.

        True once the take's audio has all gone and its session is stopped; False when
        `switch` (a probe of the primary, while on the fallback) found the primary
        reachable: the session is stopped then too, and the take goes back.
        """
        listener = self._listener
        await connection.open()
        self._opened_once = True
        if resuming:
            self.reconnects += 1
            log.info("reconnected to %s; resending %.1f s", route.current.service,
                     len(self._unconfirmed) * CHUNK_SECONDS)
        if self.phase is Phase.CONNECTING:
            self.phase = Phase.RECORDING
        if not resuming:
            listener.on_session_status("streaming", route.listening())
            self._set_busy(False)
        resend = [chunk for _, chunk in self._unconfirmed]
        self._unconfirmed.clear()
        for chunk in resend:
            await self._send(connection, chunk)
            self.chunks_resent += 1
        catching_up = resuming
        if resuming:
            catching_up = self._show_progress(route, queue)
        while True:
            if switch is not None and switch.done():
                if not switch.cancelled() and switch.exception() is None and switch.result():
                    await connection.stop()
                    return False
                switch = None  # the primary refused a probe: stay here for this take
            try:
                # Without a pause for each chunk, a backlog goes out at the link's speed.
                next_chunk: object = queue.get_nowait()
            except IndexError:
                next_chunk = await self._next_chunk(queue, switch)
            if next_chunk is _SWITCH:
                continue
            if next_chunk is None:
                break
            assert isinstance(next_chunk, bytes)
            await self._send(connection, next_chunk)
            if catching_up:
                catching_up = self._show_progress(route, queue)
            waiter = self._drain_waiter
            if waiter is not None and len(queue) <= self._drain_limit and not waiter.done():
                waiter.set_result(None)
        self._set_busy(True)
        await connection.stop()
        return True

    @staticmethod
    async def _next_chunk(queue: Backlog, switch: asyncio.Task[bool] | None) -> object:
        """The next chunk (None at the end), waiting; `_SWITCH` if `switch` ends first."""
        if switch is None:
            return await queue.get()
        getter = asyncio.ensure_future(queue.get())
        try:
            await asyncio.wait({getter, switch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
        # Backlog.get() only waits, then takes a chunk at once: cancelled, it took none.
        return _SWITCH if getter.cancelled() else getter.result()

    def _show_progress(self, route: Route, queue: Backlog) -> bool:
        """Status after a reconnect, while the backlog goes out; False once caught up."""
        behind = len(queue) * CHUNK_SECONDS
        if behind > 2 * CHUNK_SECONDS:
            # Shown at each whole second, not for every chunk.
            if int(behind) != self._shown_behind:
                self._shown_behind = int(behind)
                self._listener.on_session_status(
                    "connecting", f"Catching up… {behind:.1f} s behind")
            return True
        self._shown_behind = -1
        if self.phase is Phase.STOPPING:
            self._listener.on_session_status("connecting", "Finishing the transcript…")
        else:
            self._listener.on_session_status("streaming", route.listening())
        return False

    async def _send(self, connection: StreamConnection, chunk: bytes) -> None:
        # Kept before it goes out: if this send fails, the chunk is resent.
        unconfirmed = self._unconfirmed
        unconfirmed.append((asyncio.get_running_loop().time(), chunk))
        if len(unconfirmed) > round(self.policy.resend_seconds / CHUNK_SECONDS):
            unconfirmed.popleft()
            self._overflowed = True
        await connection.send_audio(chunk)
        self.chunks_sent += 1

    def _let_go_of_partial(self) -> None:
        """The connection is lost: its grey words will not be finalized by it."""
        if not self._partial:
            return
        if self._overflowed:
            # More was said since the last final than is kept for resending: the audio
            # of the first words is gone, so their text is kept as it was heard.
            self._listener.on_session_final(self._partial, self._service)
        else:
            # All its audio is resent, and the new session will say the words again.
            self._listener.on_session_partial("")
        self._partial = ""
        self._overflowed = False

    async def _wait_before(self, attempt: int, delay: float) -> None:
        """Wait `delay` before a reconnect, refreshing how far behind the take is."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        self._wake.clear()
        while not self._discarded:
            self._listener.on_session_status(
                "connecting", f"Reconnecting (attempt {attempt})… {self.behind_seconds:.1f} s "
                "behind")
            left = deadline - loop.time()
            if left <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await within(self._wake.wait(), min(1.0, left))

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._listener.on_session_state(self.phase, busy)

    def _transcripts_of(self, generation: int, service: str) -> TranscriptListener:
        def deliver(event: PartialTranscript | FinalTranscript) -> None:
            # A connection given up on may still deliver a reply or two while closing;
            # its session is gone, so its words are not this take's any more.
            if generation == self._generation:
                self._on_transcript(event, service)
        return deliver

    def _on_transcript(self, event: PartialTranscript | FinalTranscript, service: str) -> None:
        if isinstance(event, FinalTranscript):
            self._partial = ""
            self._finalized()
            self._listener.on_session_final(event.text, service)
        else:
            self._partial = event.text
            self._listener.on_session_partial(event.text)

    def _finalized(self) -> None:
        """A final arrived: the audio sent well before it needs no resending.

        The final comes some time after the server decided its utterance had ended (it
        waits for silence, then the reply travels back), and the audio sent meanwhile,
        or still on its way to the server then, belongs to the next utterance: if this
        connection is lost before that one's final, it must go again. That time is a
        matter of the link, not of the audio, so what is kept is what went out in the
        last `policy.final_latency` seconds (many chunks while a backlog races out,
        a few when live). Resending it repeats no finalized word: the server had not
        counted it in the utterance it finalized.
        """
        cutoff = asyncio.get_running_loop().time() - self.policy.final_latency
        unconfirmed = self._unconfirmed
        while unconfirmed and unconfirmed[0][0] < cutoff:
            unconfirmed.popleft()
            self._confirmed += 1
        self._overflowed = False
