"""One take as the journal keeps it: when it ran, who transcribed it, its finals with
their place in the recording, and what the person made of the text.

Pure data: `TakeStore` (store.py) reads and writes it, the CLI and the History tab
show it, and `to_transcript()` turns it into the `Transcript` the exports take.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dictation_app.protocols.transcript import Segment, Transcript

PREVIEW_CHARS = 80


class TakeState(str, enum.Enum):
    RECORDING = "recording"  # under way, or the app died during it
    ENDED = "ended"  # stopped, or failed and settled
    RECOVERED = "recovered"  # found still recording at the next start


@dataclass(frozen=True)
class TakeFinal:
    text: str
    engine: str  # the service or engine that produced it
    start: float  # seconds within the take's recording
    end: float


@dataclass(frozen=True)
class Take:
    id: int
    started: float  # epoch seconds
    ended: float | None
    duration: float  # seconds of audio recorded (kept or not)
    engine: str  # the service the take was started with
    state: TakeState
    recording: Path | None  # the WAV, while it is kept
    finals: tuple[TakeFinal, ...] = ()
    edited_text: str | None = None  # the person's text, when it differs from the finals

    @property
    def recovered(self) -> bool:
        return self.state is TakeState.RECOVERED

    @property
    def text(self) -> str:
        """What the take says: the person's edit if there is one, else the finals."""
        if self.edited_text is not None:
            return self.edited_text
        return joined(final.text for final in self.finals)

    @property
    def engines(self) -> tuple[str, ...]:
        """Who transcribed the take, in the order they first did: the service it was
        started with, then any engine failover moved it to (each once)."""
        return tuple(dict.fromkeys([self.engine, *(f.engine for f in self.finals)]))

    @property
    def engines_label(self) -> str:
        return " + ".join(self.engines)

    @property
    def preview(self) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1] + "…"

    def to_transcript(self) -> Transcript:
        """The take as a file job's result: one segment per final, timed in the recording."""
        engines = list(dict.fromkeys(f.engine for f in self.finals)) or [self.engine]
        file = None if self.recording is None else str(self.recording)
        segments = tuple(Segment(start=f.start, end=f.end, speaker=None, text=f.text)
                         for f in self.finals if f.text.strip())
        return Transcript(provider="+".join(engines), file=file, language=None,
                          duration=self.duration, text=self.text, segments=segments)


_NO_SPACE_BEFORE = tuple(",.?!:;)\n")


def joined(texts: Iterable[str]) -> str:
    """Finals joined as the window shows them: one space between utterances, none
    before punctuation or after a line break. The journal keeps each final as the take
    formatter output it (core/text: "Hello world", ",", "and more", "\n\n"), so this
    gives back the formatted text; finals kept raw by older versions join as before."""
    out = ""
    for text in texts:
        piece = text.strip(" \t\r")
        if not piece:
            continue
        if out and not out.endswith("\n") and not piece.startswith(_NO_SPACE_BEFORE):
            out += " "
        out += piece
    return out.strip()
