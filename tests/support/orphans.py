"""Kill -9 a parent that started one of the app's children, and see whether the child
outlives it: the engine tests' check that no child is left holding a port, a model or
the CPU."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]  # so `python -c` in the parent finds tests/


def start_parent(code: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    """Run `code` as a parent process; it must print `CHILD <pid>` once its child is at
    work. Returns the parent and the child's pid."""
    parent = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    assert parent.stdout is not None
    line = parent.stdout.readline()
    if not line.startswith("CHILD "):
        parent.kill()
        parent.wait(10)
        raise AssertionError(f"the parent did not start its child: {line!r}")
    return parent, int(line.split()[1])


def gone_within(pid: int, timeout: float) -> bool:
    """Whether `pid` exits within `timeout` seconds (a zombie nobody reaps counts as gone:
    a container's init may not reap orphans)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)  # another process: nothing to wait on but its effects
    return False


def kill_parent(parent: subprocess.Popen[str]) -> None:
    parent.kill()  # SIGKILL: the parent gets no chance to stop its child
    parent.wait(10)
    if parent.stdout is not None:
        parent.stdout.close()


def kill_leftover(pid: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).kill()
