"""Send one command to the running app over its local socket and read its answer.

A plain Unix socket on the path QLocalServer listens on (core/instance.py), so the
command line needs no Qt; the messages are protocols/app_command.py. Every wait has a
deadline: the connect and the answer each get `timeout` seconds.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from dictation_app.core.errors import ConfigurationError, ConnectionFailed
from dictation_app.core.instance import instance_socket_path
from dictation_app.protocols.app_command import (
    MAX_COMMAND_BYTES,
    CommandReply,
    RecordCommand,
    encode_command,
    parse_reply,
)

DEFAULT_TIMEOUT = 2.0
NOT_RUNNING = "dictation-app is not running; start it first"


class AppNotRunning(ConnectionFailed):
    """Nobody listens on the app's socket: the app is not running (for this config dir)."""


def send_command(command: RecordCommand, *, path: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> CommandReply:
    """The running app's answer to `command`.

    Raises AppNotRunning when no app listens, ConnectionFailed when it does not answer in
    time or hangs up, RemoteProtocolError when what it sends back is not an answer.
    """
    if not hasattr(socket, "AF_UNIX"):  # Windows: QLocalServer listens on a named pipe
        raise ConfigurationError("dictation-app record needs a Unix socket; on Windows, "
                                 "use the window's push-to-talk key for now")
    path = instance_socket_path() if path is None else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            # No socket file, or one a crashed run left behind with nobody on it.
            raise AppNotRunning(NOT_RUNNING) from exc
        except TimeoutError as exc:
            raise ConnectionFailed(f"dictation-app did not accept the connection within "
                                   f"{timeout:g} s; is it hung? ({path})") from exc
        except OSError as exc:
            raise ConnectionFailed(f"Could not reach dictation-app at {path}: "
                                   f"{exc.strerror or exc}") from exc
        try:
            sock.sendall(encode_command(command))
            line = _read_line(sock, deadline=time.monotonic() + timeout)
        except TimeoutError as exc:
            raise ConnectionFailed(
                f"dictation-app did not answer within {timeout:g} s; is it hung?") from exc
        except OSError as exc:
            raise ConnectionFailed(f"dictation-app closed the connection before it "
                                   f"answered: {exc.strerror or exc}") from exc
    return parse_reply(line)


def _read_line(sock: socket.socket, *, deadline: float) -> bytes:
    """One line, at most MAX_COMMAND_BYTES (longer: what there is, for the parser to refuse)."""
    received = bytearray()
    while b"\n" not in received and len(received) < MAX_COMMAND_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        data = sock.recv(MAX_COMMAND_BYTES)
        if not data:
            if not received:
                raise ConnectionResetError(0, "it hung up without a word")
            break
        received += data
    return bytes(received.split(b"\n", 1)[0])
