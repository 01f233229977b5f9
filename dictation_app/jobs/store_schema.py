"""The job list's SQLite schema: its migrations, version by version, and its columns.

Version 3 adds `job_files`: each job's file as it was when added (size, modification
time), whether it was refused then, and a warning about it.

`JobStore` (store.py) runs the migrations a file lacks when it opens it; `preview` sits
before `result` so that listing never walks a transcript's overflow pages.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from dictation_app.jobs.model import text_preview


def fill_previews(db: sqlite3.Connection) -> None:
    """Migration 2: a preview for each result stored before previews were. A result
    that does not parse keeps none; listing such a job reads it and says it is damaged."""
    ids = [row[0] for row in db.execute("SELECT id FROM jobs WHERE result IS NOT NULL")]
    for job_id in ids:
        text = _stored_text(db, job_id)
        if text is not None:
            db.execute("UPDATE jobs SET preview = ? WHERE id = ?", (text_preview(text), job_id))


def _stored_text(db: sqlite3.Connection, job_id: int) -> str | None:
    # SQLite's JSON functions read a two-hour transcript in ~4 ms, json.loads in ~60.
    try:
        (text,) = db.execute("SELECT json_extract(result, '$.text') FROM jobs WHERE id = ?",
                             (job_id,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "json_extract" not in str(exc):  # "malformed JSON": damaged
            return None
        (stored,) = db.execute("SELECT result FROM jobs WHERE id = ?", (job_id,)).fetchone()
        try:  # an SQLite built without JSON support
            text = json.loads(stored)["text"]
        except (ValueError, KeyError, TypeError):
            return None
    return text if isinstance(text, str) else None


# Migration N (index N-1) takes the schema from version N-1 to N, by SQL statements and
# Python steps run in one transaction. Migrations never drop a column or change its
# meaning, so an older app can still use a file a newer one migrated as long as the
# columns it needs are there.
MIGRATIONS: tuple[tuple[str | Callable[[sqlite3.Connection], None], ...], ...] = (
    (
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            file TEXT NOT NULL,
            provider TEXT NOT NULL,
            options TEXT NOT NULL,
            state TEXT NOT NULL,
            progress REAL,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            remote TEXT NOT NULL DEFAULT '{}',
            error TEXT,
            result TEXT
        )""",
        "CREATE INDEX jobs_by_state ON jobs (state)",
    ),
    (
        # A `preview` column that must come before `result` (see the module docstring):
        # ALTER TABLE can only append, so the table is rebuilt, keeping every id and the
        # AUTOINCREMENT counter (a removed job's id stays dead).
        """CREATE TABLE jobs_v2 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            file TEXT NOT NULL,
            provider TEXT NOT NULL,
            options TEXT NOT NULL,
            state TEXT NOT NULL,
            progress REAL,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            remote TEXT NOT NULL DEFAULT '{}',
            error TEXT,
            preview TEXT,
            result TEXT
        )""",
        """INSERT INTO jobs_v2 (id, file, provider, options, state, progress, created,
            updated, remote, error, result)
           SELECT id, file, provider, options, state, progress, created, updated, remote,
            error, result FROM jobs""",
        "DELETE FROM sqlite_sequence WHERE name = 'jobs_v2'",
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs_v2', seq FROM sqlite_sequence"
        " WHERE name = 'jobs'",
        "DROP TABLE jobs",
        "ALTER TABLE jobs_v2 RENAME TO jobs",
        "CREATE INDEX jobs_by_state ON jobs (state)",
        fill_previews,
    ),
    (
        # What each job's file was when it was added: its size and modification time,
        # so that `transcribe` run again for the same file finds the job an earlier run
        # left unfinished; whether it was refused then (it cannot be decoded: no retry);
        # a warning about it (a WAV shorter than its header says). A table of its own:
        # a column appended to `jobs` would sit after `result`, and reading it would
        # walk every transcript's overflow pages.
        """CREATE TABLE job_files (
            job_id INTEGER PRIMARY KEY,
            size INTEGER,
            mtime_ns INTEGER,
            refused INTEGER NOT NULL DEFAULT 0,
            warning TEXT
        )""",
        "CREATE INDEX jobs_by_file ON jobs (file)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
COLUMNS = ("id", "file", "provider", "options", "state", "progress", "created", "updated",
            "remote", "error", "preview", "result")
