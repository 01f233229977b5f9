"""Writing an export to disk, all or nothing: the one part of exports with I/O."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from dictation_app.core.errors import DictationError


def write_export(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` as UTF-8 to `path`, all or nothing: a reader never sees half a file."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the mode, as for any new file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DictationError(
            f"Could not save the transcript export to {target}: {reason}. "
            "Choose a folder that exists and that you can write to, with free space."
        ) from exc
