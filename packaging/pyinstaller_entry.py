"""The frozen bundle's entry point: fixes up what freezing changes, then runs the CLI.

PyInstaller runs this file as `__main__` in every executable of the bundle (the window,
the console CLI on Windows, and the engine child started as `<exe> serve`).
"""

from __future__ import annotations

import os
import sys


def _give_windowed_app_streams() -> None:
    """A windowed Windows executable starts with sys.stdout/stderr set to None.

    Anything that writes to them (logging, argparse, a stray print) would then fail;
    sending it to the null device keeps those paths harmless. When a parent hands the
    process pipes (the engine child started with `serve`), the streams are real and
    stay untouched, so the READY line still reaches the parent.
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def _prefer_bundled_libraries() -> None:
    """Make ctypes.util.find_library look inside the bundle first on Linux.

    sounddevice finds PortAudio with find_library("portaudio"), which on Linux asks
    ldconfig about the system and never looks in the bundle, so the bundled
    libportaudio.so.2 would be ignored and a machine without the libportaudio2
    package could not record. (PyInstaller patches find_library only on Windows.)
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if not sys.platform.startswith("linux") or bundle is None:
        return
    import ctypes.util

    system_find_library = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        prefix = f"lib{name}.so"
        bundled = sorted(entry for entry in os.listdir(bundle) if entry.startswith(prefix))
        if bundled:
            return os.path.join(bundle, bundled[0])
        return system_find_library(name)

    ctypes.util.find_library = find_library


def main() -> int:
    _give_windowed_app_streams()
    _prefer_bundled_libraries()
    from dictation_app.cli.commands import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
