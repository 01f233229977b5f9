"""The take journal fed by a real LiveSession streaming to a real FakeBahasakita.

The session's `recorder` hook gets every chunk it queues; the server records every
byte it receives; the recording must hold exactly those bytes, and the history exactly
the finals the listener was shown.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from dictation_app.core.errors import DictationError
from dictation_app.protocols.bahasakita_stream import ProtocolVersion
from dictation_app.services.live_session import LiveSession, LiveTarget, Phase
from dictation_app.takes.journal import TakeJournal
from dictation_app.takes.model import TakeState
from dictation_app.takes.store import TakeStore
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita

RATE = 16_000
BLOCK = 640


class JournalingListener:
    """What the dictation controller does with a session's events, minus the window."""

    def __init__(self, journal: TakeJournal) -> None:
        self.journal = journal
        self.finals: list[str] = []
        self.ended = asyncio.Event()

    def on_session_state(self, phase: Phase, busy: bool) -> None:
        if phase is Phase.IDLE:
            self.journal.end()
            self.ended.set()

    def on_session_status(self, kind: str, message: str) -> None:
        pass

    def on_session_partial(self, text: str) -> None:
        pass

    def on_session_final(self, text: str, service: str) -> None:
        self.finals.append(text)
        self.journal.add_final(text, "Bahasakita")

    def on_session_error(self, error: DictationError) -> None:
        pass


def ramp(frames: int, start: int = 0) -> np.ndarray:
    values = (np.arange(start, start + frames) % 60000) - 30000
    return values.astype(np.int16).reshape(-1, 1)


def take_through(server: FakeBahasakita, journal: TakeJournal,
                 seconds: float) -> JournalingListener:
    listener = JournalingListener(journal)

    async def scenario() -> None:
        session = LiveSession(listener, recorder=journal.record)
        session.set_source(RATE, 1)
        for i in range(0, RATE, BLOCK):  # pre-roll while idle
            session.feed(ramp(BLOCK, i))
        journal.begin("Bahasakita")
        session.start(LiveTarget(url=server.url, token=None, version=ProtocolVersion.V1,
                                 language="id", service="Bahasakita"))
        for i in range(RATE, RATE + int(seconds * RATE), BLOCK):
            session.feed(ramp(BLOCK, i))
            await asyncio.sleep(0)
        await session.drain()
        session.stop()
        await asyncio.wait_for(listener.ended.wait(), 30)
        await session.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    return listener


def test_the_recording_holds_what_the_server_got_and_the_history_the_finals(
        tmp_path: Path) -> None:
    with TakeStore(tmp_path / "takes.sqlite3") as store:
        journal = TakeJournal(store)
        with FakeBahasakita(Behaviour(final_every=10)) as server:
            listener = take_through(server, journal, 4.0)
        [received] = server.sessions
        [take] = store.list()
        assert take.state is TakeState.ENDED and take.recording is not None
        with wave.open(str(take.recording), "rb") as w:
            recorded = w.readframes(w.getnframes())
        assert recorded == bytes(received.audio)  # pre-roll, body and padded tail, once each
        assert take.duration == len(recorded) / 32000
        assert listener.finals and [f.text for f in take.finals] == listener.finals
        assert {f.engine for f in take.finals} == {"Bahasakita"}
        # Each final spans from the previous one's end to the audio recorded when shown.
        assert take.finals[0].start == 0.0
        for before, after in zip(take.finals, take.finals[1:], strict=False):
            assert after.start == before.end and after.end >= after.start
        assert take.finals[-1].end <= take.duration


def test_without_keeping_recordings_the_finals_and_duration_are_still_kept(
        tmp_path: Path) -> None:
    with TakeStore(tmp_path / "takes.sqlite3") as store:
        journal = TakeJournal(store, keep_recordings=False)
        with FakeBahasakita(Behaviour(final_every=10)) as server:
            listener = take_through(server, journal, 2.0)
        [take] = store.list()
        assert take.recording is None and not store.recordings.exists()
        assert take.duration == len(server.sessions[0].audio) / 32000
        assert [f.text for f in take.finals] == listener.finals


def test_a_dropped_connection_ends_the_take_with_its_finals(tmp_path: Path) -> None:
    with TakeStore(tmp_path / "takes.sqlite3") as store:
        journal = TakeJournal(store)
        with FakeBahasakita(Behaviour(final_every=10, drop_after=25)) as server:
            listener = take_through(server, journal, 4.0)
        [take] = store.list()
        assert take.state is TakeState.ENDED
        assert [f.text for f in take.finals] == listener.finals and take.finals
        assert journal.take is None


def test_a_retract_takes_the_words_back_from_the_history_too() -> None:
    with TakeStore() as store:
        journal = TakeJournal(store, keep_recordings=False)
        take = journal.begin("Bahasakita")
        assert take is not None
        journal.add_final("Hello world.")
        journal.add_final(" Wrong words")
        journal.add_final("", retract=len(" Wrong words"))  # scratch that
        journal.add_final(",", retract=1)  # "comma" replaces the engine's full stop
        journal.add_final("\n\n")
        journal.add_final("Next")
        journal.end()
        [kept] = store.list()
    assert [f.text for f in kept.finals] == ["Hello world", ",", "\n\n", "Next"]
    assert kept.text == "Hello world,\n\nNext"
