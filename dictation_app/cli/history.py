"""`dictation-app history`: the takes the window journaled, headless.

    dictation-app history                        a table, newest first
    dictation-app history --json                 a JSON list (the fields below, fixed)
    dictation-app history show ID [--format F]   one take as txt, srt, vtt or json
    dictation-app history audio ID -o OUT.wav    write the take's recording

`--json` gives, per take, exactly {"id", "started" (ISO 8601 with the UTC offset),
"duration" (seconds), "engine", "recovered" (bool), "finals" (how many), "audio" (the
recording's path, or null), "text"}. This only reads the history: a take the window is
recording now is listed as it stands, and recovery stays the window's job.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from dictation_app.core.errors import ConfigurationError
from dictation_app.jobs.exports import ExportFormat, export
from dictation_app.takes.model import Take
from dictation_app.takes.recording import copy_recording
from dictation_app.takes.store import TakeStore, default_path

_FIRST_WORDS = 48


def run_history(args: argparse.Namespace, *, path: Path | None = None) -> int:
    path = path or default_path()
    command = getattr(args, "history_command", None)
    if command is None:
        takes = _takes(path)
        if args.json:
            print(json.dumps([take_json(t) for t in takes], ensure_ascii=False, indent=2))
        else:
            _print_table(takes)
        return 0
    take = _take(path, args.id)
    if command == "show":
        fmt = ExportFormat(args.format)
        text = take.text if fmt is ExportFormat.TXT else export(take.to_transcript(), fmt)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    if take.recording is None or not take.recording.is_file():
        raise ConfigurationError(
            f"Take {take.id} has no recording: recordings were turned off in Preferences "
            "when it was made, or it was deleted when it got older than the days set in "
            f"Preferences to keep them. `dictation-app history show {take.id}` prints its text.")
    output: Path = args.output
    try:
        seconds = copy_recording(take.recording, output)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write the recording of take {take.id} to {output}: "
            f"{exc.strerror or exc}. Choose a folder you can write to.") from exc
    print(f"Wrote {seconds:.1f} s of take {take.id} to {output}", file=sys.stderr)
    return 0


def take_json(take: Take) -> dict[str, Any]:
    """One take as `history --json` lists it: these keys, no others."""
    audio = take.recording if take.recording is not None and take.recording.is_file() else None
    return {
        "id": take.id,
        "started": datetime.fromtimestamp(take.started).astimezone().isoformat(
            timespec="seconds"),
        "duration": round(take.duration, 2),
        "engine": take.engine,
        "recovered": take.recovered,
        "finals": len(take.finals),
        "audio": None if audio is None else str(audio),
        "text": take.text,
    }


def _takes(path: Path) -> list[Take]:
    if not path.exists():
        return []  # nothing dictated yet; reading creates no history
    with TakeStore(path) as store:
        return store.list()


def _take(path: Path, take_id: int) -> Take:
    take = None
    if path.exists():
        with TakeStore(path) as store:
            take = store.get(take_id)
    if take is None:
        raise ConfigurationError(
            f"There is no take {take_id} in the history: `dictation-app history` lists "
            "the ids.")
    return take


def _print_table(takes: list[Take]) -> None:
    if not takes:
        print("No takes yet: what you dictate in the window is kept here.", file=sys.stderr)
        return
    print(f"{'id':>5}  {'started':<16}  {'length':>7}  {'engine':<14}  text")
    for take in takes:
        started = datetime.fromtimestamp(take.started).strftime("%Y-%m-%d %H:%M")
        minutes, secs = divmod(round(take.duration), 60)
        words = take.preview[:_FIRST_WORDS]
        mark = {"recovered": " (recovered)", "recording": " (recording)"}.get(
            take.state.value, "")
        print(f"{take.id:>5}  {started:<16}  {minutes:>4}:{secs:02d}  {take.engines_label:<14}  "
              f"{words}{mark}")
