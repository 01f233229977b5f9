"""One SQLite file the app owns (the job list, the take history): opened in WAL mode with
FULL sync, checked, migrated, and moved aside when damaged, with messages that say which
file and what to do.

The stores (jobs/store.py, takes/store.py) keep their own tables and queries; this is
what opening and keeping such a file takes, written once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dictation_app.core.errors import ConfigurationError

log = logging.getLogger(__name__)

# One migration: SQL statements and Python steps, run in one transaction. Migration N
# (index N-1) takes the schema from version N-1 to N.
Migration = Sequence[str | Callable[[sqlite3.Connection], None]]
# Called when the file's schema is newer than ours, with the connection and its version:
# raise ConfigurationError if this app cannot use it.
NewerSchemaCheck = Callable[[sqlite3.Connection, int], None]


class Damaged(Exception):
    """The file opened but is not a usable database."""


class SqliteFile:
    """The open file: `db()` its connection, `transaction()` a write, `close()`.

    `label` names the file in messages ("job list", "take history"). A file that cannot
    be opened for a reason that says nothing about its contents (locked, permissions, a
    full disk) raises ConfigurationError and is left alone; a damaged one is moved aside
    as `<name>.corrupt-<time>` (its -wal and -shm too) and a new one started:
    `recovered_from` says where the old one went.
    """

    def __init__(self, path: Path, *, label: str, migrations: Sequence[Migration],
                 busy_timeout: float, newer_schema: NewerSchemaCheck | None = None):
        self.path = path
        self.label = label
        self.recovered_from: Path | None = None
        self._migrations = migrations
        self._busy_timeout = busy_timeout
        self._newer_schema = newer_schema
        self._synchronous: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot create the folder for the {label} ({path.parent}): "
                f"{exc.strerror or exc}. Check that it is writable.") from exc
        try:
            self._conn: sqlite3.Connection | None = self._open()
        except (sqlite3.DatabaseError, Damaged) as exc:
            kind = failure_kind(exc)
            if kind == "busy":
                raise ConfigurationError(
                    f"The {label} ({path}) is locked by another program, probably another "
                    "copy of this app: close it and try again.") from exc
            if kind == "access":
                raise ConfigurationError(
                    f"Cannot open the {label} ({path}) for reading and writing: {exc}. "
                    "Check that this user owns the file, its -wal and -shm companions and "
                    "their folder, and may write to them (a file left by running the app "
                    "with sudo belongs to root), then start the app again.") from exc
            if kind != "damaged" or not path.exists():
                # A full disk or an I/O error says nothing about the file: keep it.
                raise ConfigurationError(
                    f"Cannot open the {label} ({path}): {exc}. Check that the disk has room "
                    "and the folder is writable, then start the app again.") from exc
            self.recovered_from = self._move_aside(exc)
            try:
                self._conn = self._open()
            except (sqlite3.DatabaseError, Damaged) as again:
                raise ConfigurationError(
                    f"Cannot start a new {label} at {path}: {again}. Check that the folder "
                    "is writable.") from again

    def db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError(f"the {self.label} is closed")
        return self._conn

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; `durable=False` commits with synchronous=NORMAL
        (survives a crash of the app, not a power cut) for writes that can be redone."""
        db = self.db()
        synchronous = "FULL" if durable else "NORMAL"
        if synchronous != self._synchronous:
            db.execute(f"PRAGMA synchronous = {synchronous}")
            self._synchronous = synchronous
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            # Inside the try: a COMMIT that fails (disk full, a deferred constraint)
            # leaves the transaction open, and every later BEGIN would fail.
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.rollback()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # internals

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=self._busy_timeout, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                # Said of a file SQLite could read: a read-only file or a file system
                # without shared memory, not damage.
                raise ConfigurationError(
                    f"The {self.label} ({self.path}) cannot use write-ahead logging (SQLite "
                    f"kept journal mode {mode!r}). Check that the file and its folder are "
                    "writable and on a local disk, then start the app again.")
            db.execute("PRAGMA synchronous = FULL")
            self._synchronous = "FULL"
            check = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
            if check != ["ok"]:
                details = "; ".join(check[:3]).replace("\n", " ")
                raise Damaged(f"integrity check failed: {details}")
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        latest = len(self._migrations)
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > latest:
            if self._newer_schema is not None:
                self._newer_schema(db, version)
            log.info("%s schema %d is newer than %d; using it as is", self.label, version,
                     latest)
            return
        for target in range(version + 1, latest + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                for step in self._migrations[target - 1]:
                    if callable(step):
                        step(db)
                    else:
                        db.execute(step)
                db.execute(f"PRAGMA user_version = {target}")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.rollback()
                raise
            log.info("%s schema migrated to version %d", self.label, target)

    def _move_aside(self, reason: BaseException) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        attempt = 1
        while target.exists():
            attempt += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{attempt}")
        try:
            os.replace(self.path, target)
            # A WAL left beside the damaged file must not be replayed into the new one.
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    os.replace(side, Path(f"{target}{suffix}"))
        except OSError as exc:
            raise ConfigurationError(
                f"The {self.label} ({self.path}) is damaged ({reason}) and could not be moved "
                f"aside: {exc.strerror or exc}. Move or delete it, then start the app "
                "again.") from exc
        log.warning("%s %s could not be read (%s); moved it to %s and started a new one",
                    self.label, self.path, reason, target.name)
        return target


# Only these say the file's contents are unusable. Permission and open errors
# (SQLITE_CANTOPEN, _PERM, _READONLY, _AUTH) say nothing about the contents: moving such
# a file aside would hide an intact one.
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_ACCESS = ("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_READONLY", "SQLITE_AUTH")


def failure_kind(exc: BaseException) -> str:
    """busy (another connection holds a lock), damaged (the file's contents are
    unusable), access (the file cannot be opened or written: permissions, a read-only
    disk, a folder in its place) or other (disk full, I/O error: the file may be fine)."""
    if isinstance(exc, Damaged):
        return "damaged"
    name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+
    if name:
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return "busy"
        if name.startswith(_DAMAGED):
            return "damaged"
        return "access" if name.startswith(_ACCESS) else "other"
    # Python 3.10: SQLite's messages for the same codes.
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "busy"
    if "malformed" in text or "not a database" in text:
        return "damaged"
    if "unable to open" in text or "readonly" in text or "not authorized" in text \
            or "access permission" in text:
        return "access"
    return "other"
