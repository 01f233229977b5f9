"""Input devices as PortAudio reports them, in a form the rest of the app can use."""

from __future__ import annotations

from dataclasses import dataclass

from dictation_app.core.errors import AudioDeviceError


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    default_rate: int
    channels: int
    is_default: bool = False

    @property
    def label(self) -> str:
        """The name a person sees; the default is said in words, not by a mark.

        Rate and channel count are left out: the ALSA pulse plugin reports 44.1 kHz
        and 32 channels whatever the source underneath is, so they mean nothing.
        """
        return f"{self.name} (default)" if self.is_default else self.name


def list_input_devices() -> list[InputDevice]:
    """Every device with at least one input channel; empty when there is none.

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
