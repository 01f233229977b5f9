"""The Nevisa file-job service against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dictation_app.cli.messages import cli_message
from dictation_app.controllers.messages import window_message
from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    RemoteProtocolError,
    ServiceRejected,
    UnsupportedInput,
)
from dictation_app.jobs.model import JobState
from dictation_app.protocols.transcript import Transcript
from dictation_app.services.descriptors.nevisa import NEVISA_PASSWORD_ENV, NEVISA_USERNAME_ENV
from dictation_app.services.nevisa import NevisaService, PollPolicy
from dictation_app.transport.http import RetryPolicy
from dictation_app.transport.progress_file import ProgressFile
from tests.servers.nevisa_server import (
    ACCOUNTS,
    API,
    API_KEY,
    EMAIL,
    LOGIN,
    PASSWORD,
    PHONE,
    PROGRESS,
    RECOGNIZE,
    TERMINATE,
    TERMINATED_MESSAGE,
    TEXT,
    USERNAME,
    Account,
    FakeNevisa,
    NevisaState,
)
from tests.support.audio import write_pcm
from tests.support.job_context import FAST_RETRY, RecordingContext, run_service, service_error
from tests.support.secrets import SecretWatch, assert_error_hides, assert_no_secret_logged

T = TypeVar("T")

FAST_POLL = PollPolicy(initial=0.001, factor=2.0, maximum=0.01, total=10.0)


def write_wav(path: Path, seconds: float = 10.0, rate: int = 8000) -> Path:
    """A 16-bit mono WAV, big enough (160 kB) to go out in several chunks."""
    return write_pcm(path, bytes(range(256)) * (int(seconds * rate) * 2 // 256), rate)


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "جلسه-دوشنبه.wav")


@pytest.fixture
def server(no_secret_logged: SecretWatch) -> Iterator[FakeNevisa]:
    with FakeNevisa() as running:
        yield running
    no_secret_logged.add(*running.state.secret_values)


def make_service(server: FakeNevisa, **kwargs: Any) -> NevisaService:
    options: dict[str, Any] = {
        "api_url": server.base_url, "accounts_url": server.base_url, "username": USERNAME,
        "password": PASSWORD, "retry": FAST_RETRY, "poll": FAST_POLL, "timeout": 5.0}
    options.update(kwargs)
    return NevisaService(**options)


def with_service(server: FakeNevisa, use: Callable[[NevisaService], Awaitable[T]],
                 **kwargs: Any) -> T:
    return run_service(lambda: make_service(server, **kwargs), use)


def transcribe(server: FakeNevisa, context: RecordingContext, **kwargs: Any) -> Transcript:
    return with_service(server, lambda s: s.run(context), **kwargs)


def failure(server: FakeNevisa, use: Callable[[NevisaService], Awaitable[Any]],
            **kwargs: Any) -> DictationError:
    error = service_error(lambda: make_service(server, **kwargs), use)
    assert_error_hides(error, *server.state.secret_values)
    return error


def run_failure(server: FakeNevisa, context: RecordingContext, **kwargs: Any
                ) -> DictationError:
    return failure(server, lambda s: s.run(context), **kwargs)


def paths(server: FakeNevisa) -> list[str]:
    return [r.path.split("/")[1] for r in server.requests]


# --- configuration -------------------------------------------------------------------


@pytest.mark.parametrize(("username", "password", "missing"), [
    (None, PASSWORD, "username (or phone or email) is not set"),
    ("  ", PASSWORD, "username (or phone or email) is not set"),
    (USERNAME, None, "password is not set"),
    (None, "", "username (or phone or email) and password are not set"),
])
def test_missing_credentials_say_where_to_set_them(username: str | None, password: str | None,
                                                   missing: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        NevisaService(username=username, password=password)
    assert caught.value.fields == ("nevisa_username", "nevisa_password")
    for message in (window_message(caught.value), cli_message(caught.value)):
        assert message.startswith(f"Nevisa: the PersianSpeech {missing}")
        assert NEVISA_USERNAME_ENV in message and NEVISA_PASSWORD_ENV in message
    assert "Nevisa (PersianSpeech)" in window_message(caught.value)
    assert "File → File transcription services" in window_message(caught.value)
    assert "File →" not in cli_message(caught.value)  # the command line has no menus


def test_the_service_says_what_it_is_without_the_password() -> None:
    service = NevisaService(username=USERNAME, password=PASSWORD)
    assert service.provider == "nevisa"
    assert PASSWORD not in repr(service) and USERNAME in repr(service)
    asyncio.run(service.aclose())


# --- the happy path ------------------------------------------------------------------


def test_a_file_is_uploaded_polled_and_transcribed(audio: Path,
                                                   caplog: pytest.LogCaptureFixture,
                                                   no_secret_logged: SecretWatch,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads as small as httpx asks for, so a small file still shows steps between 0 and 1.
    monkeypatch.setattr(ProgressFile, "READ_SIZE", 0)
    state = NevisaState()
    # Two hosts, as in production: login on the accounting one, the rest on the api one.
    with FakeNevisa(state, serves=(ACCOUNTS,)) as accounts, \
            FakeNevisa(state, serves=(API,)) as api:
        context = RecordingContext(audio, on_remember=lambda: [r.path for r in api.requests])
        transcript = with_service(api, lambda s: s.run(context),
                                  accounts_url=accounts.base_url)

    assert (transcript.provider, transcript.language, transcript.file) == (
        "nevisa", "fa", str(audio))
    assert transcript.text == TEXT
    words = [(w.word, w.start, w.end, w.conf) for s in transcript.segments for w in s.words]
    assert words == [("سلام", 0.0, 0.48, 1.0), ("دنیا", 0.52, 1.1, 0.91),
                     ("صبح", 1.3, 1.75, 0.64), ("بخیر", 1.8, 2.2, 0.8)]

    assert [(r.host, r.method, r.path.split("/")[1]) for r in state.requests] == [
        (ACCOUNTS, "POST", "account"), (API, "POST", "recognize-file"),
        *[(API, "GET", "celery-progress")] * 5]
    login, upload = state.requests[:2]
    assert login.form == {"username_or_phone_or_email": USERNAME, "password": PASSWORD}
    (token,) = state.issued_tokens
    assert upload.form == {"auth_token": token, "api_key": API_KEY}
    sent = upload.files["file"]
    assert sent.filename == audio.name and sent.content_type in ("audio/x-wav", "audio/wav")
    assert sent.data == audio.read_bytes()  # the original file, untouched

    uploading = [p for p in context.progress(JobState.UPLOADING) if p is not None]
    assert len(uploading) == len(context.progress(JobState.UPLOADING))
    assert uploading[0] == 0.0 and uploading[-1] == 1.0 and len(set(uploading)) >= 4
    assert uploading == sorted(uploading)
    processing = context.progress(JobState.PROCESSING)
    assert processing == [None, 0.0, 0.2, 0.55, 0.9, 1.0]

    (task_id,) = state.tasks
    assert context.remembered == [{"task_id": task_id,
                                   "progress_url": f"/celery-progress/{task_id}/"}]
    # Remembered once the task existed and before its progress was first asked for.
    assert context.seen_at_remember == [[LOGIN, RECOGNIZE]]
    assert_no_secret_logged(caplog, *state.secret_values)


@pytest.mark.parametrize("who", [USERNAME, PHONE, EMAIL])
def test_sign_in_with_username_phone_or_email(server: FakeNevisa, audio: Path,
                                              who: str) -> None:
    assert transcribe(server, RecordingContext(audio), username=f" {who} ").text == TEXT
    assert server.state.requests_to(LOGIN)[0].form["username_or_phone_or_email"] == who


def test_a_full_progress_url_is_followed(server: FakeNevisa, audio: Path) -> None:
    server.state.full_progress_url = True
    context = RecordingContext(audio)
    assert transcribe(server, context).text == TEXT
    (task_id,) = server.state.tasks
    assert context.remembered[0]["progress_url"] == (
        f"{server.base_url}/celery-progress/{task_id}/")
    assert len(server.state.requests_to(PROGRESS)) == 5


def test_a_stored_task_is_resumed_without_upload_or_sign_in(server: FakeNevisa,
                                                            tmp_path: Path) -> None:
    server.state.add_task("task-from-yesterday")
    # The file itself is not needed any more: it may have moved since.
    context = RecordingContext(tmp_path / "gone.wav", remote={
        "task_id": "task-from-yesterday", "progress_url": "/celery-progress/task-from-yesterday/"})
    transcript = transcribe(server, context)
    assert transcript.text == TEXT and transcript.file == str(tmp_path / "gone.wav")
    assert set(paths(server)) == {"celery-progress"}
    assert server.requests[0].path == "/celery-progress/task-from-yesterday/"
    assert context.remembered == []
    assert JobState.UPLOADING not in dict(context.reports)


def test_a_resumed_task_without_a_stored_url_polls_the_documented_one(
        server: FakeNevisa, tmp_path: Path) -> None:
    server.state.add_task("t-42")
    context = RecordingContext(tmp_path / "a.wav", remote={"task_id": "t-42",
                                                      "progress_url": "ftp://elsewhere/"})
    assert transcribe(server, context).text == TEXT
    assert {r.path for r in server.requests} == {"/celery-progress/t-42/"}


def test_jobs_side_by_side_sign_in_once(server: FakeNevisa, tmp_path: Path) -> None:
    files = [write_wav(tmp_path / f"{i}.wav", seconds=1) for i in range(3)]

    async def three(service: NevisaService) -> list[Transcript]:
        return list(await asyncio.gather(*(service.run(RecordingContext(f)) for f in files)))

    assert [t.text for t in with_service(server, three)] == [TEXT] * 3
    assert len(server.state.requests_to(LOGIN)) == 1
    assert len(server.state.requests_to(RECOGNIZE)) == 3
    (token,) = server.state.issued_tokens
    assert {r.form["auth_token"] for r in server.state.requests_to(RECOGNIZE)} == {token}


# --- sign-in failures and renewal ------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_sign_in_repeats_the_service_message(server: FakeNevisa, audio: Path,
                                                       status: int) -> None:
    server.state.login_refusal_status = status
    error = run_failure(server, RecordingContext(audio), password="wrong-password-0000")
    assert isinstance(error, AuthenticationFailed)
    assert f"Nevisa refused the credentials for sign-in (HTTP {status})" in str(error)
    assert "Username or password is incorrect." in str(error)
    assert "Check the account settings" in str(error)
    assert paths(server) == ["account"]


def test_an_account_without_a_package_is_told_to_activate_one(server: FakeNevisa,
                                                              audio: Path) -> None:
    server.state.accounts = [Account(api_key=None)]
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, ServiceRejected)
    assert "no active Nevisa package" in str(error) and "persianspeech.com" in str(error)
    assert paths(server) == ["account"]


def test_an_invalidated_token_signs_in_again_once(server: FakeNevisa, tmp_path: Path) -> None:
    first, second = (write_wav(tmp_path / f"{i}.wav", seconds=1) for i in range(2))

    async def two_jobs(service: NevisaService) -> Transcript:
        await service.run(RecordingContext(first))
        server.state.invalidate_tokens()  # signed in elsewhere: our token is dead
        return await service.run(RecordingContext(second))

    assert with_service(server, two_jobs).text == TEXT
    old, new = server.state.issued_tokens
    uploads = server.state.requests_to(RECOGNIZE)
    assert [r.form["auth_token"] for r in uploads] == [old, old, new]
    assert uploads[-1].files["file"].data == second.read_bytes()
    assert len(server.state.requests_to(LOGIN)) == 2


def test_a_token_refused_twice_is_an_authentication_failure(server: FakeNevisa,
                                                            audio: Path) -> None:
    server.fail(RECOGNIZE, 401, {"message": "Invalid token."}, times=5)
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, AuthenticationFailed)
    assert "Nevisa refused the credentials for POST /recognize-file (HTTP 401): Invalid token." \
        in str(error)
    assert paths(server) == ["account", "recognize-file", "account", "recognize-file"]


# --- transient failures ---------------------------------------------------------------


def test_5xx_and_429_are_retried(server: FakeNevisa, audio: Path) -> None:
    server.fail(RECOGNIZE, 503, {"message": "Service Unavailable"}, times=2)
    server.fail(f"{PROGRESS}*", 429, {"message": "Too many requests"}, headers={"Retry-After": "0"})
    server.fail(LOGIN, 502, {"message": "Bad gateway"})
    context = RecordingContext(audio)
    assert transcribe(server, context).text == TEXT
    uploads = server.state.requests_to(RECOGNIZE)
    assert len(uploads) == 3
    assert all(u.files["file"].data == audio.read_bytes() for u in uploads)  # rewound
    assert len(server.state.requests_to(LOGIN)) == 2
    assert len(server.state.requests_to(PROGRESS)) == 6


def test_retries_run_out_with_the_service_message(server: FakeNevisa, audio: Path) -> None:
    server.fail(LOGIN, 502, {"message": "Upstream is down"}, times=10)
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, ServiceRejected) and error.status == 502
    assert str(error) == "Nevisa rejected sign-in (status 502): Upstream is down"
    assert len(server.state.requests_to(LOGIN)) == FAST_RETRY.attempts


def test_an_upload_answered_with_a_500_is_not_sent_twice(server: FakeNevisa,
                                                         audio: Path) -> None:
    # The task may have started before the server failed: a second upload could start
    # (and bill) a second one. 503 and 429 (not processed) are retried, as above.
    server.fail(RECOGNIZE, 502, {"message": "Upstream is down"}, times=10)
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, ServiceRejected) and error.status == 502
    assert str(error) == "Nevisa rejected POST /recognize-file (status 502): Upstream is down"
    assert len(server.state.requests_to(RECOGNIZE)) == 1


def test_a_slow_reply_times_out(server: FakeNevisa, audio: Path) -> None:
    server.delays[f"{PROGRESS}*"] = 30  # cut short when the server stops
    context = RecordingContext(audio)
    error = run_failure(server, context, timeout=0.3, retry=RetryPolicy(attempts=1))
    assert isinstance(error, ConnectionFailed)
    assert "Nevisa: no answer to GET /celery-progress/" in str(error)
    assert context.remembered  # the task survives for a later run


def test_the_upload_has_the_upload_timeout_not_the_short_one(server: FakeNevisa,
                                                              audio: Path) -> None:
    # Each 2 MiB piece of the file may take up to UPLOAD_TIMEOUT on a slow link; the
    # 30 s that suit the other requests would cut such an upload off.
    server.delays[RECOGNIZE] = 0.6
    transcript = transcribe(server, RecordingContext(audio), timeout=0.3,
                            retry=RetryPolicy(attempts=1))
    assert transcript.text
    assert len(server.state.requests_to(RECOGNIZE)) == 1


def test_a_task_that_never_ends_is_given_up_on(server: FakeNevisa, audio: Path) -> None:
    server.state.hold = True
    context = RecordingContext(audio)
    error = run_failure(server, context,
                        poll=PollPolicy(initial=0.001, factor=2, maximum=0.005, total=0.05))
    assert isinstance(error, ConnectionFailed)
    (task_id,) = server.state.tasks
    assert f"task {task_id} for {audio.name} has not finished" in str(error)
    assert "Run the job again later" in str(error)


def test_error_bodies_that_echo_secrets_are_masked(server: FakeNevisa, audio: Path) -> None:
    server.fail(RECOGNIZE, 400, {"message": f"api key {API_KEY} is not valid for {PASSWORD}"})
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, ServiceRejected) and error.status == 400
    assert "api key *** is not valid for ***" in str(error)


# --- the task fails ---------------------------------------------------------------------


def test_a_failed_task_carries_the_service_message(server: FakeNevisa, audio: Path) -> None:
    server.state.failure = "Audio decoding failed: unsupported sample format"
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, ServiceRejected)
    assert str(error) == (f"Nevisa rejected the transcription of {audio.name}: "
                          "Audio decoding failed: unsupported sample format")


def test_a_failed_task_without_a_message_says_what_to_do(server: FakeNevisa,
                                                         audio: Path) -> None:
    server.state.failure_without_message = True
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, ServiceRejected)
    (task_id,) = server.state.tasks
    assert "failed without saying why" in str(error) and task_id in str(error)


# --- cancelling ---------------------------------------------------------------------------


def test_a_cancelled_run_ends_and_cancel_terminates_the_task(server: FakeNevisa,
                                                             audio: Path) -> None:
    server.state.hold = True
    context = RecordingContext(audio)

    async def scenario(service: NevisaService) -> None:
        polled = asyncio.Event()
        context.on_report = lambda s, p: polled.set() if s is JobState.PROCESSING and p else None
        job = asyncio.create_task(service.run(context))
        await polled.wait()
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        await service.cancel(context.remote)
        # The service now says the task was terminated, and a resumed run says so too.
        with pytest.raises(ServiceRejected, match=TERMINATED_MESSAGE):
            await service.run(RecordingContext(audio, remote=dict(context.remote)))

    with_service(server, scenario)
    (task_id,) = server.state.tasks
    assert server.state.tasks[task_id].terminated
    (terminate,) = server.state.requests_to(TERMINATE)
    (token,) = server.state.issued_tokens
    assert terminate.headers["Authorization"] == f"Token {token}"
    assert terminate.form == {"auth_token": token, "api_key": API_KEY, "task_id": task_id}


def test_cancel_signs_in_first_and_again_when_the_token_is_dead(server: FakeNevisa) -> None:
    server.state.add_task("t-7")
    assert with_service(server, lambda s: s.cancel({"task_id": "t-7"})) is None
    assert paths(server) == ["account", "file"]
    server.state.tasks["t-7"].terminated = False

    async def after_invalidation(service: NevisaService) -> None:
        await service.cancel({"task_id": "t-7"})
        server.state.invalidate_tokens()
        await service.cancel({"task_id": "t-7"})

    with_service(server, after_invalidation)
    tokens = server.state.issued_tokens
    assert [r.headers["Authorization"] for r in server.state.requests_to(TERMINATE)] == [
        f"Token {tokens[0]}", f"Token {tokens[1]}", f"Token {tokens[1]}", f"Token {tokens[2]}"]
    assert server.state.tasks["t-7"].terminated


def test_a_refused_cancel_raises(server: FakeNevisa) -> None:
    error = failure(server, lambda s: s.cancel({"task_id": "no-such-task"}))
    assert isinstance(error, ServiceRejected) and error.status == 404
    assert str(error) == "Nevisa rejected POST /file/terminate-task (status 404): No such task."


def test_cancel_without_a_task_sends_nothing(server: FakeNevisa) -> None:
    with_service(server, lambda s: s.cancel({}))
    assert server.requests == []


# --- what the client refuses ----------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "expected"), [
    (LOGIN, "<html>Bad Gateway", "Nevisa: POST /account/login reply is not JSON"),
    (LOGIN, {"user": []}, "Nevisa: POST /account/login reply: 'user' is missing or not"),
    (RECOGNIZE, '{"task_id": ', "Nevisa: POST /recognize-file reply is not JSON"),
    (RECOGNIZE, {"progress_url": "/celery-progress/x/"},
     "Nevisa: POST /recognize-file reply: 'task_id'"),
    (RECOGNIZE, {"task_id": "t1", "progress_url": "ftp://files.example/t1"},
     "Nevisa: POST /recognize-file reply: 'progress_url' is neither a path nor"),
    (PROGRESS, "not json", "Nevisa: GET /celery-progress/5f2c7e1a-task-"),
    (PROGRESS, {"state": "DANCING"}, "'state' is not a known task state"),
    (PROGRESS, {"state": "SUCCESS", "result": {"transcription": {"text": "x", "result": 5}}},
     "reply: 'result.transcription.result' is not a list"),
])
def test_malformed_replies_name_nevisa_and_the_endpoint(server: FakeNevisa, audio: Path,
                                                        path: str, body: Any,
                                                        expected: str) -> None:
    server.reply(f"{path}*", 200, body)
    error = run_failure(server, RecordingContext(audio))
    assert isinstance(error, RemoteProtocolError)
    assert expected in str(error)


def test_a_corrupt_file_fails_before_any_request(server: FakeNevisa, tmp_path: Path) -> None:
    damaged = tmp_path / "broken.wav"
    damaged.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + b"\x17" * 4000)
    error = run_failure(server, RecordingContext(damaged))
    assert isinstance(error, UnsupportedInput)
    assert "broken.wav" in str(error)
    assert server.requests == []
