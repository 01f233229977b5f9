"""Pure tests of the Nevisa (PersianSpeech) REST protocol: no sockets, no event loop."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dictation_app.core.errors import ConfigurationError, RemoteProtocolError, ServiceRejected
from dictation_app.protocols import nevisa as n
from dictation_app.protocols.nevisa import Credentials, State

# The seed's examples, hand-corrected to valid JSON (quotes, trailing commas, `bool`).
LOGIN_REPLY: dict[str, Any] = {
    "message": "Successfully logged in.",
    "user": {
        "id": "0b0c4a3e-1111-2222-3333-444455556666",
        "token": "AUTH-SECRET-token",
        "username": "username",
        "phone": "989123456789",
        "email": "xxxxxx@yyyy.zzz",
        "is_staff": False,
        "is_telegram_user": False,
        "nevisa_service_account": {
            "current_service_record": {"key": "API-SECRET-key"},
        },
    },
}

RECOGNIZE_REPLY = {"progress_url": "/celery-progress/abc-123/", "task_id": "abc-123"}

PROGRESS_REPLY = {
    "state": "PROGRESS", "complete": False, "success": None,
    "progress": {"pending": False, "current": 65, "total": 100, "percent": 65},
}

SUCCESS_REPLY: dict[str, Any] = {
    "state": "SUCCESS", "complete": True, "success": True,
    "progress": {"pending": False, "current": 100, "total": 100, "percent": 100},
    "result": {
        "transcription": {
            "result": [
                {"conf": 1.0, "end": 2.61, "start": 0.0, "word": "سلام"},
                {"conf": 0.87, "end": 3.2, "start": 2.7, "word": "دنیا"},
            ],
            "text": "سلام دنیا",
        },
        "final": True,
    },
}

CREDENTIALS = Credentials("AUTH-SECRET-token", "API-SECRET-key")


def rejects(match: str) -> Any:
    return pytest.raises(RemoteProtocolError, match=match)


# --- requests ------------------------------------------------------------------


def test_login_request() -> None:
    request = n.login_request(" user@example.com ", "PASS-SECRET")
    assert (request.base_url, request.method, request.path) == (
        "https://accounting.persianspeech.com", "POST", "/account/login")
    assert request.form == {"username_or_phone_or_email": "user@example.com",
                            "password": "PASS-SECRET"}
    assert "PASS-SECRET" not in repr(request)
    with pytest.raises(ConfigurationError, match="password"):
        n.login_request("user", "")


def test_recognize_request() -> None:
    request = n.recognize_request(CREDENTIALS)
    assert (request.base_url, request.method, request.path) == (
        "https://api.persianspeech.com", "POST", "/recognize-file")
    assert request.form == {"auth_token": "AUTH-SECRET-token", "api_key": "API-SECRET-key"}
    assert request.headers == {}
    assert "SECRET" not in repr(request)
    assert n.RECOGNIZE_FILE_FIELD == "file"


def test_progress_request() -> None:
    request = n.progress_request("abc-123")
    assert (request.method, request.path, request.form) == (
        "GET", "/celery-progress/abc-123/", {})
    with pytest.raises(ConfigurationError):
        n.progress_request("../etc")
    with pytest.raises(ConfigurationError):
        n.progress_request(" ")


def test_terminate_request() -> None:
    request = n.terminate_request(CREDENTIALS, "abc-123")
    assert (request.method, request.path) == ("POST", "/file/terminate-task")
    assert request.headers == {"Authorization": "Token AUTH-SECRET-token"}
    assert request.form == {"auth_token": "AUTH-SECRET-token", "api_key": "API-SECRET-key",
                            "task_id": "abc-123"}
    assert "SECRET" not in repr(request)


def test_credentials_repr_hides_secrets() -> None:
    assert "SECRET" not in repr(CREDENTIALS)


# --- login ---------------------------------------------------------------------


def test_login_reply() -> None:
    credentials = n.parse_login_reply(LOGIN_REPLY)
    assert credentials == CREDENTIALS


def test_login_without_an_active_package_is_a_rejection_with_advice() -> None:
    body = copy.deepcopy(LOGIN_REPLY)
    body["user"]["nevisa_service_account"]["current_service_record"] = None
    with pytest.raises(ServiceRejected) as info:
        n.parse_login_reply(body)
    message = str(info.value)
    assert info.value.service == "Nevisa"
    assert "no active Nevisa package" in message
    assert "persianspeech.com" in message
    assert "SECRET" not in message


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("user"), "'user'"),
    (lambda d: d["user"].pop("token"), "'user.token'"),
    (lambda d: d["user"].update(token=""), "'user.token'"),
    (lambda d: d["user"].pop("nevisa_service_account"), "'user.nevisa_service_account'"),
    (lambda d: d["user"]["nevisa_service_account"].pop("current_service_record"),
     "'user.nevisa_service_account.current_service_record' is missing"),
    (lambda d: d["user"]["nevisa_service_account"].update(current_service_record="x"),
     "'user.nevisa_service_account.current_service_record' is not an object"),
    (lambda d: d["user"]["nevisa_service_account"]["current_service_record"].update(key=5),
     "'user.nevisa_service_account.current_service_record.key'"),
])
def test_login_reply_rejections(mutate: Any, field: str) -> None:
    body = copy.deepcopy(LOGIN_REPLY)
    mutate(body)
    with pytest.raises(RemoteProtocolError) as info:
        n.parse_login_reply(body)
    assert str(info.value).startswith("Nevisa: POST /account/login reply: ")
    assert field.strip("'") in str(info.value)
    assert "SECRET" not in str(info.value)


def test_login_reply_without_user_repeats_the_service_message() -> None:
    with rejects("the service said: 'Invalid credentials.'"):
        n.parse_login_reply({"message": "Invalid credentials."})


# --- recognize -----------------------------------------------------------------


def test_recognize_reply() -> None:
    started = n.parse_recognize_reply(RECOGNIZE_REPLY)
    assert (started.task_id, started.progress_url) == ("abc-123", "/celery-progress/abc-123/")


def test_recognize_reply_derives_a_missing_progress_url() -> None:
    assert n.parse_recognize_reply({"task_id": "t1"}).progress_url == "/celery-progress/t1/"
    assert n.parse_recognize_reply({"task_id": "t1", "progress_url": None}).progress_url == (
        "/celery-progress/t1/")


@pytest.mark.parametrize(("body", "field"), [
    ({"progress_url": "/x/"}, "'task_id'"),
    ({"task_id": 12}, "'task_id'"),
    ({"task_id": "a/b"}, "'task_id' is not a usable"),
    ({"task_id": "t", "progress_url": 3}, "'progress_url'"),
    ([], "'\\(body\\)'"),
])
def test_recognize_reply_rejections(body: Any, field: str) -> None:
    with rejects(f"Nevisa: POST /recognize-file reply: {field}"):
        n.parse_recognize_reply(body)


def test_recognize_reply_rejection_repeats_the_service_message() -> None:
    with rejects("the service said: 'File format not supported'"):
        n.parse_recognize_reply({"error": "File format not supported"})


# --- progress ------------------------------------------------------------------


def test_progress_in_progress() -> None:
    assert n.parse_progress_reply(PROGRESS_REPLY) == n.Progress(State.PROGRESS, 65.0)


def test_progress_pending_and_celery_aliases() -> None:
    assert n.parse_progress_reply({"state": "PENDING", "complete": False, "success": None,
                                   "progress": {"pending": True, "current": 0, "total": 100,
                                                "percent": 0}}).state is State.PENDING
    assert n.parse_progress_reply({"state": "pending"}) == n.Progress(State.PENDING, None)
    assert n.parse_progress_reply({"state": "STARTED"}).state is State.PROGRESS
    assert n.parse_progress_reply({"state": "REVOKED"}).state is State.FAILURE


def test_progress_percent_variants() -> None:
    def percent(progress: Any) -> float | None:
        return n.parse_progress_reply({"state": "PROGRESS", "progress": progress}).percent

    assert percent({"percent": "12.5"}) == 12.5
    assert percent({"current": 30, "total": 60}) == 50.0
    assert percent({"current": 30, "total": 0}) is None
    assert percent({"percent": 140}) == 100.0


def test_progress_success_gives_a_transcript_with_words_in_seconds() -> None:
    progress = n.parse_progress_reply(SUCCESS_REPLY, task_id="abc-123", file="a.mp3")
    assert (progress.state, progress.percent, progress.error) == (State.SUCCESS, 100.0, None)
    transcript = progress.transcript
    assert transcript is not None
    assert (transcript.provider, transcript.file, transcript.language, transcript.duration) == (
        "nevisa", "a.mp3", "fa", None)
    assert transcript.text == "سلام دنیا"
    (segment,) = transcript.segments
    assert (segment.start, segment.end, segment.speaker) == (0.0, 3.2, None)
    assert segment.words == (n.Word("سلام", 0.0, 2.61, 1.0), n.Word("دنیا", 2.7, 3.2, 0.87))
    assert transcript.to_json_dict()["segments"][0]["words"][0] == {
        "word": "سلام", "start": 0.0, "end": 2.61, "conf": 1.0}


def test_progress_success_variants() -> None:
    body = copy.deepcopy(SUCCESS_REPLY)
    body.pop("progress")
    body["result"]["transcription"]["result"] = [
        {"word": "a", "start": "1.5", "end": None, "conf": None}]
    progress = n.parse_progress_reply(body)
    assert progress.percent == 100.0
    assert progress.transcript is not None
    assert progress.transcript.segments[0].words == (n.Word("a", 1.5, None, None),)
    body["result"]["transcription"] = {"text": ""}
    empty = n.parse_progress_reply(body).transcript
    assert empty is not None and (empty.text, empty.segments) == ("", ())


@pytest.mark.parametrize(("result", "error"), [
    ({"exc_type": "ValueError", "exc_message": ["bad audio"]}, "bad audio"),
    ({"exc_type": "ValueError", "exc_message": "bad audio"}, "bad audio"),
    ({"exc_type": "TimeLimitExceeded"}, "TimeLimitExceeded"),
    ({"message": "quota exhausted"}, "quota exhausted"),
    ("Task was revoked", "Task was revoked"),
    (None, None),
])
def test_progress_failure_carries_the_service_message(result: Any, error: str | None) -> None:
    body = {"state": "FAILURE", "complete": True, "success": False, "result": result}
    assert n.parse_progress_reply(body) == n.Progress(State.FAILURE, None, error=error)


def test_progress_failure_message_at_top_level() -> None:
    body = {"state": "FAILURE", "message": "no credit left"}
    assert n.parse_progress_reply(body).error == "no credit left"


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("state"), "'state'"),
    (lambda d: d.update(state="EXPLODED"), "'state' is not a known task state"),
    (lambda d: d.update(progress=65), "'progress'"),
    (lambda d: d["progress"].update(percent="much"), "'progress.percent'"),
    (lambda d: d.pop("result"), "'result'"),
    (lambda d: d["result"].pop("transcription"), "'result.transcription'"),
    (lambda d: d["result"]["transcription"].pop("text"), "'result.transcription.text'"),
    (lambda d: d["result"]["transcription"].update(result={}),
     "'result.transcription.result'"),
    (lambda d: d["result"]["transcription"]["result"].append("word"),
     "'result.transcription.result\\[2\\]'"),
    (lambda d: d["result"]["transcription"]["result"][0].pop("word"),
     "'result.transcription.result\\[0\\].word'"),
    (lambda d: d["result"]["transcription"]["result"][1].update(start="<float>"),
     "'result.transcription.result\\[1\\].start'"),
    (lambda d: d["result"]["transcription"]["result"][1].update(conf=True),
     "'result.transcription.result\\[1\\].conf'"),
])
def test_progress_rejections(mutate: Any, field: str) -> None:
    body = copy.deepcopy(SUCCESS_REPLY)
    mutate(body)
    with rejects(f"Nevisa: GET /celery-progress/abc-123/ reply: {field}"):
        n.parse_progress_reply(body, task_id="abc-123")


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    ({"message": "Invalid token."}, "Invalid token."),
    ({"detail": "Authentication credentials were not provided."},
     "Authentication credentials were not provided."),
    ({"non_field_errors": ["Wrong password", "Try again"]}, "Wrong password; Try again"),
    ("<html>502</html>", "<html>502</html>"),
    ({}, None), (None, None),
])
def test_error_reply(body: Any, message: str | None) -> None:
    assert n.parse_error_reply(body) == message
