"""The `history` command's arguments, apart from its work (cli/history.py): building
the parser for `--version` or `stream` imports no SQLite store or exporters."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

# jobs/exports' ExportFormat values (tests/cli/test_history.py holds them equal).
FORMATS = ("txt", "srt", "vtt", "json")


def add_history_parser(commands: argparse._SubParsersAction,
                       parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """The `history` command and its `show` and `audio` subcommands."""
    history = commands.add_parser(
        "history", parents=list(parents), help="list the dictated takes the app kept",
        description="List the takes the window journaled (newest first), print one, or "
                    "write its recording.")
    history.add_argument("--json", action="store_true", help="print a JSON list")
    actions = history.add_subparsers(dest="history_command", metavar="ACTION")
    show = actions.add_parser("show", parents=list(parents), help="print one take")
    show.add_argument("id", type=int)
    show.add_argument("--format", choices=FORMATS, default="txt",
                      help="txt (default), srt, vtt or json (times within the recording)")
    audio = actions.add_parser("audio", parents=list(parents),
                               help="write one take's recording as a WAV file")
    audio.add_argument("id", type=int)
    audio.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.wav")
