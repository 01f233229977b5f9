"""The take's WAV: written as it goes, its header kept up, fixed up after a crash."""

from __future__ import annotations

import struct
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dictation_app.takes.recording import (
    HEADER_BYTES,
    WavRecording,
    copy_recording,
    fix_header,
    wav_header,
)

SECOND = 32_000  # bytes of 16 kHz mono s16le


def ramp_bytes(frames: int, start: int = 0) -> bytes:
    values = (np.arange(start, start + frames) % 60000) - 30000
    return values.astype("<i2").tobytes()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def frames_of(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return w.readframes(w.getnframes())


def header_sizes(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:HEADER_BYTES]
    return struct.unpack_from("<I", head, 4)[0], struct.unpack_from("<I", head, 40)[0]


def test_every_chunk_lands_in_order_and_the_header_matches(tmp_path: Path) -> None:
    audio = ramp_bytes(16000 * 3)
    recording = WavRecording(tmp_path / "take.wav")
    for i in range(0, len(audio), 3200):
        recording.append(audio[i:i + 3200])
    recording.close()
    assert recording.error is None
    assert frames_of(tmp_path / "take.wav") == audio
    assert header_sizes(tmp_path / "take.wav") == (36 + len(audio), len(audio))


def test_the_header_and_fsync_follow_the_body_while_recording(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    recording = WavRecording(path, sync_interval=0.05)
    try:
        recording.append(ramp_bytes(16000))
        wait_until(lambda: recording.synced_seconds == 1.0)
        # Still recording: the file on disk is already a whole WAV of that second.
        assert header_sizes(path) == (36 + SECOND, SECOND)
        assert frames_of(path) == ramp_bytes(16000)
        recording.append(ramp_bytes(8000, start=16000))
        wait_until(lambda: recording.synced_seconds == 1.5)
        assert header_sizes(path)[1] == SECOND + SECOND // 2
    finally:
        recording.close()


def test_a_torn_header_is_fixed_from_the_file_size(tmp_path: Path) -> None:
    # What a kill leaves: the header written when the take began, the body after it,
    # and half a sample at the end.
    path = tmp_path / "torn.wav"
    body = ramp_bytes(16000 * 2)
    path.write_bytes(wav_header(0) + body + b"\x01")
    assert fix_header(path) == 2.0
    assert frames_of(path) == body
    assert path.stat().st_size == HEADER_BYTES + len(body)


def test_a_header_cut_short_is_written_anew(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    path.write_bytes(wav_header(0)[:20])
    assert fix_header(path) == 0.0
    assert frames_of(path) == b""
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"\xff" * HEADER_BYTES + ramp_bytes(1600))
    assert fix_header(garbage) == 0.1
    assert frames_of(garbage) == ramp_bytes(1600)


def test_copy_writes_a_whole_wav_and_leaves_the_source_alone(tmp_path: Path) -> None:
    source = tmp_path / "live.wav"
    body = ramp_bytes(4000)
    source.write_bytes(wav_header(0) + body)  # a take still being recorded: header lags
    before = source.read_bytes()
    assert copy_recording(source, tmp_path / "out" / "copy.wav") == 0.25
    assert frames_of(tmp_path / "out" / "copy.wav") == body
    assert source.read_bytes() == before
