"""The microphone owner: lists input devices, opens the chosen one, hands its blocks on.

The window shows the device list and the level meter; this object keeps the open
`Microphone`, remembers a pinned device in the settings, and passes every block to
`on_block` on the event loop. Whether a take may be cut short by reopening is the
dictation controller's decision, not this one's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np

from dictation_app.audio.capture import Microphone
from dictation_app.audio.convert import Level
from dictation_app.audio.devices import InputDevice, list_input_devices
from dictation_app.core.errors import AudioDeviceError
from dictation_app.core.settings import Key, Settings
from dictation_app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

LEVEL_BLOCK_MS = 40  # 25 level updates a second
NO_MICROPHONE = ("No microphone found. Connect one and press Refresh, or check that the "
                 "sound server is running.")

MicrophoneFactory = Callable[..., Microphone]


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
    ):
        self.window = window
        self.settings = settings
        self._on_block = on_block
        self._on_opened = on_opened
        self._on_closed = on_closed
        self._on_failed = on_failed
        self._microphone_factory = microphone_factory
        self._list_devices = list_devices
        self.devices: list[InputDevice] = []
        self.device: InputDevice | None = None
        self.microphone: Microphone | None = None

    def refresh(self) -> None:
        """List the devices again and reopen the chosen one."""
        # "" follows the system's default input; a name pins that device.
        wanted = self.settings.get_str(Key.INPUT_DEVICE)
        # Listing re-initialises PortAudio, which closes every open stream under us.
        self.close()
        self.device = None
        try:
            self.devices = self._list_devices()
        except AudioDeviceError as exc:
            self.devices = []
            self.window.set_status("error", str(exc))
        pinned = next((d for d in self.devices if wanted and d.name == wanted), None)
        chosen = pinned or self.default_device()
        self.window.set_devices(self.devices, pinned.index if pinned else None)
        if chosen is None:
            self.window.set_level(0.0, 0.0)
            self.window.set_status("error", NO_MICROPHONE)
            return
        self.open(chosen)

    def find(self, index: object) -> InputDevice | None:
        """The listed device with this index; None asks for the system default."""
        if index is None:  # "System default"
            return self.default_device()
        return next((d for d in self.devices if d.index == index), None)

    def choose(self, device: InputDevice, *, pinned: bool) -> None:
        """Open the device the user picked; a `pinned` one is remembered by name."""
        # A pinned device that is missing at the next start falls back to the
        # default for that run, but stays pinned for when it comes back.
        self.settings.set(Key.INPUT_DEVICE, device.name if pinned else "")
        self.open(device)

    def default_device(self) -> InputDevice | None:
        default = next((d for d in self.devices if d.is_default), None)
        return default or (self.devices[0] if self.devices else None)

    def open(self, device: InputDevice) -> None:
        self.close()
        self.device = device
        loop = asyncio.get_event_loop()
        mic = self._microphone_factory(device.index, loop=loop, on_block=self._on_audio_block,
                                       on_error=self._on_microphone_error,
                                       block_ms=LEVEL_BLOCK_MS)
        try:
            mic.start()
        except AudioDeviceError as exc:
            self.window.set_status("error", str(exc))
            return
        self.microphone = mic
        self._on_opened(mic)
        log.info("microphone %s at %d Hz, %d ch", mic.device_name, mic.samplerate, mic.channels)

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

    # --- on the loop ---------------------------------------------------------

    def _on_audio_block(self, block: np.ndarray, level: Level) -> None:
        self.window.set_level(level.peak, level.rms)
        self._on_block(block)

    def _on_microphone_error(self, error: AudioDeviceError) -> None:
        log.warning("microphone failed: %s", error)
        self._on_failed(error)
