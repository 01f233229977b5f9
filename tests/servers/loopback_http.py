"""What the tests' fake HTTP services share: a threaded server on 127.0.0.1, and helpers
to read a request body (sized or chunked), split a multipart form and send a reply.

A fake subclasses `LoopbackHTTPServer`, answers each request in `_handle()` and is
used as a context manager:

    class FakeThing(LoopbackHTTPServer):
        def _handle(self, handler: BaseHTTPRequestHandler) -> None:
            send_json(handler, 200, {"ok": True})

    with FakeThing() as thing:
        ...  # talk to thing.base_url
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, TypeVar

_Server = TypeVar("_Server", bound="LoopbackHTTPServer")


class LoopbackHTTPServer:
    """A `ThreadingHTTPServer` on a free port of 127.0.0.1, serving from a daemon thread
    between `__enter__` and `__exit__`. Each request to one of `methods` goes to
    `_handle()`, on the thread the server started for it; others get 501."""

    methods: tuple[str, ...] = ("GET", "POST")

    def __init__(self) -> None:
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

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request; `handler.command` is its method."""
        raise NotImplementedError

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
