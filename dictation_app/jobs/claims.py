"""Which process runs a job: one OS file lock per job, beside the job list.

The window and any number of `dictation-app transcribe` runs share one job list (SQLite
in WAL mode takes their writes one at a time), so two runners could otherwise pick up
the same unfinished job and upload or poll it twice. A runner holds a job's claim from
the moment it schedules the job until its run ends; a job whose claim another process
holds is left alone. The lock is the operating system's (`flock` on POSIX, `msvcrt`
byte locks on Windows): it is released when its holder exits, even by kill -9 or a
power cut, so a claim never goes stale and nothing has to guess whether its owner is
alive.

Lock files stay in place after release: removing one while another process opens it
would let two processes lock two different files of the same name.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


class JobClaims:
    """Claims of one job list's jobs, held by this object until released."""

    def __init__(self, store_path: Path):
        self.folder = store_path.with_name(f"{store_path.name}.claims")
        self._held: dict[int, int] = {}  # job id -> the locked file's descriptor

    def claim(self, job_id: int) -> bool:
        """Take the job's claim; True if it is ours now (or already was), False if another
        runner holds it. Never blocks."""
        if job_id in self._held:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(job_id), os.O_RDWR | os.O_CREAT, 0o600)
        if not _lock(fd):
            os.close(fd)
            return False
        self._held[job_id] = fd
        return True

    def holds(self, job_id: int) -> bool:
        return job_id in self._held

    def release(self, job_id: int) -> None:
        fd = self._held.pop(job_id, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor drops its lock

    def forget(self, job_id: int) -> None:
        """The job was removed from the list: release it and drop its lock file."""
        self.release(job_id)
        with contextlib.suppress(OSError):
            self._path(job_id).unlink()

    def release_all(self) -> None:
        for job_id in list(self._held):
            self.release(job_id)

    @contextlib.contextmanager
    def adding(self) -> Iterator[None]:
        """Held while a runner looks for a file's job and adds one if there is none, so
        that two runs started at once for the same file do not both add one. Blocks
        only as long as another runner's look-up (a few milliseconds)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "adding.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd, wait=True)
            yield
        finally:
            os.close(fd)

    def _path(self, job_id: int) -> Path:
        return self.folder / f"{job_id}.lock"


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int, *, wait: bool = False) -> bool:
        while True:
            try:
                # LK_LOCK gives up after 10 s; a look-up never takes that long.
                msvcrt.locking(fd, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
            except OSError:
                if wait:
                    continue
                return False
            return True
else:
    import fcntl

    def _lock(fd: int, *, wait: bool = False) -> bool:
        # flock, not fcntl record locks: those belong to the whole process, so two
        # runners in one process (and closing any other descriptor of the file) would
        # not keep each other out.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
