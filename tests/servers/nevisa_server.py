"""A loopback HTTP server for Nevisa (PersianSpeech), for tests.

It serves the accounting host's `POST /account/login` and the api host's
`POST /recognize-file`, `GET /celery-progress/<task_id>/` and
`POST /file/terminate-task`, with bodies written out by hand from the vendor's
documentation (not with the app's parsers). One server can play both hosts, or two
servers can share one `NevisaState` and play one host each.

Every request is recorded (form fields, uploaded files, headers). Tests steer it by
changing the state: accounts with and without an active package, how a task
progresses and ends, tokens invalidated behind the client's back. Error statuses,
slow replies and malformed bodies are scripted per path with the base's `fail()`,
`reply()` and `delays` (tests/servers/loopback_http.py), kept in `state.script` so
that both hosts play them; the progress path takes a task id, so its pattern is
`f"{PROGRESS}*"`.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.servers.loopback_http import (
    LoopbackHTTPServer,
    Script,
    Scripted,
    parse_multipart,
    read_body,
    send_json,
)

ACCOUNTS = "accounts"
API = "api"

LOGIN = "/account/login"
RECOGNIZE = "/recognize-file"
TERMINATE = "/file/terminate-task"
PROGRESS = "/celery-progress/"

USERNAME = "maryam"
PHONE = "989121234567"
EMAIL = "maryam@example.ir"
PASSWORD = "fake-password-7c1e"
API_KEY = "fake-api-key-3b9d"

# The words of the vendor's example, in Persian: "hello world, good morning".
WORDS: list[dict[str, Any]] = [
    {"conf": 1.0, "end": 0.48, "start": 0.0, "word": "سلام"},
    {"conf": 0.91, "end": 1.1, "start": 0.52, "word": "دنیا"},
    {"conf": 0.64, "end": 1.75, "start": 1.3, "word": "صبح"},
    {"conf": 0.8, "end": 2.2, "start": 1.8, "word": "بخیر"},
]
TEXT = "سلام دنیا صبح بخیر"

TERMINATED_MESSAGE = "Task was terminated by the user."

_ROUTES = {LOGIN: ACCOUNTS, RECOGNIZE: API, TERMINATE: API, PROGRESS: API}


@dataclass
class Account:
    username: str = USERNAME
    phone: str = PHONE
    email: str = EMAIL
    password: str = PASSWORD
    api_key: str | None = API_KEY  # None: no active package
    token: str | None = None  # the auth token of the latest login


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Task:
    task_id: str
    account: Account
    file: UploadedFile | None
    polls: int = 0
    terminated: bool = False


@dataclass
class RecordedRequest:
    host: str  # ACCOUNTS or API: the role of the server that answered
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    files: dict[str, UploadedFile]


@dataclass
class NevisaState:
    accounts: list[Account] = field(default_factory=lambda: [Account()])
    tasks: dict[str, Task] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    # How a task goes: this many PENDING polls, then PROGRESS at each percent, then the end.
    pending_polls: int = 1
    percents: list[float] = field(default_factory=lambda: [20, 55, 90])
    hold: bool = False  # never end: stay at the last PROGRESS (cancellation tests)
    failure: str | None = None  # end in FAILURE with this message instead of SUCCESS
    failure_without_message: bool = False
    words: list[dict[str, Any]] = field(default_factory=lambda: [dict(w) for w in WORDS])
    text: str = TEXT
    full_progress_url: bool = False  # progress_url as an absolute URL, not a path
    login_refusal_status: int = 400
    # Delays and canned answers (the base's `fail()`, `reply()`, `delays`), shared by
    # the servers that play Nevisa's two hosts.
    script: Script = field(default_factory=Script, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    # --- steering ---

    def invalidate_tokens(self) -> None:
        """As if the account signed in elsewhere: every token issued so far stops working."""
        with self.lock:
            for account in self.accounts:
                account.token = None

    def add_task(self, task_id: str, account: Account | None = None) -> Task:
        task = Task(task_id, account or self.accounts[0], None)
        with self.lock:
            self.tasks[task_id] = task
        return task

    # --- reading ---

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in list(self.requests)
                if r.path.startswith(path) and (method is None or r.method == method)]

    @property
    def secret_values(self) -> list[str]:
        """Everything that must never show up in a log or a message."""
        values = [PASSWORD, API_KEY, *self.issued_tokens]
        for account in self.accounts:
            values += [account.password, *([account.api_key] if account.api_key else [])]
        return values


class FakeNevisa(LoopbackHTTPServer):
    """Runs in a background thread; use as a context manager, steer it through `state`."""

    def __init__(self, state: NevisaState | None = None, *,
                 serves: tuple[str, ...] = (ACCOUNTS, API)):
        self.state = state or NevisaState()
        super().__init__(script=self.state.script)
        self.serves = serves

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    # --- dispatch ---

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = read_body(handler)
        form, files = _parse_form(handler.headers.get("Content-Type", ""), body)
        path = handler.path
        state = self.state
        role = next((r for prefix, r in _ROUTES.items() if path.startswith(prefix)), None)
        host = role if role in self.serves else (self.serves[0] if self.serves else API)
        with state.lock:
            state.requests.append(RecordedRequest(host, handler.command, path,
                                                  dict(handler.headers.items()), form, files))
        if self._scripted(handler) is not None:  # fail(), reply() and delays, from the base
            return
        if role is None or role not in self.serves:
            send_json(handler, 404, {"detail": "Not found."})
            return
        method = handler.command
        if path == LOGIN and method == "POST":
            self._login(handler, form)
        elif path == RECOGNIZE and method == "POST":
            self._recognize(handler, form, files)
        elif path == TERMINATE and method == "POST":
            self._terminate(handler, form)
        elif path.startswith(PROGRESS) and method == "GET":
            self._progress(handler, path[len(PROGRESS):].rstrip("/"))
        else:
            send_json(handler, 405, {"detail": f'Method "{method}" not allowed.'})

    def _failure(self, status: int) -> Scripted:
        return Scripted(status, {"message": "Server error"})

    # --- endpoints ---

    def _login(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        state = self.state
        who = form.get("username_or_phone_or_email", "")
        password = form.get("password", "")
        if not who or not password:
            send_json(handler, 400, {"message": "username_or_phone_or_email and password are "
                                                "required."})
            return
        with state.lock:
            account = next((a for a in state.accounts
                            if who in (a.username, a.phone, a.email)
                            and password == a.password), None)
            if account is not None:
                account.token = f"fake-token-{next(state._ids)}-{_token_tail()}"
                state.issued_tokens.append(account.token)
        if account is None:
            send_json(handler, state.login_refusal_status,
                      {"message": "Username or password is incorrect."})
            return
        record = None if account.api_key is None else {
            "id": 4711, "key": account.api_key, "remaining_seconds": 3600,
            "package": "free-1h"}
        send_json(handler, 200, {
            "message": "Successfully logged in.",
            "user": {
                "id": "0d9e4c1a-5b7f-4e21-9a3c-6f1b2d8e7a40",
                "token": account.token,
                "username": account.username,
                "phone": account.phone,
                "email": account.email,
                "is_staff": False,
                "is_telegram_user": False,
                "nevisa_service_account": {"current_service_record": record,
                                           "service_records_count": 1},
            },
        })

    def _account_for(self, token: str, api_key: str | None) -> Account | None:
        with self.state.lock:
            return next((a for a in self.state.accounts if a.token and a.token == token
                         and (api_key is None or a.api_key == api_key)), None)

    def _recognize(self, handler: BaseHTTPRequestHandler, form: dict[str, str],
                   files: dict[str, UploadedFile]) -> None:
        if not handler.headers.get("Content-Type", "").startswith("multipart/form-data"):
            send_json(handler, 400, {"message": "The request must be multipart/form-data."})
            return
        missing = [name for name in ("auth_token", "api_key") if not form.get(name)]
        if "file" not in files:
            missing.append("file")
        if missing:
            send_json(handler, 400, {"message": f"Missing fields: {', '.join(missing)}."})
            return
        if self._account_for(form["auth_token"], None) is None:
            send_json(handler, 401, {"detail": "Invalid token."})
            return
        account = self._account_for(form["auth_token"], form["api_key"])
        if account is None:
            send_json(handler, 403, {"message": "The api key does not belong to this account."})
            return
        state = self.state
        with state.lock:
            task_id = f"5f2c7e1a-task-{next(state._ids)}"
            state.tasks[task_id] = Task(task_id, account, files["file"])
        url = f"{PROGRESS}{task_id}/"
        if state.full_progress_url:
            url = self.base_url + url
        send_json(handler, 200, {"progress_url": url, "task_id": task_id})

    def _progress(self, handler: BaseHTTPRequestHandler, task_id: str) -> None:
        state = self.state
        with state.lock:
            task = state.tasks.get(task_id)
            if task is not None:
                task.polls += 1
        if task is None:
            send_json(handler, 404, {"detail": "Not found."})
            return
        step = task.polls - state.pending_polls  # 1 = the first PROGRESS answer
        if task.terminated:
            send_json(handler, 200, {"state": "REVOKED", "complete": True, "success": False,
                                     "progress": _progress(state.percents[0] if state.percents
                                                           else 0),
                                     "result": TERMINATED_MESSAGE})
        elif step <= 0:
            send_json(handler, 200, {"state": "PENDING", "complete": False, "success": None,
                                     "progress": {"pending": True, "current": 0, "total": 100,
                                                  "percent": 0}})
        elif step <= len(state.percents) or (state.hold and state.percents):
            percent = state.percents[min(step, len(state.percents)) - 1]
            send_json(handler, 200, {"state": "PROGRESS", "complete": False, "success": None,
                                     "progress": _progress(percent)})
        elif state.failure is not None or state.failure_without_message:
            send_json(handler, 200, {"state": "FAILURE", "complete": True, "success": False,
                                     "progress": _progress(100),
                                     "result": None if state.failure_without_message
                                     else state.failure})
        else:
            send_json(handler, 200, {
                "state": "SUCCESS", "complete": True, "success": True,
                "progress": _progress(100),
                "result": {"transcription": {"result": state.words, "text": state.text},
                           "final": True},
            })

    def _terminate(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        header = handler.headers.get("Authorization", "")
        token = header.removeprefix("Token ") if header.startswith("Token ") else ""
        account = self._account_for(token, None) if token else None
        if account is None:
            send_json(handler, 401, {"detail": "Invalid token."})
            return
        if form.get("auth_token") != token or form.get("api_key") != account.api_key:
            send_json(handler, 403, {"message": "auth_token or api_key does not match."})
            return
        with self.state.lock:
            task = self.state.tasks.get(form.get("task_id", ""))
            if task is not None and task.account is account:
                task.terminated = True
        if task is None or task.account is not account:
            send_json(handler, 404, {"message": "No such task."})
            return
        send_json(handler, 200, {"message": "Task terminated."})


# --- HTTP helpers ------------------------------------------------------------------


def _progress(percent: float) -> dict[str, Any]:
    return {"pending": False, "current": percent, "total": 100, "percent": percent}


def _token_tail() -> str:
    return secrets.token_hex(6)


def _parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Fields of an urlencoded, JSON or multipart body, as a DRF view would see them."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return {}, {}
        return ({str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}), {}
    if not content_type.startswith("multipart/form-data"):
        return {}, {}
    try:
        parts = parse_multipart(content_type, body)
    except ValueError:
        return {}, {}
    form: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in parts:
        if part.filename is not None:
            files[part.name] = UploadedFile(part.filename, part.content_type or "", part.data)
        else:
            form[part.name] = part.data.decode("utf-8")
    return form, files
