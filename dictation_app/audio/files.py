"""Audio files read block by block, with errors a person can act on.

libsndfile reads what it can (WAV, FLAC, OGG, MP3, AIFF...): it is fast and knows exact
frame counts. Everything else (M4A/AAC, WMA, AMR, the sound of MP4/MOV/WebM/MKV videos)
is decoded by FFmpeg through PyAV, whose frame counts are estimates from the container's
declared duration. PyAV errors never leave this module: they become UnsupportedInput.

`probe()` never opens what is not a regular file: a named pipe or a device would block
or never end, so it is refused with a message that says what it is. A WAV whose data is
shorter than its header declares (a recording cut off by a crash or a full disk) is
decodable: the probe says so in `AudioFileInfo.warning`, and the sound that is there is
transcribed.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import soundfile

from dictation_app.core.errors import UnsupportedInput

SUPPORTED = ("Supported: WAV, FLAC, OGG/Opus, MP3, M4A/AAC, WMA, AMR, AIFF, "
             "and the sound of MP4, MOV, WebM and MKV videos.")

_DAMAGED_HINT = "Export or download it again"

LIBSNDFILE = "libsndfile"
FFMPEG = "ffmpeg"

# FFmpeg errors, plus what PyAV raises for bad metadata or arguments.
_AV_ERRORS = (av.FFmpegError, OSError, ValueError, RuntimeError)

# Decoding much less sound than the file declares for it means the file was cut short.
_SHORTFALL_SECONDS = 1.0
_SHORTFALL_FRACTION = 0.1


@dataclass(frozen=True)
class AudioFileInfo:
    """What a file holds.

    `frames` is exact when `frames_exact` (libsndfile); for files FFmpeg decodes it is
    estimated from the declared duration and may be off by a few codec frames. When no
    duration is declared, the packets are scanned at probe time, so `frames` is 0 only for
    a file whose packets carry no timestamps at all.
    """

    path: Path
    samplerate: int
    channels: int
    frames: int
    format: str  # human description, e.g. "WAV/PCM_16", "M4A/AAC"
    container: str  # lower-case, usable as a file extension: "wav", "m4a", "webm"...
    frames_exact: bool = True
    decoder: str = LIBSNDFILE  # LIBSNDFILE or FFMPEG: who decodes it in read_blocks
    warning: str | None = None  # decodable, but not all there: said to the person

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def probe(path: str | Path) -> AudioFileInfo:
    """Open `path` far enough to know its format; raise UnsupportedInput if we cannot."""
    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise UnsupportedInput(f"{path}: no such file") from None
    except OSError as exc:
        raise UnsupportedInput(f"{path.name}: cannot read this file ({_reason(exc)})") from exc
    if stat.S_ISDIR(status.st_mode):
        raise UnsupportedInput(f"{path}: is a folder, not an audio file")
    special = _special_kind(status.st_mode)
    if special:
        # Never opened: reading a pipe or a device blocks or never ends.
        raise UnsupportedInput(
            f"{path.name}: is {special}, not an audio file, so it cannot be transcribed. "
            "Save the sound to a file first and add that file.")
    if status.st_size == 0:
        raise UnsupportedInput(f"{path.name}: cannot decode this file: it is empty. {SUPPORTED}")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        return _probe_ffmpeg(path)
    if info.samplerate <= 0 or info.channels <= 0:
        raise UnsupportedInput(f"{path.name}: the file declares no sample rate or channels")
    warning = _wav_shortfall(path, status.st_size) if info.format in ("WAV", "WAVEX") else None
    return AudioFileInfo(path, int(info.samplerate), int(info.channels), int(info.frames),
                         f"{info.format}/{info.subtype}",
                         container=_sndfile_container(info.format, path.suffix),
                         warning=warning)


def check_file(path: str | Path) -> str | None:
    """Whether `path` can be transcribed: raises UnsupportedInput with the reason if not;
    returns a warning to show beside its job when only part of it is there, else None.
    It reads only the file's header (and, for formats FFmpeg decodes, its first frame)."""
    return probe(path).warning


def _special_kind(mode: int) -> str | None:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


# Sizes a recorder that could not seek back writes while the length is still unknown.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF)


def _wav_shortfall(path: Path, size: int) -> str | None:
    """A warning when the WAV's `data` chunk declares more bytes than the file holds."""
    try:
        with path.open("rb") as wav:
            header = wav.read(12)
            if len(header) < 12 or header[:4] not in (b"RIFF", b"RF64") or header[8:] != b"WAVE":
                return None
            if header[:4] == b"RF64":
                return None  # its sizes live in a ds64 chunk; libsndfile checks those
            block_align, rate = 0, 0
            while True:
                chunk = wav.read(8)
                if len(chunk) < 8:
                    return None
                name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if name == b"fmt ":
                    fmt = wav.read(length + (length & 1))
                    if len(fmt) >= 14:
                        rate = struct.unpack("<I", fmt[4:8])[0]
                        block_align = struct.unpack("<H", fmt[12:14])[0]
                    continue
                if name == b"data":
                    if length in _UNKNOWN_SIZES:
                        return None
                    present = size - wav.tell()
                    break
                wav.seek(length + (length & 1), os.SEEK_CUR)
    except OSError:
        return None
    if present >= length or not block_align or not rate:
        return None
    declared = length / block_align / rate
    there = max(present, 0) / block_align / rate
    return (f"{path.name} is shorter than its header says: it holds {there:.1f} s of the "
            f"{declared:.1f} s it declares (cut off while it was recorded or copied?). "
            "Only the part that is there is transcribed.")


def read_blocks(path: str | Path | AudioFileInfo, *, block_frames: int
                ) -> Generator[np.ndarray, None, None]:
    """Yield float32 (frames, channels) blocks; a file damaged mid-way raises UnsupportedInput.

    Every block has `block_frames` frames except the last. The file is decoded as it is
    read, so memory stays flat however long it is. Pass probe()'s result instead of a path
    to skip probing the file again.
    """
    if block_frames <= 0:
        raise ValueError(f"block_frames must be positive, not {block_frames}")
    info = path if isinstance(path, AudioFileInfo) else probe(path)
    if info.decoder == FFMPEG:
        yield from _read_ffmpeg(info, block_frames)
        return
    try:
        with soundfile.SoundFile(str(info.path)) as sf:
            while True:
                block = sf.read(block_frames, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise UnsupportedInput(
            f"{info.path.name}: the file is damaged ({_reason(exc)}). {_DAMAGED_HINT}") from exc


# --- FFmpeg (PyAV) ---------------------------------------------------------------------


def _open_ffmpeg(path: Path) -> Any:
    # Only local files: a playlist disguised as a video must not make FFmpeg fetch URLs.
    return av.open(str(path.absolute()), container_options={"protocol_whitelist": "file"},
                   metadata_errors="replace")


def _probe_ffmpeg(path: Path) -> AudioFileInfo:
    try:
        with _open_ffmpeg(path) as container:
            stream = container.streams.best("audio")
            if stream is None:
                raise UnsupportedInput(
                    f"{path.name}: cannot decode this file: it has no sound track. {SUPPORTED}")
            frames = container.decode(stream)
            first = next(frames, None)
            frames.close()
            if first is None:
                raise UnsupportedInput(
                    f"{path.name}: cannot decode this file: its sound track is empty. "
                    f"{SUPPORTED}")
            rate = int(first.sample_rate)
            channels = int(first.layout.nb_channels)
            seconds, _ = _declared_seconds(container, stream)
            if seconds is None:
                seconds = _scan_seconds(container, stream)
            codec = stream.codec_context.name
            has_video = bool(container.streams.video)
            name = _ffmpeg_container(container.format.name, path.suffix, has_video=has_video,
                                     codec=codec)
    except _AV_ERRORS as exc:
        raise UnsupportedInput(
            f"{path.name}: cannot decode this file ({_ffmpeg_reason(exc)}). {SUPPORTED}"
        ) from exc
    if rate <= 0 or channels <= 0:
        raise UnsupportedInput(f"{path.name}: the file declares no sample rate or channels")
    frames = round(seconds * rate) if seconds is not None else 0
    return AudioFileInfo(path, rate, channels, frames, f"{name.upper()}/{codec.upper()}",
                         container=name, frames_exact=False, decoder=FFMPEG)


def _declared_seconds(container: Any, stream: Any) -> tuple[float | None, bool]:
    """The duration the file declares, and whether it is the sound track's own."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base), True
    if container.duration is not None and container.duration > 0:
        # The container's duration spans every track; it is the sound's only if alone.
        return container.duration / av.time_base, len(container.streams) == 1
    return None, False


def _scan_seconds(container: Any, stream: Any) -> float | None:
    """Read the remaining packets' timestamps (no decoding) to find where the sound ends.

    Browsers' MediaRecorder writes WebM with no duration in the header.
    """
    if stream.time_base is None:
        return None
    start = stream.start_time
    end = None
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        if start is None or packet.pts < start:
            start = packet.pts
        stop = packet.pts + (packet.duration or 0)
        if end is None or stop > end:
            end = stop
    if start is None or end is None or end <= start:
        return None
    return float((end - start) * stream.time_base)


def _read_ffmpeg(info: AudioFileInfo, block_frames: int
                ) -> Generator[np.ndarray, None, None]:
    buffer = _BlockBuffer(block_frames, info.channels)
    rate = info.samplerate
    try:
        with _open_ffmpeg(info.path) as container:
            stream = container.streams.best("audio")
            if stream is None:  # replaced since it was probed
                raise UnsupportedInput(f"{info.path.name}: the file has no sound track any more")
            declared, own = _declared_seconds(container, stream)
            resampler = None
            for frame in container.decode(stream):
                if resampler is None:
                    # Fixed output format: a mid-stream change of rate or layout is
                    # converted back, so every block matches what probe() reported.
                    resampler = av.AudioResampler(format="flt", layout=frame.layout, rate=rate)
                for out in resampler.resample(frame):
                    yield from buffer.push(_packed(out, info.channels))
            if resampler is not None:
                for out in resampler.resample(None):
                    yield from buffer.push(_packed(out, info.channels))
    except _AV_ERRORS as exc:
        raise UnsupportedInput(
            f"{info.path.name}: the file is damaged after {buffer.total / rate:.1f} s "
            f"({_ffmpeg_reason(exc, reading=True)}). {_DAMAGED_HINT}") from exc
    yield from buffer.flush()
    # A duration that spans other tracks too says nothing: a video's sound may end first.
    if declared is not None and own:
        missing = declared - buffer.total / rate
        if missing > max(_SHORTFALL_SECONDS, _SHORTFALL_FRACTION * declared):
            raise UnsupportedInput(
                f"{info.path.name}: the file is damaged or incomplete: its sound ends after "
                f"{buffer.total / rate:.1f} s of the {declared:.1f} s it declares. "
                f"{_DAMAGED_HINT}")


def _packed(frame: Any, channels: int) -> np.ndarray:
    # Packed "flt" frames come out of to_ndarray() as one row of interleaved samples.
    return frame.to_ndarray().reshape(-1, channels)


class _BlockBuffer:
    """Regroup decoder frames (any size) into blocks of exactly `size` frames."""

    def __init__(self, size: int, channels: int):
        self.size = size
        self.channels = channels
        self.total = 0  # frames pushed so far
        self._parts: list[np.ndarray] = []
        self._pending = 0

    def push(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        self.total += len(samples)
        if not len(samples):
            return
        self._parts.append(samples)
        self._pending += len(samples)
        while self._pending >= self.size:
            joined = self._joined()
            yield joined[:self.size]
            rest = joined[self.size:]
            self._parts = [rest] if len(rest) else []
            self._pending = len(rest)

    def flush(self) -> Iterator[np.ndarray]:
        if self._pending:
            last = self._joined()
            self._parts = []
            self._pending = 0
            yield last

    def _joined(self) -> np.ndarray:
        if len(self._parts) == 1:
            return self._parts[0]
        return np.concatenate(self._parts).astype(np.float32, copy=False)


# --- names -----------------------------------------------------------------------------

# libsndfile major format -> extension, where lower-casing the name is not enough.
_SNDFILE_NAMES = {"WAVEX": "wav", "IRCAM": "sf", "MAT4": "mat", "MAT5": "mat"}

# One container, several customary extensions: the file's own suffix picks among them.
_ALIASES = {
    "ogg": ("ogg", "oga", "opus"),
    "aiff": ("aiff", "aif", "aifc"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("m4a", "mp4", "mov", "3gp", "3g2", "m4b", "m4v", "mj2"),
    "matroska,webm": ("webm", "mkv", "mka"),
    "asf": ("wma", "asf", "wmv"),
    "amr": ("amr", "3ga"),
    "amrnb": ("amr",),
    "amrwb": ("amr", "awb"),
    "aac": ("aac", "adts"),
    "mpegts": ("ts", "mts", "m2ts"),
    "mpeg": ("mpg", "mpeg"),
    "au": ("au", "snd"),
}


def _sndfile_container(major: str, suffix: str) -> str:
    name = _SNDFILE_NAMES.get(major, major.lower())
    return _pick(_ALIASES.get(name, (name,)), suffix)


def _ffmpeg_container(format_name: str, suffix: str, *, has_video: bool, codec: str) -> str:
    aliases = _ALIASES.get(format_name) or tuple(format_name.split(","))
    ext = suffix.lower().lstrip(".")
    if ext in aliases:
        return ext
    # The suffix does not say (or lies): name the file after what is inside.
    if format_name == "mov,mp4,m4a,3gp,3g2,mj2" and has_video:
        return "mp4"
    if format_name == "matroska,webm" and codec not in ("opus", "vorbis"):
        return "mkv" if has_video else "mka"
    if format_name == "asf" and has_video:
        return "wmv"
    return aliases[0]


def _pick(aliases: tuple[str, ...], suffix: str) -> str:
    ext = suffix.lower().lstrip(".")
    return ext if ext in aliases else aliases[0]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    # libsndfile repeats the path in its message; the caller already names the file.
    return text.split(": ", 1)[-1] if ": " in text else text or type(exc).__name__


def _ffmpeg_reason(exc: BaseException, *, reading: bool = False) -> str:
    if isinstance(exc, av.error.InvalidDataError):
        return "invalid data" if reading else "not a recognised audio or video format"
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        # FFmpeg's own text, without the errno and the path or function name PyAV adds.
        return str(exc.strerror)
    return _reason(exc)
