"""The window's log file: what went wrong, for the user to read or send, in the
platform's log folder (Help ▸ Open log folder).

Rotated at LOG_BYTES with LOG_BACKUPS old files kept, so it never grows without end;
every record passes the RedactingFilter first, so no token or password reaches the disk.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

from dictation_app.core.redaction import RedactingFilter

LOG_NAME = "dictation-app.log"
LOG_BYTES = 1 << 20
LOG_BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir("dictation-app", appauthor=False))


def install_log_file(level: int = logging.INFO) -> Path | None:
    """Log to the log folder's file from now on; its path, or None when the folder cannot
    be written (the app runs on; the console still has the messages)."""
    path = log_dir() / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file in %s: %s", path.parent, exc)
        return None
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    if root.getEffectiveLevel() > level:
        # The console keeps the level it had; the file gets the detail.
        for console in root.handlers:
            if console.level == logging.NOTSET:
                console.setLevel(root.getEffectiveLevel())
        root.setLevel(level)
    root.addHandler(handler)
    return path
