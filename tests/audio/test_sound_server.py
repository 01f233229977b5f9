"""The sound server's microphones by their own names, and capture from the chosen one,
against a private PulseAudio daemon with FIFO-fed virtual sources."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Callable

import numpy as np
import pytest

from dictation_app.audio.convert import PcmConverter
from dictation_app.audio.devices import (
    PULSE_DEVICE,
    InputDevice,
    find_input_devices,
    list_portaudio_devices,
    match_stored_choice,
)
from dictation_app.audio.sound_server import (
    PULSE_SOURCE,
    SoundServerUnavailable,
    Source,
    list_sources,
    parse_sources,
)
from tests.audio.test_capture import (
    Recorder,
    align,
    assert_faithful,
    band_limited_noise,
    correlation,
    expected_16k,
    to_pcm,
)
from tests.support.pulse import PulseMic

# -- what pactl answers ---------------------------------------------------------------


def test_monitors_of_outputs_are_not_microphones() -> None:
    listing = json.dumps([
        {"name": "alsa_output.pci.analog-stereo.monitor", "description": "Monitor of Speakers",
         "monitor_source": "alsa_output.pci.analog-stereo", "properties": {}},
        {"name": "odd.monitor", "description": "Monitor (by class only)", "monitor_source": "",
         "properties": {"device.class": "monitor"}},
        {"name": "alsa_input.usb-Mic", "description": "USB Microphone", "monitor_source": "",
         "properties": {"device.class": "sound", "alsa.card_name": "USB PnP Sound Device"}},
        {"name": "alsa_input.pci.analog-stereo", "description": "", "monitor_source": ""},
    ])
    assert parse_sources(listing, "alsa_input.usb-Mic") == [
        Source("alsa_input.usb-Mic", "USB Microphone", is_default=True,
               card="USB PnP Sound Device"),
        # no description: the name is better than nothing
        Source("alsa_input.pci.analog-stereo", "alsa_input.pci.analog-stereo"),
    ]


def test_a_pactl_without_json_is_a_clear_fallback() -> None:
    with pytest.raises(SoundServerUnavailable, match="PulseAudio 16 or newer"):
        parse_sources("Source #0\n\tState: IDLE\n", "")


def test_a_stored_choice_is_found_by_id_and_an_old_name_is_rewritten() -> None:
    usb = InputDevice(index=3, name="USB Microphone", source="alsa_input.usb-Mic",
                      card="USB PnP Sound Device")
    built_in = InputDevice(index=3, name="Built-in Audio", is_default=True,
                           source="alsa_input.pci")
    devices = [built_in, usb]
    assert match_stored_choice(devices, "alsa_input.usb-Mic") == (usb, "alsa_input.usb-Mic")
    assert match_stored_choice(devices, "USB Microphone") == (usb, "alsa_input.usb-Mic")
    # the ALSA device an older version listed for the same card
    assert match_stored_choice(devices, "USB PnP Sound Device: Audio (hw:1,0)") == (
        usb, "alsa_input.usb-Mic")
    # PortAudio's names for the sound server meant "the default"
    assert match_stored_choice(devices, "pulse") == (None, "")
    assert match_stored_choice(devices, "default") == (None, "")
    # unplugged now: kept, for when it comes back
    assert match_stored_choice(devices, "alsa_input.gone") == (None, "alsa_input.gone")
    assert match_stored_choice(devices, "") == (None, "")


# -- a real daemon ----------------------------------------------------------------------


@pytest.mark.pulse
def test_sources_are_listed_by_their_descriptions_with_the_default_in_words(
    pulse_mic: Callable[..., PulseMic],
) -> None:
    mic = pulse_mic()
    mic.add_source("usbmic", "USB Microphone")

    assert list_sources() == [
        Source("vmic", PulseMic.DESCRIPTION, is_default=True),
        Source("usbmic", "USB Microphone"),
    ]  # the null sink's monitor is not among them
    listing = find_input_devices()
    assert listing.fallback_reason is None
    # One entry per device, not PortAudio's "pulse" and "default" for the same one.
    assert [d.label for d in listing.devices] == ["Virtual Microphone (default)",
                                                  "USB Microphone"]
    assert [d.id for d in listing.devices] == ["vmic", "usbmic"]
    pulse = next(d for d in list_portaudio_devices() if d.name == PULSE_DEVICE)
    assert {d.index for d in listing.devices} == {pulse.index}


@pytest.mark.pulse
def test_a_new_default_and_an_unplugged_source_show_at_the_next_listing(
    pulse_mic: Callable[..., PulseMic],
) -> None:
    mic = pulse_mic()
    usb = mic.add_source("usbmic", "USB Microphone")
    mic.set_default_source("usbmic")
    assert [s for s in list_sources() if s.is_default] == [Source("usbmic", "USB Microphone",
                                                                  is_default=True)]
    mic.remove_source(usb)
    assert [s.name for s in list_sources()] == ["vmic"]


def test_without_a_sound_server_portaudio_is_listed_and_the_reason_given(
    no_sound_server: list[str],
) -> None:
    with pytest.raises(SoundServerUnavailable) as caught:
        list_sources()
    listing = find_input_devices()
    assert [d.name for d in listing.devices] == no_sound_server
    assert listing.fallback_reason == str(caught.value)
    if shutil.which("pactl") is not None:
        assert re.fullmatch(r"no PulseAudio/PipeWire sound server answered \(.*refused\)",
                            listing.fallback_reason)


def test_without_pactl_the_reason_names_the_package(
    no_sound_server: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SoundServerUnavailable, match="pulseaudio-utils"):
        list_sources()


# -- capture from the chosen source -------------------------------------------------------


@pytest.mark.pulse
def test_capture_from_the_chosen_source_delivers_its_pcm_not_the_defaults(
    pulse_mic: Callable[..., PulseMic],
) -> None:
    mic = pulse_mic(rate=16_000, channels=1)
    usb = mic.add_source("usbmic", "USB Microphone", rate=16_000, channels=1)
    chosen = next(d for d in find_input_devices().devices if d.id == "usbmic")
    ours = band_limited_noise(3 * 16_000, 1, 16_000, top_hz=3_800, seed=1)
    other = band_limited_noise(3 * 16_000, 1, 16_000, top_hz=3_800, seed=2)

    async def scenario() -> tuple[np.ndarray, str]:
        recorder = Recorder(asyncio.get_running_loop())
        microphone = recorder.attach(chosen.index, source=chosen.source, label=chosen.name)
        microphone.start()
        try:
            assert PULSE_SOURCE not in os.environ  # set only while the stream opened
            recorder.converter = PcmConverter(microphone.samplerate, microphone.channels)
            await recorder.wait_for_frames(1)
            usb.write(to_pcm(ours))
            mic.write(to_pcm(other))  # the default source plays something else meanwhile
            seconds = len(ours) / 16_000 + 0.5
            await recorder.wait_for_frames(
                recorder.frames + round(seconds * microphone.samplerate))
        finally:
            microphone.stop()
        assert recorder.errors == []
        return recorder.pcm(), microphone.device_name

    captured, name = asyncio.run(scenario())
    assert name == "USB Microphone"
    expected = expected_16k(ours, 16_000)
    lag, aligned = align(captured, expected)
    assert_faithful("chosen source", lag, aligned, expected)
    _, from_default = align(captured, expected_16k(other, 16_000))
    assert abs(correlation(from_default, expected_16k(other, 16_000))) < 0.1
