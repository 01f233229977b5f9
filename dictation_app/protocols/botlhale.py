"""Botlhale speech-to-text over REST (sync and async file jobs), without I/O.

Builders return a `Request` (method, path, query params, form fields); the transport
adds the base URL, the `Authorization: Bearer` header and the file part, and hands
the decoded JSON reply to a parser here. Parsers return frozen dataclasses or raise
`RemoteProtocolError` naming Botlhale, the endpoint and the offending field.

Two API generations are supported (see API-NOTES):

- `ApiVersion.V1`, the older async doc: capitalised parameters (`OrgID`, `SampleRate`,
  `LanguageCode`, `Diarization`, `FileName`), `url` in the upload reply, status in
  `data[0].status` with `complete`, result at `/asr/async/getdata`.
- `ApiVersion.V2`, the current doc: lower-case parameters, `upload_url`, a top-level
  `status` of `running` | `completed`, result at `/asr/async/data`.

Parsers accept either generation's reply shape whatever version sent the request,
since the vendor's own current page still shows the older status example. Numbers
given as strings (`"audio_length": "30.0"`) are accepted; booleans, NaN and other
types are not. Async segment times arrive in milliseconds and leave in seconds.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dictation_app.core.errors import (
    ConfigurationError,
    LocalProtocolError,
    UnsupportedInput,
)
from dictation_app.protocols.reply_fields import Reply
from dictation_app.protocols.reply_fields import number as _number
from dictation_app.protocols.reply_fields import short as _short
from dictation_app.protocols.request import Request
from dictation_app.protocols.transcript import Segment, Transcript, make_extras

SERVICE = "Botlhale"
PROVIDER = "botlhale"
ORG_ID_FIELD = "botlhale_org_id"  # its descriptor's field, named in a missing-ID error
DEFAULT_BASE_URL = "https://api.botlhale.xyz"

TOKEN_PATH = "/auth/generate"
SYNC_PATH = "/asr"
UPLOAD_PATH = "/asr/async/upload"
STATUS_PATH = "/asr/async/status"

SYNC_MAX_SECONDS = 60
ASYNC_MAX_SECONDS = 400 * 60
SYNC_FORMATS = frozenset({"wav", "amr", "flac", "ogg"})
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 48_000
DEFAULT_SAMPLE_RATE = 16_000

SYNC_FILE_FIELD = "speech_file"  # the multipart part of POST /asr
UPLOAD_FILE_FIELD = "file"  # the multipart part of the presigned S3 POST
UPLOAD_SUCCESS_STATUS = 204  # what S3 answers a presigned POST with

Mode = Literal["sync", "async"]

class ApiVersion(enum.IntEnum):
    V1 = 1  # the older async doc
    V2 = 2  # the current doc


DATA_PATHS = {ApiVersion.V1: "/asr/async/getdata", ApiVersion.V2: "/asr/async/data"}

# Parameter names per generation, by their current (V2) spelling.
_PARAM_NAMES = {
    ApiVersion.V1: {
        "org_id": "OrgID",
        "sample_rate": "SampleRate",
        "language_code": "LanguageCode",
        "diarization": "Diarization",
        "filename": "FileName",
    },
    ApiVersion.V2: {
        "org_id": "org_id",
        "sample_rate": "sample_rate",
        "language_code": "language_code",
        "diarization": "diarization",
        "filename": "filename",
        "voice_id": "voice_id",
        "notify_url": "notify_url",
    },
}


class JobStatus(enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


# Only `running`, `completed` and `complete` are documented; the other words are the
# usual ones for the same states, accepted so that a rename does not stall a job.
_STATUS_WORDS = {
    "running": JobStatus.RUNNING,
    "pending": JobStatus.RUNNING,
    "queued": JobStatus.RUNNING,
    "processing": JobStatus.RUNNING,
    "in_progress": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "complete": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "failure": JobStatus.FAILED,
    "error": JobStatus.FAILED,
}


# --- requests ------------------------------------------------------------------


def token_request(refresh_token: str) -> Request:
    """POST /auth/generate: trade a refresh token for a bearer token."""
    if not refresh_token or not refresh_token.strip():
        raise ConfigurationError(
            f"{SERVICE}: no refresh token is set; paste one from the Botlhale console "
            "in the settings, or give a bearer token instead")
    # A repeat only issues another bearer token.
    return Request("POST", TOKEN_PATH, form={"refresh_token": refresh_token.strip()},
                   idempotent=True)


def sync_request(*, language_code: str | None = None, sample_rate: int | None = None,
                 redact: bool | None = None) -> Request:
    """POST /asr form fields; the transport adds the audio as `SYNC_FILE_FIELD`.

    The sync endpoint is documented only with lower-case names, in both generations.
    """
    form: dict[str, str] = {}
    if language_code:
        form["language_code"] = language_code
    if sample_rate is not None:
        form["sample_rate"] = str(check_sample_rate(sample_rate))
    if redact is not None:
        form["redact"] = _bool(redact)
    return Request("POST", SYNC_PATH, form=form)


def upload_request(version: ApiVersion, *, org_id: str | None,
                   sample_rate: int = DEFAULT_SAMPLE_RATE,
                   language_code: str | None = None, diarization: bool = False,
                   voice_id: str | None = None, notify_url: str | None = None) -> Request:
    """POST /asr/async/upload form fields: asks for a presigned S3 POST."""
    version = ApiVersion(version)
    names = _PARAM_NAMES[version]
    values: dict[str, str | None] = {
        "org_id": (org_id or "").strip() or None,
        "sample_rate": str(check_sample_rate(sample_rate)),
        "language_code": language_code or None,
        "diarization": _bool(diarization),
        "voice_id": voice_id or None,
        "notify_url": notify_url or None,
    }
    if version is ApiVersion.V1 and values["org_id"] is None:
        raise ConfigurationError(
            f"{SERVICE}: POST {UPLOAD_PATH} (API v1) needs the organisation ID.",
            service=PROVIDER, fields=(ORG_ID_FIELD,))
    form: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in names:
            raise LocalProtocolError(
                f"{SERVICE}: POST {UPLOAD_PATH} has no '{name}' parameter in API v{version.value}")
        form[names[name]] = value
    # Asking again only issues another presigned POST: safe to repeat after a 5xx.
    return Request("POST", UPLOAD_PATH, form=form, idempotent=True)


def status_request(version: ApiVersion, *, org_id: str, filename: str) -> Request:
    """GET /asr/async/status for the job named by the upload's object key."""
    version = ApiVersion(version)
    return Request("GET", STATUS_PATH, params=_job_params(version, STATUS_PATH, org_id, filename))


def data_request(version: ApiVersion, *, org_id: str, filename: str) -> Request:
    """GET the finished result: /asr/async/data (v2) or /asr/async/getdata (v1)."""
    version = ApiVersion(version)
    path = DATA_PATHS[version]
    return Request("GET", path, params=_job_params(version, path, org_id, filename))


def _job_params(version: ApiVersion, path: str, org_id: str, filename: str) -> dict[str, str]:
    if not org_id or not org_id.strip():
        raise ConfigurationError(
            f"{SERVICE}: GET {path} needs the organisation ID.",
            service=PROVIDER, fields=(ORG_ID_FIELD,))
    if not filename or not filename.strip():
        raise LocalProtocolError(f"{SERVICE}: GET {path} needs the job's filename (the upload key)")
    names = _PARAM_NAMES[version]
    # The key is sent verbatim: the current doc says it has the form OrgID/filename.wav.
    return {names["org_id"]: org_id.strip(), names["filename"]: filename.strip()}


def _bool(value: bool) -> str:
    return "True" if value else "False"  # as the vendor's own examples spell it


# --- limits and mode -----------------------------------------------------------


def check_sample_rate(rate: int) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int) or not (
            MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE):
        raise UnsupportedInput(
            f"{SERVICE} accepts sample rates from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz, "
            f"not {rate!r}; resample the audio first")
    return rate


def check_sync_format(extension: str) -> str:
    """The lower-case extension if POST /asr takes it, else UnsupportedInput."""
    ext = extension.lower().lstrip(".")
    if ext not in SYNC_FORMATS:
        raise UnsupportedInput(
            f"{SERVICE} sync recognition takes {', '.join(sorted(SYNC_FORMATS))} files, "
            f"not {extension!r}; convert the file or use async mode")
    return ext


def choose_mode(duration_seconds: float, requested: str = "auto") -> Mode:
    """Pick sync (≤ 60 s) or async (≤ 400 min) for a file of this length."""
    if requested not in ("auto", "sync", "async"):
        raise ConfigurationError(
            f"{SERVICE}: transcription mode must be auto, sync or async, not {requested!r}")
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, (int, float)) \
            or not math.isfinite(duration_seconds) or duration_seconds < 0:
        raise ConfigurationError(
            f"{SERVICE}: the file's duration is unknown ({duration_seconds!r})")
    if duration_seconds > ASYNC_MAX_SECONDS:
        raise ConfigurationError(
            f"{SERVICE} transcribes files of at most {ASYNC_MAX_SECONDS // 60} minutes; this one "
            f"lasts {duration_seconds / 60:.1f} minutes: split it first")
    if requested == "sync":
        if duration_seconds > SYNC_MAX_SECONDS:
            raise ConfigurationError(
                f"{SERVICE} sync mode takes at most {SYNC_MAX_SECONDS} s of audio; this file "
                f"lasts {duration_seconds:.1f} s: choose async or auto mode")
        return "sync"
    if requested == "async":
        return "async"
    return "sync" if duration_seconds <= SYNC_MAX_SECONDS else "async"


# --- replies -------------------------------------------------------------------


@dataclass(frozen=True)
class BearerToken:
    token: str = field(repr=False)
    expires_in: float | None  # seconds from now; None if the service did not say


@dataclass(frozen=True)
class PresignedPost:
    """Where and how to upload the audio: POST `fields` + the file to `url`."""

    url: str
    fields: dict[str, str] = field(repr=False)  # a signed policy and session credentials
    key: str  # the job's filename, for status and data
    expires_in: float | None = None


@dataclass(frozen=True)
class StatusReply:
    status: JobStatus
    raw: str  # the service's own word


@dataclass(frozen=True)
class ErrorReply:
    """What an error body says, when it says anything."""

    message: str | None
    code: str | None = None


def parse_token_reply(body: object) -> BearerToken:
    """POST /auth/generate reply `{token, expires}` (seconds; `expires_in` also taken)."""
    where = Reply(SERVICE, "POST", TOKEN_PATH)
    reply = where.object(body)
    token = reply.get("token")
    if not isinstance(token, str) or not token.strip():
        # Never echo the value: a malformed token is still a credential.
        raise where.error("token", "is missing or not a non-empty string")
    key = "expires" if "expires" in reply else "expires_in"
    expires = _number(reply.get(key), key, where)
    if expires is not None and expires < 0:
        raise where.error(key, f"is negative: {_short(reply.get(key))}")
    return BearerToken(token.strip(), expires)


def parse_sync_reply(body: object, *, file: str | None = None) -> Transcript:
    """POST /asr reply: one segment spanning the clip, no word timings.

    `id`, `redacted_transcription`, `time` (processing seconds), `date_received` and
    `speech_file` are kept in `Transcript.extras`.
    """
    where = Reply(SERVICE, "POST", SYNC_PATH)
    reply = where.object(body)
    text = _text(reply.get("text"), "text", where, required=True) or ""
    text = text.strip()
    duration = _number(reply.get("audio_length"), "audio_length", where)
    extras = make_extras({
        "id": _text(reply.get("id"), "id", where),
        "redacted_text": _stripped(_text(reply.get("redacted_transcription"),
                                         "redacted_transcription", where)),
        "processing_seconds": _number(reply.get("time"), "time", where),
        "date_received": _text(reply.get("date_received"), "date_received", where),
        "speech_file": _text(reply.get("speech_file"), "speech_file", where),
    })
    segments = (Segment(0.0, duration, None, text),) if text else ()
    return Transcript(provider=PROVIDER, file=file,
                      language=_text(reply.get("language_code"), "language_code", where),
                      duration=duration, text=text, segments=segments, extras=extras)


def parse_upload_reply(body: object) -> PresignedPost:
    """POST /asr/async/upload reply: `upload_url` (v2) or `url` (v1) and `fields`."""
    where = Reply(SERVICE, "POST", UPLOAD_PATH)
    reply = where.object(body)
    url_key = "upload_url" if "upload_url" in reply else "url"
    url = reply.get(url_key)
    if not isinstance(url, str) or not url.strip().lower().startswith(("https://", "http://")):
        raise where.error(url_key if url_key in reply else "upload_url",
                          f"is missing or not an http(s) URL: {_short(url)}")
    fields = reply.get("fields")
    if not isinstance(fields, Mapping):
        raise where.error("fields", "is missing or not an object")
    for name, value in fields.items():
        if not isinstance(name, str) or not isinstance(value, str):
            # The value is a signature or a credential: name the field, not its value.
            raise where.error(f"fields.{name}", f"is not a string but {type(value).__name__}")
    key = fields.get("key")
    if not isinstance(key, str) or not key.strip():
        raise where.error("fields.key", "is missing or empty")
    expires = _number(reply.get("expires_in"), "expires_in", where)
    return PresignedPost(url.strip(), dict(fields), key, expires)


def parse_status_reply(body: object) -> StatusReply:
    """GET /asr/async/status reply: `{status}` (v2) or `{data: [{status}]}` (v1)."""
    where = Reply(SERVICE, "GET", STATUS_PATH)
    reply = where.object(body)
    if "status" in reply:
        return _status(reply["status"], "status", where)
    data = reply.get("data")
    if not isinstance(data, list):
        raise where.error("status", "is missing (and there is no 'data' list either)")
    if not data:
        raise where.error("data", "is empty: the service does not know this job")
    first = data[0]
    if not isinstance(first, Mapping):
        raise where.error("data[0]", f"is not an object: {_short(first)}")
    return _status(first.get("status"), "data[0].status", where)


def _status(value: object, name: str, where: Reply) -> StatusReply:
    if not isinstance(value, str):
        raise where.error(name, f"is missing or not a string: {_short(value)}")
    status = _STATUS_WORDS.get(value.strip().lower())
    if status is None:
        raise where.error(name, f"is not a known job status: {_short(value)}")
    return StatusReply(status, value)


def parse_data_reply(body: object, *, version: ApiVersion = ApiVersion.V2,
                     file: str | None = None) -> Transcript:
    """GET /asr/async/data (or getdata) reply: `timestamps[]` segments, times in ms."""
    where = Reply(SERVICE, "GET", DATA_PATHS[ApiVersion(version)])
    reply = where.object(body)
    if "status" in reply:
        state = _status(reply["status"], "status", where)
        if state.status is not JobStatus.COMPLETED:
            raise where.error("status", f"is {state.raw!r}: the result is not ready")
    items = reply.get("timestamps")
    if not isinstance(items, list):
        raise where.error("timestamps", f"is missing or not a list: {_short(items)}")
    segments = tuple(_segment(item, f"timestamps[{i}]", where) for i, item in enumerate(items))
    languages = Counter(lang for s in segments
                        if isinstance(lang := s.extra("language"), str) and lang)
    time = reply.get("time")
    extras = make_extras({
        "filename": _text(reply.get("filename"), "filename", where),
        "date_received": _text(reply.get("date_received"), "date_received", where),
        # `time` is {diarization, recognition} seconds; a bare number is taken as the total.
        "processing_seconds": _number(time, "time", where) if not isinstance(time, Mapping)
        else _total_time(time, where),
    })
    return Transcript(
        provider=PROVIDER, file=file,
        # Language is detected per sentence: the transcript's is the most frequent one.
        language=languages.most_common(1)[0][0] if languages else None,
        duration=_number(reply.get("audio_length"), "audio_length", where),
        text=" ".join(s.text for s in segments if s.text),
        segments=segments, extras=extras)


def _segment(item: object, name: str, where: Reply) -> Segment:
    if not isinstance(item, Mapping):
        raise where.error(name, f"is not an object: {_short(item)}")
    start = _required_number(item.get("start"), f"{name}.start", where)
    end = _required_number(item.get("end"), f"{name}.end", where)
    if end < start:
        raise where.error(f"{name}.end", f"is before its start ({end} < {start} ms)")
    text = _text(item.get("transcription"), f"{name}.transcription", where, required=True)
    speaker = item.get("speaker")
    if isinstance(speaker, bool) or not isinstance(speaker, (str, int, type(None))):
        raise where.error(f"{name}.speaker", f"is not a string: {_short(speaker)}")
    extras: dict[str, str | float | None] = {
        key: _stripped(_text(item.get(key), f"{name}.{key}", where))
        for key in ("language", "redaction", "emotion", "translation")
    }
    if extras["translation"] == "-":  # the vendor's "no translation"
        extras["translation"] = None
    return Segment(start=start / 1000, end=end / 1000,
                   speaker=str(speaker) if speaker not in (None, "") else None,
                   text=(text or "").strip(), extras=make_extras(extras))


def _total_time(time: Mapping[str, Any], where: Reply) -> float | None:
    parts = [_number(v, f"time.{k}", where) for k, v in time.items()]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def parse_error_reply(body: object) -> ErrorReply:
    """The service's own message in an error body, if any. Never raises.

    Looks at `message`, `error`, `detail`, `Message`, `errorMessage`, and one level
    into an `error` object; `code` comes from `code`, `error_code` or `status`.
    """
    if isinstance(body, str):
        return ErrorReply(body.strip() or None)
    if not isinstance(body, Mapping):
        return ErrorReply(None)
    sources: list[Mapping[str, Any]] = [body]
    if isinstance(body.get("error"), Mapping):
        sources.append(body["error"])
    message = code = None
    for source in sources:
        for key in ("message", "error", "detail", "Message", "errorMessage", "msg"):
            value = source.get(key)
            if message is None and isinstance(value, str) and value.strip():
                message = value.strip()
            elif message is None and isinstance(value, list) and value:
                message = "; ".join(str(v) for v in value)
        for key in ("code", "error_code", "status"):
            value = source.get(key)
            if code is None and isinstance(value, (str, int)) and not isinstance(value, bool):
                code = str(value)
    return ErrorReply(message, code)


# --- helpers -------------------------------------------------------------------


def _required_number(value: object, name: str, where: Reply) -> float:
    number = _number(value, name, where)
    if number is None:
        raise where.error(name, "is missing")
    return number


def _text(value: object, name: str, where: Reply, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise where.error(name, "is missing")
        return None
    if not isinstance(value, str):
        raise where.error(name, f"is not a string: {_short(value)}")
    return value


def _stripped(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None
