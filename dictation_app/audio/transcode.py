"""Make an audio file acceptable to a service that takes only some formats and sample rates.

`prepare_for_upload` hands back the original when the service takes it as it is, and
otherwise writes a 16-bit FLAC or WAV copy, decoding, downmixing and resampling block by
block so that memory stays flat for a file of any length. It blocks: run it in a thread
(`asyncio.to_thread`), and pass `cancelled` to stop it between blocks.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import soundfile
import soxr

from dictation_app.audio.convert import downmix
from dictation_app.audio.files import AudioFileInfo, probe, read_blocks
from dictation_app.core.errors import DictationError, UnsupportedInput

# Formats we write, with libsndfile's name for each.
TARGETS = {"flac": "FLAC", "wav": "WAV"}
SPEECH_RATE = 16_000  # what to downsample to when the service allows it: all ASR needs

_BLOCK_FRAMES = 16_384  # ~0.3 s at 48 kHz: cancel stays responsive, overhead negligible
_PROGRESS_STEP = 0.01
_FULL_SCALE = 32768.0


class ConversionCancelled(DictationError):
    """The conversion was cancelled; its partial output has been deleted."""


@dataclass(frozen=True)
class PreparedAudio:
    """A file ready to upload: the original, or a converted temporary copy."""

    path: Path  # what to upload
    format: str  # lower-case extension of `path`
    samplerate: int
    channels: int
    duration: float  # seconds; estimated for an untouched file FFmpeg decodes
    converted: bool  # True: `path` is a temporary file that cleanup() deletes

    def cleanup(self) -> None:
        """Delete the converted copy; the original file is never touched."""
        if self.converted:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> PreparedAudio:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cleanup()


def prepare_for_upload(source: str | Path, *, formats: Collection[str],
                       min_rate: int | None = None, max_rate: int | None = None,
                       target: str = "flac", work_dir: str | Path | None = None,
                       mono: bool = False, cancelled: Callable[[], bool] | None = None,
                       on_progress: Callable[[float], None] | None = None) -> PreparedAudio:
    """The file to upload to a service taking `formats` at `min_rate`..`max_rate` Hz.

    The original is returned untouched when its container is one of `formats`, its name
    ends with that extension, its rate is in range and, if `mono`, it has one channel.
    Otherwise it is converted to `target` ("flac" or "wav", 16-bit PCM) in `work_dir`
    (default: the system's temporary folder): rates out of range become 16 kHz when the
    range allows it and the source is faster, else the nearest bound; `mono` downmixes.

    `cancelled` is polled between blocks (ConversionCancelled); `on_progress` receives
    fractions from 0 to 1, ending with 1.0. A failed or cancelled conversion leaves no file
    behind. Undecodable or damaged sources and write failures raise UnsupportedInput.
    """
    accepted = {f.lower().lstrip(".") for f in formats}
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if target not in accepted:
        raise ValueError(f"target {target!r} is not one of the accepted formats {sorted(accepted)}")
    for rate in (min_rate, max_rate):
        if rate is not None and rate <= 0:
            raise ValueError(f"sample rate bounds must be positive, not {rate}")
    if min_rate is not None and max_rate is not None and min_rate > max_rate:
        raise ValueError(f"min_rate {min_rate} is above max_rate {max_rate}")

    info = probe(source)
    out_rate = _output_rate(info.samplerate, min_rate, max_rate)
    out_channels = 1 if mono else info.channels
    if (info.container in accepted and _extension(info.path) == info.container
            and out_rate == info.samplerate and out_channels == info.channels):
        if on_progress is not None:
            on_progress(1.0)
        return PreparedAudio(info.path, info.container, info.samplerate, info.channels,
                             info.duration, converted=False)
    return _convert(info, target=target, out_rate=out_rate, mono=mono,
                    work_dir=Path(work_dir) if work_dir is not None else None,
                    cancelled=cancelled, on_progress=on_progress)


def _output_rate(rate: int, low: int | None, high: int | None) -> int:
    if low is not None and rate < low:
        return low
    if high is not None and rate > high:
        speech_allowed = (low is None or low <= SPEECH_RATE) and high >= SPEECH_RATE
        return SPEECH_RATE if speech_allowed else high
    return rate


def _extension(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def _convert(info: AudioFileInfo, *, target: str, out_rate: int, mono: bool,
             work_dir: Path | None, cancelled: Callable[[], bool] | None,
             on_progress: Callable[[float], None] | None) -> PreparedAudio:
    name = info.path.name
    if cancelled is not None and cancelled():
        raise ConversionCancelled(f"{name}: conversion cancelled")
    output = _create_output(info.path, target, work_dir)
    channels = 1 if mono else info.channels
    resampler = None
    if out_rate != info.samplerate:
        resampler = soxr.ResampleStream(info.samplerate, out_rate, channels,
                                        dtype="float32", quality="HQ")
    progress = _Progress(info.frames, on_progress)
    written = 0
    try:
        try:
            sink = soundfile.SoundFile(str(output), "w", samplerate=out_rate, channels=channels,
                                       format=TARGETS[target], subtype="PCM_16")
        except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
            raise _write_failed(name, target, output, exc) from exc
        blocks = read_blocks(info, block_frames=_BLOCK_FRAMES)
        with sink, contextlib.closing(blocks):
            for block in blocks:
                if cancelled is not None and cancelled():
                    raise ConversionCancelled(f"{name}: conversion cancelled")
                samples = downmix(block)[:, None] if mono and block.shape[1] > 1 else block
                if resampler is not None:
                    samples = resampler.resample_chunk(samples)
                written += _write(sink, samples, name, target, output)
                progress.advance(len(block))
            if resampler is not None:
                tail = resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True)
                written += _write(sink, tail, name, target, output)
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    progress.done()
    return PreparedAudio(output, target, out_rate, channels, written / out_rate, converted=True)


def _create_output(source: Path, target: str, work_dir: Path | None) -> Path:
    # The source's name first, so the service (and its logs) show something recognisable.
    stem = source.stem[:60] or "audio"
    try:
        if work_dir is not None:
            work_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{stem}-", suffix=f".{target}", dir=work_dir)
    except OSError as exc:
        folder = work_dir if work_dir is not None else Path(tempfile.gettempdir())
        raise UnsupportedInput(
            f"{source.name}: cannot convert to {target.upper()}: no file can be created in "
            f"{folder} ({exc.strerror or exc}). Check that the folder exists and is writable"
        ) from exc
    os.close(fd)
    return Path(name)


def _write(sink: soundfile.SoundFile, samples: np.ndarray, name: str, target: str,
           output: Path) -> int:
    if not len(samples):
        return 0
    # Quantised here (round, clip) because libsndfile wraps float overshoot, which the
    # resampler's ringing can produce, instead of clipping it.
    scaled = np.rint(samples * _FULL_SCALE)
    np.clip(scaled, -32768, 32767, out=scaled)
    try:
        sink.write(scaled.astype(np.int16))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise _write_failed(name, target, output, exc) from exc
    return len(samples)


def _write_failed(name: str, target: str, output: Path, exc: BaseException) -> UnsupportedInput:
    return UnsupportedInput(
        f"{name}: cannot convert to {target.upper()}: writing {output} failed ({exc}). "
        f"Check the free space in {output.parent}")


class _Progress:
    """Report fractions of `total` input frames, at most once per percent."""

    def __init__(self, total: int, report: Callable[[float], None] | None):
        self.total = total
        self.report = report
        self.done_frames = 0
        self.last = 0.0

    def advance(self, frames: int) -> None:
        self.done_frames += frames
        if self.report is None or self.total <= 0:
            return
        # `total` is an estimate for FFmpeg-decoded files: never claim to be finished early.
        fraction = min(self.done_frames / self.total, 0.99)
        if fraction - self.last >= _PROGRESS_STEP:
            self.last = fraction
            self.report(fraction)

    def done(self) -> None:
        if self.report is not None:
            self.report(1.0)
