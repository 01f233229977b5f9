"""The Bahasakita account REST calls over httpx: monitoring queues and sign-in.

`protocols/bahasakita_account.py` decides what the bodies mean; this module sends
the requests and turns httpx errors and HTTP statuses into the app's error tree at
the edge. Credentials travel only in the Authorization header: they never reach a
URL, a log line or an exception message, and a password is never stored.
"""

from __future__ import annotations

import base64
import logging
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    LocalProtocolError,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.core.secrets import BAHASAKITA_TOKEN_ENV
from dictation_app.protocols.bahasakita_account import (
    DEFAULT_BASE_URL,
    MONITORING_PATH,
    SERVICE,
    SIGN_IN_SERVICE,
    TOKEN_PATH,
    MonitoringSnapshot,
    ServiceToken,
    parse_error,
    parse_monitoring,
    parse_token_response,
)
from dictation_app.transport.http import body_json, check_token
from dictation_app.transport.loopback import is_loopback_host

log = logging.getLogger(__name__)


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
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"{SERVICE}: the base URL must look like https://api.dikte.in, got {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = _checked_token(token) if token else None
        self._closed = False
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            # Redirects would be followed without the Authorization header (httpx drops
            # it across hosts) and end in a confusing 401; report them instead.
            follow_redirects=False,
            # A desktop proxy setting (HTTPS_PROXY) must not capture requests to a local
            # server; elsewhere it is honoured, as a browser would.
            trust_env=not is_loopback_host(parts.hostname),
        )

    @property
    def has_token(self) -> bool:
        return self._token is not None

    async def monitoring(self) -> MonitoringSnapshot:
        """The account's job queues; raises a DictationError saying what to do."""
        if self._token is None:
            raise ConfigurationError(
                f"{SERVICE} needs a token: sign in with your Bahasakita email and password, "
                f"paste a token in Settings, or set {BAHASAKITA_TOKEN_ENV}."
            )
        token = self._token
        response = await self._get(MONITORING_PATH, SERVICE, {"Authorization": f"Bearer {token}"},
                                   secrets=(token,))
        self._check(response, SERVICE, MONITORING_PATH, (token,))
        snapshot = parse_monitoring(response.content)
        log.debug("monitoring: %s", {k: len(v) for k, v in snapshot.queues.items()})
        return snapshot

    async def sign_in(self, email: str, password: str) -> ServiceToken:
        """Exchange an email and password for a service token, which this client then uses.

        The password is only encoded into this one request's header.
        """
        if not email.strip() or not password:
            raise ConfigurationError(f"{SIGN_IN_SERVICE}: enter both an email and a password.")
        if ":" in email:
            # HTTP Basic splits at the first colon, so the service would see another user.
            raise ConfigurationError(f"{SIGN_IN_SERVICE}: an email cannot contain ':'.")
        basic = base64.b64encode(f"{email.strip()}:{password}".encode()).decode("ascii")
        secrets = (password, basic)
        response = await self._get(TOKEN_PATH, SIGN_IN_SERVICE, {"Authorization": f"Basic {basic}"},
                                   secrets=secrets)
        self._check(response, SIGN_IN_SERVICE, TOKEN_PATH, secrets)
        token = parse_token_response(response.content)
        self._token = _checked_token(token.token)
        log.info("signed in to Bahasakita (token type %s)", token.type or "unknown")
        return token

    async def aclose(self) -> None:
        self._closed = True
        await self._http.aclose()

    async def __aenter__(self) -> BahasakitaAccountClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    # internals

    async def _get(self, path: str, service: str, headers: dict[str, str], *,
                   secrets: tuple[str, ...]) -> httpx.Response:
        if self._closed:
            raise LocalProtocolError(f"{service}: the client is closed")
        url = self.base_url + path
        error: DictationError
        try:
            return await self._http.get(url, headers=headers)
        except httpx.TimeoutException as exc:
            error = ConnectionFailed(
                f"{service}: no answer from {self.base_url} within {self.timeout:g} s "
                f"({type(exc).__name__}). Check the network, or try again later."
            )
        except httpx.ConnectError as exc:
            error = ConnectionFailed(
                f"{service}: cannot connect to {self.base_url}: {_reason(exc, secrets)}. "
                "Check the network and the URL."
            )
        except httpx.TransportError as exc:
            error = ConnectionFailed(
                f"{service}: the connection to {self.base_url} failed during GET {path}: "
                f"{_reason(exc, secrets)}. Try again."
            )
        except httpx.DecodingError as exc:
            error = RemoteProtocolError(
                f"{service}: the reply to GET {path} could not be decoded "
                f"({_reason(exc, secrets)}); the service, or a proxy on the way, sent a "
                "damaged body. Try again later."
            )
        except httpx.RequestError as exc:
            error = ConnectionFailed(
                f"{service}: GET {path} failed: {_reason(exc, secrets)}. Try again."
            )
        # Raised outside the except block on purpose: the httpx exception holds the
        # request, whose headers carry the credentials, and chaining would keep it alive
        # in __context__ for as long as anyone holds our error.
        raise error

    def _check(self, response: httpx.Response, service: str, path: str,
               secrets: tuple[str, ...]) -> None:
        status, kind = response.status_code, "HTTP"
        if 200 <= status < 300:
            embedded = parse_error(body_json(response.content)).status
            if embedded is None or embedded < 400:
                return
            # Some Bahasakita endpoints answer HTTP 200 with the real status in the body.
            status, kind = embedded, "status"
        said = _said(response.content, secrets)
        if status in (401, 403):
            if service == SIGN_IN_SERVICE:
                raise AuthenticationFailed(
                    f"Bahasakita refused the email or password ({kind} {status}): {said}. "
                    "Check them and try again."
                )
            raise AuthenticationFailed(
                f"Bahasakita refused the token ({kind} {status}): {said}. "
                "Sign in again or paste a new token in Settings."
            )
        if 300 <= status < 400:
            target = response.headers.get("location", "elsewhere")
            raise RemoteProtocolError(
                f"{service}: GET {path} was redirected ({kind} {status}) to {target}; "
                "check the base URL."
            )
        if 400 <= status < 500:
            raise ServiceRejected(said, service=service, operation=f"GET {path}", status=status)
        raise ConnectionFailed(
            f"{service}: the server failed to answer GET {path} ({kind} {status}): {said}. "
            "Try again later."
        )


def _checked_token(token: str) -> str:
    return check_token(token, what="Bahasakita token", fix="paste it again in Settings.")


def _said(body: bytes, secrets: tuple[str, ...]) -> str:
    """The service's own message, with any credential it echoed masked."""
    message = parse_error(body_json(body)).message or "no message"
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


def _reason(exc: Exception, secrets: tuple[str, ...]) -> str:
    text = str(exc) or type(exc).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
