"""The pocketsphinx engine: CMU PocketSphinx's bundled US English model, streaming, cut at
pauses by its VAD through the shared endpointer.

Everything pocketsphinx-specific lives here: the tuned decoder options, the pool of
decoders, the VAD mode, the JSGF grammar option, the bundled model files and the
self-test. The module-level `create()`, `data_files()` and `self_test()` are what
engine/registry.py's descriptor calls.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pocketsphinx

from dictation_app.audio.format import SAMPLE_RATE
from dictation_app.core.errors import ConfigurationError
from dictation_app.engine.endpointer import (
    Endpointer,
    Endpointing,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)
from dictation_app.engine.recognizer import (
    FinalResult,
    PartialResult,
    RecognizerEvent,
    WordTiming,
)

NAME = "pocketsphinx"
MODEL = "en-us"  # the one model pocketsphinx ships, in pocketsphinx.get_model_path()
LANGUAGE = "en"  # pocketsphinx's bundled model is US English
MODEL_FILES = ("en-us", "en-us.lm.bin", "cmudict-en-us.dict")

# Measured on one core over 1188 words of espeak-ng speech in 4 voices (492 s, fed in
# 100 ms chunks): capping active HMMs and word exits per frame cuts CPU time by 10-30%
# at the same WER (23.6%). Narrower beams, `ds=2`, `topn` < 4 and
# `maxhmmpf=3000` were faster but lost words; dropping the second (flat-lexicon) pass
# halved the CPU time but cost a point of WER. bench/bench_engine.py re-measures.
TUNED_DECODER_OPTIONS: Mapping[str, Any] = {
    "maxhmmpf": 5000,  # default 30000
    "maxwpf": 20,  # default -1, unlimited
}
# Segments that are not words: sentence marks, silence and fillers ("[NOISE]", "<sil>").
_NOT_WORDS = ("<", "[", "++")


class PocketsphinxModel:
    """The recognizer configuration, loaded once, lending decoders to sessions.

    A decoder costs about 0.3 s and 90 MB to build, so closed sessions hand theirs
    back and the next session reuses it (up to `max_idle` are kept). Everything here
    blocks: callers on an event loop run it in a worker thread.

    `grammar` is a JSGF file to decode against instead of the general language
    model (exact on synthetic speech, for tests). `decoder_options` are pocketsphinx
    configuration parameters laid over `TUNED_DECODER_OPTIONS`, or over pocketsphinx's
    own defaults with `tuned=False`. `vad_mode` is pocketsphinx.Vad's aggressiveness,
    which classifies the frames the endpointer counts. Thread-safe.
    """

    name = NAME
    language = LANGUAGE

    def __init__(self, *, grammar: str | Path | None = None,
                 decoder_options: Mapping[str, Any] | None = None,
                 endpointing: Endpointing | None = None, tuned: bool = True,
                 vad_mode: int = pocketsphinx.Vad.LOOSE, max_idle: int = 1):
        options: dict[str, Any] = dict(TUNED_DECODER_OPTIONS) if tuned else {}
        options.update(decoder_options or {})
        if grammar is not None:
            options["jsgf"] = str(grammar)
        self.options: Mapping[str, Any] = options
        self.grammar = None if grammar is None else Path(grammar)
        self.endpointing = endpointing or Endpointing()
        self.vad_mode = vad_mode
        self.max_idle = max_idle
        self._idle: list[_PooledDecoder] = []
        self._lock = threading.Lock()
        self._loaded = False

    @property
    def description(self) -> str:
        what = f"grammar {self.grammar.name}" if self.grammar else "US English model"
        return f"CMU PocketSphinx, {what}"

    def load(self) -> None:
        """Check the configuration and build the first decoder; ~0.3 s, idempotent."""
        with self._lock:
            if self._loaded:
                return
        decoder = self._build()
        with self._lock:
            self._loaded = True
            self._idle.append(decoder)

    def recognizer(self) -> PocketsphinxRecognizer:
        """A recognizer for one session; `close()` it (or use `with`) to return its decoder."""
        with self._lock:
            decoder = self._idle.pop() if self._idle else None
        if decoder is None:
            decoder = self._build()
            with self._lock:
                self._loaded = True
        else:
            decoder.reset()
        return PocketsphinxRecognizer(self, decoder)

    def session(self) -> AbstractContextManager[PocketsphinxRecognizer]:
        return contextlib.closing(self.recognizer())

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
        self.frame_rate = int(decoder.config["frate"])

    def reset(self) -> None:
        # Live cepstral mean normalisation and the noise-removal filter adapt to the
        # previous session's microphone; a fresh front end (0.1 ms) and the model's
        # CMN prior make sessions independent, down to the words' posteriors.
        self.decoder.reinit_feat()
        self.decoder.set_cmn(self._initial_cmn)


class PocketsphinxRecognizer:
    """One session's streaming recognizer (a `Recognizer`).

    `feed()` 16 kHz mono s16le in any amounts and get `PartialResult`s while someone
    speaks and a `FinalResult` at each pause; `finish()` settles what is still being
    said. Finals carry each word's times and pocketsphinx's posterior probability.

    Calls are serialised by a lock: a server may `close()` a session from one thread
    while a `feed()` for it still runs in another, and the C decoder must never see
    both at once.
    """

    def __init__(self, model: PocketsphinxModel, pooled: _PooledDecoder):
        self._model = model
        self._pooled: _PooledDecoder | None = pooled
        self._decoder = pooled.decoder
        self._frame_rate = pooled.frame_rate
        vad = pocketsphinx.Vad(model.vad_mode, SAMPLE_RATE)
        self._endpointer = Endpointer(model.endpointing, frame_bytes=vad.frame_bytes,
                                      frame_seconds=vad.frame_length, is_speech=vad.is_speech)
        self._last_partial = ""
        self._lock = threading.Lock()

    @property
    def in_utterance(self) -> bool:
        return self._endpointer.in_utterance

    def feed(self, pcm: bytes) -> list[RecognizerEvent]:
        """Take 16 kHz mono s16le audio of any length; return the results it settled."""
        with self._lock:
            if self._pooled is None:
                raise RuntimeError("Recognizer.feed() after close()")
            return self._decode(self._endpointer.push(pcm))

    def finish(self) -> list[RecognizerEvent]:
        """End of input: settle the utterance in progress as a final, if it has words."""
        with self._lock:
            if self._pooled is None:
                raise RuntimeError("Recognizer.finish() after close()")
            return self._decode(self._endpointer.finish())

    def close(self) -> None:
        """Return the decoder to the model's pool; the recognizer is unusable afterwards."""
        with self._lock:
            self._close()

    def __enter__(self) -> PocketsphinxRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # internals

    def _close(self) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is None:
            return
        if self._endpointer.in_utterance:
            self._endpointer.abandon()
            try:
                self._decoder.end_utt()
            except RuntimeError:
                return  # a decoder in an unknown state is not worth reusing
        self._model._give_back(pooled)

    def _decode(self, steps: list[UtteranceStarted | UtteranceAudio | UtteranceEnded]
                ) -> list[RecognizerEvent]:
        events: list[RecognizerEvent] = []
        for step in steps:
            if isinstance(step, UtteranceStarted):
                self._decoder.start_utt()
                self._last_partial = ""
            elif isinstance(step, UtteranceAudio):
                self._decoder.process_raw(step.pcm)
                text = self._hypothesis()
                if text and text != self._last_partial:
                    self._last_partial = text
                    events.append(PartialResult(text))
            else:
                events.extend(self._end_utterance(step))
        return events

    def _end_utterance(self, ended: UtteranceEnded) -> list[RecognizerEvent]:
        if ended.tail:
            self._decoder.process_raw(ended.tail)
        self._decoder.end_utt()
        text = self._hypothesis()
        last_partial, self._last_partial = self._last_partial, ""
        if text:
            return [FinalResult(text, round(ended.start, 3), round(ended.end, 3),
                                self._words(ended.start))]
        if last_partial:
            # No words after all (a cough, or no path through a grammar): take back
            # the partial on screen, since no final will replace it.
            return [PartialResult("")]
        return []

    def _hypothesis(self) -> str:
        hyp = self._decoder.hyp()
        return " ".join(hyp.hypstr.split()) if hyp is not None else ""

    def _words(self, offset: float) -> tuple[WordTiming, ...]:
        # The segments of the best path, in decoder frames from the utterance's start;
        # `prob` is the word's posterior probability (pocketsphinx rounds it past 1).
        rate = self._frame_rate
        return tuple(
            WordTiming(_spelling(seg.word), round(offset + seg.start_frame / rate, 3),
                       round(offset + (seg.end_frame + 1) / rate, 3),
                       round(min(1.0, max(0.0, seg.prob)), 4))
            for seg in self._decoder.seg() if not seg.word.startswith(_NOT_WORDS))


def _spelling(word: str) -> str:
    """"where(2)" (the dictionary's second pronunciation) is the word "where"."""
    base, paren, _ = word.partition("(")
    return base if paren and word.endswith(")") else word


# --- what the registry's descriptor calls ------------------------------------------


def create(*, model: str | None = None, language: str | None = None,
           **options: Any) -> PocketsphinxModel:
    """A PocketsphinxModel for the bundled en-US model; `options` go to its constructor."""
    if model not in (None, MODEL):
        raise ConfigurationError(
            f"Offline engine {NAME}: unknown model {model!r}; it has one: {MODEL}")
    return PocketsphinxModel(**options)


def data_files() -> list[tuple[str, str]]:
    """The speech model, at the place pocketsphinx looks for it at run time.

    get_model_path() finds the `pocketsphinx/model` folder next to the package, which
    in the bundle is `_internal/pocketsphinx/model`.
    """
    model_dir = Path(pocketsphinx.get_model_path())
    try:
        dest = model_dir.relative_to(Path(pocketsphinx.__file__).parent.parent)
    except ValueError:
        raise ConfigurationError(
            f"the pocketsphinx model at {model_dir} is outside the pocketsphinx "
            "package; unset POCKETSPHINX_PATH for the build") from None
    if not (model_dir / "en-us" / "en-us.lm.bin").is_file():
        raise ConfigurationError(f"pocketsphinx model not found at {model_dir}")
    return [
        (str(path), str(dest / path.parent.relative_to(model_dir)))
        for path in sorted(model_dir.rglob("*"))
        if path.is_file() and path.name != "CMakeLists.txt"
    ]


def self_test() -> str:
    """The model files are there and a decoder builds from them."""
    model = Path(pocketsphinx.get_model_path()) / MODEL
    missing = [name for name in MODEL_FILES if not (model / name).exists()]
    if missing:
        raise RuntimeError(f"model files missing in {model}: {', '.join(missing)}")
    started = time.monotonic()
    pocketsphinx.Decoder(loglevel="FATAL")
    return f"pocketsphinx en-US model loads in {time.monotonic() - started:.1f} s"


if TYPE_CHECKING:
    # mypy checks here that this module, and so its PocketsphinxModel, implement the
    # interface the registry's descriptor expects.
    from dictation_app.engine import pocketsphinx_engine as _this
    from dictation_app.engine.descriptor import EngineImplementation

    _implementation: EngineImplementation = _this
