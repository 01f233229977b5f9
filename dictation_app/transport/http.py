"""The one HTTP edge of the app's REST clients: one request, retried when it may be.

`ServiceHttp.send()` sends a protocol's `Request` (protocols/request.py), and
`ServiceHttp.request()` a loose one, with httpx; either returns a 2xx response or
raises from the app's error tree:

- timeouts, refused or dropped connections, 5xx and 429 are *transient*: retried with
  capped exponential backoff and jitter (honouring `Retry-After`), then reported as
  `ConnectionFailed` (no answer) or `ServiceRejected` (the last error status);
- 401 and 403 raise `AuthenticationFailed` at once (a caller holding a refresh token
  renews and asks again, once);
- any other 4xx raises `ServiceRejected` with the service's own message;
- a redirect is reported, never followed: httpx would drop the Authorization header;
- a body httpx cannot decode (`Content-Encoding: gzip` on a body that is not) raises
  `RemoteProtocolError`; a header or URL that HTTP cannot carry (a token pasted with a
  curly quote) raises `ConfigurationError`.

A service that puts the real status inside an HTTP 200 body names it with
`embedded_status`; such a status of 400 or more is then handled as that HTTP status.
A client chooses its rules by parameter, never by a mapping of its own: how often to
try (`RetryPolicy`, `NO_RETRY`) and how the messages read (`Wording`). The reply's
JSON comes from `reply_json()`, decoded once, for the protocol's parsers.

Credentials registered with `add_secret()` are masked in every message this module
builds, before any text is cut short (`excerpt()`): a cut inside a credential would
leave its prefix, which no mask matches. Errors are raised outside `except` blocks so
that no httpx exception (which holds the request and its headers) stays reachable
through `__context__`.

Deadlines: httpx's timeouts apply to each read and write, so a peer that trickles its
headers or body a byte at a time would never time out. Every request therefore also has
a whole-request deadline (`deadline`, else `DICTATION_HTTP_DEADLINE`, else
`DEFAULT_DEADLINE` or twice the per-read timeout if longer), to which an
upload adds its size at `FLOOR_THROUGHPUT`. Past it the request ends in
`ConnectionFailed` naming the service, the operation and the deadline; it is not retried,
since a peer that trickled once will trickle again. A reply body over `max_reply_bytes`
is refused as it arrives, before it is all in memory.

Uploads: pass `files` as httpx does; an open file is streamed from disk in chunks
and rewound by httpx on each attempt. Wrap it in `ProgressFile`
(transport/progress_file.py) to hear how many bytes have gone out, and give such a
request `UPLOAD_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from dictation_app.core.deadline import within
from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    LocalProtocolError,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.core.redaction import RedactingFilter, SecretMask, install_filter, redact
from dictation_app.protocols.reply_fields import MAX_REPLY_BYTES, decode_json
from dictation_app.protocols.request import Request
from dictation_app.transport.loopback import is_loopback_host

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 200  # characters of a service's words quoted in an error message

# A JSON reply of a few MiB (a long transcript) takes under 100 s even at the floor
# throughput below; two minutes bounds a trickling peer without cutting a real reply.
DEFAULT_DEADLINE = 120.0
DEADLINE_ENV = "DICTATION_HTTP_DEADLINE"  # seconds, for a link slower than we assume
# The slowest average upload the deadline allows: 16 KiB/s (~131 kbit/s), just under the
# ~140 kbit/s that ProgressFile's 2 MiB pieces need within UPLOAD_TIMEOUT, so the deadline
# never cuts an upload the per-write timeout would let through. 1 GiB then gets ~18 h.
FLOOR_THROUGHPUT = 16 << 10


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried."""

    attempts: int = 5  # in all, the first one included
    initial: float = 1.0  # seconds before the first retry
    maximum: float = 30.0  # cap on any one wait, Retry-After included
    jitter: float = 0.5  # up to this many seconds added at random


NO_RETRY = RetryPolicy(attempts=1)


class Wording:
    """How a `ServiceHttp` words the failures a person acts on.

    The defaults suit the file-job services. A client whose advice differs (the
    Bahasakita account's: sign in again, check the base URL) subclasses it and changes a
    sentence; which failure becomes which error, and whether it is retried, stays in
    `ServiceHttp`, apart from the class `server_failed()` picks.
    """

    url = "the service URL"  # the setting a person checks after a redirect or a bad host

    def no_answer(self, service: str, operation: str, url: str, timeout: float,
                  error: str) -> str:
        return (f"{service}: no answer to {operation} within {timeout:g} s ({error}). "
                "Check the network, or try again later.")

    def refused(self, service: str, operation: str, status: str, said: str) -> str:
        """`status` reads "HTTP 401", or "status 401" for one inside a 200 reply."""
        # Stripped of its full stop: the sentence goes on after it.
        return (f"{service} refused the credentials for {operation} ({status}): "
                f"{said.rstrip('. ')}. Check the account settings.")

    def server_failed(self, service: str, operation: str, status: int, status_text: str,
                      said: str) -> DictationError:
        """The error for a 5xx once no attempt is left."""
        return ServiceRejected(said, service=service, operation=operation, status=status)


class _Transient(Exception):
    """A failure worth another attempt; carries what to raise if none is left."""

    def __init__(self, error: DictationError, retry_after: float | None = None, *,
                 undelivered: bool = False):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.undelivered = undelivered  # the service certainly did not act on the request


_HTTPX_LOG_SECRETS = SecretMask()
_HTTPX_LOG_FILTER = RedactingFilter(_HTTPX_LOG_SECRETS, urls=False)


def httpx_log_secrets() -> SecretMask:
    """The secrets masked in httpx's own log lines, which quote each request's URL at
    INFO: add a presigned URL's query while it is in use, discard it after.

    The filter goes on the "httpx" logger at the first call, not at import: an app that
    never uploads leaves httpx's logging alone.
    """
    install_filter("httpx", _HTTPX_LOG_FILTER)
    return _HTTPX_LOG_SECRETS


def check_token(token: str, *, what: str, fix: str) -> str:
    """`token` stripped, or ConfigurationError if HTTP cannot carry it in a header.

    A line break would be refused by h11 with the header value, token included, in its
    message; a non-ASCII character (a curly quote or an ellipsis from a bad paste)
    fails in httpx with the whole header in the exception. Caught here, unechoed.
    """
    token = token.strip()
    if not token or not all("!" <= ch <= "~" for ch in token):
        raise ConfigurationError(
            f"The {what} contains spaces, line breaks, control characters or characters "
            f"other than plain ASCII letters, digits and punctuation (a curly quote, say); "
            f"{fix}")
    return token


def body_json(body: bytes) -> object | None:
    """A body's JSON value, or None if it is not JSON: for the hooks that read error
    bodies (`message`, `embedded_status`), where anything goes: nested past the bound
    or not JSON at all, the answer is None."""
    try:
        return decode_json(body, "error body")
    except RemoteProtocolError:
        return None


def default_message(body: bytes) -> str | None:
    """A service's own words in an error body: JSON `message`/`error`/`detail`, or text.

    Returned whole: the caller masks credentials first, then shortens (`excerpt()`).
    """
    try:
        data = decode_json(body, "error body")
    except RemoteProtocolError:
        text = body.decode("utf-8", "replace").strip()
        # An HTML error page says nothing a person can use; a short text body might.
        return text if text and not text.startswith("<") else None
    sources = [data] if isinstance(data, Mapping) else []
    for source in list(sources):
        for nested in ("error", "bk", "data"):
            if isinstance(source.get(nested), Mapping):
                sources.append(source[nested])
    for source in sources:
        for key in ("message", "error", "detail", "Message", "errorMessage", "msg",
                    "message_status"):
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                return "; ".join(value)
    if isinstance(data, str) and data.strip():
        return data.strip()
    return None


class ServiceHttp:
    """One service's HTTP client. Usage::

        http = ServiceHttp("Botlhale", "https://api.botlhale.xyz")
        http.add_secret(token)
        response = await http.send(status_request(...),   # a protocols/ Request
                                   headers={"Authorization": f"Bearer {token}"})
        ...
        await http.aclose()
    """

    def __init__(self, service: str, base_url: str, *, timeout: float = 30.0,
                 retry: RetryPolicy = RetryPolicy(),
                 message: Callable[[bytes], str | None] = default_message,
                 embedded_status: Callable[[bytes], int | None] | None = None,
                 wording: Wording | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 deadline: float | None = None,
                 max_reply_bytes: int = MAX_REPLY_BYTES):
        self.service = service
        self.wording = wording or Wording()
        self.base_url = check_base_url(service, base_url)
        self.timeout = timeout
        # Chosen (here or in the environment), it is used as it is; by default it is
        # twice the per-read timeout at least, as a reply may rightly take that long to
        # start (Botlhale's sync answer comes once the clip is transcribed).
        chosen = deadline if deadline is not None else _deadline_from_env()
        self._deadline_floor = chosen is None
        self.deadline = chosen if chosen is not None else max(DEFAULT_DEADLINE, 2 * timeout)
        self.max_reply_bytes = max_reply_bytes
        self.retry = retry
        self._message = message
        self._embedded_status = embedded_status
        self._secrets = SecretMask()  # every credential this client may meet
        self._closed = False
        self._http = httpx.AsyncClient(
            timeout=timeout, transport=transport, follow_redirects=False,
            # A desktop proxy setting must not capture requests to a local server;
            # elsewhere it is honoured, as a browser would.
            trust_env=not is_loopback_host(urlsplit(self.base_url).hostname))

    @property
    def closed(self) -> bool:
        return self._closed

    def add_secret(self, value: str | None) -> None:
        self._secrets.add(value)

    def mask(self, text: str) -> str:
        return self._secrets.mask(text)

    def excerpt(self, text: bytes | str, limit: int = MESSAGE_LIMIT) -> str:
        """`text` (a reply body, a service's words) fit for an error message: every
        credential masked, then cut to `limit` characters.

        In that order: a cut inside a credential would leave a prefix of it, which no
        mask matches any more.
        """
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "replace")
        text = self.mask(text.strip())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def reply_json(self, response: httpx.Response, operation: str, *,
                   advice: str = "Try again later; if it keeps happening the service may "
                                 "have changed") -> object:
        """The reply's JSON (bounded: reply_fields.decode_json), or RemoteProtocolError
        quoting the start of the body with every credential masked, then `advice`."""
        return decode_json(response.content, f"{self.service}: {operation} reply",
                           mask=self.mask, advice=advice)

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    async def request(self, method: str, path_or_url: str, *,
                      headers: Mapping[str, str] | None = None,
                      params: Mapping[str, str] | None = None,
                      data: Mapping[str, str] | None = None,
                      files: Mapping[str, Any] | None = None,
                      json_body: Any = None,
                      timeout: float | None = None,
                      retry: RetryPolicy | None = None,
                      operation: str | None = None,
                      idempotent: bool | None = None) -> httpx.Response:
        """Send until a 2xx answer, a permanent error, or no attempts left.

        A request that is not `idempotent` (by default: a POST) is sent again only when
        the service cannot have acted on it: it never connected, or the answer was 429
        or 503. A timeout or a 500 after an upload may mean the job exists already, and
        a second upload would start (and bill) a second job.
        """
        if self._closed:
            raise LocalProtocolError(f"{self.service}: the client is closed")
        url = self.url(path_or_url)
        operation = operation or f"{method} {urlsplit(url).path}"
        policy = retry or self.retry
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
            wait=_Wait(policy),
            retry=tenacity.retry_if_exception_type(_Transient),
            before_sleep=self._log_retry(operation),
            reraise=True,
        )
        error: DictationError | None = None
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        return await self._once(method, url, operation, headers=headers,
                                                params=params, data=data, files=files,
                                                json_body=json_body, timeout=timeout)
                    except _Transient as exc:
                        if idempotent or exc.undelivered:
                            raise
                        error = exc.error
                        break
        except _Transient as exc:
            error = exc.error
        # Outside the except blocks on purpose: see the module docstring.
        raise error or AssertionError("tenacity ended without an outcome")

    async def send(self, request: Request, *, headers: Mapping[str, str] | None = None,
                   files: Mapping[str, Any] | None = None, timeout: float | None = None,
                   retry: RetryPolicy | None = None, operation: str | None = None,
                   idempotent: bool | None = None) -> httpx.Response:
        """`request()` for a protocol's `Request`, on this client's base URL.

        `headers` are added to the request's own (a bearer token the caller renews);
        `idempotent`, if given, overrides the request's.
        """
        return await self.request(
            request.method, request.path, headers={**request.headers, **(headers or {})},
            params=request.params or None, data=request.form or None, files=files,
            json_body=request.json, timeout=timeout, retry=retry, operation=operation,
            idempotent=request.idempotent if idempotent is None else idempotent)

    async def aclose(self) -> None:
        self._closed = True
        await self._http.aclose()

    # internals

    async def _once(self, method: str, url: str, operation: str, **kwargs: Any) -> httpx.Response:
        failure: DictationError | _Transient
        timeout = kwargs.pop("timeout")
        json_body = kwargs.pop("json_body")
        deadline = self.deadline + _body_size(kwargs["files"]) / FLOOR_THROUGHPUT
        if timeout is not None and self._deadline_floor:
            deadline = max(deadline, 2 * timeout)
        try:
            response = await within(self._fetch(
                method, url, headers=kwargs["headers"], params=kwargs["params"],
                data=kwargs["data"], files=kwargs["files"], json=json_body,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT),
                deadline)
        except asyncio.TimeoutError:
            failure = ConnectionFailed(
                f"{self.service}: {operation} did not finish within {deadline:,.0f} s: the "
                "server answers too slowly, or stalls on purpose. Check the network, or "
                "try again later.")
        except _TooLarge as exc:
            failure = RemoteProtocolError(
                f"{self.service}: the reply to {operation} is larger than "
                f"{exc.limit:,} bytes, more than any answer of this service needs; it was "
                "not read. Try again later; if it keeps happening the service may have "
                "changed.")
        except httpx.TimeoutException as exc:
            # Only a timeout before the request left is sure not to have reached the service.
            failure = _Transient(ConnectionFailed(self.wording.no_answer(
                self.service, operation, url, timeout or self.timeout, type(exc).__name__)),
                undelivered=isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)))
        except httpx.ConnectError as exc:
            failure = _Transient(ConnectionFailed(
                f"{self.service}: cannot connect to {_origin(url)}: {self._reason(exc)}. "
                f"Check the network and {self.wording.url}."), undelivered=True)
        except httpx.TransportError as exc:
            failure = _Transient(ConnectionFailed(
                f"{self.service}: the connection dropped during {operation}: "
                f"{self._reason(exc)}. Try again."))
        except httpx.DecodingError as exc:
            # The whole reply arrived and cannot be read: asking again would get the same.
            failure = RemoteProtocolError(
                f"{self.service}: the reply to {operation} could not be decoded "
                f"({self._reason(exc)}); the service, or a proxy on the way, sent a damaged "
                f"body. Try again later; if it keeps happening, check {self.wording.url}.")
        except httpx.RequestError as exc:
            failure = _Transient(ConnectionFailed(
                f"{self.service}: {operation} failed: {self._reason(exc)}. Try again."))
        except UnicodeEncodeError:
            # Its `object` is the whole header value, credential included: never quoted.
            failure = ConfigurationError(
                f"{self.service}: cannot send {operation}: a header holds characters HTTP "
                "cannot carry, most likely a token or password pasted with a curly quote "
                "or another non-ASCII character. Enter it again in the account settings.")
        except (httpx.InvalidURL, UnicodeError) as exc:  # the latter: a bad IDNA host name
            failure = ConfigurationError(
                f"{self.service}: cannot send {operation}: the URL is not valid "
                f"({self._reason(exc)}); check {self.wording.url}.")
        else:
            self._check(response, operation)
            return response
        # Outside the except blocks on purpose: see the module docstring.
        raise failure

    async def _fetch(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, its reply read up to `max_reply_bytes` (on the wire, before any
        Content-Encoding is undone) and handed back whole."""
        request = self._http.build_request(method, url, **kwargs)
        streamed = await self._http.send(request, stream=True)
        if streamed.is_stream_consumed:  # a transport that read the body itself (a mock)
            if len(streamed.content) > self.max_reply_bytes:
                raise _TooLarge(self.max_reply_bytes)
            return streamed
        try:
            declared = streamed.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_reply_bytes:
                raise _TooLarge(self.max_reply_bytes)
            raw, size = [], 0
            async for piece in streamed.aiter_raw():
                size += len(piece)
                if size > self.max_reply_bytes:
                    raise _TooLarge(self.max_reply_bytes)
                raw.append(piece)
        finally:
            await streamed.aclose()
        # A response rebuilt from the raw bytes decodes them as httpx would have.
        response = httpx.Response(streamed.status_code, headers=streamed.headers,
                                  content=b"".join(raw), request=request,
                                  extensions=streamed.extensions)
        response.read()
        return response

    def _check(self, response: httpx.Response, operation: str) -> None:
        status, kind = response.status_code, "HTTP"
        if 200 <= status < 300:
            embedded = (self._embedded_status(response.content)
                        if self._embedded_status is not None else None)
            if embedded is None or embedded < 400:
                return
            status, kind = embedded, "status"
        said = self.excerpt(self._message(response.content) or "no message")
        if status in (401, 403):
            raise AuthenticationFailed(
                self.wording.refused(self.service, operation, f"{kind} {status}", said))
        if 300 <= status < 400:
            target = response.headers.get("location", "elsewhere")
            raise RemoteProtocolError(
                f"{self.service}: {operation} was redirected (HTTP {status}) to "
                f"{self.mask(redact(target))}; check {self.wording.url}.")
        rejected: DictationError = ServiceRejected(said, service=self.service,
                                                   operation=operation, status=status)
        if status >= 500:
            rejected = self.wording.server_failed(self.service, operation, status,
                                                  f"{kind} {status}", said)
        if status == 429 or status >= 500:
            raise _Transient(rejected, _retry_after(response.headers.get("retry-after")),
                             undelivered=status in (429, 503))
        raise rejected

    def _reason(self, exc: Exception) -> str:
        return self.mask(str(exc) or type(exc).__name__)

    def _log_retry(self, operation: str) -> Callable[[tenacity.RetryCallState], None]:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.info("%s: %s failed (attempt %d): %s; retrying in %.1f s", self.service,
                     operation, state.attempt_number, exc, wait)
        return before_sleep


class _TooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


def _deadline_from_env() -> float | None:
    """`DICTATION_HTTP_DEADLINE` in seconds, if set to a positive number."""
    try:
        seconds = float(os.environ.get(DEADLINE_ENV, "").strip() or "nan")
    except ValueError:
        return None
    return seconds if seconds > 0 else None  # NaN (unset) compares false too


def _body_size(files: Mapping[str, Any] | None) -> int:
    """The bytes an upload's `files` will send, as far as they tell: a ProgressFile's
    size, an open file's, or a bytes value's length."""
    total = 0
    for value in (files or {}).values():
        content = value[1] if isinstance(value, tuple) else value
        if isinstance(content, (bytes, bytearray, str)):
            total += len(content)
        elif isinstance(getattr(content, "size", None), int):
            total += content.size
        elif hasattr(content, "fileno"):
            with contextlib.suppress(OSError, ValueError):  # closed, or not a real file
                total += os.fstat(content.fileno()).st_size
    return total


class _Wait(tenacity.wait.wait_base):
    """Exponential backoff with jitter, or the server's Retry-After; capped either way."""

    def __init__(self, policy: RetryPolicy):
        self.policy = policy
        # Not wait_exponential_jitter(initial=...): tenacity 9.2 deprecates `initial`
        # (a warning, an error under pytest) and 8.x has no `multiplier` there.
        self.backoff = (tenacity.wait_exponential(multiplier=policy.initial, max=policy.maximum)
                        + tenacity.wait_random(0, policy.jitter))

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.maximum)
        return min(float(self.backoff(retry_state)), self.policy.maximum)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def check_base_url(service: str, base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{service}: the service URL must start with https:// (or http://), "
            f"got {base_url!r}")
    return base_url.strip().rstrip("/")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
