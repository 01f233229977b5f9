"""Where the running app listens for other processes: one local socket per user and
config dir, so a test (or a second profile) with its own config dir gets its own.

app.py listens on it with QLocalServer; the command line reaches it with a plain Unix
socket (transport/app_command_client.py), so `dictation-app record` never loads Qt.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dictation_app.core.settings import config_dir


def instance_name() -> str:
    """The QLocalServer name: the same for every process of this user and config dir."""
    digest = hashlib.sha256(str(config_dir()).encode()).hexdigest()[:16]
    return f"dictation-app-{digest}"


def instance_socket_path() -> Path:
    """The Unix socket QLocalServer makes of `instance_name()`: in QDir::tempPath(), that
    is $TMPDIR, or /tmp when it is unset (tests/cli/test_record.py holds the two equal)."""
    return Path(os.path.normpath(os.environ.get("TMPDIR") or "/tmp")) / instance_name()
