"""Failover: a cloud take that continues on the offline engine while the cloud is away.

Two real loopback servers speak the streaming protocol: one plays the cloud (and has
outages: open sessions cut, handshakes refused with 503), the other the embedded
engine. The audio all sessions received, in the order they were opened, must be the
take's audio, every sample once (resends taken out), and each final must be reported
with the service that produced it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from dictation_app.core.errors import ServiceRejected
from dictation_app.services.live_session import LiveSession, LiveTarget
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita, Session
from tests.services.test_live_reconnect import QUICK, chunked, noise, statuses
from tests.services.test_live_session import RATE, Recorder, blocks, run, target
from tests.support.streaming import stitch

# Probes of the cloud every few tens of milliseconds, so an outage of a fraction of a
# second is noticed to have ended.
FAILOVER = replace(QUICK, probe_initial=0.03, probe_max=0.06)
LOCAL = "Local engine"


def local_target(server: FakeBahasakita) -> LiveTarget:
    return target(server, service=LOCAL, language="en")


def in_order(*servers: FakeBahasakita) -> list[Session]:
    """The sessions that got audio, in the order they were opened (probes get none)."""
    sessions = [s for server in servers for s in server.sessions if s.audio]
    return sorted(sessions, key=lambda s: s.started)


async def dictate(session: LiveSession, signal: np.ndarray, cloud: FakeBahasakita, *,
                  down_at: float | None = None, back_at: float | None = None,
                  pace: float = 0.004) -> None:
    """Feed `signal` in microphone blocks; the cloud goes down and comes back at those
    fractions of the take; then stop and wait for the end."""
    parts = blocks(signal)
    for index, block in enumerate(parts):
        if down_at is not None and index == int(down_at * len(parts)):
            cloud.go_down()
        if back_at is not None and index == int(back_at * len(parts)):
            cloud.come_back()
        session.feed(block)
        await asyncio.sleep(pace)
    await session.drain()
    session.stop()
    await session.finished()


def test_an_outage_moves_the_take_to_the_engine_and_back_losing_nothing() -> None:
    signal = noise(15.0)
    listener = Recorder()
    with FakeBahasakita() as cloud, FakeBahasakita() as engine:
        session = LiveSession(listener, pre_roll_seconds=0, policy=FAILOVER)
        session.set_source(RATE, 1)

        async def scenario() -> None:
            session.start(target(cloud), fallback=local_target(engine))
            await dictate(session, signal, cloud, down_at=0.3, back_at=0.6)

        run(scenario())
    sessions = in_order(cloud, engine)
    union, overlaps = stitch(sessions)
    assert union == chunked(signal)  # every sample reached a session, once, in order
    assert [s in engine.sessions for s in sessions] == [False, True, False]
    # The move to the engine resends the audio since the last final; the move back
    # resends nothing: the engine's session was stopped and answered first.
    assert 0 < overlaps[0] <= 35 * 3200 and overlaps[1] == 0
    assert engine.sessions[0].stopped and cloud.sessions[-1].stopped
    # Each final once, in order, with the service that produced it.
    assert listener.of("final") == [text for s in sessions for text in s.finals]
    produced_by = [LOCAL if s in engine.sessions else "Bahasakita"
                   for s in sessions for _ in s.finals]
    assert listener.final_services == produced_by
    shown = statuses(listener)
    assert "Bahasakita cannot be reached: continuing on the Local engine…" in shown
    assert ("Listening — Bahasakita cannot be reached: the Local engine transcribes until "
            "it is back") in shown
    assert "Bahasakita can be reached again: switching back…" in shown
    assert "Listening — streaming to Bahasakita" in shown[shown.index(
        "Bahasakita can be reached again: switching back…"):]
    assert session.error is None and cloud.refused >= 1


def test_a_cloud_unreachable_at_the_start_begins_on_the_engine() -> None:
    signal = noise(4.0)
    listener = Recorder()
    with FakeBahasakita() as cloud, FakeBahasakita() as engine:
        cloud.go_down()
        started: list[str] = []

        async def engine_url() -> str:
            started.append("engine")
            return engine.url

        session = LiveSession(listener, pre_roll_seconds=0, policy=FAILOVER,
                              engine_url=engine_url)
        session.set_source(RATE, 1)

        async def scenario() -> None:
            # The engine's URL is known only once it runs: the fallback has none yet.
            session.start(target(cloud), fallback=replace(local_target(engine), url=None))
            await dictate(session, signal, cloud)

        run(scenario())
    assert started == ["engine"]
    assert [s.audio for s in engine.sessions] == [bytearray(chunked(signal))]
    assert not any(s.audio for s in cloud.sessions) and cloud.refused >= 2  # probed
    assert set(listener.final_services) == {LOCAL}
    assert session.error is None


def test_a_refusal_is_shown_not_failed_over() -> None:
    listener = Recorder()
    with FakeBahasakita(Behaviour(reject_conn="quota exceeded")) as cloud, \
            FakeBahasakita() as engine:
        session = LiveSession(listener, pre_roll_seconds=0, policy=FAILOVER)
        session.set_source(RATE, 1)

        async def scenario() -> None:
            session.start(target(cloud), fallback=local_target(engine))
            for block in blocks(noise(1.0)):
                session.feed(block)
            session.stop()
            await session.finished()

        with pytest.raises(ServiceRejected):
            run(scenario())
    assert isinstance(session.error, ServiceRejected)
    assert "quota exceeded" in str(session.error)
    assert engine.sessions == []


def test_when_the_engine_fails_too_the_take_reconnects_to_the_cloud() -> None:
    signal = noise(12.0)
    listener = Recorder()
    patient = replace(FAILOVER, max_attempts=200)
    with FakeBahasakita() as cloud:
        # Nothing listens there: the fallback cannot be reached either.
        dead = LiveTarget(url="ws://127.0.0.1:9/v1/prod/stream", token=None,
                          version=target(cloud).version, language="en", service=LOCAL)
        session = LiveSession(listener, pre_roll_seconds=0, policy=patient)
        session.set_source(RATE, 1)

        async def scenario() -> None:
            session.start(target(cloud), fallback=dead)
            await dictate(session, signal, cloud, down_at=0.3, back_at=0.5)

        run(scenario())
    union, _ = stitch(in_order(cloud))
    assert union == chunked(signal)
    assert set(listener.final_services) == {"Bahasakita"}
    shown = statuses(listener)
    assert any(m.startswith("Reconnecting (attempt 1)") for m in shown)
    assert session.error is None and session.reconnects >= 1
