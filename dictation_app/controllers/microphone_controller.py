"""The microphone owner: lists input devices, opens the chosen one, hands its blocks on,
and follows microphones being plugged in and unplugged.

The window shows the device list and the level meter; this object keeps the open
`Microphone`, remembers a pinned device in the settings by its stable id, and passes
every block to `on_block` on the event loop. Every few seconds it asks the sound server
for its sources (off the GUI thread: `pactl` may take up to its deadline) and, when
the list changed, updates the picker and moves to the device that should be in use.
Whether a take may be cut short is the dictation controller's decision: this object
only reports, through `on_failed`, that the device a take records has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from dictation_app.audio.capture import Microphone
from dictation_app.audio.convert import Level
from dictation_app.audio.devices import (
    InputDevice,
    list_input_devices,
    match_stored_choice,
    server_devices,
)
from dictation_app.audio.sound_server import SoundServerUnavailable, Source, list_sources
from dictation_app.core.errors import AudioDeviceError
from dictation_app.core.settings import Key, Settings
from dictation_app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

LEVEL_BLOCK_MS = 40  # 25 level updates a second
SOURCES_POLL_MS = 2500
NO_MICROPHONE = ("No microphone found. Connect one, or check that the sound server "
                 "(PulseAudio/PipeWire) is running.")

MicrophoneFactory = Callable[..., Microphone]


def unplugged_message(device: InputDevice) -> str:
    return (f"The microphone “{device.name}” was disconnected, so recording stopped; what it "
            "recorded until then is kept. Press Record to go on with the microphone now "
            "shown in the list.")


class SourceWatch(QObject):
    """Asks the sound server for its sources every `interval_ms`, on a thread of its own,
    and emits `listed` on the GUI thread with the answer (None: no sound server)."""

    listed = Signal(object)
    _answered = Signal(object)  # from the asking thread; queued to this object's thread

    def __init__(self, list_sources: Callable[[], list[Source]], interval_ms: int) -> None:
        super().__init__()
        self._list_sources = list_sources
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        self._answered.connect(self._on_answered)
        self._asking: threading.Thread | None = None

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        asking = self._asking
        if asking is not None:
            asking.join(timeout=10)  # pactl's own deadline ends it well before

    def poll(self) -> None:
        if self._asking is not None:
            return  # the last question is still out: no pile-up behind a slow server
        self._asking = threading.Thread(target=self._ask, name="list-sound-sources",
                                        daemon=True)
        self._asking.start()

    def _ask(self) -> None:
        try:
            sources: list[Source] | None = self._list_sources()
        except SoundServerUnavailable:
            sources = None
        except Exception:  # a poll must never end the thread unseen
            log.exception("listing the sound server's sources failed")
            sources = None
        # RuntimeError: the watch was deleted while the question was out.
        with contextlib.suppress(RuntimeError):
            self._answered.emit(sources)

    def _on_answered(self, sources: list[Source] | None) -> None:
        self._asking = None
        if self._timer.isActive():
            self.listed.emit(sources)


class MicrophoneController:
    """Device list, the open microphone, and its blocks and failures."""

    def __init__(
        self,
        window: MainWindow,
        settings: Settings,
        *,
        on_block: Callable[[np.ndarray], None],
        on_opened: Callable[[Microphone], None],
        on_closed: Callable[[], None],
        on_failed: Callable[[AudioDeviceError], None],
        microphone_factory: MicrophoneFactory = Microphone,
        list_devices: Callable[[], list[InputDevice]] = list_input_devices,
        list_sources: Callable[[], list[Source]] = list_sources,
        is_recording: Callable[[], bool] = lambda: False,
        on_devices_changed: Callable[[], None] = lambda: None,
        poll_ms: int = SOURCES_POLL_MS,
    ):
        self.window = window
        self.settings = settings
        self._on_block = on_block
        self._on_opened = on_opened
        self._on_closed = on_closed
        self._on_failed = on_failed
        self._microphone_factory = microphone_factory
        self._list_devices = list_devices
        self._is_recording = is_recording
        self._on_devices_changed = on_devices_changed
        self.devices: list[InputDevice] = []
        self.device: InputDevice | None = None
        self.microphone: Microphone | None = None
        # The sound server's last answer, to act only on a change.
        self._polled: list[Source] | None = None
        self._tried: list[Source] | None = None  # the server's list a fallback refresh tried
        self.watch = SourceWatch(list_sources, poll_ms)
        self.watch.listed.connect(self._on_sources_listed)

    def start_watching(self) -> None:
        """Follow devices coming and going from now on."""
        self.watch.start()

    def stop_watching(self) -> None:
        self.watch.stop()

    def refresh(self) -> None:
        """List the devices again and reopen the chosen one."""
        # Listing re-initialises PortAudio, which closes every open stream under us.
        self.close()
        self.device = None
        try:
            self.devices = self._list_devices()
        except AudioDeviceError as exc:
            self.devices = []
            self.window.set_status("error", str(exc))
        shown = self._shown_sources()
        if shown is not None:
            self._polled = shown
            self._tried = None
        pinned = self._pinned()
        chosen = pinned or self.default_device()
        self.window.set_devices(self.devices, chosen.id if chosen else None)
        if chosen is None:
            self.window.set_level(0.0, 0.0)
            self.window.set_status("error", NO_MICROPHONE)
            return
        self.open(chosen, follow_default=pinned is None)

    def find(self, device_id: object) -> InputDevice | None:
        """The listed device with this id."""
        return next((d for d in self.devices if d.id == device_id), None)

    def choose(self, device: InputDevice) -> None:
        """Open the device the user picked: the default one means "follow the default",
        any other is pinned (remembered by id)."""
        # A pinned device that is missing at the next start falls back to the
        # default for that run, but stays pinned for when it comes back.
        self.settings.set(Key.INPUT_DEVICE, "" if device.is_default else device.id)
        self.open(device, follow_default=device.is_default)

    def default_device(self) -> InputDevice | None:
        default = next((d for d in self.devices if d.is_default), None)
        return default or (self.devices[0] if self.devices else None)

    def open(self, device: InputDevice, *, follow_default: bool = False) -> None:
        """Open `device`; following the default, a sound server stream is left to go
        wherever the server's default goes rather than pinned to this source."""
        self.close()
        self.device = device
        loop = asyncio.get_event_loop()
        source = None if follow_default else device.source
        mic = self._microphone_factory(device.index, loop=loop, on_block=self._on_audio_block,
                                       on_error=self._on_microphone_error,
                                       block_ms=LEVEL_BLOCK_MS, source=source,
                                       label=device.name)
        try:
            mic.start()
        except AudioDeviceError as exc:
            self.window.set_status("error", str(exc))
            return
        self.microphone = mic
        self._on_opened(mic)
        log.info("microphone %s (%s) at %d Hz, %d ch", mic.device_name, device.id,
                 mic.samplerate, mic.channels)

    def close(self) -> None:
        if self.microphone is not None:
            self.microphone.stop()
            self.microphone = None
        self._on_closed()

    def forget(self) -> None:
        """Close after a failure: the device is gone, the meter drops to zero."""
        self.close()
        self.device = None
        self.window.set_level(0.0, 0.0)

    # --- the stored choice ------------------------------------------------------

    def _pinned(self) -> InputDevice | None:
        stored = self.settings.get_str(Key.INPUT_DEVICE)
        pinned, value = match_stored_choice(self.devices, stored)
        if value != stored:  # an older version's name: from now on, the id
            self.settings.set(Key.INPUT_DEVICE, value)
        return pinned

    def _shown_sources(self) -> list[Source] | None:
        """The listed devices as the sound server's answer would be; None for PortAudio's."""
        if not any(d.source for d in self.devices):
            return None
        return [Source(d.source, d.name, d.is_default, d.card)
                for d in self.devices if d.source]

    # --- following the sound server ------------------------------------------

    def _on_sources_listed(self, sources: list[Source] | None) -> None:
        previous, self._polled = self._polled, sources
        if self._shown_sources() is None:
            # PortAudio's list is shown: a sound server that has come up is worth a
            # full listing, but not in the middle of a take (it reopens PortAudio), and
            # once only for a server whose devices PortAudio cannot open.
            if sources and sources != self._tried and not self._is_recording():
                self._tried = sources
                log.info("a sound server answered: listing its microphones")
                self.refresh()
                self._on_devices_changed()
            return
        if sources is None or sources == previous:
            return  # no server now: the open stream fails and says so
        self._follow(sources)

    def _follow(self, sources: list[Source]) -> None:
        pulse_index = next(d.index for d in self.devices if d.source)
        self.devices = server_devices(sources, pulse_index)
        current = self.device
        gone = current is not None and self.find(current.id) is None
        if self._is_recording():
            # The picker is locked during a take; it shows what records.
            self.window.set_devices(self.devices, None if gone or current is None
                                    else current.id)
            if gone and current is not None:
                log.warning("microphone %s vanished during a take", current.id)
                self._on_failed(AudioDeviceError(unplugged_message(current)))
            return
        pinned = self._pinned()
        wanted = pinned or self.default_device()
        self.window.set_devices(self.devices, wanted.id if wanted else None)
        if wanted is None:
            self.forget()
            self.window.set_status("error", NO_MICROPHONE)
        elif current is None or self.microphone is None or wanted.id != current.id:
            log.info("microphones changed: now %s", wanted.id)
            self.open(wanted, follow_default=pinned is None)
        else:
            self.device = wanted  # the same device; whether it is the default may differ
        self._on_devices_changed()

    # --- on the loop ---------------------------------------------------------

    def _on_audio_block(self, block: np.ndarray, level: Level) -> None:
        self.window.set_level(level.peak, level.rms)
        self._on_block(block)

    def _on_microphone_error(self, error: AudioDeviceError) -> None:
        log.warning("microphone failed: %s", error)
        self._on_failed(error)
