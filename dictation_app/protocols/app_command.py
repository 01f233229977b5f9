"""The commands another process sends the running app over its single-instance socket.

The socket (app.py) has carried two older messages since before commands, each complete
when the sender disconnects, with no answer:

    raise\\n                        bring the window forward
    open\\n/abs/path\\n/abs/path\\n   ... and transcribe these files

A command is one JSON object on one line, which its first byte (`{`) tells apart:

    {"v": 1, "command": "record", "action": "start"}\\n
      actions: start, stop, toggle, status

and the app answers with one line before it closes the connection:

    {"v": 1, "ok": true, "state": "recording"}\\n
    {"v": 1, "ok": false, "state": "idle", "error": "The microphone is not open: ..."}\\n

`state` is the take's phase once the command has been acted on (idle, connecting,
recording, stopping). A message over `MAX_COMMAND_BYTES`, or one that is not such an
object, gets an `ok: false` answer naming what was wrong; a `v` this side does not know
is refused the same way, so a newer client talking to an older app says so.

Pure: no sockets, no Qt; the client is transport/app_command_client.py.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from dictation_app.core.errors import RemoteProtocolError
from dictation_app.protocols.reply_fields import decode_json, short

VERSION = 1
MAX_COMMAND_BYTES = 4096  # a command or an answer, its newline included
COMMAND_START = b"{"  # the first byte of a command; the older messages start with a word


class RecordAction(str, enum.Enum):
    START = "start"
    STOP = "stop"
    TOGGLE = "toggle"
    STATUS = "status"


class LiveState(str, enum.Enum):
    """What the app's live take is doing, as an answer names it."""

    IDLE = "idle"
    CONNECTING = "connecting"
    RECORDING = "recording"
    STOPPING = "stopping"


@dataclass(frozen=True)
class RecordCommand:
    action: RecordAction


@dataclass(frozen=True)
class CommandReply:
    ok: bool
    state: LiveState | None = None
    error: str = ""


def encode_command(command: RecordCommand) -> bytes:
    return _line({"v": VERSION, "command": "record", "action": command.action.value})


def encode_reply(reply: CommandReply) -> bytes:
    body: dict[str, object] = {"v": VERSION, "ok": reply.ok}
    if reply.state is not None:
        body["state"] = reply.state.value
    if reply.error:
        # An answer must fit its line: a long error is cut, never the JSON around it.
        body["error"] = reply.error[:MAX_COMMAND_BYTES // 8]
    return _line(body)


def parse_command(line: bytes) -> RecordCommand:
    """The command a client sent (one line, its newline stripped or not).

    Raises RemoteProtocolError saying what was wrong; the app answers with its message.
    """
    body = _object(line, "The command")
    version = body.get("v")
    if version != VERSION:
        raise RemoteProtocolError(
            f"The command's version {short(version)} is not supported (this app speaks "
            f"version {VERSION}); update the app or the command line so they match.")
    if body.get("command") != "record":
        raise RemoteProtocolError(f"Unknown command {short(body.get('command'))}; "
                                  "the app knows: record.")
    action = body.get("action")
    try:
        return RecordCommand(RecordAction(action))
    except ValueError:
        known = ", ".join(a.value for a in RecordAction)
        raise RemoteProtocolError(
            f"Unknown record action {short(action)}; the app knows: {known}.") from None


def parse_reply(line: bytes) -> CommandReply:
    """The app's answer, or RemoteProtocolError if it is not one."""
    body = _object(line, "dictation-app's answer")
    version = body.get("v")
    if version != VERSION:
        raise RemoteProtocolError(
            f"dictation-app answered in version {short(version)} of its command protocol; "
            f"this command line speaks version {VERSION}: update them so they match.")
    ok = body.get("ok")
    state = body.get("state")
    error = body.get("error", "")
    if not isinstance(ok, bool) or not isinstance(error, str) \
            or state not in {s.value for s in LiveState} | {None}:
        raise RemoteProtocolError(
            f"dictation-app's answer is not one this command line understands: "
            f"{short(line.decode('utf-8', 'replace'))}")
    return CommandReply(ok, None if state is None else LiveState(state), error)


def _object(line: bytes, what: str) -> dict[str, object]:
    line = line.rstrip(b"\r\n")
    if len(line) >= MAX_COMMAND_BYTES:
        raise RemoteProtocolError(
            f"{what} is too long (the limit is {MAX_COMMAND_BYTES:,} bytes).")
    if b"\n" in line:
        raise RemoteProtocolError(f"{what} must be one line.")
    body = decode_json(line, what, limit=MAX_COMMAND_BYTES, max_depth=4)
    if not isinstance(body, dict):
        raise RemoteProtocolError(f"{what} is not a JSON object.")
    return body


def _line(body: dict[str, object]) -> bytes:
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"
