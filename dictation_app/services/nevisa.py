"""File jobs on Nevisa (PersianSpeech): sign in, upload, poll the Celery task, cancel it.

`protocols/nevisa.py` builds the requests and reads the replies; this module sends them
through one `ServiceHttp` per host (the accounting host for login, the api host for the
rest), which retries transient failures and masks every credential it is told about.

Sign-in happens once per service instance, under a lock: the auth token changes at
every login, so jobs running side by side share one token instead of invalidating each
other's. A call refused later with 401/403 signs in again once and is retried once.

Only the task id and its progress URL are remembered for a job, never the token or the
api key: a resumed job signs in afresh and polls the same task.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx

from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    RemoteProtocolError,
    ServiceRejected,
    UnsupportedInput,
)
from dictation_app.jobs.model import JobState
from dictation_app.jobs.service import JobContext, UploadProgress
from dictation_app.protocols import nevisa
from dictation_app.protocols.nevisa import (
    ACCOUNT_BASE_URL,
    API_BASE_URL,
    LOGIN_PATH,
    PROGRESS_PATH,
    PROVIDER,
    RECOGNIZE_FILE_FIELD,
    SERVICE,
    Credentials,
    State,
)
from dictation_app.protocols.reply_fields import short
from dictation_app.protocols.request import Request
from dictation_app.protocols.transcript import Transcript
from dictation_app.services.poll_policy import PollClock, PollPolicy
from dictation_app.transport.http import RetryPolicy, ServiceHttp, body_json, default_message
from dictation_app.transport.progress_file import UPLOAD_TIMEOUT, ProgressFile

if TYPE_CHECKING:
    from dictation_app.audio.files import AudioFileInfo

log = logging.getLogger(__name__)

T = TypeVar("T")

_DEFAULT_RETRY = RetryPolicy()
DEFAULT_POLL = PollPolicy(initial=2.0, maximum=20.0, total=6 * 3600.0)


class NevisaService:
    """A `JobService` (jobs/service.py) for Nevisa. Usage::

        service = NevisaService(username="me@example.com", password=password)
        transcript = await service.run(context)
        ...
        await service.aclose()
    """

    provider = PROVIDER

    def __init__(self, *, api_url: str = API_BASE_URL, accounts_url: str = ACCOUNT_BASE_URL,
                 username: str | None, password: str | None,
                 retry: RetryPolicy = _DEFAULT_RETRY, poll: PollPolicy = DEFAULT_POLL,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0,
                 upload_timeout: float = UPLOAD_TIMEOUT):
        missing = [what for what, value in (
            ("username (or phone or email)", username and username.strip()),
            ("password", password)) if not value]
        if missing:
            # Both fields are named: the account is the pair, wherever it is entered.
            raise ConfigurationError(
                f"{SERVICE}: the PersianSpeech {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set.",
                service=PROVIDER, fields=("nevisa_username", "nevisa_password"))
        assert username is not None and password is not None  # for mypy: checked above
        self._username = username.strip()
        self._password = password
        # The file goes out in ProgressFile's 2 MiB pieces, each of which must leave
        # within the timeout: 30 s would fail a link under ~560 kbit/s.
        self._upload_timeout = max(upload_timeout, timeout)
        self.poll = poll
        self._api = ServiceHttp(SERVICE, api_url, timeout=timeout, retry=retry,
                                message=_error_message, transport=transport)
        self._accounts = ServiceHttp(SERVICE, accounts_url, timeout=timeout, retry=retry,
                                     message=_error_message, transport=transport)
        self._add_secret(password)
        self._credentials: Credentials | None = None
        self._login_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return (f"NevisaService(api_url={self._api.base_url!r}, "
                f"accounts_url={self._accounts.base_url!r}, username={self._username!r})")

    # --- JobService ------------------------------------------------------------

    async def run(self, context: JobContext) -> Transcript:
        task_id = (context.remote.get("task_id") or "").strip()
        if task_id:
            progress_url = self._stored_progress_url(task_id, context.remote.get("progress_url"))
            log.info("%s: resuming task %s for %s", SERVICE, task_id, context.file.name)
        else:
            task_id, progress_url = await self._start(context)
            await context.remember(task_id=task_id, progress_url=progress_url)
            log.info("%s: task %s started for %s", SERVICE, task_id, context.file.name)
        context.report(JobState.PROCESSING, None)
        return await self._wait(context, task_id, progress_url)

    async def cancel(self, remote: Mapping[str, str]) -> None:
        task_id = (remote.get("task_id") or "").strip()
        if not task_id:
            return  # no task was ever reported: nothing known to stop
        nevisa.progress_path(task_id)  # a stored id that is no id fails before signing in

        async def terminate(credentials: Credentials) -> httpx.Response:
            return await self._send(self._api, nevisa.terminate_request(credentials, task_id))

        await self._signed_in(terminate)
        log.info("%s: task %s terminated", SERVICE, task_id)

    async def aclose(self) -> None:
        await self._api.aclose()
        await self._accounts.aclose()

    # --- upload ----------------------------------------------------------------

    async def _start(self, context: JobContext) -> tuple[str, str]:
        path = context.file
        # Nevisa takes the file as it is; probing only makes a damaged file fail here,
        # with a useful message, before anything is sent.
        await asyncio.to_thread(_probe, path)
        context.report(JobState.UPLOADING, 0.0)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after every attempt
        except OSError as exc:
            raise UnsupportedInput(
                f"{path.name}: cannot read this file ({exc.strerror or exc}); check that it "
                "still exists and that you may read it") from None
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"

        upload = ProgressFile(handle, UploadProgress(context))

        async def recognize(credentials: Credentials) -> httpx.Response:
            return await self._send(
                self._api, nevisa.recognize_request(credentials),
                files={RECOGNIZE_FILE_FIELD: (path.name, upload, content_type)},
                timeout=self._upload_timeout)

        with handle:
            response = await self._signed_in(recognize)
        started = nevisa.parse_recognize_reply(self._json(response, "POST", nevisa.RECOGNIZE_PATH))
        return started.task_id, self._progress_target(started.progress_url,
                                                      nevisa.RECOGNIZE_PATH)

    # --- polling ---------------------------------------------------------------

    async def _wait(self, context: JobContext, task_id: str, progress_url: str) -> Transcript:
        waits = PollClock(self.poll)
        endpoint = PROGRESS_PATH.format(task_id=task_id)
        while True:
            response = await self._api.request("GET", progress_url,
                                               operation=f"GET {endpoint}")
            progress = nevisa.parse_progress_reply(self._json(response, "GET", endpoint),
                                                   task_id=task_id, file=str(context.file))
            if progress.state is State.SUCCESS:
                assert progress.transcript is not None  # the parser gives one with SUCCESS
                context.report(JobState.PROCESSING, 1.0)
                log.info("%s: task %s finished", SERVICE, task_id)
                return progress.transcript
            if progress.state is State.FAILURE:
                raise ServiceRejected(
                    progress.error or "the task failed without saying why. Check that the "
                    "file plays, then try again; if it keeps failing, ask PersianSpeech "
                    "support about task " + task_id,
                    service=SERVICE, operation=f"the transcription of {context.file.name}")
            context.report(JobState.PROCESSING,
                           progress.percent / 100 if progress.percent is not None else None)
            interval = waits.next_delay()
            if interval is None:
                raise ConnectionFailed(
                    f"{SERVICE}: task {task_id} for {context.file.name} has not finished "
                    f"after {self.poll.total / 60:g} minutes. Run the job again later: it "
                    "goes on waiting for the same task.")
            await asyncio.sleep(interval)

    def _progress_target(self, url: str, endpoint: str) -> str:
        """A progress URL as the service gives it: a path on the api host, or a full URL
        (followed as given: polling carries no credentials)."""
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return url
        if not parts.scheme and not parts.netloc:
            return "/" + url.lstrip("/")
        raise RemoteProtocolError(
            f"{SERVICE}: POST {endpoint} reply: 'progress_url' is neither a path nor an "
            f"http(s) URL: {short(url)}")

    def _stored_progress_url(self, task_id: str, stored: str | None) -> str:
        default = nevisa.progress_path(task_id)
        if not stored:
            return default
        try:
            return self._progress_target(stored, nevisa.RECOGNIZE_PATH)
        except RemoteProtocolError:
            return default

    # --- signing in ------------------------------------------------------------

    async def _signed_in(self, send: Callable[[Credentials], Awaitable[T]]) -> T:
        """`send` with the current credentials; signed in again once if they are refused."""
        credentials = await self._current_credentials()
        try:
            return await send(credentials)
        except AuthenticationFailed:
            log.info("%s: the auth token was refused; signing in again", SERVICE)
        credentials = await self._current_credentials(stale=credentials)
        return await send(credentials)

    async def _current_credentials(self, stale: Credentials | None = None) -> Credentials:
        async with self._login_lock:
            if self._credentials is None or self._credentials is stale:
                self._credentials = None
                self._credentials = await self._login()
            return self._credentials

    async def _login(self) -> Credentials:
        request = nevisa.login_request(self._username, self._password)
        refused: DictationError | None = None
        try:
            response = await self._send(self._accounts, request, operation="sign-in")
        except ServiceRejected as exc:
            if exc.status != 400:
                raise
            # Wrong credentials come back as 400 with the service's reason.
            refused = AuthenticationFailed(
                f"{SERVICE} refused the credentials for sign-in (HTTP 400): "
                f"{exc.server_message.rstrip('.')}. Check the account settings.")
        if refused is not None:
            raise refused
        credentials = nevisa.parse_login_reply(self._json(response, "POST", LOGIN_PATH))
        self._add_secret(credentials.auth_token)
        self._add_secret(credentials.api_key)
        log.info("%s: signed in", SERVICE)
        return credentials

    # --- helpers ---------------------------------------------------------------

    async def _send(self, http: ServiceHttp, request: Request, *,
                    files: Mapping[str, Any] | None = None,
                    operation: str | None = None,
                    timeout: float | None = None) -> httpx.Response:
        # The request's own base URL is the vendor's: `http` holds the configured one.
        # Whether a repeat is harmless the request says (an upload's is not).
        return await http.send(request, files=files, operation=operation, timeout=timeout)

    def _add_secret(self, value: str) -> None:
        self._api.add_secret(value)
        self._accounts.add_secret(value)

    def _json(self, response: httpx.Response, method: str, endpoint: str) -> object:
        return self._api.reply_json(
            response, f"{method} {endpoint}", advice="The service may be down or its "
            "address may be wrong.")


def _error_message(body: bytes) -> str | None:
    """The service's own words in an error body, for ServiceHttp's messages."""
    data = body_json(body)
    if data is None:
        return default_message(body)  # text, or nothing for an HTML error page
    return nevisa.parse_error_reply(data)


def _probe(path: Path) -> AudioFileInfo:
    # Imported on first use for start-up cost: numpy and PyAV take some 80 ms, and every
    # command line reads the registry that lists this module.
    from dictation_app.audio.files import probe

    return probe(path)
