"""Input devices in a form the rest of the app can use: the sound server's microphones
where there is one (PulseAudio/PipeWire on Linux), PortAudio's own list otherwise."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dictation_app.audio.sound_server import SoundServerUnavailable, Source, list_sources
from dictation_app.core.errors import AudioDeviceError

log = logging.getLogger(__name__)

PULSE_DEVICE = "pulse"  # PortAudio's name for the ALSA plugin that talks to the sound server
# PortAudio names that meant "whatever the system uses" when they were stored as a choice.
_DEFAULT_ALIASES = frozenset({"pulse", "default", "sysdefault", "pipewire"})


@dataclass(frozen=True)
class InputDevice:
    """One microphone. `index` is the PortAudio device to open; for a sound server
    source that is the "pulse" device, and `source` names the source to record."""

    index: int
    name: str
    default_rate: int = 0
    channels: int = 0
    is_default: bool = False
    source: str | None = None
    card: str = ""  # a source's ALSA card, to recognise PortAudio's name for it

    @property
    def id(self) -> str:
        """What the settings remember: the source's stable name, else PortAudio's name."""
        return self.source or self.name

    @property
    def label(self) -> str:
        """The name a person sees; the default is said in words, not by a mark.

        Rate and channel count are left out: the ALSA pulse plugin reports 44.1 kHz
        and 32 channels whatever the source underneath is, so they mean nothing.
        """
        return f"{self.name} (default)" if self.is_default else self.name


@dataclass(frozen=True)
class DeviceListing:
    """The devices, and why PortAudio's own list is shown if it is (None: the server's)."""

    devices: list[InputDevice] = field(default_factory=list)
    fallback_reason: str | None = None


def find_input_devices() -> DeviceListing:
    """The sound server's microphones, or PortAudio's devices when there is no server."""
    portaudio = list_portaudio_devices()
    try:
        sources = list_sources()
    except SoundServerUnavailable as exc:
        reason = str(exc)
    else:
        pulse = next((d for d in portaudio if d.name == PULSE_DEVICE), None)
        if pulse is not None:
            return DeviceListing(server_devices(sources, pulse.index))
        reason = ("the sound server answered, but PortAudio has no “pulse” device to record "
                  "through (on Debian/Ubuntu: install libasound2-plugins)")
    log.info("listing PortAudio's devices: %s", reason)
    return DeviceListing(portaudio, reason)


def list_input_devices() -> list[InputDevice]:
    """The devices `find_input_devices` finds, without the reason for a fallback."""
    return find_input_devices().devices


def server_devices(sources: list[Source], pulse_index: int) -> list[InputDevice]:
    """The sources as devices opened through PortAudio's "pulse" device (`pulse_index`)."""
    return [InputDevice(index=pulse_index, name=s.description, is_default=s.is_default,
                        source=s.name, card=s.card) for s in sources]


def match_stored_choice(devices: list[InputDevice], stored: str) -> tuple[InputDevice | None, str]:
    """The device a stored choice names, and the value to store from now on.

    The choice is a device's `id`. Versions before the sound server's names were used
    stored PortAudio's name: one naming the sound server itself means the default (""),
    one that is a device's name, or an ALSA device's ("USB Audio: - (hw:1,0)") on the
    card of a source, picks it; either is rewritten to the id.
    """
    if not stored:
        return None, ""
    device = next((d for d in devices if d.id == stored), None)
    if device is not None:
        return device, stored
    if stored in _DEFAULT_ALIASES:
        return None, ""
    device = next((d for d in devices if d.name == stored), None) or next(
        (d for d in devices if d.card and stored.startswith(f"{d.card}:")), None)
    if device is not None:
        return device, device.id
    return None, stored  # not connected now: remembered for when it comes back


def list_portaudio_devices() -> list[InputDevice]:
    """Every PortAudio device with at least one input channel; empty when there is none.

    PortAudio caches its device list at initialisation, so it is re-initialised
    here: a microphone plugged in after start-up shows up on the next refresh.
    """
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio missing
        raise AudioDeviceError(f"The audio backend (PortAudio) could not be loaded: {exc}") from exc
    try:
        sd._terminate()
        sd._initialize()
        devices = sd.query_devices()
        try:
            default_index = sd.default.device[0]
            if default_index is None or default_index < 0:
                default_index = sd.query_devices(kind="input")["index"]
        except sd.PortAudioError:
            default_index = -1
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"Could not list audio devices: {exc}") from exc
    return [
        InputDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            default_rate=round(float(info["default_samplerate"])),
            channels=int(info["max_input_channels"]),
            is_default=int(info["index"]) == default_index,
        )
        for info in devices
        if int(info["max_input_channels"]) > 0
    ]
