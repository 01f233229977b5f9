"""Fixtures every test folder can use: isolated user dirs, a virtual microphone, the app's
event loop, an in-memory keyring, espeak-ng speech and the engine tests' grammar."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import settings

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.support.audio import Speech, speech_maker, write_grammar
from tests.support.dbus_session import DBusUnavailable, SessionBus
from tests.support.pulse import (
    PulseMic,
    PulseUnavailable,
    SavedEnvironment,
    ensure_pulse_plugin,
    private_environment,
    reinitialize_portaudio,
)
from tests.support.secrets import SecretWatch
from tests.support.x11 import KeySender, TypedTextWindow, XvfbServer, XvfbUnavailable

# Property tests (tests/protocols/test_properties.py): a bounded, derandomized run, so CI
# is deterministic and the suite stays fast; `HYPOTHESIS_PROFILE=deep` for a long hunt.
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True,
                          database=None, print_blob=True)
settings.register_profile("deep", max_examples=2_000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# qasync's DEBUG records carry its socket notifiers as arguments; captured by caplog
# they outlive their loop and crash Qt when collected during a later test.
logging.getLogger("qasync").setLevel(logging.INFO)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point platformdirs' config, data, cache and state dirs at tmp paths."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        path = tmp_path / "xdg" / name.lower()
        path.mkdir(parents=True)
        monkeypatch.setenv(name, str(path))


@pytest.fixture(autouse=True)
def root_log_filters() -> Iterator[None]:
    """What a test's in-process `main()` adds to the root handlers' filters is taken off
    after it: pytest keeps one capture handler for the whole run, and a RedactingFilter
    left on it would hide every later test's leaked secret from its check."""
    handlers = {handler: list(handler.filters) for handler in logging.getLogger().handlers}
    yield
    for handler, filters in handlers.items():
        handler.filters[:] = filters


def _unavailable(reason: str) -> NoReturn:
    """Missing system packages: a failure under CI, a skip on a developer's machine."""
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} (CI must run the PulseAudio tests: run scripts/setup.sh)")
    pytest.skip(reason)


def _require_portaudio() -> None:
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        _unavailable(f"PortAudio is not installed (libportaudio2): {exc}")


@pytest.fixture
def pulse_mic() -> Iterator[Callable[..., PulseMic]]:
    """Factory: `pulse_mic(rate=16000, channels=1)` starts a private PulseAudio daemon
    whose default source is a FIFO-fed virtual microphone; torn down after the test.
    """
    _require_portaudio()
    started: list[PulseMic] = []

    def start(rate: int = 16_000, channels: int = 1) -> PulseMic:
        try:
            mic = PulseMic(rate=rate, channels=channels)
        except PulseUnavailable as exc:
            _unavailable(str(exc))
        started.append(mic)
        try:
            ensure_pulse_plugin()
        except PulseUnavailable as exc:
            _unavailable(str(exc))
        return mic

    yield start
    for mic in reversed(started):
        mic.close()


@pytest.fixture
def no_sound_server() -> Iterator[list[str]]:
    """No PulseAudio reachable (and none autospawned), PortAudio re-initialised.

    Yields the names of the input devices PortAudio still lists: empty unless
    the machine has a real sound card.
    """
    _require_portaudio()
    import sounddevice as sd

    runtime_dir = Path(tempfile.mkdtemp(prefix="pa-none-"))
    env = SavedEnvironment(private_environment(runtime_dir, runtime_dir))
    try:
        reinitialize_portaudio()
        yield [str(d["name"]) for d in sd.query_devices() if d["max_input_channels"] > 0]
    finally:
        env.restore()
        shutil.rmtree(runtime_dir, ignore_errors=True)
        reinitialize_portaudio()


@pytest.fixture
def loop(qapp: object) -> Iterator[asyncio.AbstractEventLoop]:
    """The app's event loop: qasync's, on the test QApplication, driven explicitly."""
    import qasync

    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def gui_thread_gc(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that use Qt collect garbage as the app does: on the GUI thread only.

    Windows, panels and qasync's timers end up in reference cycles; collected on a
    server or PulseAudio thread, their Qt objects crash Qt, often in a later test.
    The collector is stopped (one last collection, on this thread) after the test.
    """
    if "qapp" not in request.fixturenames:
        yield
        return
    from dictation_app.ui.gc_pin import GuiThreadCollector

    request.getfixturevalue("qapp")
    collector = GuiThreadCollector()
    collector.start()
    yield
    collector.stop()
    collector.deleteLater()


@pytest.fixture
def memory_keyring() -> Iterator[object]:
    """An in-memory keyring backend in place of the system's for one test."""
    import keyring

    from tests.support.memory_keyring import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    """`speech("some text", 1.0, "more text")`: espeak-ng speech in the app's audio format,
    numbers are silences (tests.support.audio)."""
    return speech_maker(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def grammar_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JSGF grammar of tests.support.audio.SENTENCES: exact results from pocketsphinx."""
    return write_grammar(tmp_path_factory.mktemp("grammar") / "sentences.gram")


@pytest.fixture
def no_secret_logged(caplog: pytest.LogCaptureFixture) -> Iterator[SecretWatch]:
    """Every logger at DEBUG; when the test ends, it fails if a secret given to
    `no_secret_logged.add(...)` (by the test or a fixture's teardown) reached any log
    record. `tests.support.secrets.assert_no_secret_logged` checks in the middle."""
    watch = SecretWatch(caplog)
    yield watch
    watch.check()


@pytest.fixture(scope="module")
def session_bus() -> Iterator[SessionBus]:
    """A private D-Bus session bus for the module (`session_bus.address`), with no
    service activation: only what a test starts answers on it."""
    try:
        bus = SessionBus()
    except DBusUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"{exc} (CI must run the D-Bus tests: run scripts/setup.sh)")
        pytest.skip(str(exc))
    yield bus
    bus.close()


@pytest.fixture(scope="module")
def xvfb() -> Iterator[XvfbServer]:
    """A private X server (Xvfb) for the module; its display name is `xvfb.display`."""
    try:
        server = XvfbServer()
    except XvfbUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"{exc} (CI must run the X11 tests: run scripts/setup.sh)")
        pytest.skip(str(exc))
    yield server
    server.close()


@pytest.fixture
def keys(xvfb: XvfbServer) -> Iterator[KeySender]:
    """A second X client that presses keys with XTest, as a person would."""
    sender = KeySender(xvfb.display)
    yield sender
    sender.close()


@pytest.fixture
def focused_app(xvfb: XvfbServer) -> Iterator[TypedTextWindow]:
    """Another app's window on the X server, with the keyboard focus, collecting the
    text its keys type."""
    window = TypedTextWindow(xvfb.display)
    yield window
    window.close()
