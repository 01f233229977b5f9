"""Benchmark the offline engines on real speech (tests/data/speech): file WER and CPU
real-time factor on one core, and live latency, CPU and WER at real-time pace."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_engine import word_errors
from dictation_app.engine.recognizer import (
    FinalResult,
    PartialResult,
    RecognizerEvent,
    RecognizerModel,
)
from dictation_app.engine.registry import get_engine

SPEECH = Path(__file__).resolve().parents[1] / "tests" / "data" / "speech"
CHUNK_BYTES = 3200
GAP = 1.5  # seconds of silence before each clip in the live stream
# Live at real-time pace takes as long as the audio: read speech and a monologue.
LIVE_CLIPS = ("en_ps_librivox_0870", "en_ps_librivox_0880", "en_ps_librivox_0890",
              "en_ps_librivox_0920", "en_ps_librivox_0930", "en_ps_goforward",
              "en_ps_cards_005", "en_mfa_cold_corpus3")

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SPOKEN = {"mr": "mister", "mrs": "missus", "dr": "doctor", "ok": "okay"}


def spoken(number: int) -> list[str]:
    if number < 20:
        return [_UNITS[number]]
    if number < 100:
        return [_TENS[number // 10]] + ([_UNITS[number % 10]] if number % 10 else [])
    return [str(number)]


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation, hyphens split, 0-99 and a few abbreviations spelled out:
    Whisper writes "10 of clubs" and "Mr. Dashwood" where the references spell them."""
    out: list[str] = []
    for token in re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split():
        token = token.strip("'")
        if token.isdigit():
            out += spoken(int(token))
        elif token:
            out.append(_SPOKEN.get(token, token))
    return out


def clip_pcm(clip: str) -> bytes:
    samples, rate = soundfile.read(SPEECH / f"{clip}.flac", dtype="int16")
    assert rate == 16000 and samples.ndim == 1, clip
    return samples.astype("<i2").tobytes()


def reference(clip: str) -> list[str]:
    return normalise((SPEECH / f"{clip}.txt").read_text(encoding="utf-8"))


def english_clips() -> list[str]:
    return sorted(p.stem for p in SPEECH.glob("en_*.flac"))


@dataclass
class FileRun:
    words: int = 0
    errors: int = 0
    audio: float = 0.0
    cpu: float = 0.0
    speech_spans: dict[str, tuple[float, float]] = field(default_factory=dict)


def transcribe_files(model: RecognizerModel, clips: list[str], *,
                     joined: bool = False) -> FileRun:
    """Each clip through one recognizer session, fed as fast as it decodes; `joined`: all
    of them as one file, a second of silence apart (what a long recording costs)."""
    run = FileRun()
    inputs = [(clip, clip_pcm(clip), reference(clip)) for clip in clips]
    if joined:
        gap = bytes(32000)
        inputs = [("joined", gap.join(pcm for _, pcm, _ in inputs),
                   [w for _, _, ref in inputs for w in ref])]
    for clip, pcm, ref in inputs:
        started = time.process_time()
        finals: list[FinalResult] = []
        with model.session() as recognizer:
            for offset in range(0, len(pcm), CHUNK_BYTES * 10):
                finals += [e for e in recognizer.feed(pcm[offset:offset + CHUNK_BYTES * 10])
                           if isinstance(e, FinalResult)]
            finals += [e for e in recognizer.finish() if isinstance(e, FinalResult)]
        run.cpu += time.process_time() - started
        run.audio += len(pcm) / 32000
        run.words += len(ref)
        run.errors += word_errors(ref, normalise(" ".join(f.text for f in finals)))
        spoken_words = [w for f in finals for w in f.words]
        if spoken_words:
            run.speech_spans[clip] = (spoken_words[0].start, spoken_words[-1].end)
    return run


@dataclass
class LiveRun:
    wer: float
    cpu_share: float  # of one core, over the run
    first_partial: list[float]  # seconds after speech onset, per clip
    final_after_end: list[float]  # seconds after speech end, per clip


def stream_live(model: RecognizerModel, clips: list[str],
                spans: dict[str, tuple[float, float]]) -> LiveRun:
    """The clips with GAP s of silence before each, fed 100 ms per 100 ms as a microphone
    delivers them; times each clip's first partial and its last final."""
    stream = bytearray()
    onsets: list[tuple[str, float, float]] = []  # clip, speech onset, speech end (stream s)
    for clip in clips:
        stream += bytes(int(GAP * 32000))
        at = len(stream) / 32000
        first, last = spans[clip]
        onsets.append((clip, at + first, at + last))
        stream += clip_pcm(clip)
    stream += bytes(int(GAP * 32000))
    arrivals: list[tuple[float, RecognizerEvent]] = []
    cpu0, started = time.process_time(), time.monotonic()
    with model.session() as recognizer:
        for index, offset in enumerate(range(0, len(stream), CHUNK_BYTES)):
            time.sleep(max(0.0, started + (index + 1) * 0.1 - time.monotonic()))
            now = time.monotonic() - started
            arrivals += [(now, e) for e in recognizer.feed(stream[offset:offset + CHUNK_BYTES])]
        now = time.monotonic() - started
        arrivals += [(now, e) for e in recognizer.finish()]
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - started
    first_partial, final_after_end = [], []
    for index, (_clip, onset, end) in enumerate(onsets):
        until = onsets[index + 1][1] if index + 1 < len(onsets) else float("inf")
        partials = [t for t, e in arrivals
                    if isinstance(e, PartialResult) and e.text and onset <= t < until]
        finals = [t for t, e in arrivals if isinstance(e, FinalResult) and end <= t < until]
        if partials:
            first_partial.append(partials[0] - onset)
        if finals:
            final_after_end.append(finals[-1] - end)
    ref = [w for clip in clips for w in reference(clip)]
    hyp = normalise(" ".join(e.text for _, e in arrivals if isinstance(e, FinalResult)))
    return LiveRun(word_errors(ref, hyp) / len(ref), cpu / wall, first_partial,
                   final_after_end)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-live", action="store_true", help="file figures only")
    args = parser.parse_args()
    clips = english_clips()
    rows = []
    for engine, options in (("whisper", {"threads": 1, "partials": False}),
                            ("pocketsphinx", {})):
        os.sched_setaffinity(0, {0})  # files: one core
        model = get_engine(engine).load(**options)
        rows.append((engine, transcribe_files(model, clips)))
        rows.append((f"{engine}, as one file", transcribe_files(model, clips, joined=True)))
    # The multilingual model every language but English uses, on the same English clips.
    base = get_engine("whisper").load(model="base", language="en", threads=1, partials=False)
    rows.append(("whisper base (99 languages), as one file",
                 transcribe_files(base, clips, joined=True)))
    audio = rows[0][1].audio
    print(f"\n{len(clips)} English clips of real speech, {audio:.1f} s "
          f"(tests/data/speech), fed as fast as the engine decodes, one core.\n")
    print("| engine | WER | CPU real-time factor |")
    # "as one file": the clips joined, a second apart, one session (a long recording).
    print("|---|---:|---:|")
    for engine, files in rows:
        print(f"| {engine} | {files.errors / files.words:.1%} | {files.cpu / files.audio:.3f} |")
    if args.no_live:
        return 0
    spans = rows[0][1].speech_spans  # where Whisper's words say the speech is
    live_clips = [c for c in LIVE_CLIPS if c in spans]
    live_audio = sum(len(clip_pcm(c)) / 32000 for c in live_clips)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    print(f"\nLive: {len(live_clips)} clips ({live_audio:.1f} s of speech, {GAP} s of "
          "silence before each) at real-time pace in 100 ms chunks, both cores.\n")
    print("| engine | WER | CPU (share of one core) | first partial after onset, median / "
          "max | final after speech end, median / max |")
    print("|---|---:|---:|---|---|")
    for engine, options in (("whisper", {}), ("pocketsphinx", {})):
        model = get_engine(engine).load(**options)
        live = stream_live(model, live_clips, spans)
        print(f"| {engine} | {live.wer:.1%} | {live.cpu_share:.2f} | "
              f"{statistics.median(live.first_partial):.2f} / {max(live.first_partial):.2f} s"
              f" | {statistics.median(live.final_after_end):.2f} / "
              f"{max(live.final_after_end):.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
