"""The Qt-free live session against a real Bahasakita-protocol server on loopback.

Blocks are real numpy arrays, fed the way the microphone feeds them; the server
records every byte, so the tests compare what arrived with what was fed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Coroutine
from typing import Any

import numpy as np
import pytest

from dictation_app.core.errors import ConnectionFailed, DictationError, ServiceRejected
from dictation_app.protocols.bahasakita_stream import ProtocolVersion
from dictation_app.services.live_session import LiveSession, LiveTarget, Phase
from dictation_app.services.reconnect import NO_RECONNECT
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita

RATE = 16_000
BLOCK = 640  # 40 ms, the microphone's block size


class Recorder:
    """A LiveListener that writes down every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.final_services: list[str] = []  # who produced each final, in order

    def on_session_state(self, phase: Phase, busy: bool) -> None:
        self.calls.append(("state", (phase, busy)))

    def on_session_status(self, kind: str, message: str) -> None:
        self.calls.append(("status", (kind, message)))

    def on_session_partial(self, text: str) -> None:
        self.calls.append(("partial", text))

    def on_session_final(self, text: str, service: str) -> None:
        self.calls.append(("final", text))
        self.final_services.append(service)

    def on_session_error(self, error: DictationError) -> None:
        self.calls.append(("error", error))

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.calls if k == kind]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def ramp(frames: int, start: int = 0) -> np.ndarray:
    """Distinct int16 samples, so any reordering or loss shows in the received bytes."""
    values = (np.arange(start, start + frames) % 60000) - 30000
    return values.astype(np.int16).reshape(-1, 1)


def target(server: FakeBahasakita, **kwargs: Any) -> LiveTarget:
    fields: dict[str, Any] = {"url": server.url, "token": None, "version": ProtocolVersion.V1,
                              "language": "id", "service": "Bahasakita"}
    fields.update(kwargs)
    return LiveTarget(**fields)


def blocks(signal: np.ndarray) -> list[np.ndarray]:
    return [signal[i:i + BLOCK] for i in range(0, len(signal), BLOCK)]


def test_pre_roll_and_audio_fed_while_connecting_arrive_in_order() -> None:
    idle = ramp(RATE)  # one second before Record is pressed
    take = ramp(RATE * 2, start=RATE)  # fed at once, before the session can be open
    listener = Recorder()

    async def scenario(server: FakeBahasakita) -> LiveSession:
        session = LiveSession(listener)
        session.set_source(RATE, 1)
        for block in blocks(idle):
            session.feed(block)
        session.start(target(server))
        assert session.phase is Phase.CONNECTING
        for block in blocks(take):
            session.feed(block)
        await asyncio.sleep(0.2)
        assert session.phase is Phase.RECORDING
        session.stop()
        await session.finished()
        return session

    with FakeBahasakita() as server:
        session = run(scenario(server))
    [received] = server.sessions
    audio = np.frombuffer(bytes(received.audio), "<i2")
    first = int(audio[0]) + 30000  # the ramp value is the sample's index
    assert RATE - first in range(int(0.3 * RATE), int(0.3 * RATE) + BLOCK)  # 0.3 s pre-roll
    sent = RATE * 3 - first
    assert np.array_equal(audio[:sent], ramp(sent, start=first)[:, 0])
    assert not audio[sent:].any() and len(audio) % 1600 == 0  # zero padding of the last chunk
    assert set(received.chunk_sizes) == {3200} and received.stopped
    assert session.chunks_sent == len(received.chunk_sizes)
    assert session.phase is Phase.IDLE and session.error is None


def test_states_statuses_and_transcripts_are_reported_in_order() -> None:
    listener = Recorder()

    async def scenario(server: FakeBahasakita) -> None:
        session = LiveSession(listener)
        session.set_source(48_000, 2)
        session.start(target(server))
        rng = np.random.default_rng(2)
        for _ in range(60):  # 2.4 s of 48 kHz stereo
            session.feed(rng.uniform(-0.3, 0.3, (1920, 2)).astype(np.float32))
            await asyncio.sleep(0)
        await session.drain()
        session.stop()
        session.stop()  # a second stop (a key release) changes nothing
        await session.finished()

    with FakeBahasakita() as server:
        run(scenario(server))
    chunks = len(server.sessions[0].chunk_sizes)
    assert listener.of("status") == [
        ("connecting", "Connecting to Bahasakita…"),
        ("streaming", "Listening — streaming to Bahasakita"),
        ("connecting", "Finishing the transcript…"),
        ("stopped", "Stopped. The transcript is ready to copy."),
    ]
    assert listener.of("state") == [
        (Phase.CONNECTING, True), (Phase.RECORDING, False), (Phase.STOPPING, False),
        (Phase.STOPPING, True), (Phase.IDLE, False)]
    assert listener.of("partial")[:2] == ["partial 5", "partial 10"]
    assert listener.of("final") == ["final 20", f"last {chunks}"]
    assert listener.of("error") == []


def test_stop_sends_the_rest_then_audio_stop() -> None:
    listener = Recorder()
    signal = ramp(RATE + 123)  # not a whole number of chunks

    async def scenario(server: FakeBahasakita) -> None:
        session = LiveSession(listener, pre_roll_seconds=0)
        session.set_source(RATE, 1)
        session.start(target(server))
        for block in blocks(signal):
            session.feed(block)
        session.stop()  # before a single chunk could go out
        assert session.phase is Phase.STOPPING
        session.feed(ramp(BLOCK))  # after Stop: pre-roll for the next take, not sent
        await session.finished()

    with FakeBahasakita() as server:
        run(scenario(server))
    [received] = server.sessions
    audio = np.frombuffer(bytes(received.audio), "<i2")
    assert np.array_equal(audio[:len(signal)], signal[:, 0])
    assert len(audio) == 11 * 1600 and not audio[len(signal):].any()
    assert received.messages[-1]["bk"]["type"] == "audioStop"
    assert [m["bk"]["type"] for m in received.messages].count("audioStream") == 11


def test_a_failed_session_keeps_the_grey_words_as_a_final() -> None:
    listener = Recorder()

    async def scenario(server: FakeBahasakita) -> LiveSession:
        session = LiveSession(listener, policy=NO_RECONNECT)
        session.set_source(RATE, 1)
        session.start(target(server))
        # As a microphone does: blocks keep coming, and the next send finds the drop.
        for block in blocks(ramp(RATE * 5)):
            session.feed(block)
            await asyncio.sleep(0.005)
            if session.phase is Phase.IDLE:
                break
        with pytest.raises(ConnectionFailed, match="dropped"):
            await session.finished()
        return session

    with FakeBahasakita(Behaviour(drop_after=7)) as server:
        session = run(scenario(server))
    assert listener.of("partial") == ["partial 5"]
    [error] = listener.of("error")
    assert isinstance(error, ConnectionFailed) and session.error is error
    assert listener.of("final") == ["partial 5"]  # after the error, once
    assert listener.calls[-1] == ("state", (Phase.IDLE, False))
    assert session.phase is Phase.IDLE


def test_a_rejected_session_reports_the_server_message() -> None:
    listener = Recorder()

    async def scenario(server: FakeBahasakita) -> None:
        session = LiveSession(listener)
        session.set_source(RATE, 1)
        session.start(target(server))
        session.feed(ramp(BLOCK))
        with pytest.raises(ServiceRejected, match="Token kedaluwarsa"):
            await session.finished()

    with FakeBahasakita(Behaviour(reject_conn="Token kedaluwarsa")) as server:
        run(scenario(server))
    [error] = listener.of("error")
    assert "Token kedaluwarsa" in str(error)
    assert listener.of("final") == []  # nothing was said yet: no empty final
    assert server.sessions[0].audio == bytearray()


def test_the_engine_url_is_awaited_when_the_target_has_none() -> None:
    listener = Recorder()

    async def scenario(server: FakeBahasakita) -> None:
        async def engine_url() -> str:
            await asyncio.sleep(0.05)
            return server.url

        session = LiveSession(listener, engine_url=engine_url)
        session.set_source(RATE, 1)
        session.start(target(server, url=None, service="Local engine"))
        session.feed(ramp(RATE // 2))
        await asyncio.sleep(0.3)
        assert session.phase is Phase.RECORDING
        session.stop()
        await session.finished()

    with FakeBahasakita() as server:
        run(scenario(server))
    assert listener.of("status")[:2] == [("starting", "Waiting for the offline engine…"),
                                         ("connecting", "Connecting to Local engine…")]
    assert server.sessions[0].stopped


def test_close_ends_a_take_without_audio_stop() -> None:
    listener = Recorder()

    async def scenario(server: FakeBahasakita) -> None:
        session = LiveSession(listener)
        session.set_source(RATE, 1)
        session.start(target(server))
        await asyncio.sleep(0.2)
        assert session.phase is Phase.RECORDING
        await session.close()
        assert session.phase is Phase.IDLE
        await session.close()  # idempotent

    with FakeBahasakita() as server:
        run(scenario(server))
    assert not server.sessions[0].stopped


def test_start_in_the_wrong_state_raises() -> None:
    async def scenario() -> None:
        session = LiveSession(Recorder())
        with pytest.raises(RuntimeError, match="set_source"):
            session.start(LiveTarget("ws://127.0.0.1:9/", None, ProtocolVersion.V1, "id", "X"))
        session.set_source(RATE, 1)
        session.start(LiveTarget("ws://127.0.0.1:9/", None, ProtocolVersion.V1, "id", "X"))
        with pytest.raises(RuntimeError, match="CONNECTING"):
            session.start(LiveTarget("ws://127.0.0.1:9/", None, ProtocolVersion.V1, "id", "X"))
        with pytest.raises(ConnectionFailed):
            await session.finished()

    run(scenario())


def test_the_session_module_imports_no_qt() -> None:
    code = ("import sys, dictation_app.services.live_session\n"
            "import dictation_app.services.live_providers\n"
            "print('PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_drain_lets_a_file_source_wait_for_the_socket() -> None:
    async def scenario(server: FakeBahasakita) -> LiveSession:
        session = LiveSession(Recorder(), pre_roll_seconds=0)
        session.set_source(RATE, 1)
        session.start(target(server))
        await session.drain()  # nothing queued yet: returns at once
        session.feed(ramp(RATE * 10))  # 100 chunks in one go
        await session.drain(5)
        assert session.chunks_sent >= 95
        session.stop()
        await session.finished()
        await session.drain()  # the take has ended: nothing to wait for
        return session

    with FakeBahasakita() as server:
        session = run(scenario(server))
    assert session.chunks_sent == 100 == len(server.sessions[0].chunk_sizes)
