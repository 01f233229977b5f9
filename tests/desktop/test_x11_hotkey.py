"""The system-wide key on a real X server (Xvfb), pressed by a second client with XTest."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from Xlib import X

from dictation_app.desktop.hotkey import HotkeyTaken, HotkeyUnavailable, KeySpec
from dictation_app.desktop.x11_hotkey import X11Hotkey
from tests.support.x11 import KeySender, XvfbServer

WAIT_S = 5.0


class Recorder:
    """The callbacks, called on the X thread: what came, in order, and events to wait on."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.pressed = threading.Event()
        self.released = threading.Event()
        self.threads: set[str] = set()

    def on_pressed(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.append("pressed")
        self.pressed.set()

    def on_released(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.append("released")
        self.released.set()


@pytest.fixture
def grab(xvfb: XvfbServer) -> Iterator[tuple[Recorder, list[X11Hotkey]]]:
    recorder = Recorder()
    started: list[X11Hotkey] = []
    yield recorder, started
    for hotkey in started:
        hotkey.stop()


def _grab(xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], key: str) -> Recorder:
    recorder, started = grab
    hotkey = X11Hotkey(KeySpec.parse(key), recorder.on_pressed, recorder.on_released,
                       xvfb.display)
    hotkey.start()
    started.append(hotkey)
    return recorder


def test_a_press_and_a_release_reach_the_callbacks_on_the_x_thread(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    recorder = _grab(xvfb, grab, "F9")
    keys.press("F9")
    keys.sync()
    assert recorder.pressed.wait(WAIT_S)
    assert recorder.calls == ["pressed"]
    keys.release("F9")
    keys.sync()
    assert recorder.released.wait(WAIT_S)
    assert recorder.calls == ["pressed", "released"]
    assert recorder.threads == {"x11-hotkey-F9"}


def test_a_chord_is_grabbed_with_its_modifiers_only(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    recorder = _grab(xvfb, grab, "Ctrl+Alt+D")
    keys.tap("d")  # without the modifiers: not ours
    keys.tap("Control_L", "d")
    keys.tap("Control_L", "Alt_L", "d")
    assert recorder.released.wait(WAIT_S)
    assert recorder.calls == ["pressed", "released"]


def test_the_key_works_with_numlock_and_capslock_on(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    recorder = _grab(xvfb, grab, "F9")
    keys.tap("Num_Lock")
    keys.tap("Caps_Lock")
    try:
        assert keys.lock_mask() & X.LockMask
        assert keys.lock_mask() & ~(X.LockMask | X.ShiftMask | X.ControlMask)  # NumLock's
        keys.tap("F9")
        assert recorder.released.wait(WAIT_S)
        assert recorder.calls == ["pressed", "released"]
    finally:
        keys.tap("Caps_Lock")
        keys.tap("Num_Lock")
    assert keys.lock_mask() == 0


def test_auto_repeat_while_held_gives_one_press_and_one_release(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    recorder, started = grab
    _grab(xvfb, grab, "F9")
    keys.press("F9")
    # X's auto-repeat: a release and a press together, every 30 ms (the server waits
    # out each delay itself).
    for _ in range(8):
        keys.release("F9", delay_ms=30)
        keys.press("F9")
    keys.sync()
    assert recorder.pressed.wait(WAIT_S)
    assert not recorder.released.is_set()
    keys.release("F9", delay_ms=30)
    keys.sync()
    assert recorder.released.wait(WAIT_S)
    started.pop().stop()  # joins the X thread: nothing more can arrive after this
    assert recorder.calls == ["pressed", "released"]


def test_the_servers_own_auto_repeat_gives_one_press_and_one_release(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    recorder, started = grab
    _grab(xvfb, grab, "F9")
    # Held for 1.2 s: past the server's repeat delay (660 ms), it repeats the key as
    # release/press pairs at 25 per second, stamped alike, as a held key does.
    keys.press("F9")
    keys.release("F9", delay_ms=1200)
    keys.sync()
    assert recorder.released.wait(WAIT_S)
    started.pop().stop()
    assert recorder.calls == ["pressed", "released"]


def test_a_second_hold_after_a_real_release_is_its_own(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    recorder = _grab(xvfb, grab, "F9")
    keys.tap("F9")
    assert recorder.released.wait(WAIT_S)
    recorder.released.clear()
    keys.press("F9", delay_ms=200)  # a person's re-press: well over the repeat interval
    keys.release("F9")
    keys.sync()
    assert recorder.released.wait(WAIT_S)
    assert recorder.calls == ["pressed", "released", "pressed", "released"]


def test_a_key_another_client_grabbed_is_a_clear_error(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    _grab(xvfb, grab, "Ctrl+Shift+F12")
    second = Recorder()
    taken = X11Hotkey(KeySpec.parse("ctrl+shift+f12"), second.on_pressed,
                      second.on_released, xvfb.display)
    with pytest.raises(HotkeyTaken, match=r"^Ctrl\+Shift\+F12 is already taken by another "
                                          r"application; choose another key in Preferences$"):
        taken.start()
    taken.stop()  # harmless after a failed start
    # The refused grab left the first one whole, and took nothing for itself.
    recorder = grab[0]
    keys.tap("Control_L", "Shift_L", "F12")
    assert recorder.released.wait(WAIT_S)
    assert second.calls == []


def test_stop_returns_promptly_and_frees_the_key(
        xvfb: XvfbServer, grab: tuple[Recorder, list[X11Hotkey]], keys: KeySender) -> None:
    recorder, started = grab
    _grab(xvfb, grab, "F9")
    keys.press("F9")
    keys.sync()
    assert recorder.pressed.wait(WAIT_S)
    began = time.monotonic()
    started.pop().stop()
    assert time.monotonic() - began < 1.0
    assert recorder.calls == ["pressed", "released"]  # a key held is let go
    keys.release("F9")
    keys.sync()
    again = Recorder()
    hotkey = X11Hotkey(KeySpec.parse("F9"), again.on_pressed, again.on_released, xvfb.display)
    hotkey.start()  # not taken any more
    started.append(hotkey)


def test_no_display_is_a_clear_error() -> None:
    hotkey = X11Hotkey(KeySpec.parse("F9"), lambda: None, lambda: None, ":999")
    with pytest.raises(HotkeyUnavailable, match=r"cannot grab F9: cannot reach the X "
                                                r"display :999"):
        hotkey.start()


def test_a_lost_x_server_is_reported_on_the_x_thread_not_raised() -> None:
    server = XvfbServer()  # its own: this test kills it
    recorder = Recorder()
    failures: list[Exception] = []
    failed = threading.Event()

    def on_failed(error: Exception) -> None:
        failures.append(error)
        failed.set()

    hotkey = X11Hotkey(KeySpec.parse("F9"), recorder.on_pressed, recorder.on_released,
                       server.display, on_failed=on_failed)
    hotkey.start()
    keys = KeySender(server.display)
    keys.press("F9")
    keys.sync()
    assert recorder.pressed.wait(WAIT_S)
    keys.close()
    server.close()
    assert failed.wait(WAIT_S)
    assert isinstance(failures[0], HotkeyUnavailable)
    assert "F9 is no longer grabbed: the connection to the X display was lost" in str(
        failures[0])
    assert recorder.calls == ["pressed", "released"]  # the hold ended with the server
    hotkey.stop()


def test_stop_may_be_called_from_a_callback(
        xvfb: XvfbServer, keys: KeySender) -> None:
    stopped = threading.Event()
    hotkey: X11Hotkey

    def on_pressed() -> None:
        hotkey.stop()  # on the X thread: must not wait for itself
        stopped.set()

    hotkey = X11Hotkey(KeySpec.parse("F9"), on_pressed, lambda: None, xvfb.display)
    hotkey.start()
    keys.tap("F9")
    assert stopped.wait(WAIT_S)
    again = X11Hotkey(KeySpec.parse("F9"), lambda: None, lambda: None, xvfb.display)
    deadline = time.monotonic() + WAIT_S
    while True:  # the thread lets the key go once the callback has returned
        try:
            again.start()
            break
        except HotkeyTaken:
            assert time.monotonic() < deadline
    again.stop()
