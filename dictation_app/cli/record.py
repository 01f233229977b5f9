"""`dictation-app record start|stop|toggle|status`: drive the running window's live take
from a desktop or compositor key binding (sway, Hyprland, GNOME custom shortcuts).

It talks to the window over its single-instance socket (transport/app_command_client.py)
with no Qt, so a key press costs a Python start-up and one round trip. Exit 0 once the
window has acted on it; 1 when no window is running, it does not answer in time (2 s), or
it refused (a start with no microphone, say: its reason is printed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dictation_app.protocols.app_command import RecordAction, RecordCommand

EXIT_FAILED = 1

RECORD_HELP = "start, stop or toggle the running window's dictation (for key bindings)"
RECORD_EPILOG = """\
For a key binding: toggle on one key, or start on press and stop on release to hold to
talk. In sway:
  bindsym --no-repeat F9 exec dictation-app record start
  bindsym --release F9 exec dictation-app record stop
In Hyprland:
  bind = , F9, exec, dictation-app record start
  bindr = , F9, exec, dictation-app record stop

Prints the take's state afterwards (idle, connecting, recording, stopping). Exits 1 if
the window is not running, does not answer within 2 s, or cannot start (no microphone, a
setting missing): the reason is printed.
"""


def add_record_parser(commands: argparse._SubParsersAction,
                      parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    record = commands.add_parser(
        "record", parents=list(parents), help=RECORD_HELP,
        description="Tell the running dictation-app window to start, stop or toggle a "
                    "live take, or print what it is doing.",
        epilog=RECORD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    record.add_argument("action", choices=[a.value for a in RecordAction],
                        help="start, stop, toggle (start when idle, else stop), or status")
    record.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS",
                        help=argparse.SUPPRESS)  # for tests of a window that hangs


def run_record(args: argparse.Namespace) -> int:
    """Send the command; errors (not running, no answer) go to main()'s DictationError."""
    from dictation_app.transport.app_command_client import AppNotRunning, send_command

    try:
        reply = send_command(RecordCommand(RecordAction(args.action)), timeout=args.timeout)
    except AppNotRunning as exc:
        print(exc, file=sys.stderr)  # the message names the app already
        return EXIT_FAILED
    if not reply.ok:
        print(f"dictation-app: {reply.error or 'the window refused the command'}",
              file=sys.stderr)
        return EXIT_FAILED
    if reply.state is not None:
        print(reply.state.value)
    return 0
