"""The job store on real SQLite files in tmp dirs, reopened as the app would."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.jobs.model import JobOptions, JobState
from dictation_app.jobs.options import StoredOptions
from dictation_app.jobs.store import JobStore
from dictation_app.jobs.store_schema import SCHEMA_VERSION
from dictation_app.protocols.transcript import Segment, Transcript, Word
from dictation_app.services import registry
from dictation_app.services.descriptors.bahasakita_upload import BahasakitaUploadOptions
from dictation_app.services.descriptors.botlhale import BotlhaleOptions
from dictation_app.services.descriptors.local import LocalOptions

# Read back without the registry's types, a vendor's options come back as plain values.
OPTIONS = JobOptions(language="id", diarization=True,
                     vendor=StoredOptions({"mode": "async", "priority": "high"}))
TRANSCRIPT = Transcript(
    provider="botlhale", file="/audio/talk.wav", language="en", duration=12.5,
    text="hello there",
    segments=(Segment(0.0, 1.5, "A", "hello", (Word("hello", 0.0, 1.5, 0.9),),
                      extras=(("emotion", "happy"),)),
              Segment(1.5, None, None, "there")),
    extras=(("redacted", "hello ***"), ("time", 3.25)))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "jobs.sqlite3"


def raw(path: Path) -> sqlite3.Connection:
    """A second, plain connection: what another process would see on disk."""
    return sqlite3.connect(str(path), isolation_level=None)


def test_a_new_store_lives_in_the_platform_data_dir_and_is_created_on_first_use() -> None:
    data_home = Path(os.environ["XDG_DATA_HOME"])
    expected = data_home / "dictation-app" / "jobs.sqlite3"
    assert not expected.exists()
    with JobStore() as store:
        assert store.path == expected
        assert store.recovered_from is None
        store.add(Path("/a.wav"), "local", JobOptions())
    assert expected.is_file()


def test_added_job_reads_back_with_every_field(path: Path) -> None:
    with JobStore(path) as store:
        job = store.add(Path("/audio/talk.m4a"), "nevisa", OPTIONS)
        assert job.state is JobState.QUEUED
        assert job.progress is None and job.remote == {} and job.result is None
        assert job.created == job.updated and abs(job.created - time.time()) < 60
        assert store.get(job.id) == job
        assert store.get(job.id + 1000) is None
    with JobStore(path) as reopened:
        again = reopened.get(job.id)
    assert again == job
    assert again is not None and again.file == Path("/audio/talk.m4a")
    assert again.options == OPTIONS


def test_list_is_newest_first_and_unfinished_is_oldest_first(path: Path) -> None:
    with JobStore(path) as store:
        ids = [store.add(Path(f"/f{i}.wav"), "local", JobOptions()).id for i in range(5)]
        store.update(ids[1], state=JobState.COMPLETED, result=TRANSCRIPT)
        store.update(ids[2], state=JobState.PROCESSING)
        store.update(ids[3], state=JobState.FAILED, error="no")
        assert [j.id for j in store.list()] == ids[::-1]
        assert [j.id for j in store.list(limit=2)] == [ids[4], ids[3]]
        assert [j.id for j in store.unfinished()] == [ids[0], ids[2], ids[4]]


def test_update_changes_only_what_it_is_given_and_merges_remote_ids(path: Path) -> None:
    with JobStore(path) as store:
        job = store.add(Path("/a.wav"), "botlhale", JobOptions())
        while time.time() == job.created:  # let the clock move so `updated` can
            pass
        job = store.update(job.id, state=JobState.UPLOADING, progress=0.25,
                           remote={"key": "uploads/a.wav"})
        assert job.updated > job.created
        job = store.update(job.id, remote={"task": "t-1"}, error="slow")
        assert job.state is JobState.UPLOADING and job.progress == 0.25
        assert job.remote == {"key": "uploads/a.wav", "task": "t-1"}
        job = store.update(job.id, remote={"task": "t-2"}, progress=None)
        assert job.remote == {"key": "uploads/a.wav", "task": "t-2"}
        assert job.progress is None and job.error == "slow"
        job = store.update(job.id, error=None, progress=7.0)
        assert job.error is None and job.progress == 1.0  # clamped into 0..1
        assert store.get(job.id) == job
        with pytest.raises(KeyError):
            store.update(job.id + 1, progress=0.5)
        with pytest.raises(KeyError):
            store.update(job.id + 1, remote={"task": "x"})
        with pytest.raises(TypeError):
            store.update(job.id, remote={"task": 5})  # type: ignore[dict-item]


def test_reset_starts_a_job_over_keeping_remote_ids_only_when_asked(path: Path) -> None:
    with JobStore(path) as store:
        job = store.add(Path("/a.wav"), "nevisa", JobOptions())
        store.update(job.id, state=JobState.FAILED, progress=0.5, error="boom",
                     remote={"task_id": "t"})
        kept = store.reset(job.id, keep_remote=True)
        assert (kept.state, kept.progress, kept.error, kept.remote) == \
            (JobState.QUEUED, None, None, {"task_id": "t"})
        store.update(job.id, state=JobState.COMPLETED, result=TRANSCRIPT)
        cleared = store.reset(job.id, keep_remote=False)
        assert cleared.remote == {} and cleared.result is None
        assert cleared.created == job.created
        with pytest.raises(KeyError):
            store.reset(job.id + 1, keep_remote=False)


def test_delete_forgets_a_job(path: Path) -> None:
    with JobStore(path) as store:
        first = store.add(Path("/a.wav"), "local", JobOptions())
        second = store.add(Path("/b.wav"), "local", JobOptions())
        store.delete(first.id)
        assert store.get(first.id) is None
        assert [j.id for j in store.list()] == [second.id]
        third = store.add(Path("/c.wav"), "local", JobOptions())
    assert third.id > second.id  # ids are never reused: a removed job's id stays dead


def test_result_and_remote_ids_survive_reopening(path: Path) -> None:
    with JobStore(path) as store:
        job = store.add(Path("/audio/talk.wav"), "botlhale", OPTIONS)
        store.update(job.id, remote={"key": "k-1"})
        store.update(job.id, state=JobState.COMPLETED, progress=1.0, result=TRANSCRIPT)
    with JobStore(path) as reopened:
        again = reopened.get(job.id)
    assert again is not None
    assert again.result == TRANSCRIPT  # extras included, at both levels
    assert again.result.extra("time") == 3.25
    assert again.result.segments[0].extra("emotion") == "happy"
    assert again.remote == {"key": "k-1"}
    assert again.state is JobState.COMPLETED and again.progress == 1.0


def test_a_crash_right_after_update_returns_loses_nothing(path: Path) -> None:
    # The process dies without closing the store; everything update() returned from
    # must be on disk for the next start.
    with JobStore(path) as store:
        job = store.add(Path("/a.wav"), "nevisa", JobOptions())
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from dictation_app.jobs.model import JobState
        from dictation_app.jobs.store import JobStore
        from dictation_app.protocols.transcript import Transcript
        store = JobStore(Path({str(path)!r}))
        store.update({job.id}, state=JobState.PROCESSING, remote={{"task_id": "t-42"}})
        store.update({job.id}, progress=0.75)
        other = store.add(Path("/b.wav"), "local", store.get({job.id}).options)
        store.update(other.id, state=JobState.COMPLETED,
                     result=Transcript("local", "/b.wav", None, 1.0, "done"))
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60,
                   cwd=Path(__file__).parents[2])
    with JobStore(path) as reopened:
        resumed, listed = reopened.unfinished(), reopened.list(limit=1)[0]
        finished = reopened.get(listed.id)
    assert [(j.id, j.state, j.remote, j.progress) for j in resumed] == \
        [(job.id, JobState.PROCESSING, {"task_id": "t-42"}, 0.75)]
    assert finished is not None and finished.state is JobState.COMPLETED
    assert finished.result is not None and finished.result.text == "done"


def test_the_file_is_a_wal_database_at_the_current_schema_version(path: Path) -> None:
    JobStore(path).close()
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_an_empty_file_of_version_zero_is_migrated(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = raw(path)
    db.execute("CREATE TABLE unrelated (x)")  # a valid database with user_version 0
    db.close()
    with JobStore(path) as store:
        assert store.recovered_from is None
        job = store.add(Path("/a.wav"), "local", JobOptions())
        assert store.get(job.id) == job
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_a_newer_schema_is_used_when_it_has_the_columns_this_version_needs(path: Path) -> None:
    with JobStore(path) as store:
        job = store.add(Path("/a.wav"), "local", JobOptions())
    db = raw(path)
    db.execute("ALTER TABLE jobs ADD COLUMN added_later TEXT")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with JobStore(path) as store:
        assert store.get(job.id) == job
        assert store.recovered_from is None
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    db.execute("ALTER TABLE jobs DROP COLUMN error")
    db.close()
    with pytest.raises(ConfigurationError, match="newer version.*error.*update the app"):
        JobStore(path)
    assert path.exists()  # a newer app's list is never moved aside


def test_a_file_that_is_not_a_database_is_moved_aside_and_a_fresh_store_starts(
        path: Path) -> None:
    path.parent.mkdir(parents=True)
    garbage = b"this is not SQLite " * 500
    path.write_bytes(garbage)
    Path(f"{path}-wal").write_bytes(b"stale wal")
    with JobStore(path) as store:
        moved = store.recovered_from
        assert moved is not None and moved.parent == path.parent
        assert moved.name.startswith("jobs.sqlite3.corrupt-")
        assert moved.read_bytes() == garbage
        wal = Path(f"{path}-wal")
        assert not wal.exists() or wal.read_bytes() != b"stale wal"
        assert store.list() == []
        job = store.add(Path("/a.wav"), "local", JobOptions())
    with JobStore(path) as reopened:
        assert reopened.recovered_from is None
        assert reopened.get(job.id) == job


def test_a_database_with_damaged_pages_is_moved_aside(path: Path) -> None:
    with JobStore(path) as store:
        for i in range(200):
            store.add(Path(f"/some/long/folder/name/file-{i:04}.wav"), "local", OPTIONS)
    data = bytearray(path.read_bytes())
    assert len(data) > 5 * 4096
    data[3 * 4096:3 * 4096 + 2000] = b"\x55" * 2000  # a b-tree page, header intact
    path.write_bytes(bytes(data))
    with JobStore(path) as store:
        assert store.recovered_from is not None
        assert store.recovered_from.read_bytes() == bytes(data)
        assert store.list() == []
    # A second recovery in the same second gets its own name.
    path.write_bytes(b"x" * 4096)
    with JobStore(path) as store:
        assert store.recovered_from is not None
    assert len(list(path.parent.glob("jobs.sqlite3.corrupt-*"))) == 2


def test_a_locked_file_is_reported_not_moved_aside(path: Path) -> None:
    path.parent.mkdir(parents=True)
    holder = raw(path)  # rollback journal, not yet migrated: opening needs a write lock
    holder.execute("CREATE TABLE unrelated (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ConfigurationError, match="locked by another program"):
            JobStore(path, busy_timeout=0.05)
    finally:
        holder.rollback()
        holder.close()
    assert not list(path.parent.glob("*.corrupt-*"))
    with JobStore(path) as store:
        assert store.recovered_from is None


def test_a_damaged_result_makes_that_job_failed_without_breaking_the_list(path: Path) -> None:
    with JobStore(path) as store:
        good = store.add(Path("/good.wav"), "botlhale", JobOptions())
        store.update(good.id, state=JobState.COMPLETED, result=TRANSCRIPT)
        bad = store.add(Path("/bad.wav"), "botlhale", JobOptions())
        store.update(bad.id, state=JobState.COMPLETED, result=TRANSCRIPT)
        odd = store.add(Path("/odd.wav"), "nevisa", OPTIONS)
    db = raw(path)
    db.execute("UPDATE jobs SET result = ? WHERE id = ?", ('{"provider": "botl', bad.id))
    db.execute("UPDATE jobs SET options = '[1]', state = 'exploded' WHERE id = ?", (odd.id,))
    db.close()
    with JobStore(path) as store:
        jobs = {job.id: job for job in store.list()}
        assert jobs[good.id].state is JobState.COMPLETED
        assert store.get(good.id).result == TRANSCRIPT  # type: ignore[union-attr]
        # The list never reads a transcript, so it shows the preview stored beside it;
        # loading the result finds the damage.
        assert (jobs[bad.id].state, jobs[bad.id].preview) == (JobState.COMPLETED, "hello there")
        damaged = store.get(bad.id)
        assert damaged is not None
        assert damaged.state is JobState.FAILED and damaged.result is None
        assert damaged.error is not None
        assert "result" in damaged.error and "retry" in damaged.error.lower()
        strange = jobs[odd.id]
        assert strange.state is JobState.FAILED and strange.options == JobOptions()
        assert strange.error is not None and "options and state" in strange.error
        assert [j.id for j in store.unfinished()] == []  # neither is resumed
        # Retrying gives the job a clean slate: damaged options become the defaults.
        assert store.reset(bad.id, keep_remote=False).error is None
        fresh = store.reset(odd.id, keep_remote=False)
        assert (fresh.state, fresh.options, fresh.error) == (JobState.QUEUED, JobOptions(), None)


def test_many_interleaved_updates_from_two_connections_lose_no_remote_id(path: Path) -> None:
    with JobStore(path) as first, JobStore(path) as second:
        job = first.add(Path("/a.wav"), "bahasakita", JobOptions())
        started = time.perf_counter()
        for i in range(200):
            (first if i % 2 else second).update(job.id, progress=i / 200)
            (second if i % 2 else first).update(job.id, remote={f"k{i}": str(i)})
        elapsed = time.perf_counter() - started
        assert first.get(job.id) == second.get(job.id)
    with JobStore(path) as reopened:
        final = reopened.get(job.id)
    assert final is not None
    assert final.remote == {f"k{i}": str(i) for i in range(200)}
    assert final.progress == pytest.approx(199 / 200)
    assert elapsed < 20  # 400 transactions, half of them fsynced


def test_a_closed_store_refuses_work(path: Path) -> None:
    store = JobStore(path)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(sqlite3.ProgrammingError):
        store.list()


def test_a_folder_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(ConfigurationError, match="Cannot create the folder.*writable"):
        JobStore(blocker / "jobs.sqlite3")
    assert blocker.read_text() == "a file where the data folder should be"


# --- listing without transcripts ---------------------------------------------------------


def long_transcript(words: int = 20_000) -> Transcript:
    """About what two hours of speech give: 20,000 timed words in 1,000 segments."""
    segments = []
    for s in range(words // 20):
        timed = tuple(Word(f"word{s}-{w}", s * 7.2 + w * 0.36, s * 7.2 + w * 0.36 + 0.3, 0.9)
                      for w in range(20))
        segments.append(Segment(timed[0].start, timed[-1].end, "A" if s % 2 else "B",
                                " ".join(word.word for word in timed), timed))
    return Transcript("botlhale", "/audio/meeting.wav", "en", words * 0.36,
                      "\n\n".join(segment.text for segment in segments), tuple(segments))


def test_listed_jobs_carry_a_preview_and_get_loads_the_whole_transcript(path: Path) -> None:
    big = long_transcript()
    with JobStore(path) as store:
        job = store.add(Path("/audio/meeting.wav"), "botlhale", JobOptions())
        done = store.update(job.id, state=JobState.COMPLETED, progress=1.0, result=big)
        assert done.result is big  # what was written, not a parse of it
        empty = store.add(Path("/audio/silence.wav"), "local", JobOptions())
        store.update(empty.id, state=JobState.COMPLETED,
                     result=Transcript("local", None, None, 1.0, "  \n "))
        queued = store.add(Path("/audio/next.wav"), "local", JobOptions())
    assert len(path.read_bytes()) > 1_000_000  # the transcript spans many overflow pages
    with JobStore(path) as store:
        listed = {j.id: j for j in store.list()}
        assert all(j.result is None for j in listed.values())
        preview = listed[job.id].preview
        assert preview is not None and len(preview) == 200
        assert preview.startswith("word0-0 word0-1 word0-2") and "\n" not in preview
        assert " ".join(big.text.split()).startswith(preview)
        assert listed[empty.id].preview == ""  # a result without speech
        assert listed[queued.id].preview is None  # no result at all
        assert store.get(job.id, with_result=False) == listed[job.id]
        full = store.get(job.id)
        assert full is not None and full.result == big and full.preview == preview
        assert store.update(job.id, error="note").result is None  # as listed
        assert store.reset(job.id, keep_remote=False).preview is None


def _version_1_file(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True)
    db = raw(path)
    db.execute("""CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT NOT NULL, provider TEXT NOT NULL,
        options TEXT NOT NULL, state TEXT NOT NULL, progress REAL, created REAL NOT NULL,
        updated REAL NOT NULL, remote TEXT NOT NULL DEFAULT '{}', error TEXT, result TEXT)""")
    db.execute("CREATE INDEX jobs_by_state ON jobs (state)")
    db.execute("PRAGMA user_version = 1")
    return db


def test_a_version_1_file_gets_previews_and_keeps_its_jobs_and_ids(path: Path) -> None:
    import json

    from dictation_app.protocols.transcript import to_store_dict

    db = _version_1_file(path)
    stored = json.dumps(to_store_dict(TRANSCRIPT))
    rows = [("/a.wav", "completed", stored, None), ("/b.wav", "completed", '{"text', None),
            ("/c.wav", "failed", None, "no"), ("/gone.wav", "queued", None, None)]
    for number, (file, state, result, error) in enumerate(rows):
        db.execute("INSERT INTO jobs (file, provider, options, state, created, updated, error,"
                   " result) VALUES (?, 'botlhale', '{}', ?, ?, ?, ?, ?)",
                   (file, state, 100.0 + number, 200.0 + number, error, result))
    db.execute("DELETE FROM jobs WHERE file = '/gone.wav'")  # id 4 must stay dead
    db.close()
    with JobStore(path) as store:
        assert store.recovered_from is None
        jobs = {j.file.name: j for j in store.list()}
        assert [(j.id, j.state) for j in jobs.values()] == [
            (3, JobState.FAILED), (2, JobState.FAILED), (1, JobState.COMPLETED)]
        assert jobs["a.wav"].preview == "hello there" and jobs["a.wav"].result is None
        assert store.get(1).result == TRANSCRIPT  # type: ignore[union-attr]
        assert "result" in (jobs["b.wav"].error or "")  # damaged: no preview, read and said
        assert jobs["c.wav"].error == "no" and jobs["c.wav"].preview is None
        assert store.add(Path("/d.wav"), "local", JobOptions()).id == 5
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = [row[1] for row in db.execute("PRAGMA table_info(jobs)")]
    assert columns[-2:] == ["preview", "result"]  # the transcript stays last
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_a_result_an_older_version_stored_without_a_preview_is_previewed_on_listing(
        path: Path) -> None:
    import json

    from dictation_app.protocols.transcript import to_store_dict

    with JobStore(path) as store:
        job = store.add(Path("/a.wav"), "botlhale", JobOptions())
    db = raw(path)  # what a version-1 app does to a file a newer one migrated
    db.execute("UPDATE jobs SET state = 'completed', result = ? WHERE id = ?",
               (json.dumps(to_store_dict(TRANSCRIPT)), job.id))
    db.close()
    with JobStore(path) as store:
        [listed] = store.list()
        assert (listed.state, listed.preview, listed.result) == \
            (JobState.COMPLETED, "hello there", None)


# --- files that cannot be opened are not damaged ------------------------------------------


def _directory_in_place_of_the_file(path: Path) -> Path:
    path.mkdir(parents=True)  # SQLite: SQLITE_CANTOPEN "unable to open database file"
    (path / "keep.txt").write_text("mine")
    return path


def _a_log_that_cannot_be_opened(path: Path) -> Path:
    with JobStore(path) as store:
        store.add(Path("/a.wav"), "local", JobOptions())
    Path(f"{path}-wal").mkdir()  # SQLITE_CANTOPEN while reading
    return path


def _an_upgrade_that_cannot_write(path: Path) -> Path:
    db = _version_1_file(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("INSERT INTO jobs (file, provider, options, state, created, updated) VALUES"
               " ('/a.wav', 'local', '{}', 'queued', 1.0, 1.0)")
    db.close()
    Path(f"{path}-shm").mkdir()  # reads work; the migration's write: SQLITE_READONLY
    return path


@pytest.mark.parametrize("make", [_directory_in_place_of_the_file,
                                  _a_log_that_cannot_be_opened,
                                  _an_upgrade_that_cannot_write])
def test_a_file_that_cannot_be_opened_or_written_is_reported_and_left_alone(
        path: Path, make: object) -> None:
    # Root ignores permission bits, so these stand in for a file left root-owned by a sudo
    # run: SQLite reports the same codes (SQLITE_CANTOPEN, SQLITE_READONLY) for both.
    made = make(path)  # type: ignore[operator]
    before = sorted((p.name, p.is_dir(), p.read_bytes() if p.is_file() else b"")
                    for p in made.parent.iterdir())
    with pytest.raises(ConfigurationError) as raised:
        JobStore(path)
    message = str(raised.value)
    assert str(path) in message
    assert "owns the file" in message and "sudo" in message
    assert ("unable to open" in message) or ("readonly" in message)
    after = sorted((p.name, p.is_dir(), p.read_bytes() if p.is_file() else b"")
                   for p in made.parent.iterdir())
    assert set(before) <= set(after)  # SQLite may have made an empty -wal; nothing else
    assert not list(made.parent.glob("*.corrupt-*"))


def test_a_failed_commit_is_rolled_back_and_the_store_keeps_working(path: Path) -> None:
    # A deferred foreign key fails at COMMIT, as a full disk can: the transaction must not
    # stay open, or every later BEGIN fails with "cannot start a transaction within a
    # transaction".
    with JobStore(path) as store:
        job = store.add(Path("/a.wav"), "local", JobOptions())
        other = raw(path)
        other.execute("CREATE TABLE keeper (job INTEGER REFERENCES jobs (id)"
                      " DEFERRABLE INITIALLY DEFERRED)")
        other.execute("INSERT INTO keeper VALUES (?)", (job.id,))
        other.close()
        store._db().execute("PRAGMA foreign_keys = ON")  # the deferred check applies
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            store.delete(job.id)
        assert store.get(job.id) == job  # rolled back
        second = store.add(Path("/b.wav"), "local", JobOptions())
        assert [j.id for j in store.list()] == [second.id, job.id]


def test_the_app_runs_on_a_session_job_list_when_its_own_cannot_be_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dictation_app.app import _open_job_store

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    store, problem = _open_job_store()
    try:
        assert problem is not None and "Cannot create the folder for the job list" in problem
        assert "kept for this session only" in problem
        assert not store.path.is_relative_to(blocker)
        job = store.add(tmp_path / "memo.wav", "local", JobOptions())
        assert store.get(job.id) is not None
    finally:
        store.close()
        shutil.rmtree(store.path.parent, ignore_errors=True)
    assert blocker.read_text() == "a file where the data folder should be"


def test_vendor_options_come_back_typed_by_the_registry(path: Path) -> None:
    chosen = JobOptions(language="zu", vendor=BotlhaleOptions(mode="sync", api_version=1))
    with JobStore(path, options_types=registry.options_types()) as store:
        job = store.add(Path("/a.wav"), "botlhale", chosen)
        assert job.options == chosen
        local = store.add(Path("/b.wav"), "local", JobOptions(diarization=True))
        # The offline engine's options (its engine) come back as its defaults.
        assert local.options == JobOptions(diarization=True, vendor=LocalOptions())
    with JobStore(path) as untyped:
        plain = untyped.get(job.id)
    assert plain is not None
    assert plain.options.vendor == StoredOptions({"mode": "sync", "api_version": 1,
                                                "redact": False})
    assert BotlhaleOptions.of(plain.options.vendor) == chosen.vendor  # as services read it


def test_options_in_the_old_flat_shape_still_load(path: Path) -> None:
    """Rows written before vendor options had their own types kept every vendor's
    options beside the shared ones."""
    with JobStore(path) as store:
        botlhale_job = store.add(Path("/a.wav"), "botlhale", JobOptions())
        bahasakita_job = store.add(Path("/b.wav"), "bahasakita", JobOptions())
    old = json.dumps({"language": "id", "diarization": True, "mode": "async",
                      "api_version": 1, "priority": "high", "subtitle": True})
    db = raw(path)
    db.execute("UPDATE jobs SET options = ?", (old,))
    db.close()
    with JobStore(path, options_types=registry.options_types()) as store:
        botlhale = store.get(botlhale_job.id)
        bahasakita = store.get(bahasakita_job.id)
        assert botlhale is not None and bahasakita is not None
        assert botlhale.options == JobOptions(
            language="id", diarization=True, vendor=BotlhaleOptions(mode="async", api_version=1))
        assert bahasakita.options == JobOptions(
            language="id", diarization=True,
            vendor=BahasakitaUploadOptions(priority="high", subtitle=True))
        assert botlhale.state is JobState.QUEUED and botlhale.error is None
    with JobStore(path) as untyped:  # the CLI's and older tests' way: values, then of()
        again = untyped.get(bahasakita_job.id)
    assert again is not None
    assert BahasakitaUploadOptions.of(again.options.vendor) == BahasakitaUploadOptions(
        priority="high", subtitle=True)
    assert json.loads(again.options.to_json())["vendor"]["priority"] == "high"


def test_an_ill_vendor_option_marks_the_options_damaged(path: Path) -> None:
    with JobStore(path) as store:
        job = store.add(Path("/a.wav"), "botlhale", JobOptions())
    db = raw(path)
    db.execute("UPDATE jobs SET options = ?", (json.dumps({"vendor": {"mode": "fast"}}),))
    db.close()
    with JobStore(path, options_types=registry.options_types()) as store:
        damaged = store.get(job.id)
    assert damaged is not None and damaged.state is JobState.FAILED
    assert damaged.error is not None and "options" in damaged.error


def test_find_unfinished_matches_the_path_stamp_provider_and_options(tmp_path: Path) -> None:
    from dictation_app.jobs.model import FileStamp

    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"RIFF....")
    stamp = FileStamp.of(audio)
    assert stamp is not None and stamp.size == 8
    assert FileStamp.of(tmp_path / "missing.wav") is None
    options = JobOptions(language="fa")
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        job = store.add(audio, "nevisa", options, stamp)
        unstamped = store.add(audio, "nevisa", options)  # an older app's job: never matched
        assert [j.id for j in store.find_unfinished(audio, "nevisa", options, stamp)] == [job.id]
        assert store.find_unfinished(audio, "botlhale", options, stamp) == []
        assert store.find_unfinished(audio, "nevisa", JobOptions(language="en"), stamp) == []
        changed = FileStamp(stamp.size, stamp.mtime_ns + 1)  # the file was written since
        assert store.find_unfinished(audio, "nevisa", options, changed) == []
        store.update(job.id, state=JobState.COMPLETED)
        assert store.find_unfinished(audio, "nevisa", options, stamp) == []
        store.delete(job.id)
        store.delete(unstamped.id)
        count = store._db().execute("SELECT COUNT(*) FROM job_files").fetchone()[0]
        assert count == 0


def test_a_refusal_and_a_warning_are_kept_with_the_job_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with JobStore(path) as store:
        refused = store.add(Path("/audio/notes.wav"), "nevisa", JobOptions())
        warned = store.add(Path("/audio/cut.wav"), "nevisa", JobOptions())
        assert not refused.refused and refused.warning is None
        store.update(refused.id, state=JobState.FAILED, error="notes.wav: cannot decode")
        store.mark_refused(refused.id)
        assert store.set_warning(warned.id, "cut.wav is short").warning == "cut.wav is short"
        with pytest.raises(KeyError):
            store.set_warning(999, "no such job")
    with JobStore(path) as store:
        again = store.get(refused.id)
        assert again is not None and again.refused and again.error == "notes.wav: cannot decode"
        listed = {job.id: job for job in store.list()}
        assert listed[refused.id].refused and not listed[warned.id].refused
        assert listed[warned.id].warning == "cut.wav is short"
        count = store._db().execute("SELECT COUNT(*) FROM job_files").fetchone()[0]
        assert count == 2  # the unknown job's warning was not kept
