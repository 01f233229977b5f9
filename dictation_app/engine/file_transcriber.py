"""Transcribe an audio file with an offline engine, block by block, as fast as it decodes.

`transcribe_file()` is the work itself, on any engine of engine/registry.py.
`run_engine_transcribe()` is the hidden `dictation-app engine-transcribe FILE
[--engine NAME]` command that runs it in a child process for
`services.local.LocalFileService`, speaking one JSON object per line on stdout:

    {"progress": 0.42}                         any number of times, rising, 0..1
    {"result": <transcript.to_store_dict()>}   once, exit code 0
    {"error": "<message>", "kind": "<name>"}   instead of a result, exit code 1

`kind` is the name of a DictationError subclass (errors.py). Anything else a child
does (a crash, a traceback on stderr) is for the parent to report.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dictation_app.audio.convert import PcmConverter
from dictation_app.audio.files import probe, read_blocks
from dictation_app.core.errors import DictationError
from dictation_app.engine.recognizer import FinalResult, RecognizerEvent, RecognizerModel
from dictation_app.engine.registry import engine_for
from dictation_app.engine.server import PARENT_PIPE_ENV, watch_parent_pipe
from dictation_app.protocols.transcript import Segment, Transcript, Word, to_store_dict

PROVIDER = "local"
BLOCK_SECONDS = 0.5  # of the file's own audio: bounds memory and the delay to notice a cancel
PROGRESS_INTERVAL = 0.1  # seconds between progress reports, at least
PROGRESS_STEP = 0.01  # rise between progress reports, at least

EXIT_OK = 0
EXIT_FAILED = 1


class TranscriptionCancelled(Exception):
    """`cancelled()` said stop; nothing failed, so this is not a DictationError."""


def transcribe_file(path: str | Path, *, model: RecognizerModel | None = None,
                    engine: str | None = None, grammar: str | Path | None = None,
                    language: str | None = None,
                    on_progress: Callable[[float], None] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> Transcript:
    """Decode `path` with `model`, or a new one of the registry's `engine` (None: the
    default; `grammar` is pocketsphinx's JSGF option, for tests; `language` the one
    spoken, None: the engine's own), into a Transcript.

    One segment per utterance the recognizer settles, with its span in seconds from the
    start of the file. `on_progress(fraction)` gets the share of the audio consumed,
    rising, at most every PROGRESS_INTERVAL and PROGRESS_STEP, and 1.0 at the end.
    `cancelled()` is asked before each block; when it says yes, TranscriptionCancelled
    is raised. A file that cannot be decoded raises UnsupportedInput; an unknown engine
    or a model (or grammar) that cannot be loaded, ConfigurationError. Blocks: run it in
    a worker thread or process.
    """
    if model is not None and (grammar is not None or engine is not None):
        raise ValueError("transcribe_file(): give a model, or an engine and its grammar")
    info = probe(path)  # before loading a model: a bad file fails fast
    if model is None:
        options: dict[str, Any] = {} if grammar is None else {"grammar": grammar}
        descriptor = engine_for(engine, options)
        if "partials" in descriptor.options:
            options["partials"] = False  # a file job shows no grey words; finals come sooner
        if language is None and descriptor.detects_language:
            language = "auto"  # no language chosen: Automatic, where the engine can tell
        # A language it does not know is refused here, by name, before any decoding.
        model = descriptor.create(language=language, **options)  # loads in session()
    converter = PcmConverter(info.samplerate, info.channels)
    progress = _ProgressThrottle(on_progress, info.frames)
    segments: list[Segment] = []

    def collect(events: list[RecognizerEvent]) -> None:
        segments.extend(
            Segment(start=e.start, end=e.end, speaker=None, text=e.text,
                    words=tuple(Word(w.text, w.start, w.end, w.confidence) for w in e.words))
            for e in events if isinstance(e, FinalResult))

    frames_read = 0
    block_frames = max(1, int(info.samplerate * BLOCK_SECONDS))
    with model.session() as recognizer, \
            contextlib.closing(read_blocks(info, block_frames=block_frames)) as blocks:
        for block in blocks:
            if cancelled is not None and cancelled():
                raise TranscriptionCancelled(f"transcription of {info.path.name} cancelled")
            frames_read += len(block)
            collect(recognizer.feed(converter.convert(block)))
            progress.update(frames_read)
        collect(recognizer.feed(converter.finish()))
        collect(recognizer.finish())
    progress.done()
    return Transcript(provider=PROVIDER, file=str(path), language=model.language,
                      duration=round(frames_read / info.samplerate, 3),
                      text=" ".join(s.text for s in segments), segments=tuple(segments))


class _ProgressThrottle:
    """Turns frames consumed into rising progress calls, no more often than a person needs."""

    def __init__(self, report: Callable[[float], None] | None, total_frames: int):
        self._report = report
        self._total = total_frames
        self._last = 0.0
        self._last_time = time.monotonic()

    def update(self, frames: int) -> None:
        if self._report is None or self._total <= 0:
            return  # an unknown length gives no fraction; done() still reports 1.0
        # Only done() says 1.0: a length estimated from the header may run short.
        fraction = min(frames / self._total, 0.999)
        now = time.monotonic()
        if fraction - self._last >= PROGRESS_STEP and now - self._last_time >= PROGRESS_INTERVAL:
            self._last, self._last_time = fraction, now
            self._report(fraction)

    def done(self) -> None:
        if self._report is not None:
            self._report(1.0)


# --- the hidden `engine-transcribe` command --------------------------------------


def run_engine_transcribe(path: str | Path, grammar: str | Path | None = None, *,
                          engine: str | None = None, language: str | None = None) -> int:
    """Transcribe `path` with `engine` (None: the default), writing JSON lines (see the
    module docstring) to stdout.

    Returns the exit code. When the parent holds our stdin open (PARENT_PIPE_ENV),
    end-of-file on it means the parent died: stop decoding and exit.
    """
    parent_gone = threading.Event()
    if os.environ.get(PARENT_PIPE_ENV):
        watch_parent_pipe(parent_gone.set)
    try:
        try:
            transcript = transcribe_file(
                path, engine=engine, grammar=grammar, language=language,
                cancelled=parent_gone.is_set,
                on_progress=lambda fraction: _emit({"progress": round(fraction, 4)}))
        except TranscriptionCancelled:
            return EXIT_FAILED  # nobody is left to tell
        except DictationError as exc:
            _emit({"error": str(exc), "kind": type(exc).__name__})
            return EXIT_FAILED
        _emit({"result": to_store_dict(transcript)})
        return EXIT_OK
    except BrokenPipeError:
        # Nobody reads our output any more; keep the interpreter's last flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def _emit(message: dict[str, Any]) -> None:
    # ASCII-only JSON: the pipe's encoding then cannot matter (Windows' is the locale's).
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()
