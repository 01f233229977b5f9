"""The engine as a child process: READY handshake, failures with their stderr, clean stops."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from dictation_app.audio.convert import ChunkFramer
from dictation_app.core.errors import ConnectionFailed
from dictation_app.engine.process import EngineProcess, default_command
from dictation_app.protocols.bahasakita_stream import (
    FinalTranscript,
    SessionOpened,
    SessionStopped,
    StreamClient,
)
from tests.support.audio import SENTENCES, Speech

SERVE = [sys.executable, "-c",
         "import sys; from dictation_app.engine.server import run_serve; "
         "sys.exit(run_serve('127.0.0.1', 0))"]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


async def session(url: str, pcm: bytes = b"") -> list[object]:
    """Open a session at `url`, send `pcm` in chunks, stop: the events up to the stop."""
    client = StreamClient()
    events: list[object] = []
    async with connect(url) as ws:
        await ws.send(client.open())
        events += client.receive(await ws.recv())
        for chunk in ChunkFramer().push(pcm):
            await ws.send(client.audio(chunk))
        await ws.send(client.stop())
        async for frame in ws:
            events += client.receive(frame)
            if isinstance(events[-1], SessionStopped):
                break
    return events


@pytest.mark.engine
def test_start_returns_a_url_that_serves_sessions_and_stop_ends_the_engine() -> None:
    async def go() -> tuple[str, list[object], bool, int | None, bool, str | None, str]:
        engine = EngineProcess(command=SERVE)
        url = await engine.start()
        events = await session(url)
        was_running = engine.running
        code = await engine.stop()
        return url, events, was_running, code, engine.running, engine.url, engine.stderr_tail

    url, events, was_running, code, running, url_after, tail = run(go())

    assert url.startswith("ws://127.0.0.1:") and url.endswith("/v1/prod/stream")
    assert isinstance(events[0], SessionOpened) and events[1:] == [SessionStopped()]
    assert was_running
    assert code == 0, tail  # SIGTERM is a clean shutdown, not a kill
    assert not running and url_after is None


@pytest.mark.engine
def test_default_command_starts_dictation_app_serve(grammar_file: Path, speech: Speech) -> None:
    async def go() -> tuple[list[object], int | None]:
        engine = EngineProcess(extra_args=["--grammar", str(grammar_file)])
        events = await session(await engine.start(), speech(0.3, SENTENCES[3]))
        return events, await engine.stop()

    events, code = run(go())

    assert events[-2:] == [FinalTranscript(SENTENCES[3]), SessionStopped()]
    assert code == 0


def test_child_failing_early_raises_connection_failed_with_its_stderr() -> None:
    engine = EngineProcess(command=python(
        "import sys; print('loading', flush=True); "
        "sys.stderr.write('first line\\nFATAL: model files are missing\\n'); sys.exit(3)"))

    with pytest.raises(ConnectionFailed) as caught:
        run(engine.start())

    message = str(caught.value)
    assert "exited with code 3 before it was ready" in message
    assert "FATAL: model files are missing" in message
    assert not engine.running


@pytest.mark.engine
def test_engine_that_cannot_load_its_grammar_reports_why(tmp_path: Path) -> None:
    engine = EngineProcess(command=python(
        "import sys; from dictation_app.engine.server import run_serve; "
        f"sys.exit(run_serve('127.0.0.1', 0, grammar={str(tmp_path / 'none.gram')!r}))"))

    with pytest.raises(ConnectionFailed, match="cannot read the grammar"):
        run(engine.start())


def test_child_that_never_gets_ready_is_killed_after_the_timeout() -> None:
    engine = EngineProcess(command=python(
        "import sys; sys.stderr.write('still loading\\n'); sys.stderr.flush(); sys.stdin.read()"))

    async def go() -> None:
        try:
            await engine.start(timeout=1.0)
        finally:
            assert not engine.running

    with pytest.raises(ConnectionFailed, match=r"not become ready within 1 s(.|\n)*still loading"):
        run(go())


def test_a_child_flooding_stderr_cannot_block() -> None:
    # 4 MB is far beyond any pipe buffer: unread, the child would block before READY.
    engine = EngineProcess(command=python(
        "import sys\n"
        "for i in range(40000): sys.stderr.write('noise %05d '.ljust(99, 'x') % i + '\\n')\n"
        "sys.stderr.flush()\n"
        "print('READY ws://127.0.0.1:9/v1/prod/stream', flush=True)\n"
        "sys.stdin.read()\n"), stderr_lines=5)

    async def go() -> tuple[str, str]:
        url = await engine.start(timeout=30)
        await engine.stop()
        return url, engine.stderr_tail

    url, tail = run(go())

    assert url == "ws://127.0.0.1:9/v1/prod/stream"
    assert tail.splitlines()[-1].startswith("noise 39999")
    assert len(tail.splitlines()) == 5


def test_stop_kills_a_child_that_ignores_sigterm() -> None:
    engine = EngineProcess(command=python(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('READY ws://127.0.0.1:9/v1/prod/stream', flush=True)\n"
        "while True: time.sleep(1)\n"))

    async def go() -> int | None:
        await engine.start(timeout=30)
        return await engine.stop(timeout=0.5)

    assert run(go()) == -9


def test_missing_executable_raises_connection_failed() -> None:
    engine = EngineProcess(command=["/nonexistent/dictation-engine"])

    with pytest.raises(ConnectionFailed, match="cannot start"):
        run(engine.start())


def test_default_command_runs_the_serve_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_command() == [sys.executable, "-m", "dictation_app", "serve",
                                 "--host", "127.0.0.1", "--port", "0"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert default_command() == [sys.executable, "serve", "--host", "127.0.0.1", "--port", "0"]
    engine = EngineProcess(extra_args=["--grammar", "g.gram"])
    assert engine.command[-2:] == ["--grammar", "g.gram"]


# The window's way of starting the engine: EngineProcess with its default command.
ENGINE_PARENT = """
import asyncio
from dictation_app.engine.process import EngineProcess

async def main():
    engine = EngineProcess()
    await engine.start()
    print("CHILD", engine._process.pid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.mark.engine
def test_the_engine_child_ends_when_its_parent_is_killed_with_sigkill() -> None:
    from tests.support.orphans import gone_within, kill_leftover, kill_parent, start_parent

    parent, child = start_parent(ENGINE_PARENT)
    try:
        kill_parent(parent)
        assert gone_within(child, 3.0), "the engine outlived its parent"
    finally:
        kill_leftover(child)
