"""Stream an audio file through the same live session the microphone uses.

The file's blocks are fed to a `LiveSession` as the microphone's are, at the pace a
microphone delivers them or as fast as the connection takes them.
"""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path

from dictation_app.audio.files import probe, read_blocks
from dictation_app.audio.format import CHUNK_SECONDS
from dictation_app.core.errors import DictationError
from dictation_app.services.live_session import LiveSession, LiveTarget, Phase
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener

# At fast pace, how far reading the file may run ahead of the socket (5 s of audio).
FAST_AHEAD_CHUNKS = 50


class Pace(str, enum.Enum):
    REALTIME = "realtime"  # one chunk per 100 ms, as a microphone delivers them
    FAST = "fast"  # as fast as the connection takes them


class _FileListener:
    """The session's events for a file: only "the session is open (or failed)" matters.

    Transcripts go to the connection's own listener, as the caller set it up.
    """

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    def on_session_state(self, phase: Phase, busy: bool) -> None:
        if phase is not Phase.CONNECTING:
            self.opened.set()

    def on_session_status(self, kind: str, message: str) -> None:
        pass

    def on_session_partial(self, text: str) -> None:
        pass

    def on_session_final(self, text: str) -> None:
        pass

    def on_session_error(self, error: DictationError) -> None:
        pass


async def stream_file(path: str | Path, connection: StreamConnection, *,
                      pace: Pace = Pace.REALTIME) -> int:
    """Send the whole file and wait for the session to end; return the chunks sent.

    The file is probed before connecting, so a file we cannot decode costs no session.
    """
    info = probe(path)
    # Large blocks when racing keep per-block overhead out of the hot path.
    block_seconds = 1.0 if pace is Pace.FAST else CHUNK_SECONDS
    block_frames = max(1, int(info.samplerate * block_seconds))

    def reuse(target: LiveTarget, url: str, on_transcript: TranscriptListener) -> StreamConnection:
        return connection  # built by the caller, with its own transcript listener

    listener = _FileListener()
    session = LiveSession(listener, connect=reuse, pre_roll_seconds=0)
    session.set_source(info.samplerate, info.channels)
    session.start(LiveTarget(url=connection.display_url, token=None,
                             version=connection.protocol.version,
                             language=connection.protocol.language, service=connection.service))
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
    return session.chunks_sent
