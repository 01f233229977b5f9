"""A live take that survives its connection: drops, a peer that stops reading, a stall,
refusals that are not retried, the give-up limit, and a backlog that spills to disk.

Every test talks to the real fake Bahasakita server on loopback and compares the audio
its sessions received (stitched together, resends taken out) with what was fed, byte
for byte; the audio is noise, so every chunk is distinct.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dictation_app.audio.convert import ChunkPipeline
from dictation_app.core.errors import ConnectionFailed, ReconnectGaveUp, ServiceRejected
from dictation_app.services.backlog import Backlog
from dictation_app.services.live_session import (
    ConnectionFactory,
    LiveSession,
    LiveTarget,
    Phase,
)
from dictation_app.services.reconnect import ReconnectPolicy, backoff, is_retryable
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
from tests.services.test_live_session import RATE, Recorder, blocks, run, target
from tests.support.streaming import stitch

CHUNK = 3200
# Quick retries, so a test waits milliseconds between attempts, not seconds.
# Audio goes out at about 10x real time here, and the server answers at once: the
# final's latency in wall time is shortened to match (0.05 s is 0.5 s of audio).
QUICK = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5, give_up_after=20,
                        final_latency=0.05)


def noise(seconds: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-20000, 20000, (int(seconds * RATE), 1)).astype(np.int16)


def chunked(signal: np.ndarray) -> bytes:
    """The bytes a take of `signal` puts on the wire: 3200-byte chunks, the last padded."""
    pipeline = ChunkPipeline(RATE, 1)
    return b"".join([*pipeline.push(signal), *pipeline.finish()])


def connect_with(**options: Any) -> ConnectionFactory:
    def connect(target: LiveTarget, url: str,
                on_transcript: TranscriptListener) -> StreamConnection:
        return StreamConnection(url, on_transcript=on_transcript, service=target.service,
                                **options)
    return connect


async def take(server: FakeBahasakita, signal: np.ndarray, listener: Recorder, *,
               pace: float = 0.0, stop_early: bool = False, discard: bool = False,
               **kwargs: Any) -> LiveSession:
    """One take of `signal`, fed in microphone blocks (`pace` seconds between them; 0:
    all at once), then stopped; the session, ended."""
    kwargs.setdefault("policy", QUICK)
    session = LiveSession(listener, pre_roll_seconds=0, **kwargs)
    session.set_source(RATE, 1)
    session.start(target(server))
    for block in blocks(signal):
        session.feed(block)
        if pace:
            await asyncio.sleep(pace)
    if not stop_early:
        await session.drain()
    session.stop(discard_backlog=discard)
    await session.finished()
    return session


def statuses(listener: Recorder) -> list[str]:
    return [message for _, message in listener.of("status")]


# --- drops ------------------------------------------------------------------------------


def test_a_take_survives_drops_and_every_sample_arrives_once_in_order() -> None:
    signal = noise(25.0)
    listener = Recorder()
    recorded: list[bytes] = []
    with FakeBahasakita(Behaviour(drop_every=50)) as server:
        session = run(take(server, signal, listener, pace=0.004, recorder=recorded.append))
    union, overlaps = stitch(server.sessions)
    assert union == chunked(signal)
    assert b"".join(recorded) == chunked(signal)  # the recorder saw each chunk once
    assert server.drops >= 4 and session.reconnects == server.drops
    assert server.sessions[-1].stopped and session.error is None
    # What is sent twice is at most the audio since the last final (finals every 20)
    # and what went out in the final's latency.
    assert all(0 < overlap <= 35 * CHUNK for overlap in overlaps), overlaps
    assert session.chunks_resent * CHUNK >= sum(overlaps)
    # Each final the servers sent is shown once, in order; none from a resend twice.
    assert listener.of("final") == [text for s in server.sessions for text in s.finals]
    shown = statuses(listener)
    first = next(i for i, m in enumerate(shown) if m.startswith("Reconnecting"))
    assert re.fullmatch(r"Reconnecting \(attempt 1\)… \d+\.\d s behind", shown[first])
    assert "Listening — streaming to Bahasakita" in shown[first:]  # caught up again
    assert shown[-2:] == ["Finishing the transcript…", "Stopped. The transcript is ready to copy."]


def test_the_grey_words_of_a_dropped_session_are_withdrawn_and_said_again() -> None:
    listener = Recorder()
    with FakeBahasakita(Behaviour(drop_after=12, partial_every=5, final_every=20)) as server:
        run(take(server, noise(3.0), listener, pace=0.004))
    # "partial 10" was shown in grey, its audio resent; the new session says it again.
    calls = [c for c in listener.calls if c[0] in ("partial", "final")]
    withdrawn = calls.index(("partial", ""))
    assert ("partial", "partial 10") in calls[:withdrawn]
    assert ("final", "partial 10") not in calls  # not kept as text: its audio went again
    union, _ = stitch(server.sessions)
    assert union == chunked(noise(3.0))


def test_past_the_resend_cap_the_grey_words_stay_and_only_the_tail_is_resent() -> None:
    listener = Recorder()
    signal = noise(4.0)
    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, resend_seconds=1.0,
                             final_latency=0.0)
    with FakeBahasakita(Behaviour(drop_after=25, partial_every=5, final_every=100)) as server:
        session = run(take(server, signal, listener, pace=0.004, policy=policy))
    # The grey words' first audio will not go again, so they are kept as text.
    kept = [text for text in listener.of("final") if text.startswith("partial")]
    assert kept in (["partial 20"], ["partial 25"])
    first, second = server.sessions[:2]
    wire = chunked(signal)
    start = wire.index(bytes(second.audio[:CHUNK]))
    # Only the last second (10 chunks) sent to the first session went again.
    assert session.chunks_resent == 10
    assert start // CHUNK >= 15 and start % CHUNK == 0
    assert bytes(second.audio) == wire[start:]
    assert bytes(first.audio) == wire[:len(first.audio)]


def test_a_rejected_reconnect_is_not_retried() -> None:
    listener = Recorder()
    behaviour = Behaviour(drop_after=8, reject_conn="Kuota habis", reject_from=1)

    async def scenario(server: FakeBahasakita) -> None:
        with pytest.raises(ServiceRejected, match="Kuota habis"):
            await take(server, noise(3.0), listener, pace=0.004)

    with FakeBahasakita(behaviour) as server:
        run(scenario(server))
    assert len(server.sessions) == 2  # the first, and one attempt that was refused
    [error] = listener.of("error")
    assert "Kuota habis" in str(error)
    assert not is_retryable(error)


def test_it_gives_up_after_the_limit_and_says_the_recording_is_kept() -> None:
    listener = Recorder()
    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3)

    async def scenario(server: FakeBahasakita) -> None:
        with pytest.raises(ReconnectGaveUp, match="3 attempts.*recording of the take is kept"):
            # A server that drops every session before any final: no session counts.
            await take(server, noise(3.0), listener, pace=0.004, policy=policy)

    with FakeBahasakita(Behaviour(drop_every=4)) as server:
        run(scenario(server))
    assert len(server.sessions) == 4
    assert [m for m in statuses(listener) if m.startswith("Reconnecting")][-1].startswith(
        "Reconnecting (attempt 3)")
    assert listener.calls[-1] == ("state", (Phase.IDLE, False))


# --- a peer that stops reading, a stall, a missed pong ---------------------------------


def test_a_peer_that_stops_reading_is_left_within_the_send_deadline(
        caplog: pytest.LogCaptureFixture) -> None:
    signal = noise(40.0, seed=2)
    listener = Recorder()
    connect = connect_with(send_timeout=0.5, reply_timeout=None)

    async def scenario(server: FakeBahasakita) -> tuple[LiveSession, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        session = await take(server, signal, listener, connect=connect,
                             policy=ReconnectPolicy(initial_delay=0.01, resend_seconds=30))
        return session, loop.time() - started

    with FakeBahasakita(Behaviour(stop_reading_after=40)) as server:
        session, took = run(scenario(server))
    assert "the server stopped reading: a send waited 0.5 s" in caplog.text
    assert session.reconnects == 1 and took < 15
    union, _ = stitch(server.sessions)
    assert union == chunked(signal)


def test_a_peer_that_reads_but_never_answers_has_stalled(
        caplog: pytest.LogCaptureFixture) -> None:
    signal = noise(8.0, seed=3)
    listener = Recorder()
    connect = connect_with(reply_timeout=0.5)
    with FakeBahasakita(Behaviour(stall_after=20)) as server:
        session = run(take(server, signal, listener, pace=0.01, connect=connect))
    assert "the server stopped answering: no reply for" in caplog.text
    assert session.reconnects == 1
    union, _ = stitch(server.sessions)
    assert union == chunked(signal)


def test_a_missed_pong_ends_the_connection_with_its_own_message() -> None:
    async def scenario(server: FakeBahasakita) -> str:
        conn = StreamConnection(server.url, ping_interval=0.1, ping_timeout=0.2,
                                reply_timeout=None, send_timeout=30)
        await conn.open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        try:
            while loop.time() < deadline:
                await conn.send_audio(bytes(CHUNK))
                await asyncio.sleep(0.02)
        except ConnectionFailed as exc:
            return str(exc)
        finally:
            await conn.close()
        return "no error"

    with FakeBahasakita(Behaviour(stop_reading_after=1)) as server:
        message = run(scenario(server))
    assert "stopped answering keepalive pings (no pong within 0.2 s)" in message


# --- backpressure -----------------------------------------------------------------------


def test_a_slow_link_spills_the_backlog_to_disk_and_loses_nothing(tmp_path: Path) -> None:
    signal = noise(6.0, seed=4)
    policy = ReconnectPolicy(memory_seconds=0.5)
    spill = tmp_path / "spill"
    spill.mkdir()
    with FakeBahasakita(Behaviour(chunk_delay=0.005)) as server:
        session = run(take(server, signal, Recorder(), stop_early=True, policy=policy,
                           spill_directory=spill))
    assert session.chunks_spilled > 40
    assert bytes(server.sessions[0].audio) == chunked(signal)
    assert server.sessions[0].messages[-1]["bk"]["type"] == "audioStop"
    assert list(spill.iterdir()) == []  # the spill file went with the take


def test_stop_can_discard_the_backlog() -> None:
    signal = noise(6.0, seed=5)
    with FakeBahasakita(Behaviour(chunk_delay=0.01)) as server:
        session = run(take(server, signal, Recorder(), stop_early=True, discard=True))
    received = bytes(server.sessions[0].audio)
    assert len(received) < len(chunked(signal)) // 2
    assert chunked(signal).startswith(received)
    assert server.sessions[0].stopped and session.error is None


def test_the_backlog_keeps_order_across_memory_and_disk(tmp_path: Path) -> None:
    async def scenario() -> list[bytes | None]:
        backlog = Backlog(memory_chunks=4, directory=tmp_path)
        chunks = [bytes([i]) * (CHUNK if i % 3 else 7) for i in range(23)]
        for chunk in chunks[:15]:
            backlog.put(chunk)
        out = [await backlog.get() for _ in range(6)]
        for chunk in chunks[15:]:
            backlog.put(chunk)
        backlog.end()
        out += [await backlog.get() for _ in range(18)]
        assert backlog.spilled_total > 0 and backlog.on_disk
        backlog.close()
        assert out[:-1] == chunks
        return out

    assert run(scenario())[-1] is None


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    delays = backoff(initial=0.5, factor=2, cap=4, jitter=0.5, rng=random.Random(3))
    got = [next(delays) for _ in range(8)]
    nominal = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert all(n / 2 <= d <= n for d, n in zip(got, nominal, strict=True))
    assert len(set(got)) == len(got)  # jittered: no two the same


@pytest.fixture(autouse=True)
def _warnings_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
