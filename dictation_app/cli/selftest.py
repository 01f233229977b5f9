"""`dictation-app --self-test`: check, without a window, that every part the app needs loads.

One line per check; the exit status is non-zero when any check fails. The bundle's
smoke test runs this first, so a missing plugin, library or model file is named
plainly instead of surfacing as a crash on a user's machine. Each engine of
engine/registry.py gets an "engine" line from its descriptor's own check.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from dictation_app.engine.descriptor import EngineDescriptor
from dictation_app.engine.registry import engines

Check = Callable[[], str]


def _qt() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtWidgets import QApplication

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    available = sorted(p.name.split(".")[0].removeprefix("libq") for p in plugins.glob("*q*"))
    wanted = {"linux": "xcb", "win32": "qwindows", "darwin": "cocoa"}.get(sys.platform)
    if wanted and not any(wanted.removeprefix("q") in name for name in available):
        raise RuntimeError(f"the {wanted} platform plugin is missing from {plugins}")
    # Offscreen, so the check runs where there is no display and opens no window.
    app = QApplication.instance() or QApplication(["dictation-app", "-platform", "offscreen"])
    return f"PySide6 {pyside_version}, platform plugins: {', '.join(available)} " \
           f"(checked on {app.platformName()})"  # type: ignore[attr-defined]


def _audio() -> str:
    import sounddevice as sd

    from dictation_app.audio.devices import find_input_devices

    listing = find_input_devices()
    count = len(listing.devices)
    note = f"{count} microphone(s)" if count else "no microphone found (the app still " \
        "opens; connect one)"
    where = ("listed by the sound server" if listing.fallback_reason is None
             else f"listed by PortAudio: {listing.fallback_reason}")
    return f"{sd.get_portaudio_version()[1]}; {note}; {where}"


def _codecs() -> str:
    import av
    import soundfile
    import soxr

    # The AAC decoder stands for FFmpeg's: M4A is what phones record.
    av.codec.Codec("aac", "r")
    ffmpeg = ".".join(str(part) for part in av.library_versions["libavcodec"])
    return (f"libsndfile {soundfile.__libsndfile_version__}, soxr {soxr.__version__}, "
            f"FFmpeg libavcodec {ffmpeg} (PyAV {av.__version__})")


def _engine_check(descriptor: EngineDescriptor) -> Check:
    def check() -> str:
        try:
            return descriptor.self_test()
        except Exception as exc:
            # One "engine" line per engine: the message says which one failed.
            raise RuntimeError(f"{descriptor.name}: {exc}") from exc

    return check


def _settings() -> str:
    from dictation_app.core.settings import Key, Settings, config_dir

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.json"
        Settings(path).set(Key.LANGUAGE, "en")
        if Settings(path).get(Key.LANGUAGE) != "en":
            raise RuntimeError("a setting written could not be read back")
    return f"settings file: {config_dir() / 'settings.json'}"


def _keyring() -> str:
    from dictation_app.core.secrets import SecretStore

    store = SecretStore()
    backend = type(store._keyring.get_keyring()).__module__
    if store.persistent:
        return f"keyring backend {backend}"
    return f"no system keyring ({backend}): tokens are kept in memory for one run only"


def checks() -> list[tuple[str, Check]]:
    """The checks in the order they run; one "engine" check per registered engine."""
    return [
        ("qt", _qt),
        ("audio", _audio),
        ("codecs", _codecs),
        *(("engine", _engine_check(descriptor)) for descriptor in engines()),
        ("settings", _settings),
        ("keyring", _keyring),
        ("licences", _licences),
    ]


def _licences() -> str:
    """Help ▸ About's list: generated for this install, or the bundle's file."""
    from dictation_app.core.components import shipped_components

    components = shipped_components()
    if not components:
        raise RuntimeError("no third-party component list (the bundle's file is missing, "
                           "or dictation-app is not installed)")
    native = [c.name for c in components if c.inside]
    return f"{len(components)} third-party components listed, with {', '.join(native)}"


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    failed = 0
    to_run = checks()
    for name, check in to_run:
        try:
            detail = check()
        except Exception as exc:  # every failure is reported, none stops the others
            failed += 1
            print(f"FAIL {name:<9} {type(exc).__name__}: {exc}", flush=True)
        else:
            print(f"ok   {name:<9} {detail}", flush=True)
    print(f"self-test: {len(to_run) - failed} ok, {failed} failed", flush=True)
    return 1 if failed else 0
