"""Test audio, made in one place: espeak-ng speech, tones, noise and silence, and the
writers that put them in files (WAV by default; any format soundfile or FFmpeg writes).

The app's own format (16 kHz mono s16le) comes from `dictation_app.audio.format`, so
a test that means "what the app streams" says so by using the defaults.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np
import pytest
import soundfile
import soxr

from dictation_app.audio.format import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH

__all__ = ["CHANNELS", "SAMPLE_RATE", "SAMPLE_WIDTH"]  # re-exported for the tests

# --- speech ------------------------------------------------------------------------------

# The klatt voice is the one pocketsphinx's general model recognises best.
VOICE = "en-us+klatt"

# Sentences the engine tests say and its JSGF grammar (`grammar_file`) accepts.
SENTENCES = (
    "the weather is nice today",
    "please send the report to my office",
    "we will meet at the station at seven",
    "thank you very much for your help",
    "my brother bought a new car last week",
)

# `speech("some text", 1.0, "more text")`: s16le in the app's format; numbers are silences.
Speech = Callable[..., bytes]


def speech_maker(workdir: Path) -> Speech:
    """The `speech` fixture's function, caching each text's samples (skips without espeak-ng
    or sox). sox runs without dither (`-D`): its dither is random, and the same text must
    give the same samples in every run."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install espeak-ng sox)")
    cache: dict[str, bytes] = {}

    def say(text: str) -> bytes:
        if text not in cache:
            wav = workdir / f"{len(cache)}.wav"
            raw = workdir / f"{len(cache)}.raw"
            subprocess.run(["espeak-ng", "-v", VOICE, "-w", str(wav), text], check=True)
            subprocess.run(["sox", "-V1", str(wav), "-D", "-r", str(SAMPLE_RATE),
                            "-c", str(CHANNELS), "-b", str(8 * SAMPLE_WIDTH),
                            "-e", "signed-integer", "-t", "raw", str(raw)], check=True)
            cache[text] = raw.read_bytes()
        return cache[text]

    def build(*parts: str | float) -> bytes:
        return b"".join(silence(p) if isinstance(p, (int, float)) else say(p) for p in parts)

    return build


def write_grammar(path: Path) -> Path:
    """A JSGF grammar whose only sentences are SENTENCES."""
    alternatives = " | ".join(f"( {s} )" for s in SENTENCES)
    path.write_text(f"#JSGF V1.0;\ngrammar sentences;\npublic <sentence> = {alternatives};\n")
    return path


# --- signals -----------------------------------------------------------------------------

TONE_HZ = 440.0
TONE_AMPLITUDE = 0.5
TONE_RMS = TONE_AMPLITUDE / np.sqrt(2)


def silence(seconds: float, rate: int = SAMPLE_RATE) -> bytes:
    """Digital silence as mono s16le bytes."""
    return bytes(int(seconds * rate) * SAMPLE_WIDTH)


def tone(seconds: float, rate: int = SAMPLE_RATE, channels: int = 1, *,
         hz: float = TONE_HZ, amplitude: float = TONE_AMPLITUDE) -> np.ndarray:
    """A (frames, channels) float32 sine at `hz` on every channel."""
    t = np.arange(int(seconds * rate)) / rate
    mono = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def noise(seconds: float, rate: int, channels: int = 1, *, seed: int = 1,
          amplitude: float = 0.6) -> np.ndarray:
    """(frames, channels) float32 uniform noise in ±amplitude, the same for the same seed."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-amplitude, amplitude,
                       (int(seconds * rate), channels)).astype(np.float32)


# --- files -------------------------------------------------------------------------------


def write_audio(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE,
                **soundfile_args: Any) -> Path:
    """`samples` (float or int, (frames,) or (frames, channels)) written by libsndfile in
    the format the name says; `soundfile_args` as for `soundfile.write` (subtype, format)."""
    soundfile.write(str(path), samples, rate, **soundfile_args)
    return path


def write_speech(path: Path, pcm: bytes, rate: int, channels: int) -> Path:
    """`speech` (s16le in the app's format) as a file at another rate and channel count,
    in the format its name says (Ogg as Vorbis, the rest as 16-bit PCM)."""
    mono = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    resampled = soxr.resample(mono, SAMPLE_RATE, rate) if rate != SAMPLE_RATE else mono
    subtype = "VORBIS" if path.suffix == ".ogg" else "PCM_16"
    soundfile.write(str(path), np.repeat(resampled[:, None], channels, axis=1), rate,
                    subtype=subtype)
    return path


def write_pcm(path: Path, pcm: bytes, rate: int = SAMPLE_RATE) -> Path:
    """Mono s16le bytes as they are, in a 16-bit WAV."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


class _Unseekable:
    """A write-only file: the muxer cannot go back to fill in the duration."""

    def __init__(self, file: BinaryIO):
        self._file = file

    def write(self, data: bytes) -> int:
        return self._file.write(data)


def encode(path: Path, *, fmt: str, codec: str, rate: int, channels: int, seconds: float = 2.0,
           video: bool = False, video_seconds: float | None = None,
           bit_rate: int | None = None, seekable: bool = True,
           options: dict[str, str] | None = None) -> Path:
    """Write a TONE_HZ sine with FFmpeg (through PyAV), optionally next to a black video
    (as long as the sound unless `video_seconds` says otherwise)."""
    layout = "mono" if channels == 1 else "stereo"
    with open(path, "wb") as file:
        target: Any = file if seekable else _Unseekable(file)
        with av.open(target, "w", format=fmt, options=options or {}) as out:
            picture = None
            if video:
                picture = out.add_stream("mpeg4", rate=25)
                picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
            sound = out.add_stream(codec, rate=rate, layout=layout)
            if bit_rate:
                sound.codec_context.bit_rate = bit_rate
            planar = np.ascontiguousarray(tone(seconds, rate, channels).T)
            frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
            frame.sample_rate = rate
            # Encoders take fixed-size frames in their own sample format.
            fit = av.AudioResampler(format=sound.codec_context.format.name, layout=layout,
                                    rate=rate, frame_size=1024)
            for piece in [*fit.resample(frame), *fit.resample(None)]:
                out.mux(sound.encode(piece))
            out.mux(sound.encode(None))
            if picture is not None:
                black = np.zeros((48, 64, 3), np.uint8)
                for _ in range(int(25 * (video_seconds or seconds))):
                    out.mux(picture.encode(av.VideoFrame.from_ndarray(black, format="rgb24")))
                out.mux(picture.encode(None))
    return path


# --- measures ----------------------------------------------------------------------------


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def middle(samples: np.ndarray) -> np.ndarray:
    """The central half: away from codec priming at the start and fades at the end."""
    return samples[len(samples) // 4: 3 * len(samples) // 4]


def minute_of_speech(speech: Speech) -> bytes:
    """About a minute of SENTENCES: the general model takes several seconds over it."""
    return speech(*[part for s in SENTENCES for part in (s, 0.7)]) * 4
