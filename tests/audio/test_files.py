"""probe() and read_blocks() on real files written at test time: libsndfile first, FFmpeg next."""

from __future__ import annotations

import logging
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import soundfile

from dictation_app.audio.files import FFMPEG, LIBSNDFILE, probe, read_blocks
from dictation_app.core.errors import UnsupportedInput
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


def video_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        picture = out.add_stream("mpeg4", rate=25)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        black = np.zeros((48, 64, 3), np.uint8)
        for _ in range(10):
            out.mux(picture.encode(av.VideoFrame.from_ndarray(black, format="rgb24")))
        out.mux(picture.encode(None))
    return path


# (file name, muxer, encoder, rate, channels, extra encode arguments, expected container)
FFMPEG_CASES: dict[str, tuple[str, str, str, int, int, dict[str, Any], str]] = {
    "m4a": ("talk.m4a", "ipod", "aac", 44100, 2, {}, "m4a"),
    "mp4-video": ("clip.mp4", "mp4", "aac", 44100, 2, {"video": True}, "mp4"),
    "webm": ("note.webm", "webm", "libopus", 48000, 2, {}, "webm"),
    "mkv-video": ("film.mkv", "matroska", "aac", 32000, 1, {"video": True}, "mkv"),
    "wma": ("memo.wma", "asf", "wmav2", 44100, 2, {"bit_rate": 64000}, "wma"),
    "amr": ("voice.amr", "amr", "libopencore_amrnb", 8000, 1, {"bit_rate": 12200}, "amr"),
}


@pytest.fixture(params=list(FFMPEG_CASES), scope="module")
def ffmpeg_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Path, int, int, str]:
    name, fmt, codec, rate, channels, extra, container = FFMPEG_CASES[request.param]
    path = encode(tmp_path_factory.mktemp("ffmpeg") / name, fmt=fmt, codec=codec, rate=rate,
                  channels=channels, **extra)
    return path, rate, channels, container


# -- libsndfile ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "subtype", "description", "container"), [
    ("a.wav", "PCM_16", "WAV/PCM_16", "wav"),
    ("a.flac", "PCM_24", "FLAC/PCM_24", "flac"),
    ("a.ogg", "VORBIS", "OGG/VORBIS", "ogg"),
    ("a.opus", "OPUS", "OGG/OPUS", "opus"),
])
def test_libsndfile_formats_are_probed_exactly(tmp_path: Path, name: str, subtype: str,
                                               description: str, container: str) -> None:
    rate = 48000 if subtype == "OPUS" else 22050
    path = tmp_path / name
    soundfile.write(str(path), tone(1.5, rate, 2), rate, subtype=subtype,
                    format="OGG" if name.endswith(".opus") else None)
    info = probe(path)
    assert (info.samplerate, info.channels, info.frames) == (rate, 2, int(1.5 * rate))
    assert info.format == description and info.container == container
    assert info.frames_exact and info.decoder == LIBSNDFILE
    assert info.duration == pytest.approx(1.5)


def test_libsndfile_blocks_keep_their_size_and_signal(tmp_path: Path) -> None:
    path = tmp_path / "a.flac"
    soundfile.write(str(path), tone(1.0, 16000), 16000)
    blocks = list(read_blocks(path, block_frames=3000))
    assert [len(b) for b in blocks] == [3000] * 5 + [1000]
    assert all(b.dtype == np.float32 and b.shape[1] == 1 for b in blocks)
    signal = np.concatenate(blocks)[:, 0]
    np.testing.assert_allclose(signal, tone(1.0, 16000)[:, 0], atol=1e-4)


# -- FFmpeg -------------------------------------------------------------------------------


def test_ffmpeg_formats_are_probed(ffmpeg_file: tuple[Path, int, int, str]) -> None:
    path, rate, channels, container = ffmpeg_file
    info = probe(path)
    assert (info.samplerate, info.channels, info.container) == (rate, channels, container)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.frames == pytest.approx(2.0 * rate, abs=0.1 * rate)
    assert not info.frames_exact and info.decoder == FFMPEG
    assert info.format.startswith(container.upper() + "/")


def test_ffmpeg_files_are_read_in_exact_blocks_with_their_signal(
        ffmpeg_file: tuple[Path, int, int, str]) -> None:
    path, rate, channels, _ = ffmpeg_file
    blocks = list(read_blocks(path, block_frames=4000))
    assert all(len(b) == 4000 for b in blocks[:-1]) and 0 < len(blocks[-1]) <= 4000
    assert all(b.dtype == np.float32 and b.shape == (len(b), channels) for b in blocks)
    signal = np.concatenate(blocks)
    assert len(signal) / rate == pytest.approx(2.0, abs=0.1)
    for channel in range(channels):
        kept = middle(signal[:, channel])
        assert dominant_frequency(kept, rate) == pytest.approx(TONE_HZ, abs=5)
        # AMR is a narrow speech codec: it keeps the pitch but loses some energy.
        assert rms(kept) == pytest.approx(TONE_RMS, abs=0.08)


def test_read_blocks_takes_the_probe_result(tmp_path: Path) -> None:
    path = encode(tmp_path / "a.m4a", fmt="ipod", codec="aac", rate=16000, channels=1)
    info = probe(path)
    total = sum(len(b) for b in read_blocks(info, block_frames=1000))
    assert total / 16000 == pytest.approx(info.duration, abs=0.1)


@pytest.mark.parametrize(("suffix", "container"), [
    (".m4a", "m4a"), (".mp4", "mp4"), (".MOV", "mov"), (".3gp", "3gp"), (".bin", "m4a"),
])
def test_containers_with_several_names_follow_the_suffix(tmp_path: Path, suffix: str,
                                                         container: str) -> None:
    path = encode(tmp_path / f"a{suffix}", fmt="ipod", codec="aac", rate=16000, channels=1,
                  seconds=0.5)
    assert probe(path).container == container


def test_a_video_with_an_unnamed_suffix_is_called_mp4(tmp_path: Path) -> None:
    path = encode(tmp_path / "a.bin", fmt="mp4", codec="aac", rate=16000, channels=1,
                  seconds=0.5, video=True)
    assert probe(path).container == "mp4"


def test_webm_without_declared_duration_is_measured(tmp_path: Path) -> None:
    # As a browser's MediaRecorder writes it: streamed, so no duration in the header.
    path = encode(tmp_path / "rec.webm", fmt="webm", codec="libopus", rate=48000, channels=1,
                  seconds=3.0, seekable=False)
    with av.open(str(path)) as container:
        assert container.duration is None  # the premise: FFmpeg alone cannot tell
    info = probe(path)
    assert info.duration == pytest.approx(3.0, abs=0.05)


def test_ffmpeg_files_are_read_in_flat_memory(tmp_path: Path) -> None:
    path = encode(tmp_path / "long.amr", fmt="amr", codec="libopencore_amrnb", rate=8000,
                  channels=1, seconds=120, bit_rate=12200)
    info = probe(path)
    tracemalloc.start()
    try:
        total = sum(len(block) for block in read_blocks(info, block_frames=8000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    decoded_bytes = total * 4
    assert decoded_bytes > 3_500_000  # the whole file as float32...
    assert peak < 600_000  # ...was never held at once


# -- files we cannot read -----------------------------------------------------------------


def test_a_text_file_renamed_wav_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("Shopping list: milk, bread, eggs.\n" * 40)
    with pytest.raises(UnsupportedInput, match=r"notes\.wav: cannot decode") as info:
        probe(path)
    assert "Supported: WAV, FLAC" in str(info.value) and "M4A" in str(info.value)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.m4a"
    path.touch()
    with pytest.raises(UnsupportedInput, match=r"empty\.m4a: cannot decode this file: it is empty"):
        probe(path)


def test_a_video_without_sound_is_refused(tmp_path: Path) -> None:
    path = video_only(tmp_path / "silent.mp4")
    with pytest.raises(UnsupportedInput, match=r"silent\.mp4: .*no sound track"):
        probe(path)


@pytest.mark.parametrize(("name", "message"), [
    ("missing.flac", r"missing\.flac: no such file"),
    ("folder.wav", r"folder\.wav: is a folder"),
])
def test_missing_files_and_folders_are_refused(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "folder.wav").mkdir()
    with pytest.raises(UnsupportedInput, match=message):
        list(read_blocks(tmp_path / name, block_frames=100))


def test_a_truncated_flac_fails_while_reading(tmp_path: Path) -> None:
    whole = tmp_path / "whole.flac"
    soundfile.write(str(whole), tone(3.0, 44100), 44100)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert probe(cut).frames == 3 * 44100  # the header still promises the whole file
    with pytest.raises(UnsupportedInput, match=r"cut\.flac: the file is damaged"):
        list(read_blocks(cut, block_frames=4096))


def test_a_truncated_m4a_with_its_index_at_the_end_cannot_be_opened(tmp_path: Path) -> None:
    whole = encode(tmp_path / "whole.m4a", fmt="ipod", codec="aac", rate=16000, channels=1)
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UnsupportedInput, match=r"cut\.m4a: cannot decode"):
        probe(cut)


def test_a_truncated_m4a_with_its_index_first_fails_while_reading(tmp_path: Path) -> None:
    whole = encode(tmp_path / "whole.m4a", fmt="ipod", codec="aac", rate=16000, channels=1,
                   seconds=4.0, options={"movflags": "faststart"})
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    assert probe(cut).duration == pytest.approx(4.0, abs=0.1)
    with pytest.raises(UnsupportedInput, match=r"cut\.m4a: the file is damaged after \d"):
        list(read_blocks(cut, block_frames=4096))


def test_a_webm_ending_early_is_reported_after_its_sound(tmp_path: Path) -> None:
    whole = encode(tmp_path / "whole.webm", fmt="webm", codec="libopus", rate=48000,
                   channels=1, seconds=4.0)
    cut = tmp_path / "cut.webm"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    blocks = read_blocks(cut, block_frames=48000)
    first = next(blocks)  # what is there is still delivered...
    assert len(first) == 48000
    with pytest.raises(UnsupportedInput, match=r"cut\.webm: .*incomplete.* of the 4\.0 s"):
        list(blocks)  # ...then the missing part is reported


def test_a_video_whose_sound_ends_first_is_read_whole(tmp_path: Path) -> None:
    # Matroska declares one duration for all its tracks: here the picture's, not the sound's.
    path = encode(tmp_path / "film.mkv", fmt="matroska", codec="aac", rate=16000, channels=1,
                  seconds=3.0, video=True, video_seconds=10.0)
    with av.open(str(path)) as container:
        assert container.duration / av.time_base == pytest.approx(10.0, abs=0.1)  # the premise
    samples = np.concatenate(list(read_blocks(path, block_frames=16000)))
    assert len(samples) / 16000 == pytest.approx(3.0, abs=0.1)
    assert rms(middle(samples)) == pytest.approx(TONE_RMS, rel=0.1)


def _corrupt_middle(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 3000] = np.random.default_rng(7).integers(0, 256, 3000, np.uint8).tobytes()
    bad = path.with_name("bad" + path.suffix)
    bad.write_bytes(bytes(data))
    return bad


def test_ffmpeg_stays_quiet_on_damaged_files(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                             caplog: pytest.LogCaptureFixture) -> None:
    bad = _corrupt_middle(encode(tmp_path / "a.m4a", fmt="ipod", codec="aac", rate=44100,
                                 channels=2))
    capfd.readouterr()
    with caplog.at_level(logging.DEBUG), pytest.raises(UnsupportedInput, match=r"bad\.m4a"):
        list(read_blocks(bad, block_frames=4096))
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert caplog.records == []


def test_av_errors_are_converted_at_the_edge(tmp_path: Path) -> None:
    bad = _corrupt_middle(encode(tmp_path / "a.m4a", fmt="ipod", codec="aac", rate=44100,
                                 channels=2))
    blocks: Iterator[np.ndarray] = read_blocks(bad, block_frames=4096)
    with pytest.raises(UnsupportedInput) as info:
        list(blocks)
    assert isinstance(info.value.__cause__, av.FFmpegError)
    assert "Export or download it again" in str(info.value)


def test_a_wav_shorter_than_its_header_says_is_decodable_with_a_warning(tmp_path: Path) -> None:
    from dictation_app.audio.files import check_file

    whole = write_audio(tmp_path / "whole.wav", tone(4.0, hz=300, amplitude=0.2))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:44 + 16_000 * 2])  # the header and 1 s of 4
    assert check_file(whole) is None and probe(whole).warning is None
    warning = check_file(cut)
    assert warning is not None
    assert "cut.wav is shorter than its header says" in warning
    assert "1.0 s of the 4.0 s it declares" in warning
    blocks = list(read_blocks(cut, block_frames=4000))
    assert sum(len(b) for b in blocks) == 16_000  # what is there is all read


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_named_pipe_or_a_device_is_refused_saying_what_it_is_without_opening_it(
        tmp_path: Path, kind: str) -> None:
    import concurrent.futures
    import os

    from dictation_app.audio.files import check_file

    if kind == "fifo":
        path = tmp_path / "live.wav"
        os.mkfifo(path)  # opening it would block until a writer came: never, here
        expected = "live.wav: is a named pipe (FIFO), not an audio file"
    else:
        path = Path("/dev/zero")  # endless: reading it would never finish
        expected = "zero: is a device file, not an audio file"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(check_file, path)
        with pytest.raises(UnsupportedInput) as refused:
            future.result(timeout=10)
    assert str(refused.value).startswith(expected)
    assert "Save the sound to a file first" in str(refused.value)
