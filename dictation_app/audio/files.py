"""Audio files read block by block, with errors a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from dictation_app.errors import UnsupportedInput


@dataclass(frozen=True)
class AudioFileInfo:
    path: Path
    samplerate: int
    channels: int
    frames: int
    format: str

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def probe(path: str | Path) -> AudioFileInfo:
    """Open `path` far enough to know its format; raise UnsupportedInput if we cannot."""
    path = Path(path)
    if not path.exists():
        raise UnsupportedInput(f"{path}: no such file")
    if path.is_dir():
        raise UnsupportedInput(f"{path}: is a folder, not an audio file")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise UnsupportedInput(
            f"{path.name}: cannot decode this file ({_reason(exc)}). "
            "Supported: WAV, FLAC, OGG/Opus, MP3 and other formats libsndfile reads."
        ) from exc
    if info.samplerate <= 0 or info.channels <= 0:
        raise UnsupportedInput(f"{path.name}: the file declares no sample rate or channels")
    return AudioFileInfo(path, int(info.samplerate), int(info.channels), int(info.frames),
                         f"{info.format}/{info.subtype}")


def read_blocks(path: str | Path, *, block_frames: int) -> Iterator[np.ndarray]:
    """Yield float32 (frames, channels) blocks; a file damaged mid-way raises UnsupportedInput."""
    info = probe(path)
    try:
        with soundfile.SoundFile(str(info.path)) as sf:
            while True:
                block = sf.read(block_frames, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise UnsupportedInput(f"{info.path.name}: the file is damaged ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    # libsndfile repeats the path in its message; the caller already names the file.
    return text.split(": ", 1)[-1] if ": " in text else text or type(exc).__name__
