"""Feeding a file to the fake Bahasakita WebSocket server the way `dictation-app stream`
does (`stream_file` through a `StreamConnection`), in a loop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from dictation_app.cli.stream import Pace, stream_file
from dictation_app.transport.stream_connection import StreamConnection
from tests.servers.bahasakita_server import FakeBahasakita

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` in a fresh event loop, failing it after 30 s."""
    return asyncio.run(asyncio.wait_for(coro, 30))


def stream_to(server: FakeBahasakita, path: Path, *, token: str, **kwargs: Any) -> list[object]:
    """Stream `path` at full speed to `server`; the transcript events, in order.
    `kwargs` go to the `StreamConnection`."""
    events: list[object] = []
    conn = StreamConnection(server.url, token=token, on_transcript=events.append, **kwargs)
    run(stream_file(path, conn, pace=Pace.FAST))
    return events
