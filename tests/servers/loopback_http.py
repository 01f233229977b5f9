"""What the tests' fake HTTP services share: a threaded server on 127.0.0.1, one way to
script delays and canned answers per path, and helpers to read a request body (sized or
chunked), split a multipart form and send a reply.

A fake subclasses `LoopbackHTTPServer`, answers each request in `_handle()` (calling
`_scripted()` first, once it has read and recorded the request) and is used as a
context manager:

    class FakeThing(LoopbackHTTPServer):
        def _handle(self, handler: BaseHTTPRequestHandler) -> None:
            read_body(handler)
            if self._scripted(handler) is None:
                send_json(handler, 200, {"ok": True})

    with FakeThing() as thing:
        thing.delays["/slow"] = 30              # answer /slow after 30 s (or at shutdown)
        thing.fail("/jobs/*", 503, times=2)     # the next two requests under /jobs/
        thing.reply("/status", 200, '{"half')  # a malformed body, sent verbatim
        thing.hostile("/status", Hostile.TRICKLE)  # the headers, a byte at a time
        ...  # talk to thing.base_url

`hostile()` scripts a peer that breaks the rules on purpose: `TRICKLE` sends its
status line and headers one byte every `TRICKLE_SECONDS`, never finishing; `NEST` a
200 whose JSON body is `[` x 50,000; `GARBAGE` a 200 of binary bytes labelled JSON;
`OVERSIZE` a 200 of 65 MiB with no Content-Length, so only counting it stops it.

A path pattern is a request path (without its query), or a prefix ending in `*`;
`*` alone is every path. An exact pattern wins over a prefix, a longer prefix over a
shorter one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

_Server = TypeVar("_Server", bound="LoopbackHTTPServer")

EVERY_PATH = "*"
TRICKLE_SECONDS = 0.2  # between two bytes of a trickled reply


class Hostile(str, enum.Enum):
    """How a scripted answer breaks the rules (see the module docstring)."""

    TRICKLE = "trickle"
    NEST = "nest"
    GARBAGE = "garbage"
    OVERSIZE = "oversize"


NESTED_BODY = b"[" * 50_000
GARBAGE_BODY = bytes(range(256)) * 4
OVERSIZE_BYTES = 65 << 20


@dataclass
class Scripted:
    """One canned answer: a status, a body (bytes or str sent verbatim, anything else as
    JSON) and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    hostile: Hostile | None = None  # instead of the above, misbehave this way


class Script:
    """What a test scripted for a fake: seconds to wait and canned answers, per path
    pattern. One script can serve several servers that play one service (Nevisa's two
    hosts)."""

    def __init__(self) -> None:
        self.delays: dict[str, float] = {}  # path pattern -> seconds before answering
        self._answers: dict[str, deque[Scripted]] = {}
        self._lock = threading.Lock()

    def add(self, pattern: str, answer: Scripted, times: int = 1) -> None:
        """Answer the next `times` requests matching `pattern` with `answer`."""
        with self._lock:
            self._answers.setdefault(pattern, deque()).extend([answer] * times)

    def delay_for(self, path: str) -> float:
        with self._lock:
            return next((self.delays[p] for p in _best_first(self.delays, path)), 0.0)

    def take(self, path: str) -> Scripted | None:
        """The next canned answer for `path`, used up; None if none is left."""
        with self._lock:
            for pattern in _best_first(self._answers, path):
                if self._answers[pattern]:
                    return self._answers[pattern].popleft()
        return None


def _best_first(patterns: Mapping[str, object], path: str) -> Iterator[str]:
    """The patterns matching `path`: the exact one, then prefixes, longest first."""
    if path in patterns:
        yield path
    prefixes = [p for p in patterns if p.endswith("*") and path.startswith(p[:-1])]
    yield from sorted(prefixes, key=len, reverse=True)


class LoopbackHTTPServer:
    """A `ThreadingHTTPServer` on a free port of 127.0.0.1, serving from a daemon thread
    between `__enter__` and `__exit__`. Each request to one of `methods` goes to
    `_handle()`, on the thread the server started for it; others get 501."""

    methods: tuple[str, ...] = ("GET", "POST")

    def __init__(self, *, script: Script | None = None) -> None:
        self.script = script or Script()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0),
                                           _handler_class(self._handle, self.methods))
        self._server.daemon_threads = True
        # A short poll keeps shutdown() quick: it waits for the serving loop to notice.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self: _Server) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # lets a delayed reply end now instead of after its delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    # scripting, from the test's thread

    @property
    def delays(self) -> dict[str, float]:
        """Path pattern -> seconds before answering; cut short when the server stops."""
        return self.script.delays

    def reply(self, path: str, status: int, body: Any, *, times: int = 1,
              headers: Mapping[str, str] | None = None) -> None:
        """Answer the next `times` requests matching `path` with this instead."""
        self.script.add(path, Scripted(status, body, dict(headers or {})), times)

    def hostile(self, path: str, how: Hostile, *, times: int = 1) -> None:
        """Answer the next `times` requests matching `path` the hostile way `how`."""
        self.script.add(path, Scripted(200, b"", hostile=how), times)

    def fail(self, path: str, status: int, body: Any = None, *, times: int = 1,
             headers: Mapping[str, str] | None = None) -> None:
        """Answer the next `times` requests matching `path` with this status and the
        fake's own error body and headers for it (`_failure()`), unless given here."""
        canned = self._failure(status)
        if body is not None:
            canned = dataclasses.replace(canned, body=body)
        if headers is not None:
            canned = dataclasses.replace(canned, headers=dict(headers))
        self.script.add(path, canned, times)

    # serving, on the request's thread

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request; `handler.command` is its method."""
        raise NotImplementedError

    def _failure(self, status: int) -> Scripted:
        """The answer `fail(path, status)` scripts: the service's usual error body."""
        return Scripted(status, {"message": f"Scripted failure {status}"})

    def _scripted(self, handler: BaseHTTPRequestHandler) -> int | None:
        """Play the script for this request: wait its delay, send its canned answer.
        The status sent (0: none, the server stopped during the delay), or None when the
        script has no answer and the fake should answer itself."""
        path = urlsplit(handler.path).path
        canned = self.script.take(path)
        if self._stopped_during(self.script.delay_for(path)):
            return 0
        if canned is None:
            return None
        if canned.hostile is not None:
            self._misbehave(handler, canned.hostile)
            return canned.status
        body = canned.body
        if isinstance(body, bytes):
            send(handler, canned.status, body, headers=canned.headers)
        else:
            send_json(handler, canned.status, body, canned.headers)
        return canned.status

    def _misbehave(self, handler: BaseHTTPRequestHandler, how: Hostile) -> None:
        if how is Hostile.NEST:
            send(handler, 200, NESTED_BODY)
        elif how is Hostile.GARBAGE:
            send(handler, 200, GARBAGE_BODY)
        elif how is Hostile.TRICKLE:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: " * 1000
            handler.close_connection = True
            with contextlib.suppress(OSError):  # the client gave up: as intended
                for byte in head:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    if self._stopping.wait(TRICKLE_SECONDS):
                        return
        else:  # OVERSIZE: no length given, so a client must count to refuse it
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    b"Connection: close\r\n\r\n[")
                piece = b" " * (1 << 20)
                for _ in range(OVERSIZE_BYTES // len(piece)):
                    if self._stopping.is_set():
                        return
                    handler.wfile.write(piece)

    def _stopped_during(self, seconds: float) -> bool:
        """Wait `seconds` (a slow reply); True if the server stopped meanwhile, and the
        request should go unanswered."""
        return bool(seconds) and self._stopping.wait(seconds)


def _handler_class(handle: Callable[[BaseHTTPRequestHandler], None],
                   methods: tuple[str, ...]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm on, the body
        # waits for the client's delayed ACK, some 40 ms on every kept-alive reply.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    def serve(handler: BaseHTTPRequestHandler) -> None:
        handle(handler)

    for method in methods:
        setattr(Handler, f"do_{method}", serve)
    return Handler


# --- requests ----------------------------------------------------------------------


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request's body, chunked or sized by Content-Length (none: empty)."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class FormPart(NamedTuple):
    name: str
    filename: str | None  # None for a plain field
    content_type: str | None
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of a multipart/form-data body, in order, split by hand and strictly:
    ValueError if it is not multipart, or its framing is broken anywhere."""
    if not content_type.startswith("multipart/form-data"):
        raise ValueError("expected multipart/form-data")
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary is None:
        raise ValueError("no boundary")
    delimiter = b"--" + boundary.group(1).encode("latin-1")
    if not body.startswith(delimiter):
        raise ValueError("the body does not start with the boundary")
    pieces = body[len(delimiter):].split(b"\r\n" + delimiter)
    if not pieces[-1].startswith(b"--"):
        raise ValueError("the closing boundary is missing")
    parts = []
    for piece in pieces[:-1]:
        if not piece.startswith(b"\r\n"):
            raise ValueError("a boundary is not followed by CRLF")
        head, sep, data = piece[2:].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part has no blank line after its headers")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name is None:
            raise ValueError("a part has no name")
        parts.append(FormPart(name.group(1), filename.group(1) if filename else None,
                              headers.get("content-type"), data))
    return parts


# --- replies -----------------------------------------------------------------------


def send(handler: BaseHTTPRequestHandler, status: int, data: bytes, *,
         content_type: str | None = "application/json",
         headers: Mapping[str, str] | None = None) -> None:
    """A reply with these bytes and a Content-Length; nothing if the client has gone."""
    try:
        handler.send_response(status)
        if content_type is not None:
            handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test): nothing left to tell it


def send_json(handler: BaseHTTPRequestHandler, status: int, body: Any,
              headers: Mapping[str, str] | None = None) -> None:
    """`body` as JSON; a str goes out verbatim, for malformed replies."""
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    send(handler, status, data, headers=headers)
