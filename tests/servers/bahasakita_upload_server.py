"""A loopback HTTP server for Bahasakita's file-upload endpoints, for tests.

It serves the upload, the job content and the priority change, with bodies written
out by hand from the vendor's documentation (not with the app's parsers), and the
monitoring endpoint's view of the same jobs, so that a test can link a job to its
queue entry. Each job walks through its states one content poll at a time, never by
the clock: `queued_polls` answers of `inquery`, one `inprogress` answer per entry of
`progress`, then `success` (transcripts, words and, if the upload asked for it, a
base64 subtitle) or `failed` with a message.

Knobs on `Behaviour` make it misbehave: refuse the token, an error status inside an
HTTP 200 body, malformed JSON or wrong shapes. Slow answers and bursts of 429/5xx are
scripted per path with the base's `delays` and `fail()` (tests/servers/loopback_http.py):
`fail(path, status)` sends Bahasakita's busy body with `Retry-After: 0`, and
`fail(path, 200, busy_body(status))` the same status inside an HTTP 200.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid as uuidlib
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.servers.bahasakita_rest_server import GOOD_TOKEN, MONITORING, queue_entry
from tests.servers.loopback_http import (
    LoopbackHTTPServer,
    Scripted,
    parse_multipart,
    read_body,
    send_json,
)

UPLOAD = "/v2/prod/stt/async/upload"
CONTENT = "/v2/prod/stt/async/content/"  # + uuid
CHANGE_PRIORITY = "/v2/prod/stt/changePriority"

USERNAME = "ayu"
SUBTITLE = (
    "1\n00:00:00,000 --> 00:00:01,500\nhalo nama saya Ayu\n\n"
    "2\n00:00:01,800 --> 00:00:03,100\nsenang bertemu ñ kalian\n"
)
FORM_BOOLEANS = ("True", "False")
PRIORITIES = ("high", "reguler")


def example_transcripts() -> list[dict[str, Any]]:
    """Two speakers, words timed by `from` and `length` (seconds), as the docs show."""
    return [
        {"text": "halo nama saya Ayu", "text_confidence": 0.91, "start_time": 0.0,
         "end_time": 1.5, "speaker": "speaker_01",
         "words": [{"score": 0.95, "word": "halo", "from": 0.0, "length": 0.3},
                   {"score": 0.9, "word": "nama", "from": 0.35, "length": 0.3},
                   {"score": 0.88, "word": "saya", "from": 0.7, "length": 0.3},
                   {"score": 0.93, "word": "Ayu", "from": 1.1, "length": 0.4}]},
        {"text": "senang bertemu kalian", "text_confidence": 0.87, "start_time": 1.8,
         "end_time": 3.1, "speaker": "speaker_02",
         "words": [{"score": 0.85, "word": "senang", "from": 1.8, "length": 0.4},
                   {"score": 0.86, "word": "bertemu", "from": 2.25, "length": 0.4},
                   {"score": 0.9, "word": "kalian", "from": 2.7, "length": 0.4}]},
    ]


@dataclass
class Behaviour:
    token: str = GOOD_TOKEN  # the bearer token every endpoint accepts
    queued_polls: int = 1  # content polls answered `inquery` before processing starts
    progress: list[Any] = field(default_factory=lambda: [12.5, 47.0, 88.0])
    progress_in_data: bool = False  # `bk.data.progress` instead of `bk.progress`
    outcome: str = "success"  # or "failed"
    success_word: str = "success"  # the final message_status, e.g. "process success"
    failure_message: str = "Audio could not be transcribed: no speech found"
    transcripts: list[Any] = field(default_factory=example_transcripts)
    subtitle: str = SUBTITLE  # sent base64-encoded when the upload asked for subtitle_cc
    quota: int = 3600
    refuse_message: str = "Token is invalid or expired"
    echo_credentials: bool = False  # put the token the client sent into error messages
    embedded_status: int | None = None  # HTTP 200 with this status in `bk.status`
    upload_body: Any = None  # replaces the upload reply; a str is sent verbatim
    content_body: Any = None  # replaces every content reply; a str is sent verbatim
    priority_body: Any = None  # replaces the changePriority reply; a str verbatim


@dataclass
class Job:
    uuid: str
    filename: str
    data: bytes
    fields: dict[str, str]
    priority: str = "reguler"
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    polls: int = 0  # content requests answered so far
    queue: str | None = None  # force the monitoring queue (and the content replies' phase)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def busy_body(status: int) -> dict[str, Any]:
    """Bahasakita's busy answer: the status in `bk.status`, also inside an HTTP 200."""
    return {"bk": {"status": status, "message_status": "Server busy, try again"}}


class FakeBahasakitaUpload(LoopbackHTTPServer):
    """Runs in a background thread; use as a context manager, mutate `behaviour` freely."""

    def __init__(self, behaviour: Behaviour | None = None):
        super().__init__()
        self.behaviour = behaviour or Behaviour()
        self.requests: list[RecordedRequest] = []
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    # test helpers

    def add_job(self, filename: str = "earlier.wav", data: bytes = b"",
                fields: dict[str, str] | None = None, *, polls: int = 0,
                queue: str | None = None) -> Job:
        """A job as if uploaded by an earlier run of the app."""
        job = Job(str(uuidlib.uuid4()), filename, data,
                  fields or {"source_language": "detect", "diarization": "False",
                             "subtitle_cc": "False", "priority": "reguler"},
                  polls=polls, queue=queue)
        with self._lock:
            self.jobs[job.uuid] = job
        return job

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    def content_polls(self) -> int:
        return sum(1 for r in self.requests if r.path.startswith(CONTENT))

    def queue_of(self, job: Job) -> str:
        """The monitoring queue the job is in: the phase of its last content answer."""
        if job.queue is not None:
            return job.queue
        return "inquery" if job.polls == 0 else self._phase(job.polls - 1)

    # serving

    def _failure(self, status: int) -> Scripted:
        return Scripted(status, busy_body(status), {"Retry-After": "0"})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.command
        body = read_body(handler)
        with self._lock:
            self.requests.append(RecordedRequest(method, handler.path,
                                                 dict(handler.headers.items()), body))
        if self._scripted(handler) is not None:  # fail(), reply() and delays, from the base
            return
        b = self.behaviour
        auth = handler.headers.get("Authorization", "")
        if auth != f"Bearer {b.token}":
            given = auth.removeprefix("Bearer ")
            said = f"{b.refuse_message}: {given}" if b.echo_credentials else b.refuse_message
            send_json(handler, 401, {"bk": {"status": 401, "message_status": said}})
            return
        if b.embedded_status is not None:
            said = "Token expired" if b.embedded_status in (401, 403) else "Request refused"
            if b.echo_credentials:
                said += f" ({b.token})"
            send_json(handler, 200, {"bk": {"status": b.embedded_status, "message_status": said}})
            return
        path = handler.path
        if method == "POST" and path == UPLOAD:
            self._upload(handler, body)
        elif method == "GET" and path.startswith(CONTENT):
            self._content(handler, path[len(CONTENT):])
        elif method == "POST" and path == CHANGE_PRIORITY:
            self._change_priority(handler, body)
        elif method == "GET" and path == MONITORING:
            send_json(handler, 200, self._monitoring())
        else:
            send_json(handler, 404, {"bk": {"status": 404, "message_status": "Not found"}})

    def _upload(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        b = self.behaviour
        try:
            fields, files = _form(handler.headers.get("Content-Type", ""), body)
        except ValueError as exc:
            send_json(handler, 400, {"bk": {"status": 400, "message_status": str(exc)}})
            return
        problem = None
        if "file" not in files:
            problem = "file is required"
        elif any(fields.get(k, "False") not in FORM_BOOLEANS
                 for k in ("diarization", "subtitle_cc")):
            problem = "diarization and subtitle_cc must be True or False"
        elif fields.get("priority", "reguler") not in PRIORITIES:
            problem = "priority must be high or reguler"
        if problem is not None:
            send_json(handler, 400, {"bk": {"status": 400, "message_status": problem}})
            return
        filename, data = files["file"]
        job = Job(str(uuidlib.uuid4()), filename, data, fields,
                  priority=fields.get("priority", "reguler"))
        with self._lock:
            self.jobs[job.uuid] = job
        if b.upload_body is not None:
            send_json(handler, 200, b.upload_body)
            return
        send_json(handler, 200, {"bk": {
            "data": {"source_language": fields.get("source_language", "detect"),
                     "target_language": fields.get("target_language", "id"),
                     "diarization": fields.get("diarization") == "True",
                     "subtitle_cc": fields.get("subtitle_cc") == "True",
                     "check_summary": False, "uuid": job.uuid, "quota": b.quota},
            "message_status": "success"}})

    def _content(self, handler: BaseHTTPRequestHandler, uuid: str) -> None:
        b = self.behaviour
        with self._lock:
            job = self.jobs.get(uuid)
            if job is not None:
                phase = job.queue or self._phase(job.polls)
                poll = job.polls
                job.polls += 1
        if job is None:
            send_json(handler, 404, {"bk": {"status": 404, "message_status": "uuid not found"}})
            return
        if b.content_body is not None:
            send_json(handler, 200, b.content_body)
            return
        if phase == "inquery":
            send_json(handler, 200, {"bk": {"data": {"uuid": uuid, "transcripts": []},
                                            "message_status": "inquery"}})
        elif phase == "process":
            index = poll - b.queued_polls
            value = b.progress[index] if 0 <= index < len(b.progress) else None
            if b.progress_in_data:
                reply: dict[str, Any] = {"bk": {"data": {"progress": value},
                                                "message_status": "inprogress"}}
            else:
                reply = {"bk": {"message_status": "inprogress", "progress": value}}
            send_json(handler, 200, reply)
        elif phase == "failed":
            send_json(handler, 200, {"bk": {"data": {"uuid": uuid}, "message_status": "failed",
                                            "message": b.failure_message}})
        else:
            subtitle = (base64.encodebytes(b.subtitle.encode()).decode()
                        if job.fields.get("subtitle_cc") == "True" else None)
            send_json(handler, 200, {"bk": {
                "data": {"target_language": job.fields.get("target_language", "id"),
                         "uuid": uuid, "total_segments": len(b.transcripts),
                         "transcripts": b.transcripts, "subtitle_cc": subtitle},
                "message_status": b.success_word}})

    def _change_priority(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        b = self.behaviour
        try:
            data = json.loads(body)["bk"]["data"]
            uuid, priority = data["uuid"], data["priority"]
        except (ValueError, KeyError, TypeError):
            said = "expected {bk: {data: {uuid, priority}}}"
            send_json(handler, 400, {"bk": {"status": 400, "message_status": said}})
            return
        if b.priority_body is not None:
            send_json(handler, 200, b.priority_body)
            return
        with self._lock:
            job = self.jobs.get(uuid)
            queue = self.queue_of(job) if job is not None else None
            if job is not None and queue == "inquery" and priority in PRIORITIES:
                job.priority = priority
        if job is None:
            send_json(handler, 404, {"bk": {"status": 404, "message_status": "uuid not found"}})
        elif priority not in PRIORITIES:
            send_json(handler, 200, {"bk": {"data": data,
                                            "message_status": "priority must be high or reguler"}})
        elif queue != "inquery":
            # The docs: message_status is "success or error message".
            said = "Priority can only be changed while the job is in the queue"
            send_json(handler, 200, {"bk": {"data": data, "message_status": said}})
        else:
            send_json(handler, 200, {"bk": {"data": {"uuid": uuid, "priority": priority},
                                            "message_status": "success"}})

    def _monitoring(self) -> dict[str, Any]:
        queues: dict[str, list[dict[str, Any]]] = {
            "inquery": [], "process": [], "failed": [], "success": []}
        with self._lock:
            for job in self.jobs.values():
                queues[self.queue_of(job)].append(queue_entry(
                    job.uuid, job.filename, _duration(job.data), job.created,
                    round(len(job.data) / 1_000_000, 3)))
        done = len(queues["success"]) + len(queues["failed"])
        return {"bk": {"data": {"username": USERNAME, **queues},
                       "msg_in": sum(len(q) for q in queues.values()), "msg_out": done,
                       "message_status": "success"}}

    def _phase(self, poll: int) -> str:
        """What a job answers at its `poll`-th content request (0-based)."""
        b = self.behaviour
        if poll < b.queued_polls:
            return "inquery"
        if poll < b.queued_polls + len(b.progress):
            return "process"
        return "failed" if b.outcome == "failed" else "success"


def _form(content_type: str, body: bytes
          ) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Form fields and files (name -> (filename, bytes)) of a multipart/form-data body."""
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in parse_multipart(content_type, body):
        if part.filename is not None:
            files[part.name] = (part.filename, part.data)
        else:
            fields[part.name] = part.data.decode()
    return fields, files


def _duration(data: bytes) -> float | None:
    try:
        with wave.open(io.BytesIO(data)) as wav:
            return round(wav.getnframes() / wav.getframerate(), 3)
    except (wave.Error, EOFError, ZeroDivisionError):
        return None
