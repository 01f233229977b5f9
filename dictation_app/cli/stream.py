"""Stream an audio file through the same live session the microphone uses.

The file's blocks are fed to a `LiveSession` as the microphone's are, at the pace a
microphone delivers them or as fast as the connection takes them. It reconnects and
resends as a microphone take does, so `stream_file` takes a factory that builds a
fresh connection for each attempt, not a connection.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from pathlib import Path

from dictation_app.audio.files import probe, read_blocks
from dictation_app.audio.format import CHUNK_SECONDS
from dictation_app.core.errors import DictationError
from dictation_app.protocols.bahasakita_stream import FinalTranscript, PartialTranscript
from dictation_app.services.live_session import (
    DEFAULT_POLICY,
    LiveSession,
    LiveTarget,
    Phase,
    ReconnectPolicy,
)
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener

# At fast pace, how far reading the file may run ahead of the socket (5 s of audio).
FAST_AHEAD_CHUNKS = 50

# Where transcripts go -> an unopened connection that delivers them there.
StreamFactory = Callable[[TranscriptListener], StreamConnection]
StatusListener = Callable[[str, str], None]


class Pace(str, enum.Enum):
    REALTIME = "realtime"  # one chunk per 100 ms, as a microphone delivers them
    FAST = "fast"  # as fast as the connection takes them


class _Relay:
    """A transcript listener that passes events on to one set later."""

    listener: TranscriptListener | None = None

    def __call__(self, event: PartialTranscript | FinalTranscript) -> None:
        if self.listener is not None:
            self.listener(event)


class _FileListener:
    """The session's events for a file: transcripts and statuses to the caller's callbacks,
    and whether the session is open (or has failed)."""

    def __init__(self, on_transcript: TranscriptListener | None,
                 on_status: StatusListener | None) -> None:
        self.opened = asyncio.Event()
        self._on_transcript = on_transcript
        self._on_status = on_status

    def on_session_state(self, phase: Phase, busy: bool) -> None:
        if phase is not Phase.CONNECTING:
            self.opened.set()

    def on_session_status(self, kind: str, message: str) -> None:
        if self._on_status is not None:
            self._on_status(kind, message)

    def on_session_partial(self, text: str) -> None:
        if self._on_transcript is not None:
            self._on_transcript(PartialTranscript(text))

    def on_session_final(self, text: str, service: str) -> None:
        if self._on_transcript is not None:
            self._on_transcript(FinalTranscript(text))

    def on_session_error(self, error: DictationError) -> None:
        pass


async def stream_file(path: str | Path, connect: StreamFactory, *,
                      pace: Pace = Pace.REALTIME,
                      on_transcript: TranscriptListener | None = None,
                      on_status: StatusListener | None = None,
                      policy: ReconnectPolicy = DEFAULT_POLICY) -> LiveSession:
    """Send the whole file and wait for the session to end; return the finished session
    (its `chunks_sent`, `chunks_resent`, `reconnects`).

    `connect(listener)` builds each connection (one per reconnect attempt); transcripts
    reach `on_transcript` through the session, so a final is delivered once even when
    its audio was resent, and a kept grey partial arrives as a final. The file is probed
    before connecting, so a file we cannot decode costs no session.
    """
    info = probe(path)
    # Large blocks when racing keep per-block overhead out of the hot path.
    block_seconds = 1.0 if pace is Pace.FAST else CHUNK_SECONDS
    block_frames = max(1, int(info.samplerate * block_seconds))
    # The first connection is built before the take, to name its target; until the
    # session takes it, it has no listener of its own, hence the relay.
    relay = _Relay()
    opening = connect(relay)
    target = LiveTarget(url=opening.display_url, token=None, version=opening.protocol.version,
                        language=opening.protocol.language, service=opening.service)
    first: StreamConnection | None = opening

    def build(target: LiveTarget, url: str, listener: TranscriptListener) -> StreamConnection:
        nonlocal first
        if first is None:
            return connect(listener)
        connection, first = first, None
        relay.listener = listener
        return connection

    listener = _FileListener(on_transcript, on_status)
    session = LiveSession(listener, connect=build, pre_roll_seconds=0, policy=policy)
    session.set_source(info.samplerate, info.channels)
    session.start(target)
    loop = asyncio.get_running_loop()
    try:
        await listener.opened.wait()
        started = loop.time()
        fed = 0  # frames
        for block in read_blocks(info.path, block_frames=block_frames):
            if session.phase is Phase.IDLE:
                break  # the session failed; finished() says why
            if pace is Pace.REALTIME:
                # Scheduled against the start time, so sleeps do not accumulate drift.
                delay = started + fed / info.samplerate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            session.feed(block)
            fed += len(block)
            if pace is Pace.FAST:
                await session.drain(FAST_AHEAD_CHUNKS)
        session.stop()
        await session.finished()
    except BaseException:
        await session.close()
        raise
    return session
