"""The Bahasakita account REST calls: monitoring queues and sign-in, over `ServiceHttp`.

`protocols/bahasakita_account.py` builds the requests and decides what the replies
mean; `ServiceHttp` (transport/http.py), the one HTTP edge, sends them and turns httpx
errors and HTTP statuses into the app's error tree. This client only chooses its rules:
no retries (the panel refreshes on its own; a person waits on a sign-in), a 5xx is a
connection failure, and the wording of its advice (`_AccountWording`).

Credentials travel only in the Authorization header: they never reach a URL, a log
line or an exception message, and a password is never stored: a sign-in runs on a
`ServiceHttp` of its own that knows the password for that one request.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    Fix,
    LocalProtocolError,
    Remedy,
)
from dictation_app.protocols.bahasakita_account import (
    DEFAULT_BASE_URL,
    SERVICE,
    SIGN_IN_SERVICE,
    MonitoringSnapshot,
    ServiceToken,
    base_url_problem,
    basic_credentials,
    monitoring_request,
    parse_error,
    parse_monitoring,
    parse_token_response,
    sign_in_request,
)
from dictation_app.transport.http import NO_RETRY, ServiceHttp, Wording, body_json, check_token

log = logging.getLogger(__name__)

# The account's token: the keyring entry the Bahasakita descriptor's "bahasakita_token"
# field names (services/bahasakita_upload.py), so the front ends know where it is set.
_TOKEN_FIX = Fix("bahasakita", ("bahasakita_token",))


class BahasakitaAccountClient:
    """Usage::

        async with BahasakitaAccountClient(token=token) as client:
            snapshot = await client.monitoring()

    `sign_in()` needs no token and makes the client use the one it gets.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        problem = base_url_problem(base_url)
        if problem is not None:
            raise ConfigurationError(f"{SERVICE}: the base URL (the account address in "
                                     f"Preferences) is not usable. {problem}")
        self.base_url = base_url.strip().rstrip("/")
        self.timeout = timeout
        self._token = check_bahasakita_token(token) if token else None
        self._transport = transport
        self._http = self._service_http(SERVICE, _AccountWording("the token"))
        self._http.add_secret(self._token)

    @property
    def has_token(self) -> bool:
        return self._token is not None

    async def monitoring(self) -> MonitoringSnapshot:
        """The account's job queues; raises a DictationError saying what to do."""
        if self._token is None:
            raise ConfigurationError(f"{SERVICE} needs a token", fix=_TOKEN_FIX)
        request = monitoring_request(self._token)
        try:
            response = await self._http.send(request)
        except AuthenticationFailed as exc:
            raise AuthenticationFailed(
                str(exc), fix=replace(_TOKEN_FIX, remedy=Remedy.RENEW)) from exc
        snapshot = parse_monitoring(self._http.reply_json(response, request.operation))
        log.debug("monitoring: %s", {k: len(v) for k, v in snapshot.queues.items()})
        return snapshot

    async def sign_in(self, email: str, password: str) -> ServiceToken:
        """Exchange an email and password for a service token, which this client then uses.

        The password is only encoded into this one request's header.
        """
        if self._http.closed:
            raise LocalProtocolError(f"{SIGN_IN_SERVICE}: the client is closed")
        request = sign_in_request(email, password)
        # A client of its own, closed at once: the password is masked in its messages
        # and forgotten with it.
        http = self._service_http(SIGN_IN_SERVICE, _AccountWording(
            "the email or password", "Check them and try again."))
        http.add_secret(password)
        http.add_secret(basic_credentials(email, password))
        try:
            response = await http.send(request)
            body = http.reply_json(response, request.operation)
        finally:
            await http.aclose()
        token = parse_token_response(body)
        self._token = check_bahasakita_token(token.token)
        self._http.add_secret(self._token)
        log.info("signed in to Bahasakita (token type %s)", token.type or "unknown")
        return token

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> BahasakitaAccountClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def _service_http(self, service: str, wording: Wording) -> ServiceHttp:
        return ServiceHttp(service, self.base_url, timeout=self.timeout, retry=NO_RETRY,
                           message=_message, embedded_status=_embedded_status,
                           wording=wording, transport=self._transport)


class _AccountWording(Wording):
    """The account's sentences: what was refused and what to do, and the base URL."""

    url = "the base URL"

    def __init__(self, refused_what: str, advice: str = ""):
        self.refused_what = refused_what
        self.advice = advice

    def no_answer(self, service: str, operation: str, url: str, timeout: float,
                  error: str) -> str:
        origin = urlsplit(url)._replace(path="", query="", fragment="").geturl()
        return (f"{service}: no answer from {origin} within {timeout:g} s ({error}). "
                "Check the network, or try again later.")

    def refused(self, service: str, operation: str, status: str, said: str) -> str:
        refused = f"Bahasakita refused {self.refused_what} ({status}): {said}."
        return f"{refused} {self.advice}" if self.advice else refused

    def server_failed(self, service: str, operation: str, status: int, status_text: str,
                      said: str) -> DictationError:
        # Not the request's fault, and nothing a person could change: try again later.
        return ConnectionFailed(f"{service}: the server failed to answer {operation} "
                                f"({status_text}): {said}. Try again later.")


def check_bahasakita_token(token: str) -> str:
    """`token` stripped, or ConfigurationError (unechoed) if a header cannot carry it;
    shared by every Bahasakita client so that all refuse a damaged token alike. The
    error names the token; the front ends say where to enter it again."""
    try:
        return check_token(token, what="Bahasakita token", fix="")
    except ConfigurationError as exc:
        # check_token ends its sentence with the fix it is given: the front ends add it.
        raise ConfigurationError(str(exc).removesuffix("; "),
                                 fix=replace(_TOKEN_FIX, remedy=Remedy.REENTER)) from None


def _message(body: bytes) -> str | None:
    return parse_error(body_json(body)).message


def _embedded_status(body: bytes) -> int | None:
    # Some Bahasakita endpoints answer HTTP 200 with the real status in the body.
    return parse_error(body_json(body)).status
