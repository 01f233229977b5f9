"""The durable list of file-transcription jobs: one SQLite file in the app's data dir.

Every change is one transaction. Commits that carry a state, an error, a result or a
remote id are made with `synchronous=FULL` (the WAL is fsynced before `update()`
returns), so neither a crash nor a power cut loses a finished transcript or the id of
a remote job once the call has returned. Progress-only updates, the frequent kind, are
committed with `synchronous=NORMAL`: they survive a crash of the app, and the next
FULL commit makes them durable too. (WAL + FULL measured at ~0.14 ms per commit on
the dev VM against ~0.013 ms for NORMAL; laptop disks are slower, hence the split.)

A file that SQLite reports as corrupt or not a database, or that fails `PRAGMA
quick_check`, is renamed aside (`jobs.sqlite3.corrupt-<timestamp>`) and a new one
started; `recovered_from` tells the UI so it can say so. A file that cannot be opened or
written (permissions, a read-only disk, a lock) is left where it is and reported: it is
probably intact. A single damaged row does not break the list: the job reads as FAILED
with an error saying what was damaged.

Transcripts can run to megabytes, so `list()` and `unfinished()` leave them out and
give each job the `preview` stored beside it (before the `result` column, so SQLite
never walks a transcript's overflow pages to read a listed row); `get()` loads one.

Threading: a `JobStore` belongs to the thread that created it (the asyncio loop
thread in the app); sqlite3 refuses calls from other threads.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import json
import logging
import math
import sqlite3
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

from dictation_app.core.errors import ConfigurationError, DictationError
from dictation_app.core.settings import APP_NAME
from dictation_app.core.sqlite_file import SqliteFile
from dictation_app.jobs.model import FileStamp, Job, JobOptions, JobState, text_preview
from dictation_app.jobs.options import VendorOptions
from dictation_app.jobs.store_schema import COLUMNS, MIGRATIONS
from dictation_app.protocols.transcript import Transcript, from_store_dict, to_store_dict

log = logging.getLogger(__name__)

FILE_NAME = "jobs.sqlite3"
BUSY_TIMEOUT = 5.0  # seconds to wait for another connection's write lock


# Every column but the transcript; `result` only where an older version of the app
# stored one without a preview (see _job()). An older version that resets and reruns a
# job leaves the old preview beside the new result; only the list shows it, until the
# job is retried here.
# The file's facts sit in job_files (see store_schema.py), looked up by its primary key.
_FILE_FACTS = ("(SELECT refused FROM job_files WHERE job_id = jobs.id) AS refused,"
               " (SELECT warning FROM job_files WHERE job_id = jobs.id) AS warning")
_LISTED = ("SELECT id, file, provider, options, state, progress, created, updated, remote,"
           f" error, preview, CASE WHEN preview IS NULL THEN result END AS result, {_FILE_FACTS}"
           " FROM jobs")
_WHOLE = f"SELECT *, {_FILE_FACTS} FROM jobs"
_UNFINISHED = tuple(s.value for s in JobState if not s.finished)


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET = _Unset.UNSET  # "leave this field as it is" in update()


def default_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / FILE_NAME


class JobStore:
    def __init__(self, path: Path | None = None, *, busy_timeout: float = BUSY_TIMEOUT,
                 options_types: Mapping[str, type[VendorOptions]] | None = None):
        self.path = path or default_path()
        # provider -> its options' type, to read them back typed; without one they come
        # back as StoredOptions, which each service reads all the same.
        self._options_types = dict(options_types or {})
        self._busy_timeout = busy_timeout
        self._file = SqliteFile(self.path, label="job list", migrations=MIGRATIONS,
                                busy_timeout=busy_timeout,
                                newer_schema=lambda db, version: _check_newer(db, version,
                                                                              self.path))
        self.recovered_from = self._file.recovered_from  # where a damaged file went, if any

    # --- reading ----------------------------------------------------------------------

    def get(self, job_id: int, *, with_result: bool = True) -> Job | None:
        """The job with its whole transcript, or as listed (`with_result=False`: cheap
        when only its state or ids matter)."""
        query = _WHOLE if with_result else _LISTED
        row = self._db().execute(f"{query} WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row, self._options_types, with_result=with_result)

    def list(self, limit: int | None = None) -> builtins.list[Job]:
        """Newest first; at most `limit` jobs; without their results (get() has those)."""
        rows = self._db().execute(f"{_LISTED} ORDER BY created DESC, id DESC LIMIT ?",
                                  (-1 if limit is None else limit,))
        return [_job(row, self._options_types, with_result=False) for row in rows]

    def unfinished(self) -> builtins.list[Job]:
        """Queued, uploading or processing jobs, oldest first: what to resume."""
        marks = ", ".join("?" * len(_UNFINISHED))
        rows = self._db().execute(
            f"{_LISTED} WHERE state IN ({marks}) ORDER BY created, id", _UNFINISHED)
        return [_job(row, self._options_types, with_result=False) for row in rows]

    def find_unfinished(self, file: Path, provider: str, options: JobOptions,
                        stamp: FileStamp) -> builtins.list[Job]:
        """Unfinished jobs of this file (the same path, size and modification time as when
        the job was added), provider and options, oldest first: what a run of
        `transcribe` for them resumes instead of uploading again."""
        marks = ", ".join("?" * len(_UNFINISHED))
        rows = self._db().execute(
            f"{_LISTED} WHERE file = ? AND provider = ? AND state IN ({marks}) AND id IN"
            " (SELECT job_id FROM job_files WHERE size = ? AND mtime_ns = ?)"
            " ORDER BY created, id",
            (str(file), provider, *_UNFINISHED, stamp.size, stamp.mtime_ns))
        wanted = options.to_json()
        jobs = (_job(row, self._options_types, with_result=False) for row in rows)
        return [job for job in jobs if job.options.to_json() == wanted]

    # --- writing ----------------------------------------------------------------------

    def add(self, file: Path, provider: str, options: JobOptions,
            stamp: FileStamp | None = None) -> Job:
        """A new QUEUED job; `stamp` (the file's size and time now) lets a later run of the
        same file find it (find_unfinished)."""
        now = time.time()
        with self._transaction(durable=True) as db:
            cursor = db.execute(
                "INSERT INTO jobs (file, provider, options, state, progress, created, updated,"
                " remote) VALUES (?, ?, ?, ?, NULL, ?, ?, '{}')",
                (str(file), provider, options.to_json(), JobState.QUEUED.value, now, now))
            if stamp is not None:
                db.execute("INSERT INTO job_files (job_id, size, mtime_ns) VALUES (?, ?, ?)",
                           (cursor.lastrowid, stamp.size, stamp.mtime_ns))
            row = db.execute(f"{_LISTED} WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _job(row, self._options_types, with_result=False)

    def mark_refused(self, job_id: int) -> None:
        """The job's file cannot be decoded: it is never retried."""
        with self._transaction(durable=True) as db:
            db.execute("INSERT INTO job_files (job_id, refused) VALUES (?, 1) ON CONFLICT"
                       " (job_id) DO UPDATE SET refused = 1", (job_id,))

    def set_warning(self, job_id: int, warning: str | None) -> Job:
        """Keep a warning about the job's file (None: none); returns the job as listed."""
        with self._transaction(durable=True) as db:
            db.execute("INSERT INTO job_files (job_id, warning) VALUES (?, ?) ON CONFLICT"
                       " (job_id) DO UPDATE SET warning = excluded.warning", (job_id, warning))
            row = db.execute(f"{_LISTED} WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(f"job {job_id} is not in the job list")
        return _job(row, self._options_types, with_result=False)

    def update(self, job_id: int, *, state: JobState | None = None,
               progress: float | _Unset | None = UNSET, error: str | _Unset | None = UNSET,
               result: Transcript | _Unset | None = UNSET,
               remote: Mapping[str, str] | None = None) -> Job:
        """Change the given fields (`remote` is merged into the stored ids); bumps
        `updated`. Returns the job as stored, with the `result` given here, or as listed
        (no result) when none was. Raises KeyError for a job that is not (or no longer)
        stored."""
        values: dict[str, Any] = {"updated": time.time()}
        if state is not None:
            values["state"] = JobState(state).value
        if progress is not UNSET:
            values["progress"] = _progress(progress)
        if error is not UNSET:
            values["error"] = error
        if result is not UNSET:
            values["result"] = None if result is None else _dump(to_store_dict(result))
            values["preview"] = None if result is None else text_preview(result.text)
        if remote:
            _check_remote(remote)
        durable = bool(remote) or not set(values) <= {"updated", "progress"}
        with self._transaction(durable=durable) as db:
            if remote:
                row = db.execute("SELECT remote FROM jobs WHERE id = ?", (job_id,)).fetchone()
                if row is None:
                    raise KeyError(f"job {job_id} is not in the job list")
                values["remote"] = _dump({**_remote(row["remote"]), **remote})
            job = self._write(db, job_id, values)
        # The transcript just written, not a parse of it: that costs as much as writing.
        return dataclasses.replace(job, result=result) if isinstance(result, Transcript) else job

    def reset(self, job_id: int, *, keep_remote: bool) -> Job:
        """Back to QUEUED as if just added: no progress, error or result; the remote ids
        stay only with `keep_remote` (a resume, not a retry)."""
        values: dict[str, Any] = {"updated": time.time(), "state": JobState.QUEUED.value,
                                  "progress": None, "error": None, "preview": None,
                                  "result": None}
        if not keep_remote:
            values["remote"] = "{}"
        with self._transaction(durable=True) as db:
            row = db.execute(f"{_LISTED} WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(f"job {job_id} is not in the job list")
            # Damaged options read as the defaults; writing those back lets the job run.
            values["options"] = _job(row, self._options_types, with_result=False).options.to_json()
            return self._write(db, job_id, values)

    def delete(self, job_id: int) -> None:
        with self._transaction(durable=True) as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            db.execute("DELETE FROM job_files WHERE job_id = ?", (job_id,))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        return self._file.db()

    def _write(self, db: sqlite3.Connection, job_id: int, values: dict[str, Any]) -> Job:
        assignments = ", ".join(f"{name} = ?" for name in values)
        cursor = db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?",
                            (*values.values(), job_id))
        if cursor.rowcount == 0:
            raise KeyError(f"job {job_id} is not in the job list")
        row = db.execute(f"{_LISTED} WHERE id = ?", (job_id,)).fetchone()
        return _job(row, self._options_types, with_result=False)

    def _transaction(self, *, durable: bool) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.transaction(durable=durable)


def _check_newer(db: sqlite3.Connection, version: int, path: Path) -> None:
    """A job list from a newer app is used as it is if it has every column we read."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
    missing = sorted(set(COLUMNS) - columns)
    if missing:
        raise ConfigurationError(
            f"The job list ({path}) was written by a newer version of this app (schema "
            f"{version}) and lacks {', '.join(missing)}: update the app.")


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _progress(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return min(max(float(value), 0.0), 1.0)


def _check_remote(remote: Mapping[str, str]) -> None:
    for key, value in remote.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"remote ids are strings, not {key!r}={value!r}")


def _remote(text: str) -> dict[str, str]:
    data = json.loads(text) if text else {}
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError("remote ids are not a JSON object of strings")
    return data


def _job(row: sqlite3.Row, options_types: Mapping[str, type[VendorOptions]], *,
         with_result: bool) -> Job:
    """The snapshot of one row; a damaged field makes the job FAILED instead of raising.
    Without `with_result` the transcript is dropped once its preview is known; the row
    holds one only if an older version of the app stored it without a preview."""
    damaged: list[str] = []
    options = JobOptions()
    try:
        options = JobOptions.from_json(row["options"], options_types.get(row["provider"]))
    except (ValueError, TypeError, AttributeError, DictationError):
        damaged.append("options")
    state = JobState.FAILED
    try:
        state = JobState(row["state"])
    except ValueError:
        damaged.append("state")
    remote: dict[str, str] = {}
    try:
        remote = _remote(row["remote"])
    except (ValueError, TypeError):
        damaged.append("remote ids")
    result, preview = None, None
    if row["result"] is not None:
        try:
            result = from_store_dict(json.loads(row["result"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            damaged.append("result")
        else:
            preview = text_preview(result.text)
    elif not with_result and row["preview"] is not None:
        preview = str(row["preview"])  # the result was left out of the query, not missing
    if not with_result:
        result = None
    error = row["error"]
    if damaged:
        state = JobState.FAILED
        error = (f"The saved {' and '.join(damaged)} of this job could not be read (the job "
                 "list was damaged); retry the job to transcribe the file again.")
    progress = row["progress"]
    keys = row.keys()
    refused = "refused" in keys and bool(row["refused"])
    warning = row["warning"] if "warning" in keys and row["warning"] else None
    return Job(id=int(row["id"]), file=Path(row["file"]), provider=str(row["provider"]),
               options=options, state=state,
               progress=None if progress is None else float(progress),
               created=float(row["created"]), updated=float(row["updated"]), remote=remote,
               error=error, result=result, preview=preview, refused=refused,
               warning=None if warning is None else str(warning))
