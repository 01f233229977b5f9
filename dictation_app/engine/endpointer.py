"""Endpointing for streaming engines: where utterances start and end in 16 kHz PCM.

Engine-neutral: a voice-activity classifier for fixed-size frames is passed in (the
pocketsphinx engine passes its WebRTC-style `Vad`), and the endpointer says, as
events, when an utterance starts, which audio belongs to it (with pre-roll, in
batches of `partial_interval`, so an engine can update its partial guess) and when
it ends. The engine decodes the audio; the endpointer never sees a decoder.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dictation_app.audio.format import SAMPLE_WIDTH
from dictation_app.core.errors import ConfigurationError


@dataclass(frozen=True)
class Endpointing:
    """How speech is told from pauses; durations in seconds.

    An utterance starts once `onset_ratio` of the last `onset_window` is speech and
    ends once `pause_ratio` of the last `pause` is not. Ratios below 1 keep a single
    misclassified 30 ms frame from starting or ending an utterance.
    """

    onset_window: float = 0.2
    onset_ratio: float = 0.7
    pause: float = 0.6
    pause_ratio: float = 0.9
    # Audio from before the onset is decoded too, so the first phone is not clipped.
    preroll: float = 0.4
    # A final is forced after this much speech: a long monologue must still settle.
    max_utterance: float = 30.0
    partial_interval: float = 0.1
    # Frames quieter than this RMS (s16 units, about -64 dBFS) are never speech.
    # pocketsphinx's VAD can stay in "speech" through a second of digital silence,
    # which a muted or gated microphone (and synthetic test audio) delivers.
    silence_rms: float = 20.0

    def __post_init__(self) -> None:
        for name in ("onset_window", "pause", "max_utterance", "partial_interval"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"Offline engine: endpointing '{name}' must be > 0")
        for name in ("onset_ratio", "pause_ratio"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigurationError(
                    f"Offline engine: endpointing '{name}' must be in (0, 1]")
        if self.preroll < 0:
            raise ConfigurationError("Offline engine: endpointing 'preroll' must be >= 0")


@dataclass(frozen=True)
class UtteranceStarted:
    """Speech began; the audio that follows (pre-roll first) is the utterance's."""


@dataclass(frozen=True)
class UtteranceAudio:
    """The utterance's next audio: decode it and update the partial guess."""

    pcm: bytes


@dataclass(frozen=True)
class UtteranceEnded:
    """The utterance ended at a pause (or at `max_utterance`, or at the end of input).

    `tail` is its last audio, not yet handed out: decode it, then settle the final.
    `start` and `end` are seconds from the start of the stream.
    """

    start: float
    end: float
    tail: bytes


EndpointEvent = UtteranceStarted | UtteranceAudio | UtteranceEnded


class Endpointer:
    """Cuts a stream into utterances; `push()` audio of any length, `finish()` at its end.

    `is_speech(frame)` classifies one frame of exactly `frame_bytes` bytes lasting
    `frame_seconds`. Not thread-safe: the recognizer that owns it serialises calls.
    """

    def __init__(self, endpointing: Endpointing, *, frame_bytes: int, frame_seconds: float,
                 is_speech: Callable[[bytes], bool]):
        self._is_speech = is_speech
        self._frame_bytes = frame_bytes
        self._frame_seconds = frame_seconds
        ep = endpointing

        def frames(seconds: float) -> int:
            return max(1, round(seconds / frame_seconds))

        self._onset_frames = frames(ep.onset_window)
        self._onset_needed = max(1, round(ep.onset_ratio * self._onset_frames))
        self._pause_frames = frames(ep.pause)
        self._pause_needed = max(1, round(ep.pause_ratio * self._pause_frames))
        self._max_frames = frames(ep.max_utterance)
        self._partial_frames = frames(ep.partial_interval)
        self._silence_energy = ep.silence_rms ** 2 * (frame_bytes // SAMPLE_WIDTH)
        preroll = max(self._onset_frames, frames(ep.preroll))

        self._pending = bytearray()
        self._frame_index = 0  # frames seen since the stream began
        self._preroll: deque[bytes] = deque(maxlen=preroll)
        self._recent: deque[bool] = deque(maxlen=max(self._onset_frames, self._pause_frames))
        self._in_utterance = False
        self._utterance_start = 0  # frame index
        self._utterance_frames = 0
        self._undecoded: list[bytes] = []
        self._events: list[EndpointEvent] = []

    @property
    def in_utterance(self) -> bool:
        return self._in_utterance

    @property
    def trailing_pause(self) -> int:
        """How many of the latest frames in a row were not speech (the pause so far)."""
        count = 0
        for speech in reversed(self._recent):
            if speech:
                break
            count += 1
        return count

    def push(self, pcm: bytes) -> list[EndpointEvent]:
        """Take 16 kHz mono s16le audio of any length; what it started, carried and ended."""
        self._pending += pcm
        size = self._frame_bytes
        whole = len(self._pending) - len(self._pending) % size
        if whole:
            block = bytes(self._pending[:whole])
            del self._pending[:whole]
            for offset in range(0, whole, size):
                self._on_frame(block[offset:offset + size])
        if self._in_utterance:
            # The caller's chunk ends here: hand out what is left, so the partial
            # guess keeps up with every chunk, not only every partial_interval.
            self._hand_out()
        return self._take_events()

    def finish(self) -> list[EndpointEvent]:
        """End of input: end the utterance in progress; the state is as new afterwards."""
        if self._in_utterance:
            if self._pending:
                # Under one frame: too short to classify, but it belongs to the speech.
                self._undecoded.append(bytes(self._pending))
            self._end_utterance()
        self._pending.clear()
        self._preroll.clear()
        self._recent.clear()
        return self._take_events()

    def abandon(self) -> None:
        """Forget the utterance in progress without ending it (the session is closing)."""
        self._in_utterance = False
        self._undecoded.clear()
        self._events.clear()

    # internals

    def _on_frame(self, frame: bytes) -> None:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        loud = float(np.dot(samples, samples)) > self._silence_energy
        speech = loud and self._is_speech(frame)
        self._frame_index += 1
        self._recent.append(speech)
        if not self._in_utterance:
            self._preroll.append(frame)
            if self._count_recent(self._onset_frames, True) >= self._onset_needed:
                self._start_utterance()
            return
        self._undecoded.append(frame)
        self._utterance_frames += 1
        if len(self._undecoded) >= self._partial_frames:
            self._hand_out()
        if (self._count_recent(self._pause_frames, False) >= self._pause_needed
                or self._utterance_frames >= self._max_frames):
            self._end_utterance()

    def _count_recent(self, frames: int, value: bool) -> int:
        if len(self._recent) < frames:
            return 0
        recent = self._recent
        return sum(1 for i in range(len(recent) - frames, len(recent)) if recent[i] is value)

    def _start_utterance(self) -> None:
        self._events.append(UtteranceStarted())
        self._in_utterance = True
        self._undecoded = list(self._preroll)
        self._utterance_frames = len(self._undecoded)
        self._utterance_start = self._frame_index - len(self._undecoded)
        self._preroll.clear()
        # The onset's speech frames must not count again toward the pause.
        self._recent.clear()

    def _hand_out(self) -> None:
        if self._undecoded:
            self._events.append(UtteranceAudio(b"".join(self._undecoded)))
            self._undecoded.clear()

    def _end_utterance(self) -> None:
        tail = b"".join(self._undecoded)
        self._undecoded.clear()
        self._in_utterance = False
        self._recent.clear()
        start = self._utterance_start * self._frame_seconds
        end = (self._utterance_start + self._utterance_frames) * self._frame_seconds
        self._events.append(UtteranceEnded(start, end, tail))

    def _take_events(self) -> list[EndpointEvent]:
        events, self._events = self._events, []
        return events
