"""How long a 10-hour transcript takes to export to every format.

Run: .venv/bin/python bench/bench_export.py

The transcript has 10,000 segments over 10 hours, each with about 12 timed words, two
speakers taking turns, punctuation, and a few segments without times, the way a long
diarized meeting comes back from a service. Each format is exported 5 times and the
best wall time is kept (time.perf_counter), so the figure is the code's cost rather
than the machine's noise; peak memory is measured by tracemalloc in a separate run, as
tracing slows the code down. The JSON export is also checked against json.dumps of
its document, whose text it must reproduce. Target: all four formats in under 1 s
together. `make bench` writes what this prints to bench/results/bench_export.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dictation_app.jobs.exports import ExportFormat, export
from dictation_app.jobs.exports.json_text import transcript_dict
from dictation_app.protocols.transcript import Segment, Transcript, Word

HOURS = 10
SEGMENTS = 10_000
TARGET_S = 1.0
VOCABULARY = (
    "the", "budget", "for", "next", "quarter", "is", "under", "review", "and", "we",
    "agreed", "to", "send", "the", "revised", "figures", "by", "Friday", "could", "you",
    "repeat", "the", "last", "number", "please", "yes", "it", "was", "four", "hundred",
    "and", "twenty", "thousand", "thank", "you", "everyone", "for", "joining", "the",
    "call", "today",
)


def build_transcript(seed: int = 7) -> Transcript:
    """SEGMENTS segments evenly over HOURS hours, ~12 words each, all words timed."""
    rng = random.Random(seed)
    span = HOURS * 3600 / SEGMENTS
    segments = []
    for index in range(SEGMENTS):
        start = index * span
        count = rng.randint(9, 15)
        step = (span - 0.4) / count
        words = []
        for n in range(count):
            token = rng.choice(VOCABULARY)
            if n == 0:
                token = token.capitalize()
            if n == count - 1:
                token += "."
            elif rng.random() < 0.08:
                token += ","
            word_start = round(start + n * step, 3)
            words.append(Word(token, word_start, round(word_start + step * 0.85, 3),
                              round(rng.uniform(0.6, 1.0), 3)))
        untimed = index % 500 == 499  # now and then a service leaves the times out
        segments.append(Segment(
            start=None if untimed else round(start, 3),
            end=None if untimed else round(start + span - 0.4, 3),
            speaker=f"speaker_{(index // 3) % 2}",
            text=" ".join(w.word for w in words),
            words=() if untimed else tuple(words),
        ))
    return Transcript(
        provider="bench", file="meeting.wav", language="en", duration=HOURS * 3600.0,
        text=" ".join(s.text for s in segments), segments=tuple(segments),
    )


def best_of(transcript: Transcript, fmt: ExportFormat, repetitions: int) -> tuple[float, int]:
    """Best wall seconds of `repetitions` exports, and the output's size in characters."""
    best = float("inf")
    size = 0
    for _ in range(repetitions):
        started = time.perf_counter()
        text = export(transcript, fmt, timestamps=True, speakers=True)
        best = min(best, time.perf_counter() - started)
        size = len(text)
    return best, size


def stdlib_json(transcript: Transcript) -> tuple[float, str]:
    """Seconds json.dumps takes for the same document, and the text it writes."""
    started = time.perf_counter()
    text = json.dumps(transcript_dict(transcript), ensure_ascii=False, indent=2)
    return time.perf_counter() - started, text


def peak_memory(transcript: Transcript, fmt: ExportFormat) -> int:
    tracemalloc.start()
    try:
        export(transcript, fmt, timestamps=True, speakers=True)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()

    transcript = build_transcript()
    words = sum(len(s.words) for s in transcript.segments)
    rows = []
    total = 0.0
    for fmt in ExportFormat:
        seconds, size = best_of(transcript, fmt, args.repetitions)
        memory = None if args.no_memory else peak_memory(transcript, fmt)
        rows.append((fmt, seconds, size, memory))
        total += seconds

    print(
        f"Export of a {HOURS}-hour transcript: {SEGMENTS:,} segments, {words:,} timed words, "
        f"2 speakers; best of {args.repetitions}, TXT with timestamps and speakers."
    )
    print()
    print("| format | best wall time | output | peak memory (tracemalloc) |")
    print("|---|---:|---:|---:|")
    for fmt, seconds, size, memory in rows:
        peak = "-" if memory is None else f"{memory / 2**20:.1f} MiB"
        print(f"| {fmt.value.upper()} | {seconds * 1000:.0f} ms | {size / 2**20:.1f} MiB "
              f"| {peak} |")
    print(f"| **total** | **{total * 1000:.0f} ms** | | |")
    stdlib = min(stdlib_json(transcript)[0] for _ in range(args.repetitions))
    same = stdlib_json(transcript)[1] == export(transcript, ExportFormat.JSON)
    print()
    print(f"For comparison, json.dumps(..., indent=2) of the same transcript: "
          f"{stdlib * 1000:.0f} ms; the JSON export's text is "
          f"{'identical' if same else 'DIFFERENT'}.")
    print()
    ok = total < TARGET_S and same
    print(f"Target: all formats under {TARGET_S:.0f} s together.")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
