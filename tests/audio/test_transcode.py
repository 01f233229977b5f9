"""prepare_for_upload() on real files: pass-through, conversion, resampling, cleanup, memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from dictation_app.audio.transcode import (
    ConversionCancelled,
    PreparedAudio,
    prepare_for_upload,
)
from dictation_app.core.errors import DictationError, UnsupportedInput
from tests.support.audio import (
    TONE_HZ,
    TONE_RMS,
    dominant_frequency,
    encode,
    middle,
    rms,
    tone,
    write_audio,
)

SERVICE_FORMATS = frozenset({"wav", "amr", "flac", "ogg"})


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "work"


def leftovers(work_dir: Path) -> list[str]:
    return sorted(p.name for p in work_dir.iterdir()) if work_dir.exists() else []


def read_back(prepared: PreparedAudio) -> tuple[np.ndarray, Any]:
    info = soundfile.info(str(prepared.path))
    samples, _ = soundfile.read(str(prepared.path), dtype="float32", always_2d=True)
    return samples, info


# -- passing through ----------------------------------------------------------------------


def test_an_accepted_file_is_passed_through_untouched(tmp_path: Path, work_dir: Path) -> None:
    source = write_audio(tmp_path / "take.flac", tone(1.0, 16000, 2), 16000, subtype="PCM_16")
    before = source.read_bytes()
    progress: list[float] = []
    prepared = prepare_for_upload(source, formats=SERVICE_FORMATS, min_rate=8000,
                                  max_rate=48000, work_dir=work_dir, on_progress=progress.append)
    assert prepared == PreparedAudio(source, "flac", 16000, 2, 1.0, converted=False)
    assert progress == [1.0]
    prepared.cleanup()
    assert source.read_bytes() == before  # cleanup never touches the original
    assert leftovers(work_dir) == []


def test_a_file_whose_name_lies_about_its_container_is_converted(tmp_path: Path,
                                                                 work_dir: Path) -> None:
    source = tmp_path / "take.wav"
    soundfile.write(str(source), tone(0.5, 16000), 16000, format="FLAC")
    with prepare_for_upload(source, formats={"wav", "flac"}, work_dir=work_dir) as prepared:
        assert prepared.converted and prepared.path.suffix == ".flac"
        assert soundfile.info(str(prepared.path)).format == "FLAC"


# -- converting ---------------------------------------------------------------------------


def test_m4a_becomes_a_flac_that_keeps_rate_length_and_sound(tmp_path: Path,
                                                             work_dir: Path) -> None:
    source = encode(tmp_path / "interview.m4a", fmt="ipod", codec="aac", rate=44100, channels=2)
    prepared = prepare_for_upload(source, formats=SERVICE_FORMATS, min_rate=8000,
                                  max_rate=48000, work_dir=work_dir)
    assert prepared.converted and prepared.format == "flac"
    assert prepared.path.parent == work_dir and prepared.path.name.startswith("interview-")
    samples, info = read_back(prepared)
    assert (info.format, info.subtype) == ("FLAC", "PCM_16")
    assert (prepared.samplerate, prepared.channels) == (44100, 2)
    assert (info.samplerate, info.channels) == (44100, 2)
    assert prepared.duration == pytest.approx(info.frames / 44100)
    assert prepared.duration == pytest.approx(2.0, abs=0.1)
    assert dominant_frequency(middle(samples[:, 1]), 44100) == pytest.approx(TONE_HZ, abs=5)
    assert rms(middle(samples[:, 0])) == pytest.approx(TONE_RMS, abs=0.03)
    prepared.cleanup()
    assert not prepared.path.exists() and source.exists()


@pytest.mark.parametrize(("rate", "low", "high", "expected"), [
    (96000, None, 48000, 16000),  # above the range: speech rate, which the range allows
    (96000, 22050, 44100, 44100),  # above, and 16 kHz is not allowed: the nearest bound
    (8000, 16000, 48000, 16000),  # below the range: the nearest bound
    (44100, 8000, 48000, 44100),  # in range: only the container changes (WAV is refused)
])
def test_rates_out_of_range_are_resampled(tmp_path: Path, work_dir: Path, rate: int,
                                          low: int | None, high: int | None,
                                          expected: int) -> None:
    source = write_audio(tmp_path / "in.wav", tone(0.5, rate), rate, subtype="PCM_16")
    with prepare_for_upload(source, formats={"flac"}, min_rate=low, max_rate=high,
                            work_dir=work_dir) as prepared:
        samples, info = read_back(prepared)
        assert prepared.samplerate == info.samplerate == expected
        assert info.frames == pytest.approx(0.5 * expected, abs=2)
        assert dominant_frequency(middle(samples[:, 0]), expected) == pytest.approx(TONE_HZ,
                                                                                    abs=3)
        assert rms(middle(samples[:, 0])) == pytest.approx(TONE_RMS, abs=0.01)
    assert leftovers(work_dir) == []


def test_mono_downmixes_even_an_accepted_file(tmp_path: Path, work_dir: Path) -> None:
    left_only = tone(0.5, 16000, 2)
    left_only[:, 1] = 0.0
    source = write_audio(tmp_path / "stereo.wav", left_only, 16000, subtype="PCM_16")
    with prepare_for_upload(source, formats=SERVICE_FORMATS, work_dir=work_dir,
                            mono=True) as prepared:
        samples, info = read_back(prepared)
        assert prepared.converted and prepared.channels == info.channels == 1
        assert rms(samples[:, 0]) == pytest.approx(TONE_RMS / 2, abs=0.005)


def test_wav_target_is_16_bit_pcm(tmp_path: Path, work_dir: Path) -> None:
    source = encode(tmp_path / "note.webm", fmt="webm", codec="libopus", rate=48000, channels=1)
    with prepare_for_upload(source, formats={"wav"}, target="wav", max_rate=16000,
                            work_dir=work_dir) as prepared:
        _, info = read_back(prepared)
        assert (prepared.format, prepared.path.suffix) == ("wav", ".wav")
        assert (info.format, info.subtype, info.samplerate) == ("WAV", "PCM_16", 16000)


def test_the_default_work_dir_is_the_temporary_folder(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)  # forget the folder chosen before
    source = write_audio(tmp_path / "in.wav", tone(0.2, 16000), 16000, subtype="PCM_16")
    prepared = prepare_for_upload(source, formats={"flac"})
    assert prepared.path.parent == temp
    prepared.cleanup()
    assert list(temp.iterdir()) == []


def test_progress_rises_to_one(tmp_path: Path, work_dir: Path) -> None:
    source = write_audio(tmp_path / "in.wav", tone(20.0, 16000), 16000, subtype="PCM_16")
    progress: list[float] = []
    with prepare_for_upload(source, formats={"flac"}, work_dir=work_dir,
                            on_progress=progress.append):
        pass
    assert len(progress) > 5
    assert progress == sorted(progress) and progress[-1] == 1.0 and progress[0] < 0.5


# -- leaving nothing behind ---------------------------------------------------------------


def test_a_cancelled_conversion_deletes_its_output(tmp_path: Path, work_dir: Path) -> None:
    source = write_audio(tmp_path / "in.wav", tone(10.0, 16000), 16000, subtype="PCM_16")
    polls: list[int] = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(ConversionCancelled, match=r"in\.wav: conversion cancelled"):
        prepare_for_upload(source, formats={"flac"}, work_dir=work_dir, cancelled=cancelled)
    assert len(polls) == 4  # polled between blocks, stopped at once
    assert leftovers(work_dir) == []
    assert issubclass(ConversionCancelled, DictationError)


def test_cancelled_before_starting_creates_nothing(tmp_path: Path, work_dir: Path) -> None:
    source = write_audio(tmp_path / "in.wav", tone(0.2, 16000), 16000, subtype="PCM_16")
    with pytest.raises(ConversionCancelled):
        prepare_for_upload(source, formats={"flac"}, work_dir=work_dir, cancelled=lambda: True)
    assert leftovers(work_dir) == []


def test_a_source_damaged_mid_way_leaves_no_partial_file(tmp_path: Path,
                                                         work_dir: Path) -> None:
    whole = tmp_path / "whole.flac"
    soundfile.write(str(whole), tone(5.0, 44100), 44100)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UnsupportedInput, match=r"cut\.flac: the file is damaged"):
        prepare_for_upload(cut, formats={"wav", "flac"}, max_rate=16000, work_dir=work_dir)
    assert leftovers(work_dir) == []


def test_an_error_in_a_callback_leaves_no_partial_file(tmp_path: Path, work_dir: Path) -> None:
    source = write_audio(tmp_path / "in.wav", tone(10.0, 16000), 16000, subtype="PCM_16")

    def broken(fraction: float) -> None:
        raise RuntimeError("progress bar gone")

    with pytest.raises(RuntimeError, match="progress bar gone"):
        prepare_for_upload(source, formats={"flac"}, work_dir=work_dir, on_progress=broken)
    assert leftovers(work_dir) == []


def test_leaving_the_with_block_by_an_exception_deletes_the_copy(tmp_path: Path,
                                                                  work_dir: Path) -> None:
    source = write_audio(tmp_path / "in.wav", tone(0.2, 16000), 16000, subtype="PCM_16")
    with pytest.raises(KeyError), prepare_for_upload(source, formats={"flac"},
                                                     work_dir=work_dir) as prepared:
        assert prepared.path.exists()
        raise KeyError("upload failed")
    assert leftovers(work_dir) == []


def test_an_undecodable_source_is_refused_before_writing(tmp_path: Path,
                                                         work_dir: Path) -> None:
    source = tmp_path / "notes.wav"
    source.write_text("not audio\n" * 50)
    with pytest.raises(UnsupportedInput, match=r"notes\.wav: cannot decode"):
        prepare_for_upload(source, formats={"flac"}, work_dir=work_dir)
    assert leftovers(work_dir) == []


def test_an_unusable_work_dir_names_the_source_and_the_folder(tmp_path: Path) -> None:
    source = write_audio(tmp_path / "in.wav", tone(0.2, 16000), 16000, subtype="PCM_16")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(UnsupportedInput, match=r"in\.wav: cannot convert to FLAC.*blocked"):
        prepare_for_upload(source, formats={"flac"}, work_dir=blocked / "work")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target": "mp3", "formats": {"mp3"}}, "target must be one of flac, wav"),
    ({"target": "flac", "formats": {"wav"}}, "not one of the accepted formats"),
    ({"formats": {"flac"}, "min_rate": 48000, "max_rate": 16000}, "above max_rate"),
    ({"formats": {"flac"}, "max_rate": 0}, "must be positive"),
])
def test_bad_arguments_are_programming_errors(tmp_path: Path, kwargs: dict[str, object],
                                              message: str) -> None:
    source = write_audio(tmp_path / "in.wav", tone(0.2, 16000), 16000, subtype="PCM_16")
    with pytest.raises(ValueError, match=message):
        prepare_for_upload(source, **kwargs)  # type: ignore[arg-type]


# -- long files ---------------------------------------------------------------------------


def test_a_long_file_is_converted_in_flat_memory(tmp_path: Path, work_dir: Path) -> None:
    rate, minutes = 16000, 20
    source = tmp_path / "meeting.wav"
    ten_seconds = tone(10.0, rate)
    with soundfile.SoundFile(str(source), "w", samplerate=rate, channels=1,
                             subtype="PCM_16") as sink:
        for _ in range(minutes * 6):
            sink.write(ten_seconds)
    tracemalloc.start()
    try:
        prepared = prepare_for_upload(source, formats={"flac"}, max_rate=8000,
                                      work_dir=work_dir)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with prepared:
        assert peak < 2_000_000  # the audio alone is 77 MB as float32
        assert prepared.samplerate == 8000
        assert prepared.duration == pytest.approx(minutes * 60, abs=0.01)
        assert soundfile.info(str(prepared.path)).frames == pytest.approx(minutes * 60 * 8000,
                                                                          abs=2)
