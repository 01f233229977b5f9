"""The app's PCM format is defined once, and the pure protocol layer can import it."""

from __future__ import annotations

import subprocess
import sys

from dictation_app.audio import format as pcm


def test_a_chunk_is_100_ms_of_16k_mono_s16le() -> None:
    assert (pcm.SAMPLE_RATE, pcm.CHANNELS, pcm.SAMPLE_WIDTH) == (16_000, 1, 2)
    assert pcm.CHUNK_BYTES == 3200 and pcm.CHUNK_FRAMES == 1600
    assert pcm.CHUNK_SECONDS == 0.1


def test_importing_the_format_pulls_in_no_numeric_library() -> None:
    code = ("import sys, dictation_app.audio.format, dictation_app.protocols.bahasakita_stream\n"
            "print(sorted(m for m in ('numpy', 'soxr') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
