"""A loopback HTTP server for Bahasakita's account REST endpoints, for tests.

It serves `GET /v2/prod/stt/monitoring` and `GET /v2/prod/getTokenServices` with
bodies written out by hand from the vendor's documentation (not with the app's
parsers), records every request, and can misbehave on request: refuse a token, send
malformed JSON, the wrong shape, or a body its Content-Encoding header misnames. Slow
answers and error statuses are scripted per path with the base's `delays` and `fail()`
(tests/servers/loopback_http.py); `fail()` sends Bahasakita's error body
(`error_body()`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.servers.loopback_http import LoopbackHTTPServer, Scripted, send_json

MONITORING = "/v2/prod/stt/monitoring"
TOKEN = "/v2/prod/getTokenServices"

GOOD_TOKEN = "fake-good-token-0001"
EMAIL = "ayu@example.co.id"
PASSWORD = "fake-password-0002"
ISSUED_TOKEN = "fake-issued-token-0003"


def queue_entry(uuid: str, filename: str, duration: Any = 61.5,
                created: Any = "2024-05-01 09:12:00", filesize: Any = 2) -> dict[str, Any]:
    return {uuid: {"filename": filename, "duration": duration, "created": created,
                   "filesize": filesize}}


def example_body() -> dict[str, Any]:
    """The vendor's documented example, filled in: counters in `bk`, beside `data`."""
    return {
        "bk": {
            "data": {
                "username": "ayu",
                "inquery": [queue_entry("9b2f7d6e-0c1a-4e5b-8f3d-2a1c0b9e8d7f", "rapat-senin.wav",
                                        2530.0, "2024-05-01 09:12:00", 38)],
                "process": [queue_entry("1c4e8a2b-3d5f-4a6b-9c7d-8e0f1a2b3c4d", "wawancara.mp3",
                                        905.4, "2024-05-01 08:55:10", 12)],
                "failed": [],
                "success": [
                    queue_entry("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "kuliah-umum.ogg",
                                3725, "2024-04-30 16:01:02", 55),
                    queue_entry("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "memo.m4a",
                                "42.0", "2024-04-29 10:00:00", "1"),
                ],
            },
            "msg_in": 4,
            "msg_out": 2,
            "message_status": "success",
        }
    }


def counters_in_data_body() -> dict[str, Any]:
    """The vendor's table's reading: the counters sit in `bk.data`, beside the queues."""
    body = example_body()
    bk = body["bk"]
    for key in ("msg_in", "msg_out", "message_status"):
        bk["data"][key] = bk.pop(key)
    return body


def empty_body() -> dict[str, Any]:
    return {"bk": {"data": {"username": "ayu", "inquery": [], "process": [], "failed": [],
                            "success": []}, "msg_in": 0, "msg_out": 0,
                   "message_status": "success"}}


def missing_queues_body() -> dict[str, Any]:
    return {"bk": {"data": {"username": "ayu", "success": []}, "message_status": "success"}}


def wrong_shape_body() -> dict[str, Any]:
    # A queue entry as a flat record instead of a one-key {uuid: {...}} object.
    return {"bk": {"data": {"username": "ayu", "inquery": [
        {"uuid": "abc", "filename": "x.wav", "duration": 1.0}]}}}


def token_body() -> dict[str, Any]:
    return {"bk": {"diktein_credits_token": {"token": ISSUED_TOKEN,
                                             "expire_date": "2025-12-31 23:59:59",
                                             "quota": "600", "type": "prepaid"}}}


@dataclass
class Behaviour:
    token: str = GOOD_TOKEN  # the bearer token monitoring accepts
    email: str = EMAIL
    password: str = PASSWORD
    monitoring_body: Any = field(default_factory=example_body)  # a str is sent verbatim
    token_response: Any = field(default_factory=token_body)
    refuse_message: str = "Token is invalid or expired"
    echo_credentials: bool = False  # put what the client sent into the 401 message
    content_encoding: str | None = None  # claimed for monitoring replies (sent unencoded)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]


def error_body(status: int, message: str = "Internal server error") -> dict[str, Any]:
    """An error as Bahasakita sends it: the status again, and a message."""
    return {"bk": {"status": status, "message_status": message}}


class FakeBahasakitaRest(LoopbackHTTPServer):
    """Runs in a background thread; use as a context manager, mutate `behaviour` freely."""

    methods = ("GET",)

    def __init__(self, behaviour: Behaviour | None = None):
        super().__init__()
        self.behaviour = behaviour or Behaviour()
        self.requests: list[RecordedRequest] = []

    def _failure(self, status: int) -> Scripted:
        return Scripted(status, error_body(status))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append(RecordedRequest(handler.path, dict(handler.headers.items())))
        if self._scripted(handler) is not None:  # fail(), reply() and delays, from the base
            return
        b = self.behaviour
        auth = handler.headers.get("Authorization", "")
        if handler.path == MONITORING:
            if auth != f"Bearer {b.token}":
                given = auth.removeprefix("Bearer ")
                message = f"{b.refuse_message}: {given}" if b.echo_credentials else b.refuse_message
                send_json(handler, 401, {"bk": {"status": 401, "message_status": message}})
                return
            encoding = {"Content-Encoding": b.content_encoding} if b.content_encoding else None
            send_json(handler, 200, b.monitoring_body, encoding)
        elif handler.path == TOKEN:
            expected = base64.b64encode(f"{b.email}:{b.password}".encode()).decode()
            if auth != f"Basic {expected}":
                try:
                    given = base64.b64decode(auth.removeprefix("Basic ")).decode(errors="replace")
                except ValueError:
                    given = auth
                message = "Wrong email or password"
                if b.echo_credentials:
                    message += f" for {given}"
                send_json(handler, 401, {"bk": {"status": 401, "message": message}})
                return
            send_json(handler, 200, b.token_response)
        else:
            send_json(handler, 404, {"bk": {"status": 404, "message": "Not found"}})
