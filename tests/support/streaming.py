"""Feeding a file to the fake Bahasakita WebSocket server the way `dictation-app stream`
does (`stream_file` through a `StreamConnection`), in a loop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from dictation_app.cli.stream import Pace, stream_file
from dictation_app.services.live_session import DEFAULT_POLICY
from dictation_app.services.reconnect import ReconnectPolicy
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener
from tests.servers.bahasakita_server import FakeBahasakita, Session

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` in a fresh event loop, failing it after 30 s."""
    return asyncio.run(asyncio.wait_for(coro, 30))


def stream_to(server: FakeBahasakita, path: Path, *, token: str,
              policy: ReconnectPolicy = DEFAULT_POLICY, **kwargs: Any) -> list[object]:
    """Stream `path` at full speed to `server`; the transcript events, in order.
    `kwargs` go to each `StreamConnection`."""
    events: list[object] = []

    def connect(on_transcript: TranscriptListener) -> StreamConnection:
        return StreamConnection(server.url, token=token, on_transcript=on_transcript, **kwargs)

    run(stream_file(path, connect, pace=Pace.FAST, on_transcript=events.append, policy=policy))
    return events


def stitch(sessions: list[Session], chunk_bytes: int = 3200) -> tuple[bytes, list[int]]:
    """The audio a take's sessions received, as one stream, and the bytes each session
    after the first received again (its resend that the one before had already got).

    A reconnected session starts with a resend of chunks the take sent before, so its
    first chunk is found, at a chunk boundary, in what came before; the test audio is
    noise, so a chunk matches in one place only. Raises AssertionError on a gap.
    """
    union = bytearray(sessions[0].audio)
    overlaps: list[int] = []
    for session in sessions[1:]:
        audio = bytes(session.audio)
        if not audio:
            overlaps.append(0)
            continue
        head = audio[:chunk_bytes]
        start = next((at for at in range(len(union) - chunk_bytes, -1, -chunk_bytes)
                      if union[at:at + chunk_bytes] == head), len(union))
        overlap = min(len(union) - start, len(audio))
        assert audio[:overlap] == union[start:start + overlap], "the resend differs"
        union += audio[overlap:]
        overlaps.append(overlap)
    return bytes(union), overlaps
