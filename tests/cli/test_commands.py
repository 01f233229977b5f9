"""`dictation-app devices` with and without a sound server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest


def devices() -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dictation_app", "devices"],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


@pytest.mark.pulse
def test_lists_index_and_name_with_the_default_in_words(
        pulse_mic: Callable[..., object]) -> None:
    pulse_mic(rate=48000, channels=2)
    result = devices()
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["index", "name"]
    names = [row.split(maxsplit=1)[1] for row in rows]
    assert "pulse" in names and "default (default)" in names
    assert "*" not in result.stdout and " ch" not in result.stdout


def test_no_device_says_what_to_do(no_sound_server: list[str]) -> None:
    if no_sound_server:
        pytest.skip("this machine has a real sound card")
    result = devices()
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
