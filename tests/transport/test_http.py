"""The shared HTTP edge against a scripted server on loopback: what is retried, what is
not, and what a person reads when it gives up."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.protocols.bahasakita_upload import parse_upload_reply
from dictation_app.protocols.request import Request
from dictation_app.transport.http import (
    FLOOR_THROUGHPUT,
    NO_RETRY,
    RetryPolicy,
    ServiceHttp,
    Wording,
    _retry_after,
    body_json,
    check_token,
)
from tests.servers.loopback_http import (
    EVERY_PATH,
    TRICKLE_SECONDS,
    Hostile,
    LoopbackHTTPServer,
    read_body,
)
from tests.servers.loopback_http import send as send_reply

FAST = RetryPolicy(attempts=4, initial=0.001, maximum=0.01, jitter=0.0)
SECRET = "sekret-token-8842"


class Scripted(LoopbackHTTPServer):
    """Answers each request with the next scripted (status, body, headers), whatever its
    path; 200 once out."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def answer(self, status: int, body: bytes = b"{}", times: int = 1,
               **headers: str) -> None:
        self.reply(EVERY_PATH, status, body, times=times,
                   headers={name.replace("_", "-"): value for name, value in headers.items()})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        read_body(handler)
        self.seen.append(f"{handler.command} {handler.path}")
        if self._scripted(handler) is None:
            send_reply(handler, 200, b'{"ok": true}')


@pytest.fixture
def server() -> Iterator[Scripted]:
    with Scripted() as scripted:
        yield scripted


def send(server: Scripted | str, method: str, path: str = "/thing", *,
         timeout: float = 5, **kwargs: object) -> object:
    """The response, or the exception the request raised; `server` may be a base URL."""
    base_url = server if isinstance(server, str) else server.base_url

    async def go() -> object:
        http = ServiceHttp("Testsvc", base_url, retry=FAST, timeout=timeout)
        http.add_secret(SECRET)
        try:
            return await http.request(method, path, **kwargs)  # type: ignore[arg-type]
        except Exception as exc:
            return exc
        finally:
            await http.aclose()

    return asyncio.run(go())


def test_a_get_is_retried_through_a_burst_of_500s(server: Scripted) -> None:
    server.answer(500, times=3)
    response = send(server, "GET")
    assert getattr(response, "status_code", None) == 200
    assert len(server.seen) == 4


def test_a_post_answered_500_is_not_sent_again(server: Scripted) -> None:
    server.answer(500, b'{"message": "database exploded"}', times=3)
    error = send(server, "POST")
    assert isinstance(error, ServiceRejected) and error.status == 500
    assert str(error) == "Testsvc rejected POST /thing (status 500): database exploded"
    assert server.seen == ["POST /thing"]


def test_a_post_refused_with_429_or_503_is_sent_again(server: Scripted) -> None:
    server.answer(429, Retry_After="0")
    server.answer(503)
    response = send(server, "POST")
    assert getattr(response, "status_code", None) == 200
    assert len(server.seen) == 3


def test_a_post_marked_idempotent_is_retried_like_a_get(server: Scripted) -> None:
    server.answer(502, times=2)
    response = send(server, "POST", idempotent=True)
    assert getattr(response, "status_code", None) == 200
    assert len(server.seen) == 3


def test_retries_run_out_with_the_last_service_message(server: Scripted) -> None:
    server.answer(503, b'{"error": {"message": "maintenance until noon."}}', times=10)
    error = send(server, "GET")
    assert isinstance(error, ServiceRejected) and error.status == 503
    assert "maintenance until noon." in str(error)
    assert len(server.seen) == FAST.attempts


def test_a_refusal_is_an_authentication_error_with_the_secret_masked(server: Scripted) -> None:
    server.answer(401, f'{{"message": "token {SECRET} expired."}}'.encode())
    error = send(server, "GET")
    assert isinstance(error, AuthenticationFailed)
    assert SECRET not in str(error) and "***" in str(error)
    assert "expired. Check the account settings." in str(error)
    assert len(server.seen) == 1


def test_a_redirect_is_reported_not_followed(server: Scripted) -> None:
    server.answer(302, Location=f"https://elsewhere.example/login?token={SECRET}")
    error = send(server, "GET")
    assert isinstance(error, RemoteProtocolError)
    assert "elsewhere.example" in str(error) and SECRET not in str(error)
    assert len(server.seen) == 1


def test_no_server_is_a_connection_error_after_the_retries() -> None:
    error = send("http://127.0.0.1:9", "POST", timeout=2)
    assert isinstance(error, ConnectionFailed)
    assert "cannot connect to http://127.0.0.1:9" in str(error)
    assert error.__context__ is None  # no httpx request (and its headers) kept alive


def test_a_body_that_cannot_be_decoded_is_a_protocol_error(server: Scripted) -> None:
    # A proxy that labels a plain body gzip: httpx's DecodingError holds the request,
    # Authorization header and all, and must not escape or stay reachable.
    server.answer(200, b"not gzip at all", Content_Encoding="gzip")
    error = send(server, "GET", headers={"Authorization": f"Bearer {SECRET}"})
    assert isinstance(error, RemoteProtocolError)
    assert "Testsvc: the reply to GET /thing could not be decoded" in str(error)
    assert error.__context__ is None and error.__cause__ is None
    assert len(server.seen) == 1  # the same bytes would come again: not retried


@pytest.mark.parametrize("pasted", ["\u201d", "\u2026", "\u0436"])  # ” … ж
def test_a_header_http_cannot_carry_is_a_configuration_error(server: Scripted,
                                                              pasted: str) -> None:
    token = SECRET + pasted
    error = send(server, "GET", headers={"Authorization": f"Bearer {token}"})
    assert isinstance(error, ConfigurationError)
    assert "curly quote" in str(error) and SECRET not in str(error)
    # UnicodeEncodeError.object holds the whole header: nothing may keep it alive.
    assert error.__context__ is None and error.__cause__ is None
    assert server.seen == []


def test_an_invalid_url_is_a_configuration_error(server: Scripted) -> None:
    error = send(server, "GET", "http://127.0.0.1:port/upload")
    assert isinstance(error, ConfigurationError)
    assert "the URL is not valid" in str(error) and error.__context__ is None


def test_a_long_echo_is_masked_before_it_is_cut(server: Scripted) -> None:
    # The 200-character cut falls inside the echoed secret: masking after the cut would
    # leave its first characters behind.
    server.answer(400, ("x" * 185 + f" token {SECRET} refused ").encode() + b"y" * 300)
    error = send(server, "GET")
    assert isinstance(error, ServiceRejected)
    assert SECRET[:8] not in str(error)
    assert "x" * 100 in str(error) and "***" in str(error)


@pytest.mark.parametrize("token", ["tok\u201dabc", "tok\u2026", "\u0436\u0443\u043a",
                                   "a b", "a\r\nX-Evil: 1", "tab\there", ""])
def test_check_token_refuses_what_a_header_cannot_carry(token: str) -> None:
    with pytest.raises(ConfigurationError, match="^The Bahasakita token contains") as caught:
        check_token(token, what="Bahasakita token", fix="paste it again.")
    assert token.strip() == "" or token not in str(caught.value)


def test_check_token_strips_a_good_token() -> None:
    assert check_token("  ab-C_9.~+/=  ", what="x", fix="y") == "ab-C_9.~+/="


def test_retry_after_takes_seconds_or_a_date() -> None:
    assert _retry_after("7") == 7.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    in_a_minute = _retry_after(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 50 < in_a_minute <= 60


def test_a_base_url_must_be_http() -> None:
    with pytest.raises(ConfigurationError, match="must start with https://"):
        ServiceHttp("Testsvc", "ftp://example.com")


# --- decoding replies: the one place a body becomes a parser's JSON value ----------

UPLOAD = "POST /v2/prod/stt/async/upload"


def decoded(body: bytes, operation: str = UPLOAD, *, secret: str | None = None) -> object:
    """`reply_json()` of a 200 reply with `body`, or the exception it raised."""
    async def go() -> object:
        http = ServiceHttp("Bahasakita upload", "https://api.example")
        http.add_secret(secret)
        try:
            return http.reply_json(httpx.Response(200, content=body), operation)
        except Exception as exc:
            return exc
        finally:
            await http.aclose()

    return asyncio.run(go())


def test_reply_json_hands_the_parser_the_decoded_body() -> None:
    reply = {"bk": {"data": {"uuid": "c0ffee-1"}, "message_status": "success"}}
    for body in (json.dumps(reply).encode(), json.dumps(reply).encode("utf-16")):
        assert parse_upload_reply(decoded(body)) == "c0ffee-1"


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"{", b"\xff\xfe"])
def test_a_reply_that_is_not_json_is_a_protocol_error(body: bytes) -> None:
    error = decoded(body)
    assert isinstance(error, RemoteProtocolError)
    assert str(error).startswith(f"Bahasakita upload: {UPLOAD} reply is not JSON")
    assert error.__context__ is None  # the JSON error holds the whole body


def test_a_reply_that_is_not_json_is_quoted_with_the_token_masked_before_the_cut() -> None:
    # A quote cut short before masking would leave a prefix that no mask matches.
    token = "fake-token-A1b2C3d4E5f6G7h8"
    body = f"gateway: token {'x' * 40}{token} rejected".encode()
    error = decoded(body, "GET /v2/prod/stt/async/content/u", secret=token)
    assert isinstance(error, RemoteProtocolError)
    assert "GET /v2/prod/stt/async/content/u reply is not JSON" in str(error)
    assert token[:8] not in str(error)


def test_body_json_reads_error_bodies_leniently() -> None:
    assert body_json(b'{"bk": {"status": 401}}') == {"bk": {"status": 401}}
    assert body_json(b"<html>") is None and body_json(b"\xff") is None


def test_send_merges_a_request_with_the_callers_headers(server: Scripted) -> None:
    async def go() -> httpx.Response:
        http = ServiceHttp("Testsvc", server.base_url, retry=FAST)
        try:
            return await http.send(Request("GET", "/thing", params={"a": "1"},
                                           headers={"Accept": "x"}),
                                   headers={"Authorization": f"Bearer {SECRET}"})
        finally:
            await http.aclose()

    response = asyncio.run(go())
    assert response.status_code == 200 and server.seen == ["GET /thing?a=1"]
    assert response.request.headers["Accept"] == "x"
    assert response.request.headers["Authorization"] == f"Bearer {SECRET}"


def test_send_keeps_a_post_the_request_marks_idempotent_retried(server: Scripted) -> None:
    server.answer(500, times=2)

    async def go() -> object:
        http = ServiceHttp("Testsvc", server.base_url, retry=FAST)
        try:
            return await http.send(Request("POST", "/thing", form={"a": "1"}, idempotent=True))
        finally:
            await http.aclose()

    assert getattr(asyncio.run(go()), "status_code", None) == 200
    assert len(server.seen) == 3


class _Plain(Wording):
    url = "the server address"

    def refused(self, service: str, operation: str, status: str, said: str) -> str:
        return f"{service} said no ({status}): {said}"

    def server_failed(self, service: str, operation: str, status: int, status_text: str,
                      said: str) -> ConnectionFailed:
        return ConnectionFailed(f"{service} is down ({status_text})")


def test_a_wording_changes_the_sentences_and_the_retry_policy_the_attempts(
        server: Scripted) -> None:
    async def go(path: str) -> object:
        http = ServiceHttp("Testsvc", server.base_url, retry=NO_RETRY, wording=_Plain())
        http.add_secret(SECRET)
        try:
            return await http.request("GET", path)
        except Exception as exc:
            return exc
        finally:
            await http.aclose()

    server.answer(401, f'{{"message": "bad {SECRET}"}}'.encode())
    refused = asyncio.run(go("/a"))
    assert isinstance(refused, AuthenticationFailed)
    assert str(refused) == "Testsvc said no (HTTP 401): bad ***"
    server.answer(503)
    down = asyncio.run(go("/b"))
    assert isinstance(down, ConnectionFailed) and str(down) == "Testsvc is down (HTTP 503)"
    server.answer(302, Location="https://elsewhere.example/")
    moved = asyncio.run(go("/c"))
    assert isinstance(moved, RemoteProtocolError) and "check the server address" in str(moved)
    assert server.seen == ["GET /a", "GET /b", "GET /c"]  # one attempt each


# --- whole-request deadlines and hostile replies ------------------------------------


def hostile_json(server: Scripted, *, deadline: float = 60, max_reply_bytes: int | None = None,
                 **kwargs: object) -> tuple[object, float]:
    """The reply's JSON (or the exception), and the seconds it took; the per-read timeout
    is longer than the trickle's pause, so only the deadline can end a trickle."""
    async def go() -> object:
        options = {} if max_reply_bytes is None else {"max_reply_bytes": max_reply_bytes}
        http = ServiceHttp("Testsvc", server.base_url, retry=FAST,
                           timeout=TRICKLE_SECONDS * 2, deadline=deadline, **options)
        try:
            response = await http.request("GET", "/thing", operation="GET /thing",
                                          **kwargs)  # type: ignore[arg-type]
            return http.reply_json(response, "GET /thing")
        except Exception as exc:
            return exc
        finally:
            await http.aclose()

    started = time.monotonic()
    result = asyncio.run(go())
    return result, time.monotonic() - started


def test_a_peer_trickling_its_headers_meets_the_whole_request_deadline(
        server: Scripted) -> None:
    server.hostile(EVERY_PATH, Hostile.TRICKLE, times=5)
    error, seconds = hostile_json(server, deadline=1.0)
    assert isinstance(error, ConnectionFailed), error
    assert str(error).startswith("Testsvc: GET /thing did not finish within 1 s")
    assert 0.9 < seconds < 10
    assert len(server.seen) == 1  # not retried: it would trickle again


def test_an_upload_deadline_grows_with_the_body_at_the_floor_throughput(
        server: Scripted) -> None:
    server.hostile(EVERY_PATH, Hostile.TRICKLE)
    body = b"x" * FLOOR_THROUGHPUT  # one second more at the floor throughput
    error, seconds = hostile_json(server, deadline=1.0, files={"f": ("a.wav", body)})
    assert isinstance(error, ConnectionFailed), error
    assert "did not finish within 2 s" in str(error)
    assert 1.9 < seconds < 12


@pytest.mark.parametrize("how, fragment", [
    (Hostile.NEST, "Testsvc: GET /thing reply nests deeper than 64 levels: '[[[["),
    (Hostile.GARBAGE, "Testsvc: GET /thing reply is not JSON"),
    (Hostile.OVERSIZE, "Testsvc: the reply to GET /thing is larger than 67,108,864 bytes"),
])
def test_a_hostile_reply_is_a_protocol_error_naming_the_operation(
        server: Scripted, how: Hostile, fragment: str) -> None:
    server.hostile(EVERY_PATH, how)
    error, seconds = hostile_json(server)
    assert isinstance(error, RemoteProtocolError), error
    assert str(error).startswith(fragment), str(error)
    assert len(str(error)) < 400 and seconds < 20


def test_a_declared_length_over_the_limit_is_refused_unread(server: Scripted) -> None:
    server.answer(200, b"[" + b"1," * 600 + b"1]")
    error, _ = hostile_json(server, max_reply_bytes=1000)
    assert isinstance(error, RemoteProtocolError)
    assert "larger than 1,000 bytes" in str(error)


def test_a_compressed_reply_is_counted_raw_and_decoded_whole(server: Scripted) -> None:
    body = json.dumps({"words": ["halo"] * 2000}).encode()
    server.answer(200, gzip.compress(body), Content_Encoding="gzip")
    value, _ = hostile_json(server, max_reply_bytes=len(body) // 2)
    assert value == {"words": ["halo"] * 2000}


def test_a_transport_that_read_the_body_itself_is_still_capped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[" + b"0," * 1000 + b"0]")

    async def go() -> object:
        http = ServiceHttp("Testsvc", "https://api.example", max_reply_bytes=100,
                           transport=httpx.MockTransport(handler))
        try:
            return await http.request("GET", "/thing")
        except Exception as exc:
            return exc
        finally:
            await http.aclose()

    error = asyncio.run(go())
    assert isinstance(error, RemoteProtocolError) and "larger than 100 bytes" in str(error)
