"""Stream an audio file through the same pipeline and client the microphone uses."""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path

from dictation_app.audio.convert import ChunkPipeline
from dictation_app.audio.files import probe, read_blocks
from dictation_app.audio.format import CHUNK_SECONDS
from dictation_app.transport.stream_connection import StreamConnection


class Pace(str, enum.Enum):
    REALTIME = "realtime"  # one chunk per 100 ms, as a microphone delivers them
    FAST = "fast"  # as fast as the connection takes them


async def stream_file(path: str | Path, connection: StreamConnection, *,
                      pace: Pace = Pace.REALTIME) -> int:
    """Send the whole file and wait for the session to end; return the chunks sent.

    The file is probed before connecting, so a file we cannot decode costs no session.
    """
    info = probe(path)
    pipeline = ChunkPipeline(info.samplerate, info.channels)
    # Large blocks when racing keep per-block overhead out of the hot path.
    block_seconds = 1.0 if pace is Pace.FAST else CHUNK_SECONDS
    block_frames = max(1, int(info.samplerate * block_seconds))
    await connection.open()
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0

    async def send(chunks: list[bytes]) -> None:
        nonlocal sent
        for chunk in chunks:
            if pace is Pace.REALTIME:
                # Scheduled against the start time, so sleeps do not accumulate drift.
                delay = started + sent * CHUNK_SECONDS - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await connection.send_audio(chunk)
            sent += 1

    try:
        for block in read_blocks(info.path, block_frames=block_frames):
            await send(pipeline.push(block))
        await send(pipeline.finish())
    except BaseException:
        await connection.close()
        raise
    await connection.stop()
    return sent
