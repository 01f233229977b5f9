"""The embedded offline engine: a WebSocket server speaking Bahasakita streaming v1 on loopback.

It serves whichever engine of engine/registry.py it is given by name, through the
`RecognizerModel`/`Recognizer` interface only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from dictation_app.core.errors import ConfigurationError, RemoteProtocolError
from dictation_app.engine.recognizer import (
    FinalResult,
    Recognizer,
    RecognizerEvent,
    RecognizerModel,
)
from dictation_app.engine.registry import engine_for
from dictation_app.protocols.bahasakita_stream import (
    MAX_FRAME_BYTES,
    AudioRequest,
    ConnRequest,
    MessageType,
    conn_reply,
    error_reply,
    final_reply,
    parse_request,
    partial_reply,
    stop_reply,
)
from dictation_app.protocols.reply_fields import decode_json

log = logging.getLogger(__name__)

PATH = "/v1/prod/stream"
# Set by EngineProcess: the parent holds our stdin open, so end-of-file on it means
# the parent is gone and nobody will ever stop us.
PARENT_PIPE_ENV = "DICTATION_APP_ENGINE_PARENT_PIPE"


async def serve_forever(host: str, port: int, *, ready: Callable[[str], None] | None = None,
                        engine: str | None = None, model: str | None = None,
                        language: str | None = None, **options: Any) -> None:
    """Load the engine's model, listen on host:port, call `ready(url)`, and serve until
    cancelled.

    `engine` is a registry name (None: the default engine); `model`, `language` and
    `options` (for pocketsphinx: grammar, decoder_options, ...) go to its descriptor's
    `load()`. Raises ConfigurationError if the engine is unknown or its model cannot
    load, OSError if the port is taken. With port 0, give one address: a name like
    "localhost" that resolves to IPv4 and IPv6 gets a different free port for each,
    and the URL names the first.
    """
    descriptor = engine_for(engine, options)
    recognizer_model = await asyncio.to_thread(descriptor.load, model, language, **options)
    await serve_model(host, port, recognizer_model, ready=ready)


async def serve_model(host: str, port: int, model: RecognizerModel, *,
                      ready: Callable[[str], None] | None = None) -> None:
    """Serve an engine's loaded `model` on host:port until cancelled; see serve_forever()."""

    async def handler(connection: ServerConnection) -> None:
        await _ConnectionHandler(model, connection).run()

    # Clients send audio as fast as they capture it; compression would only cost CPU.
    async with serve(handler, host, port, compression=None,
                     max_size=MAX_FRAME_BYTES) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        url = f"ws://{_url_host(host)}:{bound}{PATH}"
        log.info("offline engine (%s) listening on %s", model.description, url)
        if ready is not None:
            ready(url)
        await asyncio.Future()


def run_serve(host: str, port: int, *, engine: str | None = None,
              grammar: str | None = None, model: str | None = None,
              language: str | None = None) -> int:
    """Serve `engine` (None: the default) until SIGINT/SIGTERM; print `READY <url>` once
    listening. `model` (a name or folder) and `language` go to the engine; `grammar` is
    pocketsphinx's JSGF option, for tests. Returns an exit code."""
    options: dict[str, Any] = {} if grammar is None else {"grammar": grammar}
    options.update({k: v for k, v in (("model", model), ("language", language)) if v})

    def ready(url: str) -> None:
        print(f"READY {url}", flush=True)

    try:
        asyncio.run(_serve_until_stopped(host, port, ready, engine, options))
    except ConfigurationError as exc:
        print(f"dictation-app serve: {exc}", file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        print(f"dictation-app serve: cannot listen on {host}:{port}: {exc.strerror or exc}. "
              "Choose another --port or stop the program using it.", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        # Only where signal handlers cannot be installed on the loop (Windows).
        return 0
    return 0


async def _serve_until_stopped(host: str, port: int, ready: Callable[[str], None],
                               engine: str | None, options: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    if os.environ.get(PARENT_PIPE_ENV):
        _watch_parent(loop, stop)
    serving = asyncio.create_task(serve_forever(host, port, ready=ready, engine=engine,
                                                **options))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not serving.done():
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        return
    serving.result()


def _watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def parent_gone() -> None:
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(stop.set)

    watch_parent_pipe(parent_gone)


def watch_parent_pipe(on_gone: Callable[[], None]) -> None:
    """Call `on_gone()` from a daemon thread once stdin reaches end-of-file.

    Meaningful only when the parent holds our stdin open (it sets PARENT_PIPE_ENV):
    end-of-file then means it is gone.
    """
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return  # no stdin to watch (e.g. pythonw): nothing tells us the parent left

    def wait_for_eof() -> None:
        # os.read, not sys.stdin.read: a daemon thread blocked inside a buffered
        # reader makes interpreter shutdown abort.
        with contextlib.suppress(OSError):
            while os.read(fd, 4096):
                pass
        on_gone()

    threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class _ConnectionHandler:
    """One connection, holding at most one recognition session at a time."""

    def __init__(self, model: RecognizerModel, connection: ServerConnection):
        self._model = model
        self._connection = connection
        self._recognizer: Recognizer | None = None
        self._session_id: str | None = None

    async def run(self) -> None:
        try:
            async for frame in self._connection:
                for reply in await self._handle(frame):
                    await self._connection.send(reply)
        except ConnectionClosed:
            pass
        finally:
            await self._close_recognizer()

    async def _handle(self, frame: str | bytes) -> list[str]:
        try:
            request = parse_request(frame)
        except RemoteProtocolError as exc:
            return [error_reply(self._kind_of(frame), str(exc))]
        if isinstance(request, ConnRequest):
            return await self._on_conn()
        kind = (MessageType.AUDIO_STREAM if isinstance(request, AudioRequest)
                else MessageType.AUDIO_STOP)
        problem = self._session_problem(kind, request.session_id)
        if problem:
            return [error_reply(kind, problem)]
        recognizer = self._recognizer
        assert recognizer is not None  # _session_problem checked it
        try:
            if isinstance(request, AudioRequest):
                # Decoding blocks for tens of ms per chunk: keep it off the loop. Frames
                # are handled one at a time, so chunks reach the decoder in order.
                return _replies(await asyncio.to_thread(recognizer.feed, request.audio))
            replies = _replies(await asyncio.to_thread(recognizer.finish))
        except Exception as exc:  # the decoder failing must not take the server down
            log.exception("offline engine: decoding failed")
            await self._close_recognizer()
            return [error_reply(kind, f"Offline engine: decoding failed ({exc}); "
                                      "start a new session.")]
        await self._close_recognizer()
        return [*replies, stop_reply()]

    async def _on_conn(self) -> list[str]:
        if self._recognizer is not None:
            return [error_reply(MessageType.AUDIO_CONN,
                                f"audioConn while session {self._session_id} is open; "
                                "send audioStop first")]
        try:
            self._recognizer = await asyncio.to_thread(self._model.recognizer)
        except ConfigurationError as exc:
            return [error_reply(MessageType.AUDIO_CONN, str(exc))]
        self._session_id = secrets.token_hex(16)
        return [conn_reply(self._session_id)]

    def _session_problem(self, kind: MessageType, session_id: str | None) -> str | None:
        if self._recognizer is None:
            return f"{kind.value} before audioConn: open a session with audioConn first"
        # A missing sess_id is tolerated, so v2-style clients (which have none) work too.
        if session_id is not None and session_id != self._session_id:
            return (f"{kind.value} carries unknown sess_id {session_id!r}; use the sess_id "
                    "from the audioConn reply")
        return None

    def _kind_of(self, frame: str | bytes) -> MessageType:
        """Best guess at which request an unparsable frame was, to label the error reply."""
        with contextlib.suppress(RemoteProtocolError, KeyError, TypeError):
            message: Any = decode_json(frame, "client message")
            kind = MessageType.from_wire(message["bk"]["type"])
            if kind is not None:
                return kind
        return MessageType.AUDIO_STREAM if self._recognizer else MessageType.AUDIO_CONN

    async def _close_recognizer(self) -> None:
        recognizer, self._recognizer = self._recognizer, None
        self._session_id = None
        if recognizer is not None:
            # close() may end an utterance (a decoder pass): not on the loop either.
            await asyncio.to_thread(recognizer.close)


def _replies(events: list[RecognizerEvent]) -> list[str]:
    return [final_reply(e.text) if isinstance(e, FinalResult) else partial_reply(e.text)
            for e in events]
