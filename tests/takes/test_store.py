"""The take history: SQLite in the data dir, finals durable as they arrive, recovery."""

from __future__ import annotations

import os
import sqlite3
import wave
from pathlib import Path

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.takes.model import TakeFinal, TakeState
from dictation_app.takes.recording import wav_header
from dictation_app.takes.store import FILE_NAME, TakeStore, default_path


def final(text: str, start: float, end: float, engine: str = "Bahasakita") -> TakeFinal:
    return TakeFinal(text=text, engine=engine, start=start, end=end)


def test_the_store_lives_in_the_data_dir_with_wal_and_full_sync() -> None:
    with TakeStore() as store:
        assert store.path == default_path() and store.path.name == FILE_NAME
        assert store.recordings == store.path.parent / "recordings"
        db = sqlite3.connect(store.path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
        assert store._db().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_finals_survive_reopening_without_an_end(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    store = TakeStore(path)
    take = store.begin("Bahasakita", None, started=1000.0)
    store.add_final(take.id, final("selamat pagi", 0.0, 1.5), duration=1.5)
    store.add_final(take.id, final("apa kabar", 1.5, 3.0, "Local engine"), duration=3.0)
    # No close(), no end(): as a killed app leaves it.
    again = TakeStore(path)
    [kept] = again.list()
    assert kept.state is TakeState.RECORDING
    assert [f.text for f in kept.finals] == ["selamat pagi", "apa kabar"]
    assert [f.engine for f in kept.finals] == ["Bahasakita", "Local engine"]
    assert kept.duration == 3.0 and kept.text == "selamat pagi apa kabar"
    store.close()
    again.close()


def test_list_is_newest_first_and_end_keeps_the_edit(tmp_path: Path) -> None:
    with TakeStore(tmp_path / FILE_NAME) as store:
        old = store.begin("Local engine", None, started=100.0)
        new = store.begin("Bahasakita", None, started=200.0)
        store.add_final(old.id, final("one", 0, 1), duration=1)
        store.end(old.id, duration=1.2, edited_text="One, edited.", ended=101.2)
        assert [t.id for t in store.list()] == [new.id, old.id]
        got = store.get(old.id)
        assert got is not None and got.state is TakeState.ENDED and got.ended == 101.2
        assert got.text == "One, edited." and got.duration == 1.2
        assert store.get(9999) is None


def test_recovery_marks_interrupted_takes_and_fixes_their_wav(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with TakeStore(path) as store:
        wav = store.recording_path(500.0)
        wav.parent.mkdir(parents=True)
        wav.write_bytes(wav_header(0) + b"\x00\x01" * 16000 * 4)  # 4 s; header says 0
        interrupted = store.begin("Bahasakita", wav, started=500.0)
        store.add_final(interrupted.id, final("kept words", 0, 2.5), duration=2.5)
        finished = store.begin("Bahasakita", None, started=600.0)
        store.end(finished.id, duration=1.0)
    with TakeStore(path) as store:
        [recovered] = store.recover()
        assert recovered.id == interrupted.id and recovered.recovered
        assert recovered.duration == 4.0 and recovered.ended == 504.0
        assert recovered.text == "kept words"
        with wave.open(str(wav), "rb") as w:
            assert w.getnframes() == 16000 * 4
        got = store.get(finished.id)
        assert got is not None and got.state is TakeState.ENDED
        assert store.recover() == []  # once


def test_a_missing_recording_is_recovered_as_none(tmp_path: Path) -> None:
    with TakeStore(tmp_path / FILE_NAME) as store:
        take = store.begin("Bahasakita", tmp_path / "gone.wav", started=1.0)
        store.add_final(take.id, final("words", 0, 1.25), duration=1.25)
        [recovered] = store.recover()
        assert recovered.recording is None and recovered.duration == 1.25


def test_purge_deletes_old_recordings_and_keeps_their_text(tmp_path: Path) -> None:
    with TakeStore(tmp_path / FILE_NAME) as store:
        store.recordings.mkdir()
        old_wav, new_wav = store.recordings / "old.wav", store.recordings / "new.wav"
        for wav in (old_wav, new_wav):
            wav.write_bytes(wav_header(0))
        now = 100 * 86400.0
        old = store.begin("Local engine", old_wav, started=now - 31 * 86400)
        store.add_final(old.id, final("old words", 0, 1), duration=1)
        store.end(old.id, duration=1)
        new = store.begin("Local engine", new_wav, started=now - 29 * 86400)
        store.end(new.id, duration=1)
        assert store.purge_recordings(0, now=now) == 0  # 0: keep for ever
        assert store.purge_recordings(30, now=now) == 1
        assert not old_wav.exists() and new_wav.exists()
        got = store.get(old.id)
        assert got is not None and got.recording is None and got.text == "old words"


def test_delete_forgets_the_take_and_its_recording(tmp_path: Path) -> None:
    with TakeStore(tmp_path / FILE_NAME) as store:
        wav = tmp_path / "take.wav"
        wav.write_bytes(wav_header(0))
        take = store.begin("Local engine", wav)
        store.add_final(take.id, final("x", 0, 1), duration=1)
        store.delete(take.id)
        assert store.get(take.id) is None and not wav.exists()
        assert store._db().execute("SELECT COUNT(*) FROM finals").fetchone()[0] == 0
        with pytest.raises(KeyError):
            store.delete(take.id)


def test_a_damaged_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(b"this is not a database" * 100)
    with TakeStore(path) as store:
        assert store.recovered_from is not None and store.recovered_from.exists()
        assert store.list() == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with TakeStore(path) as store:
        store.begin("Local engine", None)
    for side in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if side.exists():
            side.chmod(0o400)
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ConfigurationError, match="take history"):
            TakeStore(path)
        assert path.exists()
    finally:
        tmp_path.chmod(0o700)
