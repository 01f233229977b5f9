"""The durable list of live takes: one SQLite file in the app's data dir, the
recordings in a folder beside it.

Every final is committed as it arrives, in WAL mode with `synchronous=FULL`: the WAL
is fsynced before `add_final()` returns, so a final the window shows survives a kill
-9 and a power cut alike. NORMAL would survive a kill but could lose the last commits
to a power cut, and finals are few (one per utterance, every few seconds), so the
fsync is cheap: 0.35 ms a commit (median; 0.55 ms p99) on the dev VM against 0.03 ms
for NORMAL (bench/bench_takes.py), once every few seconds.

Opening follows the job list (jobs/store.py): a file SQLite calls corrupt is renamed
aside and a new one started (`recovered_from` says so); a file that cannot be opened
or written (permissions, a lock, a read-only disk) is left alone and reported.

Threading: a `TakeStore` belongs to the thread that created it (the event loop's).
"""

from __future__ import annotations

import builtins
import logging
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

from dictation_app.core.settings import APP_NAME
from dictation_app.core.sqlite_file import SqliteFile
from dictation_app.takes.model import Take, TakeFinal, TakeState
from dictation_app.takes.recording import fix_header

log = logging.getLogger(__name__)

FILE_NAME = "takes.sqlite3"
RECORDINGS = "recordings"  # the folder beside the store
BUSY_TIMEOUT = 5.0

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE takes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started REAL NOT NULL,
            ended REAL,
            duration REAL NOT NULL DEFAULT 0,
            engine TEXT NOT NULL,
            state TEXT NOT NULL,
            recording TEXT,
            edited_text TEXT
        )""",
        "CREATE INDEX takes_by_state ON takes (state)",
        """CREATE TABLE finals (
            take_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            engine TEXT NOT NULL,
            start REAL NOT NULL,
            end REAL NOT NULL,
            PRIMARY KEY (take_id, seq)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / FILE_NAME


class TakeStore:
    def __init__(self, path: Path | None = None, *, busy_timeout: float = BUSY_TIMEOUT):
        self.path = path or default_path()
        self.recordings = self.path.parent / RECORDINGS
        self._file = SqliteFile(self.path, label="take history", migrations=MIGRATIONS,
                                busy_timeout=busy_timeout)
        self.recovered_from = self._file.recovered_from  # where a damaged file went, if any

    # --- reading ----------------------------------------------------------------------

    def get(self, take_id: int) -> Take | None:
        row = self._db().execute("SELECT * FROM takes WHERE id = ?", (take_id,)).fetchone()
        return None if row is None else self._takes([row])[0]

    def list(self, limit: int | None = None) -> builtins.list[Take]:
        """Newest first, with their finals (takes are small: a few hundred finals)."""
        rows = self._db().execute("SELECT * FROM takes ORDER BY started DESC, id DESC LIMIT ?",
                                  (-1 if limit is None else limit,)).fetchall()
        return self._takes(rows)

    # --- writing ----------------------------------------------------------------------

    def begin(self, engine: str, recording: Path | None, *, started: float | None = None) -> Take:
        started = time.time() if started is None else started
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO takes (started, engine, state, recording) VALUES (?, ?, ?, ?)",
                (started, engine, TakeState.RECORDING.value,
                 None if recording is None else str(recording)))
            take_id = int(cursor.lastrowid or 0)
        return Take(id=take_id, started=started, ended=None, duration=0.0, engine=engine,
                    state=TakeState.RECORDING, recording=recording)

    def add_final(self, take_id: int, final: TakeFinal, *, duration: float) -> None:
        """Keep one final (durable when this returns) and the audio recorded so far."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO finals (take_id, seq, text, engine, start, end) VALUES"
                " (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM finals WHERE take_id = ?),"
                " ?, ?, ?, ?)",
                (take_id, take_id, final.text, final.engine, final.start, final.end))
            db.execute("UPDATE takes SET duration = MAX(duration, ?) WHERE id = ?",
                       (duration, take_id))

    def revise_finals(self, take_id: int, *, keep: int, last_text: str | None = None) -> None:
        """Keep only the first `keep` finals (a "scratch that" took the others back) and,
        when given, set the last kept one's text (a mark replaced its trailing one)."""
        with self._transaction() as db:
            db.execute("DELETE FROM finals WHERE take_id = ? AND seq > ?", (take_id, keep))
            if last_text is not None:
                db.execute("UPDATE finals SET text = ? WHERE take_id = ? AND seq = ?",
                           (last_text, take_id, keep))

    def end(self, take_id: int, *, duration: float, edited_text: str | None = None,
            ended: float | None = None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE takes SET state = ?, ended = ?, duration = ?, edited_text = ?"
                       " WHERE id = ?",
                       (TakeState.ENDED.value, time.time() if ended is None else ended,
                        duration, edited_text, take_id))

    def set_edited_text(self, take_id: int, text: str | None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE takes SET edited_text = ? WHERE id = ?", (text, take_id))

    def recover(self) -> builtins.list[Take]:
        """Takes still "recording" (the app died during them) become "recovered": their
        recording's header is fixed and their duration set from it. Oldest first."""
        rows = self._db().execute("SELECT * FROM takes WHERE state = ? ORDER BY started, id",
                                  (TakeState.RECORDING.value,)).fetchall()
        recovered = []
        for take in self._takes(rows):
            recording, duration = take.recording, take.duration
            if recording is not None:
                try:
                    duration = max(duration, fix_header(recording))
                except FileNotFoundError:
                    recording = None
                except OSError as exc:
                    log.warning("could not fix the recording %s: %s", recording, exc)
            if take.finals:
                duration = max(duration, take.finals[-1].end)
            ended = take.started + duration
            with self._transaction() as db:
                db.execute("UPDATE takes SET state = ?, ended = ?, duration = ?, recording = ?"
                           " WHERE id = ?",
                           (TakeState.RECOVERED.value, ended, duration,
                            None if recording is None else str(recording), take.id))
            log.info("recovered take %d (%d finals, %.1f s)", take.id, len(take.finals), duration)
            recovered.append(self.get(take.id))
        return [take for take in recovered if take is not None]

    def delete(self, take_id: int) -> None:
        """Forget the take and delete its recording."""
        take = self.get(take_id)
        if take is None:
            raise KeyError(f"take {take_id} is not in the history")
        if take.recording is not None:
            take.recording.unlink(missing_ok=True)
        with self._transaction() as db:
            db.execute("DELETE FROM finals WHERE take_id = ?", (take_id,))
            db.execute("DELETE FROM takes WHERE id = ?", (take_id,))

    def purge_recordings(self, older_than_days: int, *, now: float | None = None) -> int:
        """Delete the recordings of takes that started more than N days ago (their text
        stays); returns how many. 0 days keeps every recording."""
        if older_than_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - older_than_days * 86400
        rows = self._db().execute(
            "SELECT id, recording FROM takes WHERE recording IS NOT NULL AND started < ?"
            " AND state != ?", (cutoff, TakeState.RECORDING.value)).fetchall()
        for row in rows:
            try:
                Path(row["recording"]).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not delete the old recording %s: %s", row["recording"], exc)
                continue
            with self._transaction() as db:
                db.execute("UPDATE takes SET recording = NULL WHERE id = ?", (row["id"],))
        return len(rows)

    def recording_path(self, started: float) -> Path:
        """Where a take started now records: one file per take, named by its start."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
        path = self.recordings / f"take-{stamp}.wav"
        attempt = 1
        while path.exists():
            attempt += 1
            path = self.recordings / f"take-{stamp}-{attempt}.wav"
        return path

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TakeStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        return self._file.db()

    def _takes(self, rows: builtins.list[sqlite3.Row]) -> builtins.list[Take]:
        if not rows:
            return []
        ids = [int(row["id"]) for row in rows]
        finals: dict[int, builtins.list[TakeFinal]] = {i: [] for i in ids}
        marks = ", ".join("?" * len(ids))
        for f in self._db().execute(
                f"SELECT * FROM finals WHERE take_id IN ({marks}) ORDER BY take_id, seq", ids):
            finals[int(f["take_id"])].append(
                TakeFinal(str(f["text"]), str(f["engine"]), float(f["start"]), float(f["end"])))
        return [_take(row, finals[int(row["id"])]) for row in rows]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.transaction()


def _take(row: sqlite3.Row, finals: builtins.list[TakeFinal]) -> Take:
    try:
        state = TakeState(row["state"])
    except ValueError:
        state = TakeState.ENDED
    recording: Any = row["recording"]
    return Take(id=int(row["id"]), started=float(row["started"]),
                ended=None if row["ended"] is None else float(row["ended"]),
                duration=float(row["duration"]), engine=str(row["engine"]), state=state,
                recording=None if recording is None else Path(recording),
                finals=tuple(finals), edited_text=row["edited_text"])
