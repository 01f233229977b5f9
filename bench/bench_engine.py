"""Benchmark the embedded recognizer on one core: real-time factor, WER and result latency."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dictation_app.engine.pocketsphinx_engine import TUNED_DECODER_OPTIONS, PocketsphinxModel
from dictation_app.engine.recognizer import FinalResult, PartialResult, RecognizerModel

CHUNK_BYTES = 3200  # 100 ms, as the streaming protocol sends it
CHUNK_SECONDS = 0.1
ONSET_RMS = 500.0  # s16 units; espeak-ng speech is ~3000, digital silence 0

SENTENCES = [
    "the weather is nice today",
    "please send the report to my office before noon",
    "we will meet at the station at seven o'clock",
    "my brother bought a new car last week",
    "the children are playing in the garden",
    "can you tell me where the nearest hospital is",
    "i would like a cup of coffee with milk",
    "the meeting has been moved to next thursday",
    "she reads a book every night before she goes to sleep",
    "the price of oil went up again this morning",
    "our team won the game by three points",
    "he forgot his keys at home",
    "the company plans to hire more people next year",
    "it is raining so take an umbrella",
    "they live in a small house near the river",
    "the doctor said i should drink more water",
    "we need to buy bread and eggs",
    "the train was late because of the snow",
    "thank you very much for your help",
    "the government announced a new tax policy",
]


def speak(text: str, voice: str, workdir: Path) -> bytes:
    """espeak-ng -> 16 kHz mono s16le, without dither so every run gets the same samples."""
    wav = workdir / "say.wav"
    raw = workdir / "say.raw"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
    subprocess.run(["sox", "-V1", str(wav), "-D", "-r", "16000", "-c", "1", "-b", "16",
                    "-e", "signed-integer", "-t", "raw", str(raw)], check=True)
    return raw.read_bytes()


def build_corpus(voice: str, pause: float) -> bytes:
    silence = bytes(int(pause * 16000) * 2)
    with tempfile.TemporaryDirectory() as tmp:
        parts = [silence]
        for sentence in SENTENCES:
            parts += [speak(sentence, voice, Path(tmp)), silence]
    return b"".join(parts)


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row = row, [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref != hyp))
    return row[-1]


@dataclass
class Result:
    label: str
    rtf: float
    cpu_rtf: float
    wer: float
    finals: int
    partial_latency: list[float]  # per utterance, seconds, fed at real time
    burst_latency: list[float]  # per utterance, wall time fed as fast as possible
    final_latency: list[float]  # end of speech -> final, fed at real time
    hypothesis: list[str]


def onsets_and_ends(chunks: Sequence[bytes]) -> tuple[list[int], list[int]]:
    loud = [float(np.sqrt(np.mean(np.frombuffer(c, "<i2").astype(np.float64) ** 2))) > ONSET_RMS
            for c in chunks]
    onsets = [i for i, x in enumerate(loud) if x and (i == 0 or not loud[i - 1])]
    ends = [i for i, x in enumerate(loud) if x and (i + 1 == len(loud) or not loud[i + 1])]
    # espeak-ng's own short pauses (commas, stops) are not utterance boundaries.
    merged_onsets, merged_ends = [onsets[0]], []
    for end, onset in zip(ends, onsets[1:], strict=False):
        if onset - end > 5:
            merged_ends.append(end)
            merged_onsets.append(onset)
    merged_ends.append(ends[-1])
    return merged_onsets, merged_ends


def run(label: str, model: RecognizerModel, pcm: bytes) -> Result:
    chunks = [pcm[i:i + CHUNK_BYTES] for i in range(0, len(pcm), CHUNK_BYTES)]
    onsets, ends = onsets_and_ends(chunks)
    model.load()
    recognizer = model.recognizer()
    seconds: list[float] = []
    events_at: list[list[Any]] = []
    cpu_start = time.process_time()
    for chunk in chunks:
        start = time.perf_counter()
        events = recognizer.feed(chunk)
        seconds.append(time.perf_counter() - start)
        events_at.append(events)
    start = time.perf_counter()
    tail = recognizer.finish()
    seconds[-1] += time.perf_counter() - start
    events_at[-1] = events_at[-1] + tail
    cpu = time.process_time() - cpu_start
    recognizer.close()

    finals = [e.text for events in events_at for e in events if isinstance(e, FinalResult)]
    reference = " ".join(SENTENCES).split()
    errors = word_errors(reference, " ".join(finals).split())

    partial_latency, burst_latency, final_latency = [], [], []
    for onset, end in zip(onsets, ends, strict=True):
        for k in range(onset, len(chunks)):
            if any(isinstance(e, PartialResult) and e.text for e in events_at[k]):
                partial_latency.append((k - onset) * CHUNK_SECONDS + seconds[k])
                burst_latency.append(sum(seconds[onset:k + 1]))
                break
        for k in range(end, len(chunks)):
            if any(isinstance(e, FinalResult) for e in events_at[k]):
                final_latency.append((k - end) * CHUNK_SECONDS + seconds[k])
                break
    audio = len(pcm) / 32000
    return Result(label, sum(seconds) / audio, cpu / audio, errors / len(reference),
                  len(finals), partial_latency, burst_latency, final_latency, finals)


def describe(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items()) or "pocketsphinx defaults"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="Speaks a fixed text with espeak-ng (about 60 s with pauses), feeds it in "
               "100 ms chunks to a recognizer with pocketsphinx's own defaults and one with "
               "our tuned defaults, and prints a markdown table. Needs espeak-ng and sox.")
    parser.add_argument("--voice", default="en-us+klatt",
                        help="espeak-ng voice (the klatt voices suit the model best)")
    parser.add_argument("--pause", type=float, default=0.8, help="silence between sentences, s")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per configuration; the fastest is reported")
    parser.add_argument("--verbose", action="store_true", help="print every final")
    args = parser.parse_args()
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed")
    os.sched_setaffinity(0, {0})

    pcm = build_corpus(args.voice, args.pause)
    configs = [("untuned", PocketsphinxModel(tuned=False)), ("tuned", PocketsphinxModel())]
    # Interleaved, best of N: a shared or throttled core slows whole stretches of time,
    # and must not favour whichever configuration ran in a quiet one.
    runs: dict[str, list[Result]] = {label: [] for label, _ in configs}
    for _ in range(max(1, args.repeat)):
        for label, model in configs:
            runs[label].append(run(label, model, pcm))
    results = [min(runs[label], key=lambda r: r.cpu_rtf) for label, _ in configs]

    utterances = len(SENTENCES)
    print(f"\n{len(pcm) / 32000:.1f} s of espeak-ng speech ({args.voice}), {utterances} "
          f"sentences, {args.pause} s pauses, one core, 100 ms chunks.\n")
    print("| decoder | RTF (wall) | RTF (CPU) | WER | finals | first partial after onset, "
          "median / max | same, fed as fast as possible | final after speech end, "
          "median / max |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r.label} | {r.rtf:.3f} | {r.cpu_rtf:.3f} | {r.wer:.1%} | "
              f"{r.finals}/{utterances} | "
              f"{statistics.median(r.partial_latency):.2f} / {max(r.partial_latency):.2f} s | "
              f"{statistics.median(r.burst_latency) * 1000:.0f} / "
              f"{max(r.burst_latency) * 1000:.0f} ms | "
              f"{statistics.median(r.final_latency):.2f} / {max(r.final_latency):.2f} s |")
    print(f"\ntuned = {describe(TUNED_DECODER_OPTIONS)}")
    if args.verbose:
        for r in results:
            print(f"\n{r.label}:")
            for text in r.hypothesis:
                print("  ", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
