"""`dictation-app monitor`: the Bahasakita account's transcription queues, headless.

    dictation-app monitor                   a table per queue, once
    dictation-app monitor --json            one JSON object (full uuids, for scripts)
    dictation-app monitor --watch 30        refresh every 30 s until Ctrl+C

The token comes from $DICTATION_BAHASAKITA_TOKEN or the keyring (the token saved in
the app's Settings); it is never taken on the command line, where `ps` would show it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dictation_app.cli.messages import cli_message
from dictation_app.core.errors import ConnectionFailed, DictationError
from dictation_app.core.secrets import BAHASAKITA_TOKEN_ENV, bahasakita_token
from dictation_app.protocols.bahasakita_account import (
    COUNTERS,
    DEFAULT_BASE_URL,
    QUEUE_LABELS,
    QUEUES,
    MonitoringSnapshot,
    QueueItem,
    format_created,
    format_duration,
    newest_first,
)

EXIT_FAILED = 1
_NAME_WIDTH = 40  # longer file names are shortened in the table; --json has them whole
_UUID_WIDTH = 8
_CLEAR_SCREEN = "\033[H\033[2J"


def add_monitor_parser(commands: argparse._SubParsersAction,
                       parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """The `monitor` command; `parents` bring the options every command has (-v)."""
    monitor = commands.add_parser(
        "monitor", parents=list(parents),
        help="show the Bahasakita account's transcription queues",
        description="Show the jobs waiting, processing, failed and done on the Bahasakita "
                    f"account. The token comes from ${BAHASAKITA_TOKEN_ENV} or the keyring, where "
                    "the app keeps it.")
    monitor.add_argument("--base-url", default=DEFAULT_BASE_URL,
                         help=f"account API address (default {DEFAULT_BASE_URL})")
    monitor.add_argument("--json", action="store_true",
                         help="print JSON instead of a table (one object per line with --watch)")
    monitor.add_argument("--watch", type=_seconds, metavar="SECONDS",
                         help="refresh every SECONDS until Ctrl+C")


async def run_monitor(args: argparse.Namespace) -> int:
    """Print the queues (once, or every --watch seconds); 1 with the cause on stderr on failure."""
    try:
        from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient

        token = bahasakita_token()
        async with BahasakitaAccountClient(base_url=args.base_url, token=token) as client:
            while True:
                try:
                    snapshot = await client.monitoring()
                except ConnectionFailed as exc:
                    if not args.watch:
                        raise
                    # A watch rides out a dropped network or a 5xx: say so, try again.
                    print(f"dictation-app: {cli_message(exc)}", file=sys.stderr, flush=True)
                else:
                    _show(snapshot, as_json=args.json, clear=bool(args.watch))
                if not args.watch:
                    return 0
                await _pause(args.watch)
    except DictationError as exc:
        print(f"dictation-app: {cli_message(exc)}", file=sys.stderr)
        return EXIT_FAILED


def _show(snapshot: MonitoringSnapshot, *, as_json: bool, clear: bool) -> None:
    if as_json:
        print(json.dumps(snapshot_json(snapshot), ensure_ascii=False), flush=True)
        return
    if clear and sys.stdout.isatty():
        print(_CLEAR_SCREEN, end="")  # a watch redraws in place, as watch(1) does
    print(render_table(snapshot, now=datetime.now()), flush=True)


# Tests replace this to step through a watch without waiting.
_pause = asyncio.sleep


def snapshot_json(snapshot: MonitoringSnapshot) -> dict[str, Any]:
    return {
        "username": snapshot.username,
        "queues": {name: [_item_json(item) for item in snapshot.queues[name]] for name in QUEUES},
        **{key: getattr(snapshot, key) for key in COUNTERS},
    }


def render_table(snapshot: MonitoringSnapshot, *, now: datetime) -> str:
    """A block per queue, newest job first, readable in an 80-column terminal."""
    counters = ", ".join(
        f"{label} {value}" for label, value in (
            ("in", snapshot.msg_in), ("out", snapshot.msg_out),
            ("status", snapshot.message_status)) if value is not None
    ) or "none reported"
    lines = [f"Bahasakita account: {snapshot.username or '(no name)'}",
             f"Messages: {counters}",
             f"Updated {now:%Y-%m-%d %H:%M:%S}"]
    header = ("ID", "File", "Duration", "Created", "Size MB")
    blocks = {name: [_row(item) for item in newest_first(snapshot.queues[name])]
              for name in QUEUES}
    # One set of column widths for every queue, so the blocks line up as one table.
    everything = [header, *(row for rows in blocks.values() for row in rows)]
    widths = [max(len(row[i]) for row in everything) for i in range(len(header))]
    for name, rows in blocks.items():
        lines += ["", f"{QUEUE_LABELS[name]} ({len(rows)})"]
        if not rows:
            lines.append("  (none)")
            continue
        for row in [header, *rows]:
            # Text columns left-aligned, numbers right-aligned so their digits line up.
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                     row[2].rjust(widths[2]), row[3].ljust(widths[3]), row[4].rjust(widths[4])]
            lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def _row(item: QueueItem) -> tuple[str, str, str, str, str]:
    return (item.uuid[:_UUID_WIDTH], _shorten(item.filename or "(unnamed)"),
            format_duration(item.duration) or "-", format_created(item.created) or "-",
            f"{item.filesize_mb:.1f}" if item.filesize_mb is not None else "-")


def _item_json(item: QueueItem) -> dict[str, Any]:
    return {"uuid": item.uuid, "filename": item.filename, "duration": item.duration,
            "created": format_created(item.created) or None, "filesize_mb": item.filesize_mb}



def _shorten(name: str) -> str:
    if len(name) <= _NAME_WIDTH:
        return name
    # Cut the middle: names differ by their date or number suffix and their extension.
    tail = (_NAME_WIDTH - 3) * 2 // 5
    return name[: _NAME_WIDTH - 3 - tail] + "..." + name[-tail:]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError("refresh at most once a second (--watch 1 or more)")
    return value
