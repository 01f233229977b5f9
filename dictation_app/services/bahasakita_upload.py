"""Bahasakita file transcription over REST: one `JobService` that uploads and polls.

`protocols/bahasakita_upload.py` builds the forms and reads the replies; this module
sends them through `ServiceHttp` (retries on 429/5xx, error mapping, token masking)
and walks a job through its steps: probe the file, upload it (streamed from disk),
store the job's uuid with `context.remember()`, then poll its content with capped
exponential backoff until it succeeds or fails. A job whose uuid is already stored
resumes at the polling step without touching the file.

Some Bahasakita endpoints answer HTTP 200 with the real status inside the body
(`bk.status`); such a status of 400 or more is treated as the HTTP status would be:
429 and 5xx are retried like the HTTP ones, within the same retry budget (`ServiceHttp`
with `embedded_status`), any other error fails with the service's message.
The token travels only in the Authorization header, the same one live dictation and
the monitoring panel use; it never reaches a log line or an error message.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    Fix,
    Remedy,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.jobs.model import JobState
from dictation_app.jobs.service import JobContext, UploadProgress
from dictation_app.protocols.bahasakita_account import parse_error
from dictation_app.protocols.bahasakita_upload import (
    DEFAULT_BASE_URL,
    PROVIDER,
    SERVICE,
    UPLOAD_FILE_FIELD,
    ContentState,
    change_priority_request,
    content_request,
    parse_change_priority_reply,
    parse_content_reply,
    parse_upload_reply,
    upload_request,
)
from dictation_app.protocols.request import Request
from dictation_app.protocols.transcript import Transcript, make_extras
from dictation_app.services.descriptors.bahasakita_upload import (
    TOKEN_FIELD,
    UUID_KEY,
    BahasakitaUploadOptions,
)
from dictation_app.services.poll_policy import PollClock, PollPolicy
from dictation_app.transport.bahasakita_account_client import check_bahasakita_token
from dictation_app.transport.http import RetryPolicy, ServiceHttp, body_json
from dictation_app.transport.progress_file import UPLOAD_TIMEOUT, ProgressFile

if TYPE_CHECKING:
    from dictation_app.audio.files import AudioFileInfo

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0  # seconds without progress on one request (not its total time)
SUBTITLE_EXTRA = "subtitle_cc"  # Transcript.extras name of the subtitle file's text
DEFAULT_RETRY = RetryPolicy()



DEFAULT_POLL = PollPolicy(initial=3.0, maximum=60.0)


class BahasakitaUploadService:
    """Usage::

        service = BahasakitaUploadService(token=token)
        transcript = await service.run(context)   # the job runner does this
        await service.change_priority(uuid, "high")
        await service.aclose()
    """

    provider = PROVIDER

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, token: str | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY, poll: PollPolicy = DEFAULT_POLL,
                 transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        # The account client's check, so both refuse a damaged token with the same words.
        self._token = check_bahasakita_token(token) if token and token.strip() else None
        self._poll = poll
        self._http = ServiceHttp(SERVICE, base_url, timeout=timeout, retry=retry,
                                 embedded_status=_embedded_status, transport=transport)
        self._http.add_secret(self._token)

    # JobService

    async def run(self, context: JobContext) -> Transcript:
        token = self._required_token()
        uuid = (context.remote.get(UUID_KEY) or "").strip()
        if uuid:
            # The file already went up; the job may even be done while the file is gone.
            log.info("Bahasakita: resuming job %s at the polling step", uuid)
        else:
            await asyncio.to_thread(_probe, context.file)  # a corrupt file goes nowhere
            uuid = await self._upload(context, token)
            # Stored before polling: a crash from here on resumes instead of uploading.
            await context.remember(**{UUID_KEY: uuid})
        context.report(JobState.PROCESSING, None)
        return await self._wait(context, uuid, token)

    async def cancel(self, remote: Mapping[str, str]) -> None:
        """Nothing to do remotely: Bahasakita documents no way to stop a job.

        The runner marks the job cancelled locally; the service finishes it on its
        side (and counts it against the quota) and the result is never fetched.
        """
        log.debug("Bahasakita has no cancel endpoint; job %s left to finish remotely",
                  remote.get(UUID_KEY, "(not uploaded)"))

    async def aclose(self) -> None:
        await self._http.aclose()

    # beyond JobService

    async def change_priority(self, uuid: str, priority: str) -> None:
        """Move a waiting job to the `high` or `reguler` queue.

        The service only does this while the job waits; otherwise it answers with its
        reason, raised as ServiceRejected.
        """
        token = self._required_token()
        response = await self._request(change_priority_request(uuid, priority), token)
        self._parsed(parse_change_priority_reply, response)
        log.info("Bahasakita: job %s now has %s priority", uuid, priority)

    # steps

    async def _upload(self, context: JobContext, token: str) -> str:
        options = context.options
        own = BahasakitaUploadOptions.of(options.vendor)
        request = upload_request(language=options.language, diarization=options.diarization,
                                 subtitle=own.subtitle, priority=own.priority)
        name = context.file.name
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        progress = UploadProgress(context)
        context.report(JobState.UPLOADING, 0.0)
        with context.file.open("rb") as raw:
            upload = ProgressFile(raw, progress)
            response = await self._request(
                request, token,
                files={UPLOAD_FILE_FIELD: (name, upload, content_type)},
                timeout=max(UPLOAD_TIMEOUT, self._http.timeout))
        progress.finish()
        uuid = self._parsed(parse_upload_reply, response)
        log.info("Bahasakita: uploaded %s as job %s (%s priority)", name, uuid, own.priority)
        return uuid

    async def _wait(self, context: JobContext, uuid: str, token: str) -> Transcript:
        request = content_request(uuid)
        waits = PollClock(self._poll)
        shown: float | None = None
        while True:
            response = await self._request(request, token)
            status = self._parsed(
                parse_content_reply, response, uuid=uuid, file=str(context.file),
                language=context.options.language)
            log.debug("Bahasakita: job %s is %s (%s%%)", uuid, status.state.value,
                      "?" if status.progress is None else f"{status.progress:g}")
            if status.state is ContentState.COMPLETED:
                assert status.transcript is not None  # the parser sees to it
                return _with_subtitle(status.transcript, status.subtitle)
            if status.state is ContentState.FAILED:
                said = self._http.mask(status.message or "no reason given").rstrip(".")
                raise ServiceRejected(
                    f"{said}. Check that the file holds speech, or try again later",
                    service=SERVICE, operation=f"the transcription of {context.file.name}")
            fraction = (status.progress / 100 if status.state is ContentState.PROCESSING
                        and status.progress is not None else None)
            if fraction != shown:
                shown = fraction
                context.report(JobState.PROCESSING, fraction)
            delay = waits.next_delay()
            if delay is None:
                raise ConnectionFailed(
                    f"{SERVICE}: {context.file.name} was still {status.state.value} after "
                    f"{_span(self._poll.total)} (job {uuid}); stopped waiting. Run the job "
                    "again later: it picks up the same job instead of uploading again")
            await asyncio.sleep(delay)

    # requests

    async def _request(self, request: Request, token: str, **kwargs: Any) -> httpx.Response:
        """One request with the bearer token; an embedded error status raises too."""
        refused: AuthenticationFailed | None = None
        try:
            return await self._http.send(
                request, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except AuthenticationFailed as exc:
            refused = exc
        # The front ends say where to renew the token, instead of ServiceHttp's advice.
        said = str(refused).removesuffix(" Check the account settings.")
        raise AuthenticationFailed(said, fix=Fix(PROVIDER, (TOKEN_FIELD,), Remedy.RENEW))

    def _parsed(self, parse: Callable[..., T], response: httpx.Response, **kwargs: Any) -> T:
        """Run a parser on a reply; a token the service echoed into it is masked in errors.
        The JSON is decoded here, not by the parser: only the transport knows the token,
        so only here can a body that is not JSON be quoted with it masked."""
        request = response.request
        body = self._http.reply_json(response, f"{request.method} {request.url.path}")
        error: DictationError
        try:
            return parse(body, **kwargs)
        except ServiceRejected as exc:
            error = ServiceRejected(self._http.mask(exc.server_message), service=exc.service,
                                    operation=exc.operation, status=exc.status)
        except RemoteProtocolError as exc:
            error = RemoteProtocolError(self._http.mask(str(exc)))
        raise error

    def _required_token(self) -> str:
        if self._token is None:
            raise ConfigurationError(f"{SERVICE} needs a Bahasakita token.",
                                     service=PROVIDER, fields=(TOKEN_FIELD,))
        return self._token


def _embedded_status(body: bytes) -> int | None:
    """The status some endpoints put in `bk.status` of an HTTP 200 reply, if any."""
    return parse_error(body_json(body)).status


def _with_subtitle(transcript: Transcript, subtitle: bytes | None) -> Transcript:
    """Keep the subtitle file Bahasakita made (SRT) as text in the transcript's extras.

    Decoded as UTF-8 (a byte-order mark dropped); a stray invalid byte becomes U+FFFD
    rather than losing the whole transcript over its subtitle.
    """
    if not subtitle:
        return transcript
    text = subtitle.decode("utf-8-sig", errors="replace")
    return replace(transcript, extras=make_extras({**dict(transcript.extras),
                                                   SUBTITLE_EXTRA: text}))


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _probe(path: Path) -> AudioFileInfo:
    # Imported on first use for start-up cost: numpy and PyAV take some 80 ms, and every
    # command line reads the registry that lists this module.
    from dictation_app.audio.files import probe

    return probe(path)
