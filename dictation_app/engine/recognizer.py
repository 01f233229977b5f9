"""Streaming speech recognition with pocketsphinx's bundled en-US model, cut at pauses by a VAD."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pocketsphinx

from dictation_app.audio.format import SAMPLE_RATE, SAMPLE_WIDTH
from dictation_app.core.errors import ConfigurationError

# Measured on one core over 1188 words of espeak-ng speech in 4 voices (492 s, fed in
# 100 ms chunks): capping active HMMs and word exits per frame cuts CPU time by 10-30%
# at the same WER (23.6%). Narrower beams, `ds=2`, `topn` < 4 and
# `maxhmmpf=3000` were faster but lost words; dropping the second (flat-lexicon) pass
# halved the CPU time but cost a point of WER. bench/bench_engine.py re-measures.
TUNED_DECODER_OPTIONS: Mapping[str, Any] = {
    "maxhmmpf": 5000,  # default 30000
    "maxwpf": 20,  # default -1, unlimited
}


@dataclass(frozen=True)
class PartialResult:
    """The words so far of the utterance being spoken; the next result replaces it.

    Empty when an utterance that showed partials ends without words.
    """

    text: str


@dataclass(frozen=True)
class FinalResult:
    """A settled utterance, with its span in seconds from the start of the stream."""

    text: str
    start: float
    end: float


RecognizerEvent = PartialResult | FinalResult


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
    vad_mode: int = pocketsphinx.Vad.LOOSE
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


class RecognizerModel:
    """The recognizer configuration, loaded once, lending decoders to sessions.

    A decoder costs about 0.3 s and 90 MB to build, so closed sessions hand theirs
    back and the next session reuses it (up to `max_idle` are kept). Everything here
    blocks: callers on an event loop run it in a worker thread.

    `grammar` is a JSGF file to decode against instead of the general language
    model (exact on synthetic speech, for tests). `decoder_options` are pocketsphinx
    configuration parameters laid over `TUNED_DECODER_OPTIONS`, or over pocketsphinx's
    own defaults with `tuned=False`. Thread-safe.
    """

    def __init__(self, *, grammar: str | Path | None = None,
                 decoder_options: Mapping[str, Any] | None = None,
                 endpointing: Endpointing | None = None, tuned: bool = True,
                 max_idle: int = 1):
        options: dict[str, Any] = dict(TUNED_DECODER_OPTIONS) if tuned else {}
        options.update(decoder_options or {})
        if grammar is not None:
            options["jsgf"] = str(grammar)
        self.options: Mapping[str, Any] = options
        self.grammar = None if grammar is None else Path(grammar)
        self.endpointing = endpointing or Endpointing()
        self.max_idle = max_idle
        self._idle: list[_PooledDecoder] = []
        self._lock = threading.Lock()
        self._loaded = False

    def load(self) -> None:
        """Check the configuration and build the first decoder; ~0.3 s, idempotent."""
        with self._lock:
            if self._loaded:
                return
        decoder = self._build()
        with self._lock:
            self._loaded = True
            self._idle.append(decoder)

    def recognizer(self) -> Recognizer:
        """A recognizer for one session; `close()` it (or use `with`) to return its decoder."""
        with self._lock:
            decoder = self._idle.pop() if self._idle else None
        if decoder is None:
            decoder = self._build()
            with self._lock:
                self._loaded = True
        else:
            decoder.reset()
        return Recognizer(self, decoder)

    @contextmanager
    def session(self) -> Iterator[Recognizer]:
        recognizer = self.recognizer()
        try:
            yield recognizer
        finally:
            recognizer.close()

    def _give_back(self, decoder: _PooledDecoder) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(decoder)

    def _build(self) -> _PooledDecoder:
        grammar = self.options.get("jsgf")
        if grammar is not None:
            # pocketsphinx segfaults on a JSGF path it cannot open, so look first.
            try:
                with open(grammar, "rb"):
                    pass
            except OSError as exc:
                raise ConfigurationError(
                    f"Offline engine: cannot read the grammar {grammar}: "
                    f"{exc.strerror or exc}. Check the --grammar path.") from exc
        try:
            config = pocketsphinx.Config(**self.options)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"Offline engine: invalid decoder option: {exc}. "
                "See pocketsphinx's configuration parameters.") from exc
        try:
            decoder = pocketsphinx.Decoder(config)
        except (RuntimeError, ValueError) as exc:
            what = f"the grammar {grammar}" if grammar else "the speech model"
            raise ConfigurationError(
                f"Offline engine: pocketsphinx could not load {what} ({exc}); its log on "
                "stderr names the cause, e.g. a JSGF syntax error or a word missing from "
                "the dictionary.") from exc
        return _PooledDecoder(decoder)


class _PooledDecoder:
    """A decoder plus what it takes to make a reused one behave like a new one."""

    def __init__(self, decoder: pocketsphinx.Decoder):
        self.decoder = decoder
        self._initial_cmn = decoder.get_cmn()

    def reset(self) -> None:
        # Live cepstral mean normalisation adapts to the previous session's
        # microphone; starting from the model's prior makes sessions independent.
        self.decoder.set_cmn(self._initial_cmn)


class Recognizer:
    """One session's streaming recognizer.

    `feed()` 16 kHz mono s16le in any amounts and get `PartialResult`s while someone
    speaks and a `FinalResult` at each pause; `finish()` settles what is still being
    said.

    Calls are serialised by a lock: a server may `close()` a session from one thread
    while a `feed()` for it still runs in another, and the C decoder must never see
    both at once.
    """

    def __init__(self, model: RecognizerModel, pooled: _PooledDecoder):
        self._model = model
        self._pooled: _PooledDecoder | None = pooled
        self._decoder = pooled.decoder
        ep = model.endpointing
        self._vad = pocketsphinx.Vad(ep.vad_mode, SAMPLE_RATE)
        self._frame_bytes: int = self._vad.frame_bytes
        frame_seconds: float = self._vad.frame_length
        self._frame_seconds = frame_seconds

        def frames(seconds: float) -> int:
            return max(1, round(seconds / frame_seconds))

        self._onset_frames = frames(ep.onset_window)
        self._onset_needed = max(1, round(ep.onset_ratio * self._onset_frames))
        self._pause_frames = frames(ep.pause)
        self._pause_needed = max(1, round(ep.pause_ratio * self._pause_frames))
        self._max_frames = frames(ep.max_utterance)
        self._partial_frames = frames(ep.partial_interval)
        self._silence_energy = ep.silence_rms ** 2 * (self._frame_bytes // SAMPLE_WIDTH)
        preroll = max(self._onset_frames, frames(ep.preroll))

        self._pending = bytearray()
        self._frame_index = 0  # frames seen since the stream began
        self._preroll: deque[bytes] = deque(maxlen=preroll)
        self._recent: deque[bool] = deque(maxlen=max(self._onset_frames, self._pause_frames))
        self._in_utterance = False
        self._utterance_start = 0  # frame index
        self._utterance_frames = 0
        self._undecoded: list[bytes] = []
        self._last_partial = ""
        self._events: list[RecognizerEvent] = []
        self._lock = threading.Lock()

    @property
    def in_utterance(self) -> bool:
        return self._in_utterance

    def feed(self, pcm: bytes) -> list[RecognizerEvent]:
        """Take 16 kHz mono s16le audio of any length; return the results it settled."""
        with self._lock:
            return self._feed(pcm)

    def finish(self) -> list[RecognizerEvent]:
        """End of input: settle the utterance in progress as a final, if it has words."""
        with self._lock:
            return self._finish()

    def close(self) -> None:
        """Return the decoder to the model's pool; the recognizer is unusable afterwards."""
        with self._lock:
            self._close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # internals

    def _feed(self, pcm: bytes) -> list[RecognizerEvent]:
        if self._pooled is None:
            raise RuntimeError("Recognizer.feed() after close()")
        self._pending += pcm
        size = self._frame_bytes
        whole = len(self._pending) - len(self._pending) % size
        if whole:
            block = bytes(self._pending[:whole])
            del self._pending[:whole]
            for offset in range(0, whole, size):
                self._on_frame(block[offset:offset + size])
        if self._in_utterance:
            self._decode_pending()
        return self._take_events()

    def _finish(self) -> list[RecognizerEvent]:
        if self._pooled is None:
            raise RuntimeError("Recognizer.finish() after close()")
        if self._in_utterance:
            if self._pending:
                # Under one VAD frame: too short to classify, but it belongs to the speech.
                self._undecoded.append(bytes(self._pending))
            self._end_utterance()
        self._pending.clear()
        self._preroll.clear()
        self._recent.clear()
        return self._take_events()

    def _close(self) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is None:
            return
        if self._in_utterance:
            self._in_utterance = False
            try:
                self._decoder.end_utt()
            except RuntimeError:
                return  # a decoder in an unknown state is not worth reusing
        self._model._give_back(pooled)

    def _on_frame(self, frame: bytes) -> None:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        loud = float(np.dot(samples, samples)) > self._silence_energy
        speech = loud and self._vad.is_speech(frame)
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
            self._decode_pending()
        if (self._count_recent(self._pause_frames, False) >= self._pause_needed
                or self._utterance_frames >= self._max_frames):
            self._end_utterance()

    def _count_recent(self, frames: int, value: bool) -> int:
        if len(self._recent) < frames:
            return 0
        recent = self._recent
        return sum(1 for i in range(len(recent) - frames, len(recent)) if recent[i] is value)

    def _start_utterance(self) -> None:
        self._decoder.start_utt()
        self._in_utterance = True
        self._undecoded = list(self._preroll)
        self._utterance_frames = len(self._undecoded)
        self._utterance_start = self._frame_index - len(self._undecoded)
        self._preroll.clear()
        # The onset's speech frames must not count again toward the pause.
        self._recent.clear()
        self._last_partial = ""

    def _decode_pending(self) -> None:
        if not self._undecoded:
            return
        self._decoder.process_raw(b"".join(self._undecoded))
        self._undecoded.clear()
        text = self._hypothesis()
        if text and text != self._last_partial:
            self._last_partial = text
            self._events.append(PartialResult(text))

    def _end_utterance(self) -> None:
        if self._undecoded:
            self._decoder.process_raw(b"".join(self._undecoded))
            self._undecoded.clear()
        self._decoder.end_utt()
        self._in_utterance = False
        self._recent.clear()
        text = self._hypothesis()
        if text:
            start = self._utterance_start * self._frame_seconds
            end = (self._utterance_start + self._utterance_frames) * self._frame_seconds
            self._events.append(FinalResult(text, round(start, 3), round(end, 3)))
        elif self._last_partial:
            # No words after all (a cough, or no path through a grammar): take back
            # the partial on screen, since no final will replace it.
            self._events.append(PartialResult(""))
        self._last_partial = ""

    def _hypothesis(self) -> str:
        hyp = self._decoder.hyp()
        return " ".join(hyp.hypstr.split()) if hyp is not None else ""

    def _take_events(self) -> list[RecognizerEvent]:
        events, self._events = self._events, []
        return events
