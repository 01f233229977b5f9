"""Bahasakita file transcription (upload, job content, priority) over REST, without I/O.

Builders return a `Request` (protocols/request.py); the transport adds the bearer
token and the file, and hands the decoded JSON reply to a parser here, which returns
frozen dataclasses or raises `RemoteProtocolError` naming "Bahasakita upload", the
endpoint and the offending field.

Flow (vendor docs, API-NOTES "Bahasakita account and monitoring")::

    POST /v2/prod/stt/async/upload            multipart: file + upload_request().form
        -> {"bk": {"data": {"uuid", "quota", ...}, "message_status"}}
    GET  /v2/prod/stt/async/content/<uuid>    polled until success or failed
        -> {"bk": {"message_status": "inprogress", "progress": 42.5}}
        -> {"bk": {"data": {"target_language", "uuid", "transcripts": [...],
                            "subtitle_cc": "<base64>"}, "message_status": "success"}}
    POST /v2/prod/stt/changePriority          {"bk": {"data": {"uuid", "priority"}}}
        -> {"bk": {"data": {...}, "message_status": "success or an error message"}}

Where the docs are silent or loose, these readings are accepted:

- `message_status` in `bk` or in `bk.data`; compared without regard to case, spaces,
  `_` or `-`. Besides the documented `inquery`, `inprogress`, `success`, `failed` and
  `process success` (the diarization page's word), the usual synonyms (`queued`,
  `processing`, `completed`, `error`, ...) are taken so that a rename does not stall
  a job. Any other text is reported, quoted, as an unknown status.
- `progress` in `bk` or in `bk.data`: a percentage, as a number, a numeric string or
  `"42%"`; null means unknown. Values outside 0..100 are clamped: a progress glitch
  must not fail an hour-long job.
- `start_time`, `end_time`, `from` and `length` are seconds, as numbers, numeric
  strings or clock strings `HH:MM:SS.mmm` / `MM:SS.mmm` (`,` also taken as the
  decimal mark, as in SRT). `length` is the word's duration: its end is from + length.
- `score` is the word's confidence, kept as given. `speaker` is a string or an integer.
- The transcript's language is the reply's `target_language` (else `source_language`,
  else `language`; `detect` means none), falling back to the job's own choice.
- `subtitle_cc` is base64 (line breaks allowed, as `base64.decodebytes` takes them);
  null, empty or `false` (the upload reply's boolean spelling) mean no subtitle;
  anything else is a protocol violation.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dictation_app.core.errors import (
    ConfigurationError,
    LocalProtocolError,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.protocols.reply_fields import Reply, said_hint
from dictation_app.protocols.reply_fields import number as _number
from dictation_app.protocols.reply_fields import short as _short
from dictation_app.protocols.request import Request
from dictation_app.protocols.transcript import Segment, Transcript, Word, make_extras

SERVICE = "Bahasakita upload"
PROVIDER = "bahasakita"
DEFAULT_BASE_URL = "https://api.bahasakita.co.id"

UPLOAD_PATH = "/v2/prod/stt/async/upload"
CONTENT_PATH = "/v2/prod/stt/async/content/{uuid}"
CHANGE_PRIORITY_PATH = "/v2/prod/stt/changePriority"

UPLOAD_FILE_FIELD = "file"  # the multipart part that carries the audio
PRIORITIES = ("high", "reguler")  # the service's own spelling of "regular"
DETECT = "detect"  # source_language: let the service find out

_UUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)")


class ContentState(enum.Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


# Keys are normalised by _status_key(): lower case, runs of space, "_" and "-" as one space.
_STATUS_WORDS = {
    "inquery": ContentState.QUEUED,
    "in query": ContentState.QUEUED,
    "queue": ContentState.QUEUED,
    "queued": ContentState.QUEUED,
    "waiting": ContentState.QUEUED,
    "pending": ContentState.QUEUED,
    "inprogress": ContentState.PROCESSING,
    "in progress": ContentState.PROCESSING,
    "progress": ContentState.PROCESSING,
    "process": ContentState.PROCESSING,  # the monitoring queue's name
    "processing": ContentState.PROCESSING,
    "running": ContentState.PROCESSING,
    "success": ContentState.COMPLETED,
    "process success": ContentState.COMPLETED,
    "succeeded": ContentState.COMPLETED,
    "completed": ContentState.COMPLETED,
    "complete": ContentState.COMPLETED,
    "done": ContentState.COMPLETED,
    "failed": ContentState.FAILED,
    "process failed": ContentState.FAILED,
    "failure": ContentState.FAILED,
    "error": ContentState.FAILED,
}

_MESSAGE_KEYS = ("message", "error", "detail", "reason", "msg")


# --- requests ------------------------------------------------------------------


def upload_request(*, language: str | None, diarization: bool, subtitle: bool, priority: str,
                   target_language: str | None = None) -> Request:
    """POST /v2/prod/stt/async/upload with its form; the transport adds the file
    (`UPLOAD_FILE_FIELD`) and the bearer token.

    Booleans are spelled `True` / `False`, as the vendor's sample client sends them
    (Python's `requests` writes a bool form value with `str()`). A BCP-47 language
    (`id-ID`) is sent as its primary subtag (`id`), the form the docs show; no
    language means `detect`. `target_language` is left out unless given: the service
    then transcribes in the language it hears.
    """
    if priority not in PRIORITIES:
        raise ConfigurationError(
            f"{SERVICE}: priority must be {' or '.join(PRIORITIES)}, not {priority!r}")
    form = {
        "source_language": _language_code(language) or DETECT,
        "diarization": _bool(diarization),
        "subtitle_cc": _bool(subtitle),
        "priority": priority,
    }
    target = _language_code(target_language)
    if target is not None and target != DETECT:
        form["target_language"] = target
    return Request("POST", UPLOAD_PATH, form=form)


def content_request(uuid: str) -> Request:
    """GET one job's content: its state, its progress, once done its transcript."""
    return Request("GET", content_path(uuid))


def content_path(uuid: str) -> str:
    """GET path of one job's content; refuses a uuid that would change the path."""
    return CONTENT_PATH.format(uuid=_checked_uuid(uuid))


def change_priority_request(uuid: str, priority: str) -> Request:
    """POST /v2/prod/stt/changePriority with its JSON body."""
    if priority not in PRIORITIES:
        raise ConfigurationError(
            f"{SERVICE}: priority must be {' or '.join(PRIORITIES)}, not {priority!r}")
    body = {"bk": {"data": {"uuid": _checked_uuid(uuid), "priority": priority}}}
    return Request("POST", CHANGE_PRIORITY_PATH, json=body)


def _language_code(language: str | None) -> str | None:
    if language is None or not language.strip():
        return None
    return language.strip().replace("_", "-").split("-", 1)[0].lower()


def _bool(value: bool) -> str:
    return "True" if value else "False"


def _checked_uuid(uuid: str) -> str:
    text = uuid.strip() if isinstance(uuid, str) else ""
    if not _UUID.fullmatch(text):
        raise LocalProtocolError(
            f"{SERVICE}: {uuid!r} is not a job uuid; remove the job and add the file again")
    return text


# --- replies -------------------------------------------------------------------


@dataclass(frozen=True)
class ContentStatus:
    """One answer of GET /v2/prod/stt/async/content/<uuid>."""

    state: ContentState
    progress: float | None  # percent, 0..100; None when the service does not say
    transcript: Transcript | None = None  # only when COMPLETED
    subtitle: bytes | None = field(default=None, repr=False)  # decoded subtitle_cc
    message: str | None = None  # the service's reason, when FAILED


def parse_upload_reply(body: object) -> str:
    """The new job's uuid from an upload reply (`bk.data.uuid`, or `bk.uuid`).

    A `failed` status, or a message of the service's own in place of a uuid (such as
    an exhausted quota), raises ServiceRejected with that message.
    """
    where = Reply(SERVICE, "POST", UPLOAD_PATH)
    bk = _envelope(body, where)
    data = bk.get("data")
    raw, _ = _raw_status(bk, data, where)
    state = _STATUS_WORDS.get(_status_key(raw)) if raw is not None else None
    uuid, uuid_field = None, "bk.data.uuid"
    if isinstance(data, Mapping) and "uuid" in data:
        uuid = data["uuid"]
    elif "uuid" in bk:
        uuid, uuid_field = bk["uuid"], "bk.uuid"
    if state is ContentState.FAILED or (uuid is None and raw is not None and state is None):
        said = _service_message(bk, data) or (raw or "").strip() or "no reason given"
        raise ServiceRejected(said, service=SERVICE, operation=f"POST {UPLOAD_PATH}")
    if data is not None and not isinstance(data, Mapping):
        raise where.error("bk.data", f"is not an object: {_short(data)}")
    if uuid is None:
        missing = "bk.data" if data is None else uuid_field
        raise where.error(missing, "is missing: the reply carries no job uuid")
    if not isinstance(uuid, str) or not _UUID.fullmatch(uuid.strip()):
        raise where.error(uuid_field, f"is not a usable job uuid: {_short(uuid)}")
    return uuid.strip()


def parse_content_reply(body: object, *, uuid: str, file: str | None = None,
                        language: str | None = None) -> ContentStatus:
    """One poll of a job: its state, its progress and, once done, its transcript.

    `file` is the local file the person chose and `language` the language they asked
    for; both only fill in the Transcript.
    """
    where = Reply(SERVICE, "GET", CONTENT_PATH.format(uuid=uuid))
    bk = _envelope(body, where)
    data = bk.get("data")
    if data is not None and not isinstance(data, Mapping):
        raise where.error("bk.data", f"is not an object: {_short(data)}")
    raw, status_field = _raw_status(bk, data, where)
    if raw is None:
        said = _service_message(bk, data)
        raise where.error("bk.message_status", f"is missing{said_hint(said)}")
    state = _STATUS_WORDS.get(_status_key(raw))
    if state is None:
        raise where.error(status_field, f"is not a known job status: {_short(raw)}")
    progress = _progress(bk, data, where)
    if state is ContentState.FAILED:
        return ContentStatus(state, progress, message=_service_message(bk, data))
    if state is not ContentState.COMPLETED:
        return ContentStatus(state, progress)
    if data is None:
        raise where.error("bk.data", "is missing: the job is done but no result came")
    transcript = _transcript(data, where, uuid=uuid, file=file, language=language)
    return ContentStatus(state, 100.0 if progress is None else progress, transcript=transcript,
                         subtitle=_subtitle(data.get("subtitle_cc"), where))


def parse_change_priority_reply(body: object) -> None:
    """Accept a `success` status; any other status is the service refusing.

    The docs say `message_status` holds "success or error message": anything else is
    raised as ServiceRejected with the service's words.
    """
    where = Reply(SERVICE, "POST", CHANGE_PRIORITY_PATH)
    bk = _envelope(body, where)
    data = bk.get("data")
    raw, _ = _raw_status(bk, data, where)
    if raw is None:
        said = _service_message(bk, data)
        if said:
            raise ServiceRejected(said, service=SERVICE, operation=f"POST {CHANGE_PRIORITY_PATH}")
        raise where.error("bk.message_status", "is missing")
    state = _STATUS_WORDS.get(_status_key(raw))
    if state is ContentState.COMPLETED:
        return
    said = raw.strip() or "no reason given"
    if state is not None:
        # A bare status word ("failed"): the reason, if any, sits beside it.
        said = _service_message(bk, data) or said
    raise ServiceRejected(said, service=SERVICE, operation=f"POST {CHANGE_PRIORITY_PATH}")


# --- the transcript ----------------------------------------------------------


def _transcript(data: Mapping[str, Any], where: Reply, *, uuid: str, file: str | None,
                language: str | None) -> Transcript:
    items = data.get("transcripts")
    if not isinstance(items, list):
        raise where.error("bk.data.transcripts", f"is missing or not a list: {_short(items)}")
    segments = tuple(_segment(item, f"bk.data.transcripts[{i}]", where)
                     for i, item in enumerate(items))
    job_uuid = data.get("uuid")
    return Transcript(
        provider=PROVIDER, file=file,
        language=_reply_language(data, where) or _language_code(language),
        duration=_seconds(data.get("duration"), "bk.data.duration", where),
        text=" ".join(s.text for s in segments if s.text),
        segments=segments,
        extras=make_extras({"uuid": job_uuid.strip() if isinstance(job_uuid, str)
                            and job_uuid.strip() else uuid}))


def _segment(item: object, name: str, where: Reply) -> Segment:
    if not isinstance(item, Mapping):
        raise where.error(name, f"is not an object: {_short(item)}")
    words_raw = item.get("words")
    if words_raw is None:
        words_raw = []
    if not isinstance(words_raw, list):
        raise where.error(f"{name}.words", f"is not a list: {_short(words_raw)}")
    words = tuple(_word(w, f"{name}.words[{i}]", where) for i, w in enumerate(words_raw))
    text = item.get("text")
    if text is None:
        text = " ".join(w.word for w in words if w.word)
    if not isinstance(text, str):
        raise where.error(f"{name}.text", f"is not a string: {_short(text)}")
    start = _seconds(item.get("start_time"), f"{name}.start_time", where)
    end = _seconds(item.get("end_time"), f"{name}.end_time", where)
    if start is not None and end is not None and end < start:
        raise where.error(f"{name}.end_time", f"is before its start ({end:g} < {start:g} s)")
    confidence = _number(item.get("text_confidence"), f"{name}.text_confidence", where)
    return Segment(start=start, end=end,
                   speaker=_speaker(item.get("speaker"), f"{name}.speaker", where),
                   text=text.strip(), words=words,
                   extras=make_extras({"text_confidence": confidence}))


def _word(item: object, name: str, where: Reply) -> Word:
    if not isinstance(item, Mapping):
        raise where.error(name, f"is not an object: {_short(item)}")
    word = item.get("word")
    if not isinstance(word, str):
        raise where.error(f"{name}.word", f"is missing or not a string: {_short(word)}")
    start = _seconds(item.get("from"), f"{name}.from", where)
    length = _seconds(item.get("length"), f"{name}.length", where)
    return Word(word=word.strip(), start=start,
                end=start + length if start is not None and length is not None else None,
                conf=_number(item.get("score"), f"{name}.score", where))


def _speaker(value: object, name: str, where: Reply) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise where.error(name, f"is not a string or an integer: {_short(value)}")


def _reply_language(data: Mapping[str, Any], where: Reply) -> str | None:
    for key in ("target_language", "source_language", "language"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise where.error(f"bk.data.{key}", f"is not a string: {_short(value)}")
        code = _language_code(value)
        if code is not None and code != DETECT:
            return code
    return None


def _subtitle(value: object, where: Reply) -> bytes | None:
    if value is None or value == "" or value is False:
        return None
    if not isinstance(value, str):
        raise where.error("bk.data.subtitle_cc", f"is not a base64 string: {_short(value)}")
    compact = "".join(value.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise where.error("bk.data.subtitle_cc",
                          f"is not valid base64: {_short(value)}") from None


# --- fields --------------------------------------------------------------------


def _seconds(value: object, name: str, where: Reply) -> float | None:
    """Seconds from a number, a numeric string or a clock string; None if absent."""
    if isinstance(value, str) and (clock := _CLOCK.fullmatch(value.strip())):
        hours, minutes, seconds = clock.groups()
        minutes_n, seconds_n = int(minutes), float(seconds.replace(",", "."))
        if (hours is not None and minutes_n >= 60) or seconds_n >= 60:
            raise where.error(name, f"is not a valid clock time: {_short(value)}")
        return int(hours or 0) * 3600 + minutes_n * 60 + seconds_n
    try:
        result = _number(value, name, where)
    except RemoteProtocolError:
        raise where.error(
            name, f"is not a time in seconds or HH:MM:SS.mmm: {_short(value)}") from None
    if result is not None and result < 0:
        raise where.error(name, f"is negative: {_short(value)}")
    return result


def _progress(bk: Mapping[str, Any], data: Mapping[str, Any] | None,
              where: Reply) -> float | None:
    if "progress" in bk or data is None or "progress" not in data:
        value, name = bk.get("progress"), "bk.progress"
    else:
        value, name = data.get("progress"), "bk.data.progress"
    if isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1]
    percent = _number(value, name, where)
    return None if percent is None else min(max(percent, 0.0), 100.0)


def _raw_status(bk: Mapping[str, Any], data: object,
                where: Reply) -> tuple[str | None, str]:
    """`message_status` from `bk`, else from `bk.data`, and where it was found."""
    if bk.get("message_status") is not None:
        value, name = bk["message_status"], "bk.message_status"
    elif isinstance(data, Mapping) and data.get("message_status") is not None:
        value, name = data["message_status"], "bk.data.message_status"
    else:
        return None, "bk.message_status"
    if not isinstance(value, str):
        raise where.error(name, f"is not a string: {_short(value)}")
    return value, name


def _status_key(raw: str) -> str:
    return re.sub(r"[\s_-]+", " ", raw.strip().lower())


def _service_message(bk: Mapping[str, Any], data: object) -> str | None:
    """The service's reason beside a status, in `bk` or `bk.data`."""
    for source in (bk, data):
        if not isinstance(source, Mapping):
            continue
        for key in _MESSAGE_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _envelope(body: object, where: Reply) -> Mapping[str, Any]:
    reply = where.object(body)
    bk = reply.get("bk")
    if not isinstance(bk, Mapping):
        raise where.error("bk", f"is missing or not an object: {_short(bk)}")
    return bk
