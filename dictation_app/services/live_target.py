"""Where a live take is streamed to, as a live provider resolves it from the settings.

Its own small module so that the provider registry, which the command line reads
to build its choices, costs no numpy, soxr or websockets import at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from dictation_app.protocols.bahasakita_stream import ProtocolVersion


@dataclass(frozen=True)
class LiveTarget:
    url: str | None  # None: the embedded engine's, known once it has started
    token: str | None
    version: ProtocolVersion
    language: str
    service: str  # the name messages use: "Bahasakita", "Local engine"
