"""Nevisa (PersianSpeech) file recognition over REST, without I/O.

Builders return a `Request` (protocols/request.py, with the vendor's host); the
transport adds the file part to `recognize_request()` and hands the decoded JSON reply
to a parser here. Parsers return frozen dataclasses or raise `RemoteProtocolError`
naming Nevisa, the endpoint and the offending field.

Flow: login (accounting host) gives an auth token, which changes at every login, and
the api key of the active package; recognize-file starts a Celery task; its progress
URL is polled until `SUCCESS` (words with times in seconds) or `FAILURE`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dictation_app.core.errors import ConfigurationError, ServiceRejected
from dictation_app.protocols.reply_fields import Reply, said_hint
from dictation_app.protocols.reply_fields import number as _number
from dictation_app.protocols.reply_fields import short as _short
from dictation_app.protocols.request import Request
from dictation_app.protocols.transcript import Segment, Transcript, Word

SERVICE = "Nevisa"
PROVIDER = "nevisa"
ACCOUNT_BASE_URL = "https://accounting.persianspeech.com"
API_BASE_URL = "https://api.persianspeech.com"

LOGIN_PATH = "/account/login"
RECOGNIZE_PATH = "/recognize-file"
TERMINATE_PATH = "/file/terminate-task"
PROGRESS_PATH = "/celery-progress/{task_id}/"

RECOGNIZE_FILE_FIELD = "file"  # the multipart part of POST /recognize-file

class State(enum.Enum):
    PENDING = "PENDING"
    PROGRESS = "PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


# Celery's other states, folded into the four the app acts on.
_STATE_ALIASES = {
    "STARTED": State.PROGRESS,
    "RETRY": State.PROGRESS,
    "RECEIVED": State.PENDING,
    "REVOKED": State.FAILURE,
}


# --- requests ------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    auth_token: str = field(repr=False)
    api_key: str = field(repr=False)


def login_request(username_or_phone_or_email: str, password: str) -> Request:
    if not username_or_phone_or_email.strip() or not password:
        raise ConfigurationError(
            f"{SERVICE}: the PersianSpeech username (or phone or email) and password must "
            "both be set in the settings")
    # Signing in again is harmless (it only issues a new token).
    return Request("POST", LOGIN_PATH, base_url=ACCOUNT_BASE_URL, idempotent=True, form={
        "username_or_phone_or_email": username_or_phone_or_email.strip(),
        "password": password,
    })


def recognize_request(credentials: Credentials) -> Request:
    """POST /recognize-file form fields; the transport adds `RECOGNIZE_FILE_FIELD`."""
    # Never repeated blindly: a lost reply can hide a started (and billed) task.
    return Request("POST", RECOGNIZE_PATH, base_url=API_BASE_URL, idempotent=False, form={
        "auth_token": credentials.auth_token, "api_key": credentials.api_key})


def progress_request(task_id: str) -> Request:
    return Request("GET", progress_path(task_id), base_url=API_BASE_URL)


def progress_path(task_id: str) -> str:
    task_id = task_id.strip()
    if not task_id or "/" in task_id or "?" in task_id or "#" in task_id:
        raise ConfigurationError(f"{SERVICE}: {task_id!r} is not a task id")
    return PROGRESS_PATH.format(task_id=task_id)


def terminate_request(credentials: Credentials, task_id: str) -> Request:
    progress_path(task_id)  # same validation
    return Request("POST", TERMINATE_PATH, base_url=API_BASE_URL, idempotent=True,
                   headers={"Authorization": f"Token {credentials.auth_token}"},
                   form={"auth_token": credentials.auth_token, "api_key": credentials.api_key,
                         "task_id": task_id.strip()})


# --- replies -------------------------------------------------------------------


@dataclass(frozen=True)
class RecognitionStarted:
    task_id: str
    progress_url: str  # a path on API_BASE_URL, as the service gives it


@dataclass(frozen=True)
class Progress:
    state: State
    percent: float | None
    transcript: Transcript | None = None  # only with SUCCESS
    error: str | None = None  # only with FAILURE: the service's own message, if any


def parse_login_reply(body: object) -> Credentials:
    """`user.token` and `user.nevisa_service_account.current_service_record.key`.

    A null `current_service_record` means the account has no active package: that is
    the service refusing work, not a malformed reply, so it raises ServiceRejected.
    """
    where = Reply(SERVICE, "POST", LOGIN_PATH)
    reply = where.object(body)
    user = reply.get("user")
    if not isinstance(user, Mapping):
        said = _message(reply)
        raise where.error("user", f"is missing or not an object{said_hint(said)}")
    token = user.get("token")
    if not isinstance(token, str) or not token.strip():
        raise where.error("user.token", "is missing or not a non-empty string")
    account = user.get("nevisa_service_account")
    if not isinstance(account, Mapping):
        raise where.error("user.nevisa_service_account", "is missing or not an object")
    if "current_service_record" not in account:
        raise where.error("user.nevisa_service_account.current_service_record", "is missing")
    record = account["current_service_record"]
    if record is None:
        raise ServiceRejected(
            "this account has no active Nevisa package; activate one (the free one-hour "
            "package will do) at https://persianspeech.com, then try again",
            service=SERVICE, operation="login")
    if not isinstance(record, Mapping):
        raise where.error("user.nevisa_service_account.current_service_record",
                          "is not an object")
    key = record.get("key")
    if not isinstance(key, str) or not key.strip():
        raise where.error("user.nevisa_service_account.current_service_record.key",
                          "is missing or not a non-empty string")
    return Credentials(token.strip(), key.strip())


def parse_recognize_reply(body: object) -> RecognitionStarted:
    """`{task_id, progress_url}`; a missing progress_url is derived from the task id."""
    where = Reply(SERVICE, "POST", RECOGNIZE_PATH)
    reply = where.object(body)
    task_id = reply.get("task_id")
    if not isinstance(task_id, str) or not task_id.strip():
        said = _message(reply)
        raise where.error("task_id", f"is missing or not a non-empty string{said_hint(said)}")
    task_id = task_id.strip()
    try:
        default_url = progress_path(task_id)
    except ConfigurationError as exc:
        raise where.error("task_id", f"is not a usable task id: {_short(task_id)}") from exc
    url = reply.get("progress_url", default_url)
    if url is None:
        url = default_url
    if not isinstance(url, str) or not url.strip():
        raise where.error("progress_url", f"is not a non-empty string: {_short(url)}")
    return RecognitionStarted(task_id, url.strip())


def parse_progress_reply(body: object, *, task_id: str = "<task_id>",
                         file: str | None = None) -> Progress:
    """GET /celery-progress/<task_id>/ reply, at any of the task's states."""
    where = Reply(SERVICE, "GET", PROGRESS_PATH.format(task_id=task_id))
    reply = where.object(body)
    raw = reply.get("state")
    if not isinstance(raw, str):
        raise where.error("state", f"is missing or not a string: {_short(raw)}")
    name = raw.strip().upper()
    state = _STATE_ALIASES.get(name) or next((s for s in State if s.value == name), None)
    if state is None:
        raise where.error("state", f"is not a known task state: {_short(raw)}")
    percent = _percent(reply.get("progress"), where)
    if state is State.FAILURE:
        return Progress(state, percent, error=_failure_message(reply, raw.strip()))
    if state is not State.SUCCESS:
        return Progress(state, percent)
    return Progress(state, percent if percent is not None else 100.0,
                    transcript=_transcript(reply.get("result"), where, file))


def _percent(progress: object, where: Reply) -> float | None:
    if progress is None:
        return None
    if not isinstance(progress, Mapping):
        raise where.error("progress", f"is not an object: {_short(progress)}")
    percent = _number(progress.get("percent"), "progress.percent", where)
    if percent is None:
        current = _number(progress.get("current"), "progress.current", where)
        total = _number(progress.get("total"), "progress.total", where)
        if current is None or not total:
            return None
        percent = current * 100 / total
    return min(max(percent, 0.0), 100.0)


def _failure_message(reply: Mapping[str, Any], state: str) -> str | None:
    # Celery puts the exception in `result` (a string, or {exc_type, exc_message}).
    result = reply.get("result")
    if isinstance(result, str) and result.strip():
        return result.strip()
    if isinstance(result, Mapping):
        said = _message(result)
        if said:
            return said
        exc = result.get("exc_message")
        if isinstance(exc, list) and exc:
            return "; ".join(str(e) for e in exc)
        if isinstance(exc, str) and exc.strip():
            return exc.strip()
        if isinstance(result.get("exc_type"), str):
            return str(result["exc_type"])
    return _message(reply)


def _transcript(result: object, where: Reply, file: str | None) -> Transcript:
    if not isinstance(result, Mapping):
        raise where.error("result", f"is missing or not an object: {_short(result)}")
    transcription = result.get("transcription")
    if not isinstance(transcription, Mapping):
        raise where.error("result.transcription", "is missing or not an object")
    text = transcription.get("text")
    if not isinstance(text, str):
        raise where.error("result.transcription.text", f"is not a string: {_short(text)}")
    items = transcription.get("result", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise where.error("result.transcription.result", f"is not a list: {_short(items)}")
    words = tuple(_word(item, f"result.transcription.result[{i}]", where)
                  for i, item in enumerate(items))
    text = text.strip()
    starts = [w.start for w in words if w.start is not None]
    ends = [w.end for w in words if w.end is not None]
    segment = Segment(start=min(starts) if starts else None, end=max(ends) if ends else None,
                      speaker=None, text=text, words=words)
    return Transcript(provider=PROVIDER, file=file, language="fa",
                      duration=None, text=text,
                      segments=(segment,) if text or words else ())


def _word(item: object, name: str, where: Reply) -> Word:
    if not isinstance(item, Mapping):
        raise where.error(name, f"is not an object: {_short(item)}")
    word = item.get("word")
    if not isinstance(word, str):
        raise where.error(f"{name}.word", f"is missing or not a string: {_short(word)}")
    return Word(word=word,
                start=_number(item.get("start"), f"{name}.start", where),
                end=_number(item.get("end"), f"{name}.end", where),
                conf=_number(item.get("conf"), f"{name}.conf", where))


def parse_error_reply(body: object) -> str | None:
    """The service's own message in an error body, if any. Never raises."""
    if isinstance(body, str):
        return body.strip() or None
    if isinstance(body, Mapping):
        return _message(body)
    return None


# --- helpers -------------------------------------------------------------------


def _message(source: Mapping[str, Any]) -> str | None:
    for key in ("message", "error", "detail", "msg", "non_field_errors"):
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return "; ".join(value)
    return None
