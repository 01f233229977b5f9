"""Where the app's own files (icons) are: inside a PyInstaller bundle or a source checkout."""

from __future__ import annotations

import sys
from pathlib import Path

APP_ID = "io.github.dictation_app.DictationApp"


def icons_dir() -> Path | None:
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = [Path(bundle) / "resources" / "icons"] if bundle else []
    candidates.append(Path(__file__).resolve().parents[2] / "resources" / "icons")
    return next((path for path in candidates if path.is_dir()), None)


def app_icon_files() -> list[Path]:
    """The rendered PNG sizes of the app icon, smallest first (empty if not installed)."""
    folder = icons_dir()
    if folder is None:
        return []
    return sorted(folder.glob("dictation-app-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
