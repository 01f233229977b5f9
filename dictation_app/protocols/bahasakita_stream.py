"""Bahasakita live speech-to-text over WebSocket, as a pure state machine.

No I/O happens here. `StreamClient` builds the text frames a client sends
(`audioConn`, `audioStream`, `audioStop`) and turns the server's replies into typed
events; the transport layer moves the frames. The server half (`parse_request` and
the `*_reply` builders) lets the embedded engine speak the same protocol.

Two variants exist (see API-NOTES):

- v1 (`/v1/prod/stream`): `audioConn` is answered with `data.sess_id` (32 chars),
  which every later message carries; errors are in `message`; results are
  `data.partial` / `data.final`.
- v2 (`/v2/prod/stream2`): `audioConn` carries `"language"`; there is no session
  id; errors are in `message_status`; results are `data.transcript` (the current
  hypothesis, a partial) and `data.transcripts` (settled utterances, finals).
  v1-style `partial` / `final` keys are accepted in v2 replies as well.

Type names are sent in camelCase; replies are accepted in any letter case, since
the vendor's tables say `AudioConn` where its examples say `audioConn`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dictation_app.audio.format import CHUNK_BYTES
from dictation_app.core.errors import LocalProtocolError, RemoteProtocolError

# Defined with every other mask in core/redaction.py; re-exported beside with_token().
from dictation_app.core.redaction import redact_url as redact_url
from dictation_app.protocols.reply_fields import decode_json, excerpt, short

SERVICE = "Bahasakita streaming"
STATUS_OK = 200
STATUS_FAILED = 400

# The largest frame either side accepts: an audioStream frame is ~4.3 KB and a reply
# a sentence or two, so 1 MiB is generous and still bounds what a peer can make us hold.
MAX_FRAME_BYTES = 1 << 20

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ProtocolVersion(str, enum.Enum):
    V1 = "v1"
    V2 = "v2"


DEFAULT_URLS = {
    ProtocolVersion.V1: "wss://api.bahasakita.co.id/v1/prod/stream",
    ProtocolVersion.V2: "wss://api.bahasakita.co.id/v2/prod/stream2",
}


class MessageType(str, enum.Enum):
    AUDIO_CONN = "audioConn"
    AUDIO_STREAM = "audioStream"
    AUDIO_STOP = "audioStop"

    @classmethod
    def from_wire(cls, value: object) -> MessageType | None:
        if not isinstance(value, str):
            return None
        return _TYPES_BY_LOWER.get(value.lower())


_TYPES_BY_LOWER = {t.value.lower(): t for t in MessageType}


class State(enum.IntEnum):
    IDLE = 0  # nothing sent yet
    OPENING = 1  # audioConn sent, waiting for the session
    STREAMING = 2  # session open, audio may be sent
    STOPPING = 3  # audioStop sent, waiting for its reply
    STOPPED = 4  # audioStop answered: the session is over
    FAILED = 5  # the server rejected a request


# --- events --------------------------------------------------------------------


@dataclass(frozen=True)
class SessionOpened:
    session_id: str | None  # None in v2, which issues no session id


@dataclass(frozen=True)
class PartialTranscript:
    text: str


@dataclass(frozen=True)
class FinalTranscript:
    text: str


@dataclass(frozen=True)
class SessionStopped:
    pass


@dataclass(frozen=True)
class RequestRejected:
    operation: MessageType
    status: int
    message: str


@dataclass(frozen=True)
class ForeignReply:
    """A v1 reply carrying another session's `sess_id`: ignored, never shown as ours."""

    operation: MessageType
    session_id: str  # as the reply gave it, shortened for a log line


Event = (SessionOpened | PartialTranscript | FinalTranscript | SessionStopped
         | RequestRejected | ForeignReply)


# --- URLs ----------------------------------------------------------------------


def with_token(url: str, token: str | None) -> str:
    """Return `url` with `token=` set in its query string (replacing any there)."""
    if not token:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", token))
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- client --------------------------------------------------------------------


class StreamClient:
    """The client side of one streaming session.

    Call `open()`, send its frame, feed every received frame to `receive()`; once a
    `SessionOpened` event arrives, `audio(chunk)` frames may be sent; `stop()` ends
    the session, which is over when `receive()` yields `SessionStopped`.
    """

    def __init__(self, *, version: ProtocolVersion = ProtocolVersion.V1, language: str = "id"):
        self.version = ProtocolVersion(version)
        self.language = language
        self.state = State.IDLE
        self.session_id: str | None = None
        self._audio_prefix = ""

    # outgoing

    def open(self) -> str:
        self._expect(State.IDLE, "open a session")
        body: dict[str, Any] = {"service": "stt", "type": MessageType.AUDIO_CONN.value}
        if self.version is ProtocolVersion.V2:
            body["language"] = self.language
        self.state = State.OPENING
        return json.dumps({"bk": body})

    def audio(self, chunk: bytes) -> str:
        """Frame one 3200-byte chunk of 16 kHz mono s16le audio."""
        self._expect(State.STREAMING, "send audio")
        if len(chunk) != CHUNK_BYTES:
            raise LocalProtocolError(
                f"{SERVICE}: audio chunks must be exactly {CHUNK_BYTES} bytes, got {len(chunk)}"
            )
        # Base64 needs no JSON escaping, so a prebuilt prefix saves a json.dumps per
        # chunk on the hot path; the result is the same JSON json.dumps would give.
        return self._audio_prefix + base64.b64encode(chunk).decode("ascii") + '"}}}'

    def stop(self) -> str:
        self._expect(State.STREAMING, "stop the session")
        body: dict[str, Any] = {"service": "stt", "type": MessageType.AUDIO_STOP.value}
        if self.session_id is not None:
            body["sess_id"] = self.session_id
        self.state = State.STOPPING
        return json.dumps({"bk": body})

    # incoming

    def receive(self, frame: str | bytes) -> list[Event]:
        """Parse one reply frame into events; raise RemoteProtocolError if malformed."""
        body = _parse_envelope(frame, side="server reply")
        kind = MessageType.from_wire(body.get("type"))
        status = _status(body.get("status", STATUS_OK))
        if kind is None:
            raise RemoteProtocolError(
                f"{SERVICE}: reply has unknown 'type': {short(body.get('type'))}")
        if self.state in (State.IDLE, State.STOPPED, State.FAILED):
            raise RemoteProtocolError(
                f"{SERVICE}: unexpected {kind.value} reply while {self.state.name.lower()}"
            )
        foreign = self._foreign(kind, body)
        if foreign is not None:
            return [foreign]
        if status != STATUS_OK:
            self.state = State.FAILED
            return [RequestRejected(kind, status, self._error_message(body, status))]
        if kind is MessageType.AUDIO_CONN:
            return [self._on_opened(body)]
        if kind is MessageType.AUDIO_STOP:
            if self.state is not State.STOPPING:
                self.state = State.FAILED
                raise RemoteProtocolError(
                    f"{SERVICE}: the server ended the session early (an audioStop reply we "
                    "did not ask for); what was said after the last final is missing. "
                    "Start again to dictate the rest.")
            self.state = State.STOPPED
            return [SessionStopped()]
        if self.state is State.OPENING:
            raise RemoteProtocolError(f"{SERVICE}: audioStream reply before the session opened")
        return self._results(body)

    # internals

    def _foreign(self, kind: MessageType, body: Mapping[str, Any]) -> ForeignReply | None:
        """A v1 reply naming a session other than ours, which must not be taken as ours."""
        if self.session_id is None or kind is MessageType.AUDIO_CONN or "sess_id" not in body:
            return None
        given = body["sess_id"]
        if given == self.session_id:
            return None
        return ForeignReply(kind, given[:64] if isinstance(given, str) else short(given))

    def _expect(self, state: State, action: str) -> None:
        if self.state is not state:
            raise LocalProtocolError(
                f"{SERVICE}: cannot {action} while {self.state.name.lower()}"
            )

    def _on_opened(self, body: Mapping[str, Any]) -> SessionOpened:
        if self.state is not State.OPENING:
            raise RemoteProtocolError(f"{SERVICE}: audioConn reply while {self.state.name.lower()}")
        data = body.get("data")
        session_id: str | None = None
        if self.version is ProtocolVersion.V1:
            if not isinstance(data, Mapping) or not isinstance(data.get("sess_id"), str):
                raise RemoteProtocolError(f"{SERVICE}: audioConn reply has no 'data.sess_id'")
            session_id = data["sess_id"]
            if not _SESSION_ID.match(session_id):
                raise RemoteProtocolError(f"{SERVICE}: audioConn reply has a malformed 'sess_id'")
        self.session_id = session_id
        head: dict[str, Any] = {"service": "stt", "type": MessageType.AUDIO_STREAM.value}
        if session_id is not None:
            head["sess_id"] = session_id
        # '{"bk": {..., "data": {"audio": "'  -- closed by audio()
        self._audio_prefix = json.dumps({"bk": head})[:-2] + ', "data": {"audio": "'
        self.state = State.STREAMING
        return SessionOpened(session_id)

    def _results(self, body: Mapping[str, Any]) -> list[Event]:
        data = body.get("data")
        if data is None:
            return []  # a bare acknowledgement of a chunk
        if not isinstance(data, Mapping):
            raise RemoteProtocolError(f"{SERVICE}: audioStream reply 'data' is not an object")
        events: list[Event] = []
        if "final" in data:
            events.append(FinalTranscript(_text(data, "final")))
        elif "partial" in data:
            events.append(PartialTranscript(_text(data, "partial")))
        if self.version is ProtocolVersion.V2:
            if "transcripts" in data:
                items = data["transcripts"]
                if not isinstance(items, list):
                    raise RemoteProtocolError(f"{SERVICE}: 'data.transcripts' is not a list")
                events.extend(FinalTranscript(_transcript_text(item)) for item in items)
            elif "transcript" in data:
                events.append(PartialTranscript(_transcript_text(data["transcript"])))
        return events

    def _error_message(self, body: Mapping[str, Any], status: int) -> str:
        keys = ("message_status", "message") if self.version is ProtocolVersion.V2 else (
            "message", "message_status")
        for key in keys:
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return f"status {status} with no message"


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise RemoteProtocolError(f"{SERVICE}: 'data.{key}' is not a string: {short(value)}")
    return value.strip()


def _transcript_text(item: object) -> str:
    if isinstance(item, str):
        return item.strip()
    if isinstance(item, Mapping):
        for key in ("text", "transcript"):
            if isinstance(item.get(key), str):
                return str(item[key]).strip()
    raise RemoteProtocolError(
        f"{SERVICE}: transcript entry is neither text nor {{text}}: {short(item)}")


def _status(value: object) -> int:
    """A reply's `status`: an integer, or a string of ASCII digits (some replies quote it)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() \
            and len(value.strip()) <= 9:
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RemoteProtocolError(f"{SERVICE}: reply has a non-numeric 'status': {short(value)}")
    return value


def _parse_envelope(frame: str | bytes, *, side: str) -> Mapping[str, Any]:
    message = decode_json(frame, f"{SERVICE}: {side}", limit=MAX_FRAME_BYTES)
    if not isinstance(message, Mapping) or not isinstance(message.get("bk"), Mapping):
        raise RemoteProtocolError(
            f"{SERVICE}: {side} has no 'bk' object: {excerpt(frame)}")
    return message["bk"]


# --- server --------------------------------------------------------------------


@dataclass(frozen=True)
class ConnRequest:
    language: str | None


@dataclass(frozen=True)
class AudioRequest:
    session_id: str | None
    audio: bytes


@dataclass(frozen=True)
class StopRequest:
    session_id: str | None


Request = ConnRequest | AudioRequest | StopRequest


def parse_request(frame: str | bytes) -> Request:
    """Parse one client frame, for a server speaking this protocol."""
    body = _parse_envelope(frame, side="client message")
    kind = MessageType.from_wire(body.get("type"))
    session_id = body.get("sess_id")
    if session_id is not None and not isinstance(session_id, str):
        raise RemoteProtocolError(f"{SERVICE}: 'sess_id' is not a string")
    if kind is MessageType.AUDIO_CONN:
        language = body.get("language")
        return ConnRequest(language if isinstance(language, str) else None)
    if kind is MessageType.AUDIO_STOP:
        return StopRequest(session_id)
    if kind is MessageType.AUDIO_STREAM:
        data = body.get("data")
        encoded = data.get("audio") if isinstance(data, Mapping) else None
        if not isinstance(encoded, str):
            raise RemoteProtocolError(f"{SERVICE}: audioStream has no 'data.audio' string")
        try:
            audio = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RemoteProtocolError(f"{SERVICE}: 'data.audio' is not base64: {exc}") from exc
        return AudioRequest(session_id, audio)
    raise RemoteProtocolError(f"{SERVICE}: unknown message type {short(body.get('type'))}")


def _reply(kind: MessageType, status: int, message: str, data: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {"service": "stt", "type": kind.value, "status": status,
                            "message": message}
    if data is not None:
        body["data"] = data
    return json.dumps({"bk": body})


def conn_reply(session_id: str) -> str:
    return _reply(MessageType.AUDIO_CONN, STATUS_OK, "", {"sess_id": session_id})


def partial_reply(text: str) -> str:
    return _reply(MessageType.AUDIO_STREAM, STATUS_OK, "", {"partial": text})


def final_reply(text: str) -> str:
    return _reply(MessageType.AUDIO_STREAM, STATUS_OK, "", {"final": text})


def stop_reply() -> str:
    return _reply(MessageType.AUDIO_STOP, STATUS_OK, "", None)


def error_reply(kind: MessageType, message: str) -> str:
    return _reply(kind, STATUS_FAILED, message, None)
