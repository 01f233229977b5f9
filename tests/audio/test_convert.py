"""PcmConverter, ChunkFramer and measure_level: pure, no devices."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soxr

from dictation_app.audio.convert import ChunkFramer, PcmConverter, downmix, measure_level

# Deliberately awkward block sizes, cycled: 1 frame, primes, larger than a chunk.
ODD_SIZES = (1, 7, 333, 1024, 4097, 13, 2205)


def stream(converter: PcmConverter, signal: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    out = bytearray()
    start = 0
    for size in itertools.cycle(sizes):
        if start >= len(signal):
            break
        out += converter.convert(signal[start:start + size])
        start += size
    out += converter.finish()
    return np.frombuffer(bytes(out), dtype="<i2")


def quantise(mono: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(mono * 32768.0), -32768, 32767).astype(np.int16)


def noise(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((frames, channels)) * 0.2).astype(np.float32)


# -- PcmConverter --------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["1d", "one-column"])
def test_16k_mono_passes_bit_exact(shape: str) -> None:
    pcm = np.random.default_rng(1).integers(-32768, 32767, 16_000, dtype=np.int16, endpoint=True)
    samples = pcm.astype(np.float32) / 32768.0
    if shape == "one-column":
        samples = samples[:, None]
    out = stream(PcmConverter(16_000, 1), samples, ODD_SIZES)
    assert out.tobytes() == pcm.astype("<i2").tobytes()


@pytest.mark.parametrize(("rate", "channels"), [(48_000, 2), (44_100, 1), (22_050, 2), (96_000, 1)])
def test_streamed_in_odd_blocks_equals_one_shot_resample(rate: int, channels: int) -> None:
    signal = noise(rate * 2, channels)
    out = stream(PcmConverter(rate, channels), signal, ODD_SIZES)
    expected = quantise(soxr.resample(downmix(signal), rate, 16_000, quality="HQ"))
    # soxr's streaming resampler gives the very samples of the one-shot call.
    assert len(out) == len(expected) == 32_000
    np.testing.assert_array_equal(out, expected)


def test_downmix_averages_channels() -> None:
    stereo = np.array([[0.5, -0.5], [1.0, 0.0], [0.25, 0.25]], dtype=np.float32)
    np.testing.assert_array_equal(downmix(stereo), np.array([0.0, 0.5, 0.25], dtype=np.float32))


def test_no_clicks_at_block_boundaries() -> None:
    rate, freq, seconds = 48_000, 1000.0, 2
    t = np.arange(rate * seconds) / rate
    tone = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    out = stream(PcmConverter(rate, 2), np.stack([tone, tone], axis=1), ODD_SIZES)
    # Skip the resampler's edges; look at one second in the middle through a window.
    middle = out[8_000:24_000].astype(np.float64) / 32768.0
    spectrum = np.abs(np.fft.rfft(middle * np.blackman(len(middle))))
    freqs = np.fft.rfftfreq(len(middle), 1 / 16_000)
    tone_bins = np.abs(freqs - freq) <= 10
    worst_spur = spectrum[~tone_bins].max() / spectrum[tone_bins].max()
    # A discontinuity at any of ~100 block boundaries would spread broadband energy;
    # what remains is the 16-bit quantisation floor (about -100 dB here).
    assert 20 * np.log10(worst_spur) < -90


def test_out_of_range_floats_clip_to_int16_limits() -> None:
    block = np.array([1.5, 1.0, -1.0, -2.0, 0.0, 0.99999], dtype=np.float32)
    out = np.frombuffer(PcmConverter(16_000, 1).convert(block), dtype="<i2")
    assert out.tolist() == [32767, 32767, -32768, -32768, 0, 32767]


def test_int16_input_is_scaled_not_clipped() -> None:
    pcm = np.array([[32767, -32768], [1000, 3000], [-2, 0]], dtype=np.int16)
    out = np.frombuffer(PcmConverter(16_000, 2).convert(pcm), dtype="<i2")
    assert out.tolist() == [0, 2000, -1]


def test_output_is_little_endian_s16() -> None:
    out = PcmConverter(16_000, 1).convert(np.array([256 / 32768], dtype=np.float32))
    assert out == b"\x00\x01"


@pytest.mark.parametrize(("rate", "channels"), [(0, 1), (16_000, 0), (-8000, 2)])
def test_bad_format_is_refused(rate: int, channels: int) -> None:
    with pytest.raises(ValueError, match="bad audio format"):
        PcmConverter(rate, channels)


# -- ChunkFramer ---------------------------------------------------------------------


@pytest.mark.parametrize("total", [0, 1, 3199, 3200, 3201, 6400, 10_007, 32_000])
@pytest.mark.parametrize("seed", range(4))
def test_framer_cuts_exact_chunks_losing_and_duplicating_nothing(total: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, total, dtype=np.uint8).tobytes()
    framer = ChunkFramer()
    chunks: list[bytes] = []
    start = 0
    while start < total:
        size = int(rng.choice([0, 1, 2, 640, 3199, 3200, 3201, 9000]))
        chunks += framer.push(data[start:start + size])
        start += size
    last = framer.flush()
    assert framer.flush() is None
    if last is not None:
        chunks.append(last)

    assert all(len(chunk) == 3200 for chunk in chunks)
    assert len(chunks) == -(-total // 3200)
    joined = b"".join(chunks)
    assert joined[:total] == data
    assert joined[total:] == bytes(len(joined) - total)


def test_framer_holds_a_partial_chunk_until_complete() -> None:
    framer = ChunkFramer(size=4)
    assert framer.push(b"ab") == []
    assert framer.push(b"cdefghij") == [b"abcd", b"efgh"]
    assert framer.flush() == b"ij\x00\x00"
    assert framer.flush() is None


# -- measure_level -------------------------------------------------------------------


def test_level_of_silence_and_of_nothing_is_zero() -> None:
    assert measure_level(np.zeros((480, 2), dtype=np.float32)) == measure_level(
        np.zeros((0, 1), dtype=np.float32)
    )
    level = measure_level(np.zeros((480, 2), dtype=np.float32))
    assert (level.peak, level.rms) == (0.0, 0.0)


def test_level_of_a_sine() -> None:
    t = np.arange(48_000) / 48_000
    sine = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
    level = measure_level(sine)
    assert level.peak == pytest.approx(0.5, abs=1e-4)
    assert level.rms == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_level_covers_every_channel() -> None:
    block = np.zeros((100, 2), dtype=np.float32)
    block[50, 1] = -0.8
    level = measure_level(block)
    assert level.peak == pytest.approx(0.8)
    assert level.rms == pytest.approx(np.sqrt(0.64 / 200), rel=1e-5)


def test_level_of_int16_is_scaled_and_clamped() -> None:
    assert measure_level(np.array([-32768, 0], dtype=np.int16)).peak == 1.0
    assert measure_level(np.array([16384], dtype=np.int16)).peak == pytest.approx(0.5)
    hot = measure_level(np.array([3.0, -3.0], dtype=np.float32))
    assert (hot.peak, hot.rms) == (1.0, 1.0)
