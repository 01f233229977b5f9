"""The account client against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from dictation_app.cli.messages import cli_message
from dictation_app.controllers.messages import Where, window_message
from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    LocalProtocolError,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.protocols.bahasakita_account import MonitoringSnapshot, ServiceToken
from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient
from tests.servers.bahasakita_rest_server import (
    EMAIL,
    GOOD_TOKEN,
    ISSUED_TOKEN,
    MONITORING,
    PASSWORD,
    TOKEN,
    FakeBahasakitaRest,
    counters_in_data_body,
    empty_body,
    error_body,
    missing_queues_body,
    wrong_shape_body,
)
from tests.servers.loopback_http import EVERY_PATH
from tests.support.secrets import SecretWatch

T = TypeVar("T")
SECRETS = (GOOD_TOKEN, PASSWORD, ISSUED_TOKEN, base64.b64encode(f"{EMAIL}:{PASSWORD}".encode())
           .decode())


@pytest.fixture
def server() -> Iterator[FakeBahasakitaRest]:
    with FakeBahasakitaRest() as running:
        yield running


@pytest.fixture(autouse=True)
def _debug_logs(no_secret_logged: SecretWatch) -> None:
    no_secret_logged.add(*SECRETS)


def run(make: Callable[[BahasakitaAccountClient], Awaitable[T]], base_url: str, *,
        token: str | None = GOOD_TOKEN, timeout: float = 5.0) -> T:
    async def scenario() -> T:
        async with BahasakitaAccountClient(base_url=base_url, token=token,
                                           timeout=timeout) as client:
            return await make(client)

    return asyncio.run(scenario())


def monitoring(server: FakeBahasakitaRest, **kwargs: Any) -> MonitoringSnapshot:
    return run(lambda c: c.monitoring(), server.base_url, **kwargs)


def failure(server: FakeBahasakitaRest, make: Callable[[BahasakitaAccountClient], Awaitable[Any]]
            | None = None, **kwargs: Any) -> DictationError:
    with pytest.raises(DictationError) as caught:
        run(make or (lambda c: c.monitoring()), server.base_url, **kwargs)
    message = str(caught.value)
    for secret in SECRETS:
        assert secret not in message
    return caught.value


def test_monitoring_sends_the_bearer_token(server: FakeBahasakitaRest) -> None:
    snap = monitoring(server)
    assert snap.username == "ayu"
    assert [len(snap.queues[q]) for q in ("inquery", "process", "failed", "success")] == [
        1, 1, 0, 2]
    assert (snap.msg_in, snap.msg_out, snap.message_status) == (4, 2, "success")
    (request,) = server.requests
    assert request.path == MONITORING
    assert request.headers["Authorization"] == f"Bearer {GOOD_TOKEN}"


@pytest.mark.parametrize(("make_body", "expected"), [
    (counters_in_data_body, (4, 2, "success")),
    (empty_body, (0, 0, "success")),
    (missing_queues_body, (None, None, "success")),
])
def test_documented_variants(server: FakeBahasakitaRest, make_body: Callable[[], Any],
                             expected: tuple[Any, ...]) -> None:
    server.behaviour.monitoring_body = make_body()
    snap = monitoring(server)
    assert (snap.msg_in, snap.msg_out, snap.message_status) == expected


def test_a_refused_token_says_what_to_do(server: FakeBahasakitaRest) -> None:
    error = failure(server, token="expired-token-0000")
    assert isinstance(error, AuthenticationFailed)
    assert window_message(error, Where.ACCOUNT) == (
        "Bahasakita refused the token (HTTP 401): Token is invalid or expired. "
        "Sign in again or paste a new token in Preferences.")
    assert cli_message(error) == (
        "Bahasakita refused the token (HTTP 401): Token is invalid or expired. "
        "Set DICTATION_BAHASAKITA_TOKEN to a new value, or renew it in the app.")


def test_a_token_the_service_echoes_is_masked(server: FakeBahasakitaRest) -> None:
    server.behaviour.token = "another-one"
    server.behaviour.echo_credentials = True
    error = failure(server)
    assert isinstance(error, AuthenticationFailed)
    assert "Token is invalid or expired: ***" in str(error)


def test_status_401_inside_a_200_body_is_an_authentication_failure(
        server: FakeBahasakitaRest) -> None:
    server.behaviour.monitoring_body = {"bk": {"status": 401, "message_status": "Token expired"}}
    error = failure(server)
    assert isinstance(error, AuthenticationFailed)
    assert "(status 401): Token expired" in str(error)


def test_other_4xx_is_rejected_with_the_service_message(server: FakeBahasakitaRest) -> None:
    server.fail(EVERY_PATH, 429, error_body(429, "Too many requests, slow down"))
    error = failure(server)
    assert isinstance(error, ServiceRejected) and error.status == 429
    assert str(error) == ("Bahasakita monitoring rejected GET /v2/prod/stt/monitoring "
                          "(status 429): Too many requests, slow down")


def test_5xx_is_a_connection_failure(server: FakeBahasakitaRest) -> None:
    server.fail(EVERY_PATH, 503)
    error = failure(server)
    assert isinstance(error, ConnectionFailed)
    assert "(HTTP 503): Internal server error. Try again later." in str(error)


def test_a_slow_reply_times_out(server: FakeBahasakitaRest) -> None:
    server.delays[EVERY_PATH] = 30  # cut short when the server stops
    error = failure(server, timeout=0.3)
    assert isinstance(error, ConnectionFailed)
    assert "no answer from http://127.0.0.1" in str(error) and "within 0.3 s" in str(error)


def test_a_body_that_cannot_be_decoded_is_a_protocol_error(server: FakeBahasakitaRest) -> None:
    # httpx's DecodingError holds the request, Authorization header and all.
    server.behaviour.content_encoding = "gzip"
    error = failure(server)
    assert isinstance(error, RemoteProtocolError)
    assert "GET /v2/prod/stt/monitoring could not be decoded" in str(error)
    assert error.__context__ is None and error.__cause__ is None


def test_nothing_listening_is_a_connection_failure(unused_port: int) -> None:
    with pytest.raises(ConnectionFailed, match="cannot connect to http://127.0.0.1"):
        run(lambda c: c.monitoring(), f"http://127.0.0.1:{unused_port}")


def test_malformed_json_is_a_protocol_error(server: FakeBahasakitaRest) -> None:
    server.behaviour.monitoring_body = '{"bk": {"data": '
    error = failure(server)
    assert isinstance(error, RemoteProtocolError)
    assert "Bahasakita monitoring: GET /v2/prod/stt/monitoring reply is not JSON" in str(error)


def test_a_wrong_shape_is_a_protocol_error(server: FakeBahasakitaRest) -> None:
    server.behaviour.monitoring_body = wrong_shape_body()
    error = failure(server)
    assert isinstance(error, RemoteProtocolError)
    assert "'bk.data.inquery[0]' is not a one-key object" in str(error)


def test_no_token_says_how_to_set_one(server: FakeBahasakitaRest) -> None:
    error = failure(server, token=None)
    assert isinstance(error, ConfigurationError)
    shown = window_message(error, Where.ACCOUNT)
    assert "DICTATION_BAHASAKITA_TOKEN" in shown and "Preferences" in shown
    printed = cli_message(error)
    assert "DICTATION_BAHASAKITA_TOKEN" in printed and "Preferences" not in printed
    assert server.requests == []


def test_a_token_with_a_line_break_is_refused_before_sending(server: FakeBahasakitaRest) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BahasakitaAccountClient(base_url=server.base_url, token="abc\r\nX-Evil: 1")
    assert "paste it again" in window_message(caught.value, Where.ACCOUNT)
    assert "Evil" not in window_message(caught.value, Where.ACCOUNT)


# What a bad paste brings along: httpx cannot put these in a header at all.
@pytest.mark.parametrize("damage", ["\u201d", "\u2026", "\u0436"])
def test_a_token_with_a_non_ascii_character_is_refused_before_sending(
        server: FakeBahasakitaRest, damage: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BahasakitaAccountClient(base_url=server.base_url, token=GOOD_TOKEN + damage)
    assert "paste it again in Preferences" in window_message(caught.value, Where.ACCOUNT)
    assert GOOD_TOKEN not in window_message(caught.value, Where.ACCOUNT)


def test_a_bad_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="base URL"):
        BahasakitaAccountClient(base_url="api.dikte.in", token=GOOD_TOKEN)


def test_a_closed_client_refuses_to_send(server: FakeBahasakitaRest) -> None:
    async def scenario() -> None:
        client = BahasakitaAccountClient(base_url=server.base_url, token=GOOD_TOKEN)
        await client.aclose()
        await client.monitoring()

    with pytest.raises(LocalProtocolError, match="closed"):
        asyncio.run(scenario())


# --- sign-in -------------------------------------------------------------------


def test_sign_in_sends_basic_auth_and_then_uses_the_token(server: FakeBahasakitaRest) -> None:
    async def scenario(client: BahasakitaAccountClient) -> tuple[ServiceToken, MonitoringSnapshot]:
        token = await client.sign_in(EMAIL, PASSWORD)
        return token, await client.monitoring()

    server.behaviour.token = ISSUED_TOKEN
    token, snap = run(scenario, server.base_url, token=None)
    assert token.token == ISSUED_TOKEN and token.quota == 600 and token.type == "prepaid"
    assert snap.username == "ayu"
    sign_in, monitor = server.requests
    assert sign_in.path == TOKEN
    expected = base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
    assert sign_in.headers["Authorization"] == f"Basic {expected}"
    assert monitor.headers["Authorization"] == f"Bearer {ISSUED_TOKEN}"


def test_a_wrong_password_never_shows_the_password(server: FakeBahasakitaRest) -> None:
    server.behaviour.echo_credentials = True  # the service quotes the credentials back
    server.behaviour.password = "the-right-one"
    error = failure(server, lambda c: c.sign_in(EMAIL, PASSWORD), token=None)
    assert isinstance(error, AuthenticationFailed)
    assert str(error).startswith("Bahasakita refused the email or password (HTTP 401): "
                                 "Wrong email or password for ")
    assert error.__context__ is None and error.__cause__ is None


def test_sign_in_timeout_keeps_no_reference_to_the_request(server: FakeBahasakitaRest) -> None:
    server.delays[EVERY_PATH] = 30
    error = failure(server, lambda c: c.sign_in(EMAIL, PASSWORD), token=None, timeout=0.3)
    assert isinstance(error, ConnectionFailed)
    # The httpx exception holds the request and its Basic header; ours must not chain it.
    assert error.__context__ is None and error.__cause__ is None


def test_sign_in_with_a_malformed_reply(server: FakeBahasakitaRest) -> None:
    server.behaviour.token_response = {"bk": {"message": "account suspended"}}
    error = failure(server, lambda c: c.sign_in(EMAIL, PASSWORD), token=None)
    assert isinstance(error, RemoteProtocolError)
    assert "the service said: 'account suspended'" in str(error)


def test_sign_in_needs_an_email_and_a_password(server: FakeBahasakitaRest) -> None:
    error = failure(server, lambda c: c.sign_in(EMAIL, ""), token=None)
    assert isinstance(error, ConfigurationError)
    assert server.requests == []


# --- its rules on the shared HTTP edge -----------------------------------------


def test_a_failure_is_never_retried(server: FakeBahasakitaRest) -> None:
    # The panel refreshes on its own timer and a person waits on a sign-in: one attempt.
    server.fail(EVERY_PATH, 503, times=2)  # a retry would meet a second 503
    assert isinstance(failure(server), ConnectionFailed)
    assert len(server.requests) == 1


def test_a_closed_client_refuses_to_sign_in(server: FakeBahasakitaRest) -> None:
    async def scenario() -> None:
        client = BahasakitaAccountClient(base_url=server.base_url)
        await client.aclose()
        await client.sign_in(EMAIL, PASSWORD)

    with pytest.raises(LocalProtocolError, match="Bahasakita sign-in: the client is closed"):
        asyncio.run(scenario())
    assert server.requests == []


def test_an_email_with_a_colon_is_refused_before_sending(server: FakeBahasakitaRest) -> None:
    error = failure(server, lambda c: c.sign_in("a:b@example.com", PASSWORD), token=None)
    assert isinstance(error, ConfigurationError) and "cannot contain ':'" in str(error)
    assert server.requests == []


def test_a_base_url_with_a_password_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigurationError, match="account address") as caught:
        BahasakitaAccountClient(base_url="https://ayu:hunter2@api.dikte.in", token=GOOD_TOKEN)
    assert "hunter2" not in str(caught.value)
