"""The app's one PCM format: 16 kHz mono signed 16-bit little-endian, in 100 ms chunks.

Every live path (microphone, file streaming, the embedded engine, the streaming
protocol) speaks this format, so it is defined here once. Constants only: the pure
protocol layer imports this module, so it must not pull in numpy or soxr.
"""

from __future__ import annotations

SAMPLE_RATE = 16_000  # frames per second
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes per sample, signed little-endian ("<i2", s16le)
CHUNK_BYTES = 3200  # what the streaming protocol sends per message
CHUNK_FRAMES = CHUNK_BYTES // (SAMPLE_WIDTH * CHANNELS)
CHUNK_SECONDS = CHUNK_FRAMES / SAMPLE_RATE  # 0.1 s
