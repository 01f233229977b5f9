"""Bahasakita account REST replies (monitoring queues, sign-in token), parsed without I/O.

Builders return a `Request` (protocols/request.py) carrying its credentials in the
Authorization header; the transport sends it and hands the decoded JSON reply to a
parser here, which returns frozen dataclasses or raises `RemoteProtocolError` naming
the service, the endpoint and the offending field. Nothing here imports httpx,
asyncio or Qt.

Monitoring (`GET /v2/prod/stt/monitoring`) answers, per the vendor's example::

    {"bk": {"data": {"username": "...",
                     "inquery": [{"<uuid>": {"filename", "duration", "created", "filesize"}}],
                     "process": [...], "failed": [...], "success": [...]},
            "msg_in": 1, "msg_out": 1, "message_status": "success"}}

Accepted variants: `msg_in` / `msg_out` / `message_status` in `bk` or in `bk.data`;
a missing queue (read as empty); numbers sent as strings; null or empty optional
fields. Anything else is a protocol violation.

Sign-in (`GET /v2/prod/getTokenServices`, HTTP Basic) answers
`{"bk": {"diktein_credits_token": {"token", "expire_date", "quota", "type"}}}`.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.redaction import MASK
from dictation_app.protocols.reply_fields import Reply, said_hint
from dictation_app.protocols.request import Request

SERVICE = "Bahasakita monitoring"
SIGN_IN_SERVICE = "Bahasakita sign-in"
DEFAULT_BASE_URL = "https://api.dikte.in"
MONITORING_PATH = "/v2/prod/stt/monitoring"
TOKEN_PATH = "/v2/prod/getTokenServices"

# The service's queue names, in the order a job moves through them.
QUEUES = ("inquery", "process", "failed", "success")
# What a person calls them; shared by the CLI table and the panel so both read alike.
QUEUE_LABELS = {"inquery": "Waiting", "process": "Processing", "failed": "Failed",
                "success": "Done"}
COUNTERS = ("msg_in", "msg_out", "message_status")

_CREATED_FORMAT = "%Y-%m-%d %H:%M:%S"


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be the account's REST base URL, or None when it can.

    Shared by the client (which refuses it) and Settings (which says so as it is
    typed). The sentence never repeats the URL: it may hold a password after `user:`.
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "The account address is malformed; check the host and port."
    if parts.scheme not in ("http", "https"):
        return ("The account address must start with https:// (or http:// for a local "
                "test server).")
    if not parts.hostname:
        return "The account address has no host name after https://."
    if parts.username is not None or parts.password is not None:
        return ("Remove the name and password from the account address: sign in "
                "below instead.")
    if parts.query or parts.fragment:
        return "The account address takes no ?query or #fragment: give the base URL only."
    return None


@dataclass(frozen=True)
class QueueItem:
    uuid: str
    filename: str
    duration: float | None  # seconds
    created: datetime | None  # naive: the service does not say which time zone it means
    filesize_mb: float | None


@dataclass(frozen=True)
class MonitoringSnapshot:
    username: str
    queues: dict[str, list[QueueItem]]  # exactly the keys in QUEUES, in that order
    msg_in: int | None
    msg_out: int | None
    message_status: str | None

    def queue_of(self) -> dict[str, str]:
        """uuid -> queue name. A uuid listed twice (a job caught mid-move) takes the later
        queue in QUEUES order, since jobs only move forward."""
        return {item.uuid: name for name in QUEUES for item in self.queues[name]}


@dataclass(frozen=True)
class ServiceToken:
    token: str
    expire_date: datetime | None
    quota: int | float | str | None  # as the service gives it: a number, or a word
    type: str | None

    def __repr__(self) -> str:
        # A token must not reach a log line through a stray repr().
        return (f"ServiceToken(token={MASK!r}, expire_date={self.expire_date!r}, "
                f"quota={self.quota!r}, type={self.type!r})")


@dataclass(frozen=True)
class ErrorReply:
    """What an error body says: the status the service put in it and its own message."""

    status: int | None
    message: str | None


# --- requests ------------------------------------------------------------------


def monitoring_request(token: str) -> Request:
    """GET the account's job queues with its bearer token."""
    return Request("GET", MONITORING_PATH, headers={"Authorization": f"Bearer {token}"})


def sign_in_request(email: str, password: str) -> Request:
    """GET a service token with HTTP Basic: the password only ever goes in this header."""
    if not email.strip() or not password:
        raise ConfigurationError(f"{SIGN_IN_SERVICE}: enter both an email and a password.")
    if ":" in email:
        # HTTP Basic splits at the first colon, so the service would see another user.
        raise ConfigurationError(f"{SIGN_IN_SERVICE}: an email cannot contain ':'.")
    return Request("GET", TOKEN_PATH,
                   headers={"Authorization": f"Basic {basic_credentials(email, password)}"})


def basic_credentials(email: str, password: str) -> str:
    """The base64 `email:password` of an HTTP Basic header: a secret, like the password."""
    return base64.b64encode(f"{email.strip()}:{password}".encode()).decode("ascii")


# --- monitoring ----------------------------------------------------------------


def parse_monitoring(body: object) -> MonitoringSnapshot:
    """Parse a decoded monitoring reply; raise RemoteProtocolError if it breaks the shape."""
    where = Reply(SERVICE, "GET", MONITORING_PATH)
    bk = _envelope(body, where)
    data = bk.get("data")
    if not isinstance(data, Mapping):
        said = _service_message(bk)
        raise where.error("bk.data", f"is missing or not an object{said_hint(said)}")
    username = data.get("username", bk.get("username"))
    if not isinstance(username, str):
        raise where.error("bk.data.username", f"is not a string: {_short(username)}")
    queues = {name: _queue(data, name, where) for name in QUEUES}
    # The vendor's table puts the counters beside the queues, its example one level up.
    counters = {key: data[key] if key in data else bk.get(key) for key in COUNTERS}
    place = {key: "bk.data" if key in data else "bk" for key in COUNTERS}
    return MonitoringSnapshot(
        username=username,
        queues=queues,
        msg_in=_count(counters["msg_in"], f"{place['msg_in']}.msg_in", where),
        msg_out=_count(counters["msg_out"], f"{place['msg_out']}.msg_out", where),
        message_status=_optional_text(counters["message_status"],
                                      f"{place['message_status']}.message_status", where),
    )


def _queue(data: Mapping[str, Any], name: str, where: Reply) -> list[QueueItem]:
    raw = data.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise where.error(f"bk.data.{name}", f"is not a list: {_short(raw)}")
    items = []
    for index, entry in enumerate(raw):
        field = f"bk.data.{name}[{index}]"
        if not isinstance(entry, Mapping) or len(entry) != 1:
            raise where.error(field, f"is not a one-key object {{uuid: {{...}}}}: {_short(entry)}")
        ((uuid, fields),) = entry.items()
        if not isinstance(uuid, str) or not uuid.strip():
            raise where.error(field, "has an empty uuid key")
        if not isinstance(fields, Mapping):
            raise where.error(f"{field}.{uuid}", f"is not an object: {_short(fields)}")
        items.append(_item(uuid.strip(), fields, f"{field}.{uuid}", where))
    return items


def _item(uuid: str, fields: Mapping[str, Any], field: str, where: Reply) -> QueueItem:
    return QueueItem(
        uuid=uuid,
        filename=_optional_text(fields.get("filename"), f"{field}.filename", where) or "",
        duration=_number(fields.get("duration"), f"{field}.duration", where),
        created=_created(fields.get("created"), f"{field}.created", where),
        filesize_mb=_number(fields.get("filesize"), f"{field}.filesize", where),
    )


def _created(value: object, field: str, where: Reply) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        parsed = _datetime(value)
        if parsed is not None and parsed.tzinfo is not None:
            # Keep every `created` naive so they compare (and sort) with one another.
            parsed = parsed.astimezone().replace(tzinfo=None)
        if parsed is not None:
            return parsed
    raise where.error(field, f"is not a 'YYYY-MM-DD HH:mm:ss' time: {_short(value)}")


# --- sign-in -------------------------------------------------------------------


def parse_token_response(body: object) -> ServiceToken:
    """Parse a decoded getTokenServices reply; lenient about all but the token itself."""
    where = Reply(SIGN_IN_SERVICE, "GET", TOKEN_PATH)
    bk = _envelope(body, where)
    data = bk.get("data")
    credits = bk.get("diktein_credits_token")
    field = "bk.diktein_credits_token"
    if credits is None and isinstance(data, Mapping):
        credits, field = data.get("diktein_credits_token"), "bk.data.diktein_credits_token"
    if not isinstance(credits, Mapping):
        raise where.error("bk.diktein_credits_token",
                          f"is missing or not an object{said_hint(_service_message(bk))}")
    token = credits.get("token")
    if not isinstance(token, str) or not token.strip():
        # Never echo the value: a malformed token is still a credential.
        raise where.error(f"{field}.token", "is missing or not a non-empty string")
    kind = credits.get("type")
    return ServiceToken(
        token=token.strip(),
        expire_date=_expiry(credits.get("expire_date")),
        quota=_quota(credits.get("quota")),
        type=str(kind) if isinstance(kind, (str, int)) and not isinstance(kind, bool)
        and kind != "" else None,
    )


def _expiry(value: object) -> datetime | None:
    """An expiry in whatever form the service picks; None rather than a failed sign-in."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
        # Seconds since the epoch; milliseconds if it is too large to be seconds.
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if isinstance(value, str):
        return _datetime(value)
    return None


def _quota(value: object) -> int | float | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        number = _parse_float(text)
        if number is None:
            return text or None  # a word such as "unlimited": show it as given
        return int(number) if number.is_integer() and "." not in text else number
    return None


# --- errors --------------------------------------------------------------------


def parse_error(message: object) -> ErrorReply:
    """Find the status and the service's own message in a decoded error body, if it has
    them.

    Never raises: a body that was not JSON (the transport passes None or its text: HTML
    from a proxy, say) or is no object gives ErrorReply(None, None), and the caller
    falls back to the HTTP status.
    """
    if not isinstance(message, Mapping):
        return ErrorReply(None, None)
    bk = message.get("bk")
    # Some gateways answer outside the `bk` envelope; read both, `bk` first.
    for source in (bk, message):
        if not isinstance(source, Mapping):
            continue
        status = _status(source.get("status"))
        said = _service_message(source)
        if status is not None or said:
            return ErrorReply(status, said)
    return ErrorReply(None, None)


def _service_message(source: Mapping[str, Any]) -> str | None:
    for key in ("message_status", "message", "error", "detail"):
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _status(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


# --- changes between refreshes -------------------------------------------------


def diff(previous: MonitoringSnapshot | None,
         current: MonitoringSnapshot) -> dict[str, tuple[str | None, str]]:
    """uuid -> (old queue or None, new queue) for every job whose queue changed.

    A job not in `previous` (or every job, when there is no previous) counts as changed
    from None; a job that vanished is not reported, since it has no new queue.
    """
    before = previous.queue_of() if previous is not None else {}
    return {uuid: (before.get(uuid), queue) for uuid, queue in current.queue_of().items()
            if before.get(uuid) != queue}


# --- presentation shared by the CLI and the panel ------------------------------


def format_duration(seconds: float | None) -> str:
    """h:mm:ss, rounded to the second; empty for an unknown duration."""
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_created(created: datetime | None) -> str:
    return created.strftime(_CREATED_FORMAT) if created is not None else ""


def newest_first(items: list[QueueItem]) -> list[QueueItem]:
    """Newest job first, jobs without a time last; ties keep the service's order."""
    return sorted(items, key=lambda i: (i.created is not None, i.created or datetime.min),
                  reverse=True)


# --- helpers -------------------------------------------------------------------


def _envelope(message: object, where: Reply) -> Mapping[str, Any]:
    if not isinstance(message, Mapping):
        raise where.error("(body)", f"is not a JSON object: {_short(message)}")
    bk = message.get("bk")
    if not isinstance(bk, Mapping):
        raise where.error("bk", "is missing or not an object")
    return bk


def _number(value: object, field: str, where: Reply) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise where.error(field, f"is not a number: {_short(value)}")
    number = float(value) if isinstance(value, (int, float)) else None
    if isinstance(value, str):
        number = _parse_float(value.strip())
    if number is None or not math.isfinite(number):
        raise where.error(field, f"is not a number: {_short(value)}")
    return number


def _count(value: object, field: str, where: Reply) -> int | None:
    number = _number(value, field, where)
    if number is None:
        return None
    if not number.is_integer() or number < 0:
        raise where.error(field, f"is not a whole count: {_short(value)}")
    return int(number)


def _optional_text(value: object, field: str, where: Reply) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error(field, f"is not a string: {_short(value)}")
    return str(value)


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _datetime(text: str) -> datetime | None:
    """The documented 'YYYY-MM-DD HH:mm:ss', ISO 8601 with or without a zone, or a date."""
    text = text.strip()
    try:
        return datetime.strptime(text, _CREATED_FORMAT)
    except ValueError:
        pass
    try:
        # 'T' separator, fractions, an offset (and from 3.11 a 'Z' suffix).
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day)


def _short(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."
