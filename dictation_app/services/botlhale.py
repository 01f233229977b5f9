"""Botlhale file transcription over REST: one `JobService` for sync and async jobs.

`protocols/botlhale.py` builds every request and reads every reply; this module sends
them through `ServiceHttp` (retries, error mapping, secret masking) and walks a job
through its steps:

- sync (≤ 60 s of audio): POST /asr with the file as `speech_file`;
- async: POST /asr/async/upload for a presigned S3 POST, upload the file there, store
  the object key with `context.remember()`, poll the status with backoff, fetch the
  result. A job whose key is already stored resumes at the polling step.

Files Botlhale does not take (formats other than wav/amr/flac/ogg, rates outside
8-48 kHz) are converted to a temporary FLAC first, deleted whatever happens.

Credentials: a bearer token, or a refresh token traded at POST /auth/generate for a
bearer token that is renewed before it expires and once after a 401/403. The presigned
POST goes to another host and carries no Authorization header; its fields and query
are credentials too and, like every token, never reach a log line or a message.

Botlhale documents no way to cancel a job: `cancel()` does nothing remotely.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx

from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    LocalProtocolError,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.core.redaction import secret_values
from dictation_app.jobs.model import JobState
from dictation_app.jobs.service import JobContext, UploadProgress
from dictation_app.protocols.botlhale import (
    DEFAULT_BASE_URL,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    ORG_ID_FIELD,
    PROVIDER,
    SERVICE,
    STATUS_PATH,
    SYNC_FILE_FIELD,
    SYNC_FORMATS,
    UPLOAD_FILE_FIELD,
    UPLOAD_SUCCESS_STATUS,
    ApiVersion,
    JobStatus,
    PresignedPost,
    choose_mode,
    data_request,
    parse_data_reply,
    parse_error_reply,
    parse_status_reply,
    parse_sync_reply,
    parse_token_reply,
    parse_upload_reply,
    status_request,
    sync_request,
    token_request,
    upload_request,
)
from dictation_app.protocols.request import Request
from dictation_app.protocols.transcript import Transcript
from dictation_app.services.descriptors.botlhale import BotlhaleOptions
from dictation_app.services.poll_policy import PollClock, PollPolicy
from dictation_app.transport.http import (
    RetryPolicy,
    ServiceHttp,
    body_json,
    check_token,
    default_message,
    httpx_log_secrets,
)
from dictation_app.transport.progress_file import ProgressFile

if TYPE_CHECKING:
    from dictation_app.audio.files import AudioFileInfo
    from dictation_app.audio.transcode import PreparedAudio

log = logging.getLogger(__name__)

STORAGE = "Botlhale storage"  # the presigned S3 POST, in messages
DEFAULT_TIMEOUT = 120.0  # a sync reply comes once the whole clip is transcribed
RENEW_MARGIN = 60.0  # renew an issued bearer token when fewer seconds than this remain
DEFAULT_RETRY = RetryPolicy()
DEFAULT_POLL = PollPolicy()
UPLOAD_STATUSES = frozenset({UPLOAD_SUCCESS_STATUS, 200, 201})
# Presigned POST fields that are not credentials; every other field value is masked.
_PUBLIC_FIELDS = frozenset({"key", "x-amz-algorithm", "x-amz-date", "content-type", "acl",
                            "success_action_status"})
_MIN_MASKED = 6  # shorter values would mask ordinary words in messages
_CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg",
                  "amr": "audio/amr"}


class BotlhaleService:
    """Usage::

        service = BotlhaleService(refresh_token=..., org_id=...)
        transcript = await service.run(context)   # the job runner does this
        await service.aclose()

    One instance serves concurrent jobs; they share the bearer token.
    """

    provider = PROVIDER

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, token: str | None = None,
                 refresh_token: str | None = None, org_id: str | None = None,
                 api_version: ApiVersion | int | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY, poll: PollPolicy = DEFAULT_POLL,
                 transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        self._token = _checked_token(token, "bearer token", "botlhale_token")
        self._refresh_token = _checked_token(refresh_token, "refresh token",
                                             "botlhale_refresh_token")
        self._org_id = (org_id or "").strip() or None
        self._api_version = ApiVersion(api_version) if api_version is not None else None
        self._retry = retry
        self._poll = poll
        self._transport = transport
        self._timeout = timeout
        self._http = ServiceHttp(SERVICE, base_url, timeout=timeout, retry=retry,
                                 message=_api_message, transport=transport)
        self._http.add_secret(self._token)
        self._http.add_secret(self._refresh_token)
        self._issued: str | None = None  # the bearer token /auth/generate gave us
        self._renew_at: float | None = None  # time.monotonic() to renew it at
        self._auth_lock = asyncio.Lock()  # one /auth/generate at a time, for every job

    # JobService

    async def run(self, context: JobContext) -> Transcript:
        self._check_credentials()
        if context.remote.get("key"):
            return await self._resume(context)
        info = await asyncio.to_thread(_probe, context.file)
        mode = choose_mode(info.duration, BotlhaleOptions.of(context.options.vendor).mode)
        version = self._version(context)
        org_id = self._required_org_id() if mode == "async" else None
        # Converted copies go in a folder of our own, removed even if a conversion
        # thread outlives a cancelled job.
        with tempfile.TemporaryDirectory(prefix="botlhale-",
                                         ignore_cleanup_errors=True) as work_dir:
            prepared = await self._prepare(context.file, Path(work_dir))
            try:
                if mode == "sync":
                    return await self._sync(context, prepared)
                assert org_id is not None
                return await self._async(context, prepared, version, org_id)
            finally:
                prepared.cleanup()

    async def cancel(self, remote: Mapping[str, str]) -> None:
        """Nothing to do remotely: Botlhale documents no way to stop a job.

        The runner marks the job cancelled locally; the service finishes it on its
        side and the result is never fetched.
        """
        log.debug("Botlhale has no cancel endpoint; job %s left to finish remotely",
                  remote.get("key", "(not uploaded)"))

    async def aclose(self) -> None:
        await self._http.aclose()

    # steps

    async def _prepare(self, source: Path, work_dir: Path) -> PreparedAudio:
        # Imported on first use, like _probe's.
        from dictation_app.audio.transcode import prepare_for_upload

        stop = threading.Event()
        try:
            return await asyncio.to_thread(
                prepare_for_upload, source, formats=SYNC_FORMATS, min_rate=MIN_SAMPLE_RATE,
                max_rate=MAX_SAMPLE_RATE, target="flac", work_dir=work_dir,
                cancelled=stop.is_set)
        finally:
            stop.set()  # a cancelled job stops the conversion between two blocks

    async def _sync(self, context: JobContext, prepared: PreparedAudio) -> Transcript:
        # Sent only when asked: the field is optional, and off is the service's default.
        redact = BotlhaleOptions.of(context.options.vendor).redact or None
        request = sync_request(language_code=context.options.language,
                               sample_rate=prepared.samplerate, redact=redact)
        progress = UploadProgress(context, processing_when_sent=True)
        context.report(JobState.UPLOADING, 0.0)
        with prepared.path.open("rb") as raw:
            upload = ProgressFile(raw, progress)
            files = {SYNC_FILE_FIELD: (_upload_name(context.file, prepared), upload,
                                       _CONTENT_TYPES.get(prepared.format))}
            response = await self._api(request, files=files)
        progress.finish()
        return parse_sync_reply(self._json(response, request), file=str(context.file))

    async def _async(self, context: JobContext, prepared: PreparedAudio, version: ApiVersion,
                     org_id: str) -> Transcript:
        options = context.options
        request = upload_request(version, org_id=org_id, sample_rate=prepared.samplerate,
                                 language_code=options.language,
                                 diarization=options.diarization)
        context.report(JobState.UPLOADING, 0.0)
        # Asking again only issues another presigned POST: safe to repeat after a 5xx.
        response = await self._api(request, idempotent=True)
        post = parse_upload_reply(self._json(response, request))
        await self._upload(context, prepared, post)
        # Stored before polling so that a crash from here on resumes instead of uploading.
        await context.remember(mode="async", key=post.key, api_version=str(version.value),
                               org_id=org_id)
        context.report(JobState.PROCESSING, None)
        return await self._result(context, version, org_id, post.key)

    async def _resume(self, context: JobContext) -> Transcript:
        remote = context.remote
        key = remote["key"]
        try:
            version = ApiVersion(int(remote.get("api_version") or self._version(context)))
        except ValueError:
            raise LocalProtocolError(
                f"{SERVICE}: the stored job data names an unknown API version "
                f"{remote.get('api_version')!r}; remove the job and add the file again"
            ) from None
        # The job lives in the organisation it was uploaded to, whatever the settings say now.
        org_id = remote.get("org_id") or self._required_org_id()
        log.info("Botlhale: resuming job %s (API v%d) at the status step", key, version.value)
        context.report(JobState.PROCESSING, None)
        return await self._result(context, version, org_id, key)

    async def _upload(self, context: JobContext, prepared: PreparedAudio,
                      post: PresignedPost) -> None:
        """POST the fields, then the file, to the presigned URL: no Authorization header."""
        errors: list[str] = []

        def storage_message(body: bytes) -> str | None:
            message = _storage_message(body)
            errors.append(message or "no message")
            return message

        operation = f"the upload of {context.file.name}"
        storage = ServiceHttp(STORAGE, post.url, timeout=self._timeout, retry=self._retry,
                              message=storage_message, transport=self._transport)
        # Only this job's short-lived client sees the fields, so only it masks them: the
        # long-lived API client would collect every job's fields for as long as it runs.
        for value in secret_values(post.fields, public=_PUBLIC_FIELDS, min_length=_MIN_MASKED):
            storage.add_secret(value)
        query = urlsplit(post.url).query
        storage.add_secret(query)
        httpx_log_secrets().add(query)  # httpx logs each request's URL at INFO
        refusal: str | None = None
        try:
            with prepared.path.open("rb") as raw:
                upload = ProgressFile(raw, UploadProgress(context))
                name = PurePosixPath(post.key).name or _upload_name(context.file, prepared)
                # httpx sends `data` before `files`: the file is the last part, as S3 needs,
                # and the wrapper keeps fileno() so the body has a Content-Length.
                response = await storage.request(
                    "POST", post.url, data=post.fields,
                    files={UPLOAD_FILE_FIELD: (name, upload,
                                               _CONTENT_TYPES.get(prepared.format))},
                    # The same bytes to the same key: a repeat overwrites, never duplicates.
                    operation=operation, idempotent=True)
        except AuthenticationFailed:
            # S3 refuses an expired or mismatched upload policy with 403: not the account.
            refusal = storage.excerpt(errors[-1] if errors else "no message").rstrip(". ")
        finally:
            httpx_log_secrets().discard(query)
            await storage.aclose()
        if refusal is not None:
            raise ServiceRejected(
                f"{refusal}. The upload link was refused or has expired: run the job again",
                service=STORAGE, operation=operation)
        if response.status_code not in UPLOAD_STATUSES:
            raise RemoteProtocolError(
                f"{STORAGE}: {operation} answered HTTP {response.status_code} instead of "
                f"{UPLOAD_SUCCESS_STATUS}; the file may not have arrived. Run the job again")
        log.info("Botlhale: uploaded %s as %s", context.file.name, post.key)

    async def _result(self, context: JobContext, version: ApiVersion, org_id: str,
                      key: str) -> Transcript:
        request = status_request(version, org_id=org_id, filename=key)
        waits = PollClock(self._poll)
        while True:
            response = await self._api(request)
            body = self._json(response, request)
            status = parse_status_reply(body)
            if status.status is JobStatus.COMPLETED:
                break
            if status.status is JobStatus.FAILED:
                said = self._http.mask(_failure_message(body) or "no reason given")
                raise ServiceRejected(
                    f"transcribing {context.file.name} failed (status {status.raw!r}): {said}. "
                    "Check that the file holds speech, or try again later",
                    service=SERVICE, operation=f"GET {STATUS_PATH}")
            delay = waits.next_delay()
            if delay is None:
                raise ConnectionFailed(
                    f"{SERVICE}: {context.file.name} was still being transcribed after "
                    f"{self._poll.total / 3600:g} h (job {key}); stopped waiting. "
                    "Try again later or contact Botlhale")
            log.debug("Botlhale: job %s is %s; next status check in %.1f s", key, status.raw,
                      delay)
            await asyncio.sleep(delay)
        request = data_request(version, org_id=org_id, filename=key)
        response = await self._api(request)
        return parse_data_reply(self._json(response, request), version=version,
                                file=str(context.file))

    # requests and credentials

    async def _api(self, request: Request, *, files: Mapping[str, Any] | None = None,
                   idempotent: bool | None = None) -> httpx.Response:
        """One API request with the bearer token; renewed and sent again once if refused.

        A POST is repeated after a 5xx or a timeout only if `idempotent` (ServiceHttp):
        a repeated POST /asr could transcribe, and bill, the clip twice.
        """
        token = await self._bearer()
        try:
            return await self._send(request, token, files, idempotent)
        except AuthenticationFailed:
            if self._refresh_token is None:
                raise
        log.info("Botlhale refused the bearer token for %s %s; renewing it once",
                 request.method, request.path)
        token = await self._bearer(stale=token)
        return await self._send(request, token, files, idempotent)

    async def _send(self, request: Request, token: str, files: Mapping[str, Any] | None,
                    idempotent: bool | None) -> httpx.Response:
        return await self._http.send(request, files=files, idempotent=idempotent,
                                     headers={"Authorization": f"Bearer {token}"})

    async def _bearer(self, *, stale: str | None = None) -> str:
        """The bearer token to send; `stale` is one the service just refused."""
        if self._refresh_token is None:
            assert self._token is not None  # _check_credentials() saw to it
            return self._token
        async with self._auth_lock:
            # Whoever waited here while another job renewed the token finds it fresh.
            if self._issued is not None:
                due = self._renew_at is not None and time.monotonic() >= self._renew_at
                if self._issued != stale and not due:
                    return self._issued
            elif self._token is not None and self._token != stale:
                return self._token
            return await self._generate(self._refresh_token)

    async def _generate(self, refresh_token: str) -> str:
        request = token_request(refresh_token)
        asked = time.monotonic()
        response = await self._http.send(request)  # the request says a repeat is harmless
        bearer = parse_token_reply(self._json(response, request))
        self._http.add_secret(bearer.token)
        self._issued = bearer.token
        self._renew_at = (asked + bearer.expires_in - RENEW_MARGIN
                          if bearer.expires_in is not None else None)
        log.info("Botlhale: got a bearer token (valid for %s s)",
                 "an unknown number of" if bearer.expires_in is None
                 else f"{bearer.expires_in:g}")
        return bearer.token

    def _check_credentials(self) -> None:
        if self._token is None and self._refresh_token is None:
            raise ConfigurationError(
                f"{SERVICE} needs a bearer token or a refresh token.", service=PROVIDER,
                fields=("botlhale_token", "botlhale_refresh_token"))

    def _required_org_id(self) -> str:
        if self._org_id is None:
            raise ConfigurationError(
                f"{SERVICE}: files longer than a minute are transcribed as async jobs, which "
                "need your organisation ID.", service=PROVIDER, fields=(ORG_ID_FIELD,))
        return self._org_id

    def _version(self, context: JobContext) -> ApiVersion:
        if self._api_version is not None:
            return self._api_version
        return ApiVersion(BotlhaleOptions.of(context.options.vendor).api_version)

    def _json(self, response: httpx.Response, request: Request) -> object:
        return self._http.reply_json(response, f"{request.method} {request.path}")



def _checked_token(value: str | None, what: str, field_id: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return check_token(value, what=f"Botlhale {what}", fix="paste it again.")
    except ConfigurationError as exc:  # the same words, and which field is at fault
        raise ConfigurationError(str(exc), service=PROVIDER, fields=(field_id,)) from None


def _upload_name(source: Path, prepared: PreparedAudio) -> str:
    return f"{source.stem or 'audio'}.{prepared.format}"


def _api_message(body: bytes) -> str | None:
    """Botlhale's own words in an error body (JSON per the protocol module, else text)."""
    data = body_json(body)
    if data is None:
        return default_message(body)
    return parse_error_reply(data).message


def _failure_message(body: object) -> str | None:
    """The reason beside a failed status: top level (v2) or in `data[0]` (v1)."""
    message = parse_error_reply(body).message
    if message is None and isinstance(body, Mapping):
        data = body.get("data")
        if isinstance(data, list) and data:
            message = parse_error_reply(data[0]).message
    return message


def _storage_message(body: bytes) -> str | None:
    """S3's `<Error><Code/><Message/></Error>`, as "Message (Code)"."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return default_message(body)
    message = (root.findtext("Message") or "").strip()
    code = (root.findtext("Code") or "").strip()
    if message and code:
        return f"{message} ({code})"
    return message or code or None


def _probe(path: Path) -> AudioFileInfo:
    # Imported on first use for start-up cost: numpy and PyAV take some 80 ms, and every
    # command line reads the registry that lists this module.
    from dictation_app.audio.files import probe

    return probe(path)
