"""The take journal: what the dictation controller calls as a take runs.

`begin()` when a take starts, `record()` with every 16 kHz chunk (the live session's
`recorder` hook, on the microphone's path: it counts the bytes and queues them for
the recording's writer thread), `add_final()` for each final as it is shown (stored
durably before it returns, timed by the audio recorded so far), `end()` when the take
has ended. A final's start is the previous final's end: the streaming protocol gives
no times, so the span is where in the recording the utterance was settled.

Finals are kept as the person sees them: the take formatter's output (core/text), each
piece without its leading space, so `Take.text` reads as the window did. A final's
`retract` ("scratch that", a spoken mark replacing the engine's) is applied to the
kept finals too: the words taken back are deleted from the store, not just hidden.

A journal that cannot write (a full disk, a store that went away) does not stop the
dictation: the first problem is kept in `problem` for the window to show.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace

from dictation_app.core.errors import DictationError
from dictation_app.takes.model import Take, TakeFinal
from dictation_app.takes.recording import SYNC_INTERVAL, WavRecording, seconds
from dictation_app.takes.store import TakeStore

log = logging.getLogger(__name__)


class TakeJournal:
    def __init__(self, store: TakeStore, *, keep_recordings: bool = True,
                 sync_interval: float = SYNC_INTERVAL,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.keep_recordings = keep_recordings
        self.problem: str | None = None  # the first thing that could not be kept
        self._sync_interval = sync_interval
        self._clock = clock
        self._take: Take | None = None
        self._recording: WavRecording | None = None
        self._bytes = 0
        self._last_end = 0.0
        self._engine = ""
        self._finals: list[TakeFinal] = []
        self._pieces: list[str] = []  # each final as output (its leading space too)

    @property
    def take(self) -> Take | None:
        """The take under way, as begun."""
        return self._take

    @property
    def finals(self) -> tuple[TakeFinal, ...]:
        """The current take's finals so far."""
        return tuple(self._finals)

    @property
    def position(self) -> float:
        """Seconds of audio recorded in the current take."""
        return seconds(self._bytes)

    def begin(self, engine: str) -> Take | None:
        """A new take, recording from now; ends one left open first."""
        if self._take is not None:
            self.end()
        self._bytes = 0
        self._last_end = 0.0
        self._finals = []
        self._pieces = []
        self._engine = engine
        self.problem = None
        started = self._clock()
        path = self.store.recording_path(started) if self.keep_recordings else None
        if path is not None:
            try:
                self._recording = WavRecording(path, sync_interval=self._sync_interval)
            except DictationError as exc:
                self._note(str(exc))
                path = None
        try:
            self._take = self.store.begin(engine, path, started=started)
        except sqlite3.Error as exc:
            self._note(f"The take could not be added to the history ({exc}); it is not kept.")
            if self._recording is not None:
                self._recording.close()
                self._recording = None
            return None
        return self._take

    def record(self, chunk: bytes) -> None:
        """One chunk of the take's 16 kHz audio; cheap (the microphone's path)."""
        if self._take is None:
            return
        self._bytes += len(chunk)
        if self._recording is not None:
            self._recording.append(chunk)

    def add_final(self, text: str, engine: str | None = None, *,
                  retract: int = 0) -> TakeFinal | None:
        """Keep a final shown now, after taking back the last `retract` characters of
        what was kept (as a `Formatted` says); durable when this returns."""
        if self._take is None:
            return None
        if retract:
            self._retract(retract)
        if not text.strip(" \t\r"):
            return None
        end = self.position
        final = TakeFinal(text=text.strip(" \t\r"), engine=engine or self._engine,
                          start=min(self._last_end, end), end=end)
        self._last_end = end
        self._finals.append(final)
        self._pieces.append(text)
        try:
            self.store.add_final(self._take.id, final, duration=end)
        except sqlite3.Error as exc:
            self._note(f"A final could not be added to the history ({exc}); the transcript "
                       "on screen is complete, copy it before closing.")
        return final

    def _retract(self, count: int) -> None:
        assert self._take is not None
        last_text: str | None = None
        while count > 0 and self._pieces:
            piece = self._pieces[-1]
            if len(piece) <= count:
                count -= len(piece)
                self._pieces.pop()
                self._finals.pop()
                last_text = None
                continue
            self._pieces[-1] = piece[:len(piece) - count]
            last_text = self._pieces[-1].strip(" \t\r")
            self._finals[-1] = replace(self._finals[-1], text=last_text)
            count = 0
        try:
            self.store.revise_finals(self._take.id, keep=len(self._finals), last_text=last_text)
        except sqlite3.Error as exc:
            self._note(f"A correction could not be kept in the history ({exc}); the "
                       "transcript on screen is right, copy it before closing.")

    def end(self, edited_text: str | None = None) -> Take | None:
        """The take has ended: finish its recording and mark it ended."""
        take, self._take = self._take, None
        if take is None:
            return None
        recording, self._recording = self._recording, None
        if recording is not None:
            recording.close()
            if recording.error is not None:
                self._note(f"The recording ({recording.path}) stopped early: "
                           f"{recording.error.strerror or recording.error}.")
        try:
            self.store.end(take.id, duration=self.position, edited_text=edited_text,
                           ended=self._clock())
        except sqlite3.Error as exc:
            self._note(f"The take could not be marked as ended ({exc}); it will show as "
                       "recovered at the next start.")
        try:
            return self.store.get(take.id)
        except sqlite3.Error:
            return None

    def _note(self, message: str) -> None:
        log.warning("take journal: %s", message)
        if self.problem is None:
            self.problem = message
