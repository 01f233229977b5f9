"""`dictation-app devices` with and without a sound server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.support.pulse import PulseMic


def devices() -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dictation_app", "devices"],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


@pytest.mark.pulse
def test_lists_the_sound_servers_names_once_each_with_the_default_in_words(
        pulse_mic: Callable[..., PulseMic]) -> None:
    pulse_mic(rate=48000, channels=2).add_source("usbmic", "USB Microphone")
    result = devices()
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["microphone", "id"]
    assert [row.rsplit(maxsplit=1) for row in rows] == [
        ["Virtual Microphone (default)", "vmic"], ["USB Microphone", "usbmic"]]
    assert "pulse" not in result.stdout and "*" not in result.stdout
    assert result.stderr == ""


def test_no_sound_server_says_portaudio_is_listed_and_why(no_sound_server: list[str]) -> None:
    result = devices()
    assert "Listing PortAudio's devices: no PulseAudio/PipeWire sound server answered" \
        in result.stderr
    if no_sound_server:
        assert result.returncode == 0
        assert all(name in result.stdout for name in no_sound_server)
    else:
        assert result.returncode == 1
        assert "No audio input device found" in result.stderr


def test_stream_help_says_the_token_option_is_visible_to_ps() -> None:
    result = subprocess.run([sys.executable, "-m", "dictation_app", "stream", "--help"],
                            capture_output=True, text=True, timeout=60, env=dict(os.environ,
                                                                             COLUMNS="200"))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "`ps`" in text and "DICTATION_BAHASAKITA_TOKEN" in text and "keyring" in text


def test_help_names_the_file_form_and_gives_examples() -> None:
    from dictation_app.cli.commands import build_parser

    text = build_parser(full=False).format_help()
    assert "dictation-app FILE..." in text
    assert "examples:" in text
    for line in ("dictation-app talk.m4a memo.wav", "dictation-app transcribe talk.m4a",
                 "dictation-app stream talk.wav"):
        assert line in text
