"""A loopback server that speaks Bahasakita's documented streaming protocol, for tests.

It builds its replies as raw JSON straight from the vendor's examples (not with the
app's own builders), records every audio byte it receives, and can misbehave on
request: reject the session, demand a token, drop the connection (once or every
session), stop reading the socket, stall (read but never answer), send garbage, send
any raw frame after a given chunk (`inject`), a final of another session, or an
audioStop nobody asked for. `go_down()` and `come_back()` make an outage: while down,
open sessions are cut off and every handshake gets HTTP 503.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response


@dataclass(frozen=True)
class RawText:
    """A text frame carrying these bytes as they are, valid UTF-8 or not."""

    data: bytes


Frame = str | bytes | RawText  # a text frame, a binary frame, an unchecked text frame


@dataclass
class Behaviour:
    version: str = "v1"  # "v1" | "v2"
    token: str | None = None  # when set, other tokens get HTTP 401 at the handshake
    reject_conn: str | None = None  # audioConn answered with status 400 and this message
    reject_from: int = 0  # ... from this session on (counted from 0), the ones before open
    partial_every: int = 5  # a partial after every N chunks ...
    final_every: int = 20  # ... and a final after every M chunks
    drop_after: int | None = None  # close the first session's socket (no audioStop) after N chunks
    drop_every: int | None = None  # close every session's socket after N chunks of its own
    stop_reading_after: int | None = None  # once: after N chunks, stop reading the socket
    stall_after: int | None = None  # once: after N chunks, read on but never answer again
    chunk_delay: float = 0.0  # seconds spent on each chunk: a link slower than real time
    garbage_after: int | None = None  # send a non-JSON frame after N chunks
    reply_type_case: str = "camel"  # "camel" | "pascal": AudioStream vs audioStream
    silent_conn: bool = False  # never answer audioConn
    # After chunk N, send this frame as it is (several may follow one chunk).
    inject: list[tuple[int, Frame]] = field(default_factory=list)
    foreign_final_after: int | None = None  # after chunk N, a final with another sess_id
    early_stop_after: int | None = None  # after chunk N, an audioStop reply unasked
    # The texts of the finals, in turn, instead of "final N" (then none until the stop's).
    script: tuple[str, ...] | None = None


@dataclass
class Session:
    audio: bytearray = field(default_factory=bytearray)
    chunk_sizes: list[int] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False
    path: str = ""
    finals: list[str] = field(default_factory=list)  # the final texts it sent, in order
    started: float = field(default_factory=time.monotonic)  # to order sessions of two servers


class FakeBahasakita:
    """Runs in a background thread with its own event loop, so sync and async tests share it."""

    def __init__(self, behaviour: Behaviour | None = None):
        self.behaviour = behaviour or Behaviour()
        self.sessions: list[Session] = []
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0
        self.drops = 0  # sessions this server dropped on purpose
        self._dropped_once = False
        self._stopped_reading_once = False
        self._stalled_once = False
        self._held: list[ServerConnection] = []  # connections it stopped reading
        self._open: set[ServerConnection] = set()
        self.down = False  # an outage: handshakes get HTTP 503
        self.refused = 0  # handshakes refused during outages

    @property
    def url(self) -> str:
        path = "/v2/prod/stream2" if self.behaviour.version == "v2" else "/v1/prod/stream"
        return f"ws://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FakeBahasakita:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._release = asyncio.Event()  # ends the handlers that stopped reading
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check,
                                   max_queue=None, max_size=None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._release.set()
        for ws in self._held:  # they would never answer the closing handshake
            ws.transport.abort()
        self._server.close()
        await self._server.wait_closed()

    def go_down(self) -> None:
        """An outage from now on: open sessions are dropped, new ones refused."""
        asyncio.run_coroutine_threadsafe(self._go_down(), self._loop).result(10)

    def come_back(self) -> None:
        self.down = False

    async def _go_down(self) -> None:
        self.down = True
        for ws in list(self._open):
            ws.transport.abort()

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.down:
            self.refused += 1
            return Response(503, "Service Unavailable", Headers({"Content-Length": "0"}), b"")
        wanted = self.behaviour.token
        if wanted is None:
            return None
        from urllib.parse import parse_qs, urlsplit

        given = parse_qs(urlsplit(request.path).query).get("token", [None])[0]
        if given != wanted:
            return Response(401, "Unauthorized", Headers({"Content-Length": "0"}), b"")
        return None

    def _type(self, name: str) -> str:
        return name[0].upper() + name[1:] if self.behaviour.reply_type_case == "pascal" else name

    async def _handle(self, ws: ServerConnection) -> None:
        # A client that closes on a frame it refuses (the point of `inject`) is no failure.
        self._open.add(ws)
        try:
            with contextlib.suppress(ConnectionClosed):
                await self._serve(ws)
        finally:
            self._open.discard(ws)

    async def _serve(self, ws: ServerConnection) -> None:
        b = self.behaviour
        session = Session(path=ws.request.path if ws.request else "")
        index = len(self.sessions)
        self.sessions.append(session)
        sess_id = uuid.uuid4().hex
        chunks = 0
        stalled = False
        async for frame in ws:
            msg = json.loads(frame)
            session.messages.append(msg)
            bk = msg["bk"]
            kind = bk["type"]
            if kind == "audioConn":
                if b.silent_conn:
                    continue
                if b.reject_conn and index >= b.reject_from:
                    key = "message_status" if b.version == "v2" else "message"
                    await ws.send(json.dumps({"bk": {"service": "stt", "type": self._type(
                        "audioConn"), "status": 400, key: b.reject_conn}}))
                    continue
                reply: dict[str, Any] = {"service": "stt", "type": self._type("audioConn"),
                                         "status": 200}
                if b.version == "v1":
                    reply["message"] = ""
                    reply["data"] = {"sess_id": sess_id}
                else:
                    reply["message_status"] = "success"
                await ws.send(json.dumps({"bk": reply}))
            elif kind == "audioStream":
                if b.version == "v1":
                    assert bk["sess_id"] == sess_id, "audioStream without our sess_id"
                if b.chunk_delay:
                    await asyncio.sleep(b.chunk_delay)
                audio = base64.b64decode(bk["data"]["audio"])
                session.audio += audio
                session.chunk_sizes.append(len(audio))
                chunks += 1
                if self._drops_now(chunks):
                    self.drops += 1
                    await ws.close(1011, "server went away")
                    return
                if (b.stop_reading_after is not None and chunks >= b.stop_reading_after
                        and not self._stopped_reading_once):
                    self._stopped_reading_once = True
                    await self._stop_reading(ws)
                    return
                if (b.stall_after is not None and chunks >= b.stall_after
                        and not self._stalled_once):
                    self._stalled_once = stalled = True
                if stalled:
                    continue
                if b.garbage_after is not None and chunks >= b.garbage_after:
                    await ws.send("this is not json")
                    continue
                scripted = b.script is not None and chunks // b.final_every <= len(b.script)
                if chunks % b.final_every == 0 and (b.script is None or scripted):
                    text = f"final {chunks}" if b.script is None else \
                        b.script[chunks // b.final_every - 1]
                    session.finals.append(text)
                    await ws.send(self._result(text, final=True, sess_id=sess_id))
                elif chunks % b.partial_every == 0:
                    await ws.send(self._result(f"partial {chunks}", final=False,
                                               sess_id=sess_id))
                # After the chunk's own reply, so a final can precede the injected frame.
                for after, raw in b.inject:
                    if after == chunks:
                        await self._send_raw(ws, raw)
                if b.foreign_final_after == chunks:
                    await ws.send(self._result("someone else's words", final=True,
                                               sess_id=uuid.uuid4().hex))
                if b.early_stop_after == chunks:
                    await ws.send(json.dumps({"bk": {"service": "stt", "type": self._type(
                        "audioStop"), "status": 200, "message": "", "sess_id": sess_id}}))
            elif kind == "audioStop" and not stalled:
                if b.version == "v1":
                    assert bk["sess_id"] == sess_id, "audioStop without our sess_id"
                session.finals.append(f"last {chunks}")
                await ws.send(self._result(f"last {chunks}", final=True, sess_id=sess_id))
                await ws.send(json.dumps({"bk": {"service": "stt", "type": self._type(
                    "audioStop"), "status": 200, "message": ""}}))
                session.stopped = True

    async def _send_raw(self, ws: ServerConnection, frame: Frame) -> None:
        if isinstance(frame, RawText):
            await ws.send(frame.data, text=True)  # websockets does not check what it sends
        else:
            await ws.send(frame)

    def _drops_now(self, chunks: int) -> bool:
        b = self.behaviour
        if b.drop_every is not None and chunks >= b.drop_every:
            return True
        if b.drop_after is not None and chunks >= b.drop_after and not self._dropped_once:
            self._dropped_once = True
            return True
        return False

    async def _stop_reading(self, ws: ServerConnection) -> None:
        """Read nothing more: the client's sends fill the socket buffers, then block.

        A small receive buffer keeps what the kernel takes in for us (and so what the
        client must resend) to a realistic few seconds of audio. Held until the server
        stops; the client gives up on it first.
        """
        self._held.append(ws)
        ws.transport.pause_reading()
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        await self._release.wait()

    def _result(self, text: str, *, final: bool, sess_id: str | None = None) -> str:
        body: dict[str, Any] = {"service": "stt", "type": self._type("audioStream"),
                                "status": 200, "message": ""}
        if self.behaviour.version == "v2":
            data: dict[str, Any] = {"transcripts": [text]} if final else {"transcript": text}
        else:
            data = {"final": text} if final else {"partial": text}
            if sess_id is not None:
                body["sess_id"] = sess_id  # v1 replies name their session
        body["data"] = data
        return json.dumps({"bk": body})
