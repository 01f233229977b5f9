"""A loopback HTTP server speaking Botlhale's REST API, both generations, for tests.

It serves `/auth/generate`, `/asr`, `/asr/async/upload`, `/asr/async/status`,
`/asr/async/data` (v2) or `/asr/async/getdata` (v1), and an S3-style presigned POST
endpoint (`/presigned-bucket`) on the same port. Bodies are written out by hand from
the vendor's documentation (seeds/botlhale-*.md), not with the app's parsers.

The presigned endpoint checks what S3 would: a Content-Length and no chunked
encoding, no Authorization header, every issued field with its exact value before
the `file` part (S3 ignores whatever follows the file), and the bytes that arrive.
It answers 204, or an S3-style XML error.

Every request is recorded (method, path, query, form fields, file parts, headers;
not raw bodies). Misbehaviour is scripted per path with the base's `fail()`, `reply()`
and `delays` (tests/servers/loopback_http.py), and with the `Behaviour` fields.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.servers.loopback_http import (
    LoopbackHTTPServer,
    parse_multipart,
    read_body,
    send,
    send_json,
)

TOKEN_PATH = "/auth/generate"
SYNC_PATH = "/asr"
UPLOAD_PATH = "/asr/async/upload"
STATUS_PATH = "/asr/async/status"
DATA_V1_PATH = "/asr/async/getdata"
DATA_V2_PATH = "/asr/async/data"
BUCKET_PATH = "/presigned-bucket"

BEARER_TOKEN = "fake-bearer-token-7Qx1"
REFRESH_TOKEN = "fake-refresh-token-Zr93"
ORG_ID = "BotlhaleTest42"
# Values of the presigned fields that are credentials (a client must never log them).
ACCESS_KEY_ID = "AKIAFAKEACCESS0001"
POLICY = "eyJmYWtlLXBvbGljeSI6ICJ0ZXN0cyBvbmx5In0="
SIGNATURE = "fake-signature-b7e4c1d0a9"
SESSION_TOKEN = "IQoJfake-session-token//wEaCWV1LXdlc3Qt"
SIGNATURE_V4 = "e3cca032fakefake5d2de1030bbe9e195923291817e7649dd5dec4f1"
CREDENTIAL = "ASIAFAKECREDENTIAL/20250221/eu-west-1/s3/aws4_request"
FIELD_SECRETS = (ACCESS_KEY_ID, POLICY, SIGNATURE, SESSION_TOKEN, SIGNATURE_V4, CREDENTIAL)

SYNC_TEXT = " The stale smell of old beer lingers."
AUDIO_MAGIC = {b"RIFF": "wav", b"fLaC": "flac", b"OggS": "ogg", b"#!AM": "amr"}


def sync_body() -> dict[str, Any]:
    """The current doc's `/asr` example."""
    return {
        "audio_length": 3.3467120181405896,
        "date_received": "20/02/2025 14:23:08",
        "id": "N5bliIh2i7MP9K5",
        "language_code": "en-ZA",
        "redacted_transcription": "The stale smell of old beer lingers.",
        "speech_file": "asr_97s48SiZ98Gj_en-ZA__r242Sh8A4D2T.wav",
        "text": SYNC_TEXT,
        "time": 1.5026299953460693,
    }


def data_v1_body() -> dict[str, Any]:
    """The older doc's `/asr/async/getdata` example: `complete`, a string length."""
    return {
        "audio_length": "30.0",
        "filename": "/asr_h1754Le80Gun.wav",
        "status": "complete",
        "time": {"diarization": 6.815945625305176, "recognition": 4.098539113998413},
        "timestamps": [
            {"end": 1260.0000000000005,
             "filename": "1_speaker_0_660.0000000000003_1260.0000000000005_nso-ZA.wav",
             "language": "nso-ZA", "speaker": "speaker_0", "start": 660.0000000000003,
             "transcription": "Dumela mma"},
            {"end": 2310.0000000000014,
             "filename": "2_speaker_1_1260.000000000001_2310.0000000000014_nso-ZA.wav",
             "language": "nso-ZA", "speaker": "speaker_1", "start": 1260.000000000001,
             "transcription": "Ke a leboga"},
        ],
    }


def data_v2_body() -> dict[str, Any]:
    """The current doc's `/asr/async/data` example, trimmed to two segments."""
    return {
        "audio_length": 293.52,
        "date_received": "29/01/2025 23:04:28",
        "filename": "asr_618Ilr3ux6b7__16000_BotlhaleAI999__True_3M50XY73w6LS29012025_230351",
        "time": {"diarization": 11.390989780426025, "recognition": 84.02089238166809},
        "timestamps": [
            {"emotion": "neu", "end": 4083.191850594227,
             "filename": "0_SPEAKER_00_1112.0543293718165_4083.191850594227.wav",
             "language": "English",
             "redaction": "Hello, good day. You're speaking to <PERSON> from <LOCATION>.",
             "speaker": "SPEAKER_00", "start": 1112.0543293718165,
             "times": {"asr": 1.183, "emotion": 4.7e-07, "red": 0.024, "sli": 0.017},
             "transcription": "Hello, good day. You're speaking to Nick from Kuru.",
             "transcription_no_LM": "", "translation": "-"},
            {"emotion": "neu", "end": 292979.6264855688,
             "filename": "80_SPEAKER_01_291281.83361629886_292979.6264855688.wav",
             "language": "English", "redaction": "Thank you.", "speaker": "SPEAKER_01",
             "start": 291281.83361629886,
             "times": {"asr": 0.912, "emotion": 4.7e-07, "red": 0.02, "sli": 0.017},
             "transcription": "Thank you.", "transcription_no_LM": "", "translation": "-"},
        ],
    }


@dataclass
class Behaviour:
    api_version: int = 2  # which generation's names, paths and shapes the server speaks
    token_expires: float | None = 3600.0  # `expires` in /auth/generate replies
    token_uses: int | None = None  # an issued token is refused after this many uses
    running_polls: int = 1  # status answers `running` this many times, then done
    outcome: str = "completed"  # or e.g. "failed": the final status word
    failure_message: str | None = None  # `message` beside a failed status
    sync_body: Any = field(default_factory=sync_body)
    data_body: Any = None  # None: the documented example of the server's generation
    storage_error: tuple[int, str, str] | None = None  # (status, Code, Message) from S3
    upload_query: str = ""  # a query string on the presigned URL (credentials, say)


@dataclass
class FilePart:
    name: str
    filename: str | None
    content_type: str | None
    size: int
    sha256: str
    magic: str | None  # the audio format its first bytes announce


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]  # non-file form fields, urlencoded or multipart
    files: list[FilePart]
    part_order: list[str]  # multipart part names as they arrived
    status: int = 0  # what the server answered


class FakeBotlhale(LoopbackHTTPServer):
    """Runs in a background thread; use as a context manager, mutate `behaviour` freely."""

    def __init__(self, behaviour: Behaviour | None = None):
        super().__init__()
        self.behaviour = behaviour or Behaviour()
        self.requests: list[RecordedRequest] = []
        self.uploads: dict[str, bytes] = {}  # object key -> the bytes S3 received
        self._issued: dict[str, tuple[float | None, int]] = {}  # token -> (deadline, uses)
        self._issued_count = 0
        self._jobs: dict[str, int] = {}  # object key -> status polls answered
        self._pending: dict[str, dict[str, str]] = {}  # key -> fields of an unused POST
        self._lock = threading.Lock()

    # knobs and views

    def add_job(self, key: str, *, polls: int = 0) -> None:
        """A job the service already knows, as if uploaded by an earlier run."""
        with self._lock:
            self._jobs[key] = polls

    @property
    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._issued)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # handler

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.command
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = dict(handler.headers.items())
        record = RecordedRequest(method, parts.path, query, headers, {}, [], [])
        body = self._read_body(handler)
        if body is None:
            record.status = 411
            with self._lock:
                self.requests.append(record)
            self._send_xml(handler, 411, "MissingContentLength",
                           "You must provide the Content-Length HTTP header.")
            return
        form_error, file_data = self._parse_form(handler, body, record)
        with self._lock:
            self.requests.append(record)
        scripted = self._scripted(handler)  # fail() and delays, from the base
        if scripted is not None:
            record.status = scripted
            return
        if parts.path == BUCKET_PATH:
            record.status = self._bucket(handler, record, file_data, form_error)
            return
        if form_error:
            record.status = 400
            send_json(handler, 400, {"message": form_error})
            return
        if parts.path == TOKEN_PATH and method == "POST":
            status, reply = self._token(record)
        else:
            refusal = self._refuse_bearer(headers.get("Authorization", ""))
            if refusal:
                status, reply = 401, {"message": refusal}
            else:
                status, reply = self._route(method, parts.path, record)
        record.status = status
        send_json(handler, status, reply)

    def _read_body(self, handler: BaseHTTPRequestHandler) -> bytes | None:
        """The body, or None where S3 would answer 411: chunked, or a POST with no size."""
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            return None
        if handler.headers.get("Content-Length") is None and handler.command == "POST":
            return None
        return read_body(handler)

    def _parse_form(self, handler: BaseHTTPRequestHandler, body: bytes,
                    record: RecordedRequest) -> tuple[str | None, bytes | None]:
        """Fills `record.form`/`files`; returns a parse error and the `file` part's bytes."""
        file_data = None
        kind = handler.headers.get("Content-Type", "")
        if kind.startswith("application/x-www-form-urlencoded"):
            record.form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        elif kind.startswith("multipart/form-data"):
            try:
                for name, filename, content_type, data in parse_multipart(kind, body):
                    record.part_order.append(name)
                    if filename is None:
                        record.form.setdefault(name, data.decode())
                    else:
                        magic = next((fmt for sig, fmt in AUDIO_MAGIC.items()
                                      if data.startswith(sig)), None)
                        record.files.append(FilePart(name, filename, content_type, len(data),
                                                     hashlib.sha256(data).hexdigest(), magic))
                        if name == "file":
                            file_data = data
            except ValueError as exc:
                return f"Malformed multipart body: {exc}", None
        return None, file_data

    # endpoints

    def _refuse_bearer(self, auth: str) -> str | None:
        if not auth.startswith("Bearer "):
            return "Missing Authentication Token"
        token = auth.removeprefix("Bearer ")
        if token == BEARER_TOKEN:
            return None
        with self._lock:
            issued = self._issued.get(token)
            if issued is None:
                return "The incoming token is invalid"
            deadline, uses = issued
            if deadline is not None and time.monotonic() > deadline:
                return "The incoming token has expired"
            limit = self.behaviour.token_uses
            if limit is not None and uses >= limit:
                return "The incoming token has expired"
            self._issued[token] = (deadline, uses + 1)
        return None

    def _token(self, record: RecordedRequest) -> tuple[int, Any]:
        if record.form.get("refresh_token") != REFRESH_TOKEN:
            return 401, {"message": "Invalid refresh token"}
        expires = self.behaviour.token_expires
        with self._lock:
            self._issued_count += 1
            token = f"fake-issued-{self._issued_count:03d}-eyJhbGciOi"
            deadline = time.monotonic() + expires if expires is not None else None
            self._issued[token] = (deadline, 0)
        reply: dict[str, Any] = {"token": token}
        if expires is not None:
            reply["expires"] = expires
        return 200, reply

    def _route(self, method: str, path: str, record: RecordedRequest) -> tuple[int, Any]:
        v1 = self.behaviour.api_version == 1
        if path == SYNC_PATH and method == "POST":
            return self._sync(record)
        if path == UPLOAD_PATH and method == "POST":
            return self._upload(record)
        if path == STATUS_PATH and method == "GET":
            return self._status(record)
        if path == (DATA_V1_PATH if v1 else DATA_V2_PATH) and method == "GET":
            return self._data(record)
        return 404, {"message": "Not Found"}

    def _sync(self, record: RecordedRequest) -> tuple[int, Any]:
        files = [f for f in record.files if f.name == "speech_file"]
        if len(files) != 1:
            return 400, {"message": "speech_file is required"}
        if files[0].magic is None:
            return 400, {"message": "Unsupported file type. We support wav, amr, flac and ogg"}
        rate = record.form.get("sample_rate")
        if rate is not None and not (rate.isdigit() and 8000 <= int(rate) <= 48000):
            return 400, {"message": f"Unsupported sample rate {rate}"}
        redact = record.form.get("redact")
        if redact is not None and redact not in ("True", "False", "true", "false"):
            return 400, {"message": f"redact must be a boolean, not {redact}"}
        return 200, self.behaviour.sync_body

    def _names(self) -> tuple[str, str, str]:
        if self.behaviour.api_version == 1:
            return "OrgID", "SampleRate", "FileName"
        return "org_id", "sample_rate", "filename"

    def _upload(self, record: RecordedRequest) -> tuple[int, Any]:
        org_name, rate_name, _ = self._names()
        org = record.form.get(org_name)
        if self.behaviour.api_version == 1 and not org:
            return 400, {"message": "OrgID is required"}
        if org is not None and org != ORG_ID:
            return 403, {"message": f"Organisation {org} is not yours"}
        rate = record.form.get(rate_name, "16000")
        if not (rate.isdigit() and 8000 <= int(rate) <= 48000):
            return 400, {"message": f"Unsupported sample rate {rate}"}
        with self._lock:
            number = len(self._pending) + len(self._jobs) + 1
        if self.behaviour.api_version == 1:
            key = f"asr_a7ki4qpZ{number:04d}_zu-ZA_{rate}_19y3NDgP76m4.wav"
            fields = {"AWSAccessKeyId": ACCESS_KEY_ID, "key": key, "policy": POLICY,
                      "signature": SIGNATURE, "x-amz-security-token": SESSION_TOKEN}
            reply: dict[str, Any] = {"fields": fields, "url": self._bucket_url()}
        else:
            key = f"{ORG_ID}/asr_203vpAc0el98__{rate}_{ORG_ID}__False__{number:04d}.wav"
            fields = {"key": key, "policy": POLICY, "x-amz-algorithm": "AWS4-HMAC-SHA256",
                      "x-amz-credential": CREDENTIAL, "x-amz-date": "20250221T061734Z",
                      "x-amz-security-token": SESSION_TOKEN, "x-amz-signature": SIGNATURE_V4}
            reply = {"upload_url": self._bucket_url(), "fields": fields,
                     "expires_in": 3600}
        with self._lock:
            self._pending[key] = dict(fields)
        return 200, reply

    def _bucket_url(self) -> str:
        query = self.behaviour.upload_query
        return self.base_url + BUCKET_PATH + (f"?{query}" if query else "")

    def _bucket(self, handler: BaseHTTPRequestHandler, record: RecordedRequest,
                data: bytes | None, form_error: str | None) -> int:
        def error(status: int, code: str, message: str) -> int:
            self._send_xml(handler, status, code, message)
            return status

        if form_error:
            return error(400, "MalformedPOSTRequest", form_error)
        if "Authorization" in record.headers:
            return error(400, "InvalidArgument", "Unsupported Authorization Type")
        if self.behaviour.storage_error:
            return error(*self.behaviour.storage_error)
        if "file" not in record.part_order:
            return error(400, "InvalidArgument",
                         "POST requires exactly one file upload per request.")
        # S3 ignores whatever follows the file: only the fields before it count.
        before = record.part_order[: record.part_order.index("file")]
        given = {name: record.form.get(name) for name in before}
        key = given.get("key") or ""
        with self._lock:
            expected = self._pending.get(key)
        if expected is None:
            return error(403, "AccessDenied",
                         "Invalid according to Policy: Policy Condition failed: "
                         '["eq", "$key", ...]')
        for name, value in expected.items():
            if given.get(name) != value:
                return error(403, "AccessDenied",
                             f"Invalid according to Policy: Policy Condition failed: {name}")
        with self._lock:
            self.uploads[key] = data or b""
            self._pending.pop(key, None)
            self._jobs[key] = 0
        send(handler, 204, b"", content_type=None)
        return 204

    def _job_key(self, record: RecordedRequest) -> tuple[str, tuple[int, Any] | None]:
        """The job's key, and the refusal to send instead if it is not a known job."""
        org_name, _, file_name = self._names()
        key = record.query.get(file_name, "")
        if record.query.get(org_name) != ORG_ID:
            return key, (400, {"message": f"{org_name} is missing or not yours"})
        with self._lock:
            known = key in self._jobs
        if not known:
            if self.behaviour.api_version == 1:
                return key, (200, {"data": []})
            return key, (404, {"message": f"No job named {key}"})
        return key, None

    def _status(self, record: RecordedRequest) -> tuple[int, Any]:
        key, refusal = self._job_key(record)
        if refusal:
            return refusal
        b = self.behaviour
        with self._lock:
            polls = self._jobs[key]
            self._jobs[key] = polls + 1
        done = polls >= b.running_polls
        v1 = b.api_version == 1
        if not done:
            word = "running"
        elif b.outcome == "completed":
            word = "complete" if v1 else "completed"
        else:
            word = b.outcome
        if v1:
            entry: dict[str, Any] = {"OrgID": ORG_ID, "id": 207891841473145364,
                                     "process": key, "processTime": "", "status": word}
            if done and b.failure_message:
                entry["message"] = b.failure_message
            return 200, {"data": [entry]}
        reply: dict[str, Any] = {"status": word, "location": "location",
                                 "inference_id": "org_98765"}
        if done and b.failure_message:
            reply["message"] = b.failure_message
        return 200, reply

    def _data(self, record: RecordedRequest) -> tuple[int, Any]:
        _, refusal = self._job_key(record)
        if refusal:
            return refusal
        b = self.behaviour
        if b.data_body is not None:
            return 200, b.data_body
        return 200, data_v1_body() if b.api_version == 1 else data_v2_body()

    # replies

    def _send_xml(self, handler: BaseHTTPRequestHandler, status: int, code: str,
                  message: str) -> None:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{_xml_escape(message)}</Message>"
                "<RequestId>FAKE0REQUEST0ID</RequestId><HostId>fake-host-id</HostId></Error>")
        send(handler, status, body.encode(), content_type="application/xml")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
