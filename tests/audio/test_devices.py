"""PortAudio's own device list (the fallback) with and without a (virtual) microphone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dictation_app.audio.devices import InputDevice, list_portaudio_devices
from tests.support.pulse import PulseMic


def test_without_a_sound_server_lists_only_real_devices(no_sound_server: list[str]) -> None:
    devices = list_portaudio_devices()
    assert all(isinstance(device, InputDevice) for device in devices)
    assert [device.name for device in devices] == no_sound_server
    assert "pulse" not in no_sound_server


@pytest.mark.pulse
def test_lists_the_virtual_microphone(pulse_mic: Callable[..., PulseMic]) -> None:
    pulse_mic(rate=48_000, channels=2)
    devices = {device.name: device for device in list_portaudio_devices()}
    assert {"pulse", "default"} <= devices.keys()
    default = devices["default"]
    assert default.is_default
    assert not devices["pulse"].is_default
    # The ALSA pulse plugin accepts any format; PortAudio's guess is 44.1 kHz and it
    # reports 32 channels, whatever the source underneath is.
    assert default.default_rate > 0
    assert default.channels >= 1
    assert default.label == "default (default)"
    assert devices["pulse"].label == "pulse"


@pytest.mark.pulse
def test_a_refresh_sees_the_microphone_vanish(pulse_mic: Callable[..., PulseMic]) -> None:
    mic = pulse_mic()
    assert "default" in {device.name for device in list_portaudio_devices()}
    mic.kill()
    assert "pulse" not in {device.name for device in list_portaudio_devices()}
