"""The Bahasakita upload service against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import os
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
from dictation_app.jobs.model import JobOptions, JobState
from dictation_app.protocols.transcript import Transcript, Word
from dictation_app.services.bahasakita_upload import BahasakitaUploadService, PollPolicy
from dictation_app.services.descriptors.bahasakita_upload import BahasakitaUploadOptions
from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient
from dictation_app.transport.http import RetryPolicy
from dictation_app.transport.progress_file import ProgressFile
from tests.servers.bahasakita_rest_server import GOOD_TOKEN
from tests.servers.bahasakita_upload_server import (
    CHANGE_PRIORITY,
    CONTENT,
    SUBTITLE,
    UPLOAD,
    FakeBahasakitaUpload,
    busy_body,
)
from tests.servers.loopback_http import EVERY_PATH
from tests.support.audio import SAMPLE_RATE, write_pcm
from tests.support.job_context import FAST_RETRY, RecordingContext, run_service, service_error
from tests.support.secrets import SecretWatch, assert_error_hides

T = TypeVar("T")
FAST_POLL = PollPolicy(initial=0.001, factor=2.0, maximum=0.004, total=10.0)


@pytest.fixture
def server() -> Iterator[FakeBahasakitaUpload]:
    with FakeBahasakitaUpload() as running:
        yield running


@pytest.fixture(autouse=True)
def _debug_logs(no_secret_logged: SecretWatch) -> None:
    no_secret_logged.add(GOOD_TOKEN, "wrong-token-0005")


def noise_wav(path: Path, seconds: float) -> Path:
    """Noise as 16 kHz mono WAV: the bytes differ on every run."""
    return write_pcm(path, os.urandom(int(seconds * SAMPLE_RATE) * 2))


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    return noise_wav(tmp_path / "rapat senin.wav", 0.25)


def service_for(server: FakeBahasakitaUpload, **kwargs: Any) -> BahasakitaUploadService:
    options: dict[str, Any] = {"base_url": server.base_url, "token": GOOD_TOKEN,
                               "retry": FAST_RETRY, "poll": FAST_POLL, "timeout": 5.0}
    options.update(kwargs)
    return BahasakitaUploadService(**options)


def using(server: FakeBahasakitaUpload, act: Callable[[BahasakitaUploadService], Awaitable[T]],
          **kwargs: Any) -> T:
    return run_service(lambda: service_for(server, **kwargs), act)


def context_for(server: FakeBahasakitaUpload, file: Path, **kwargs: Any) -> RecordingContext:
    # Each remember() keeps how many content polls the server had seen by then.
    return RecordingContext(file, on_remember=server.content_polls, **kwargs)


def run_job(server: FakeBahasakitaUpload, context: RecordingContext, **kwargs: Any
            ) -> Transcript:
    return using(server, lambda s: s.run(context), **kwargs)


def failure(server: FakeBahasakitaUpload, act: Callable[[BahasakitaUploadService],
            Awaitable[Any]], expected: type[DictationError] = DictationError,
            **kwargs: Any) -> DictationError:
    error = service_error(lambda: service_for(server, **kwargs), act, expected)
    assert_error_hides(error, GOOD_TOKEN, "wrong-token-0005")
    return error


# --- a job from upload to transcript -------------------------------------------


def test_upload_poll_and_transcript_with_speakers_words_and_subtitle(
        server: FakeBahasakitaUpload, audio: Path) -> None:
    options = JobOptions(language="id-ID", diarization=True,
                         vendor=BahasakitaUploadOptions(priority="high", subtitle=True))
    context = context_for(server, audio, options=options)
    transcript = run_job(server, context)

    (job,) = server.jobs.values()
    assert job.filename == "rapat senin.wav"
    assert job.data == audio.read_bytes()
    assert job.fields == {"source_language": "id", "diarization": "True",
                          "subtitle_cc": "True", "priority": "high"}
    upload = next(r for r in server.requests if r.path == UPLOAD)
    assert upload.headers["Authorization"] == f"Bearer {GOOD_TOKEN}"

    assert transcript.provider == "bahasakita"
    assert transcript.file == str(audio)
    assert transcript.language == "id"
    assert transcript.text == "halo nama saya Ayu senang bertemu kalian"
    assert [(s.speaker, s.start, s.end) for s in transcript.segments] == [
        ("speaker_01", 0.0, 1.5), ("speaker_02", 1.8, 3.1)]
    assert transcript.segments[0].words[3] == Word("Ayu", 1.1, 1.5, 0.93)
    assert transcript.segments[1].words[1].end == pytest.approx(2.65)
    assert transcript.extra("subtitle_cc") == SUBTITLE
    assert transcript.extra("uuid") == job.uuid
    assert context.remote == {"uuid": job.uuid}


def test_no_subtitle_asked_none_kept(server: FakeBahasakitaUpload, audio: Path) -> None:
    transcript = run_job(server, context_for(server, audio))
    (job,) = server.jobs.values()
    assert job.fields["subtitle_cc"] == "False"
    assert job.fields["source_language"] == "detect"
    assert transcript.extra("subtitle_cc") is None


def test_uuid_is_remembered_before_the_first_poll(server: FakeBahasakitaUpload,
                                                  audio: Path) -> None:
    context = context_for(server, audio)
    run_job(server, context)
    (job,) = server.jobs.values()
    kinds = [(e[0], e[1]) for e in context.events]
    remembered = kinds.index(("remember", {"uuid": job.uuid}))
    assert context.events[remembered][2] == 0  # no content poll had been made yet
    assert all(k == ("report", JobState.UPLOADING) for k in kinds[:remembered])
    assert all(k == ("report", JobState.PROCESSING) for k in kinds[remembered + 1:])
    assert server.paths("POST") == [UPLOAD]


@pytest.mark.parametrize("in_data", [False, True])
def test_progress_rises_through_upload_and_processing(server: FakeBahasakitaUpload,
                                                      tmp_path: Path, in_data: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads as small as httpx asks for, so a small file still shows steps between 0 and 1.
    monkeypatch.setattr(ProgressFile, "READ_SIZE", 0)
    server.behaviour.queued_polls = 2
    server.behaviour.progress_in_data = in_data
    # Large enough to be read (and reported) in several chunks.
    context = context_for(server, noise_wav(tmp_path / "long.wav", 10.0))
    run_job(server, context)
    uploading = [p for p in context.progress(JobState.UPLOADING) if p is not None]
    assert uploading[0] == 0.0 and uploading[-1] == 1.0
    assert uploading == sorted(uploading) and len(uploading) >= 3
    # Queued, then each percentage the service gave, each once and as a fraction.
    assert context.progress(JobState.PROCESSING) == [None, 0.125, 0.47, 0.88]
    assert server.content_polls() == 2 + 3 + 1


def test_process_success_spelling_completes_the_job(server: FakeBahasakitaUpload,
                                                    audio: Path) -> None:
    server.behaviour.success_word = "process success"
    assert run_job(server, context_for(server, audio)).segments


def test_resume_polls_the_stored_uuid_without_uploading(server: FakeBahasakitaUpload,
                                                        tmp_path: Path) -> None:
    job = server.add_job("earlier.wav", polls=1)
    # The local file is gone: the job is at Bahasakita and needs nothing from it.
    context = context_for(server, tmp_path / "gone.wav", remote={"uuid": job.uuid})
    transcript = run_job(server, context)
    assert server.paths("POST") == []
    assert set(server.paths("GET")) == {CONTENT + job.uuid}
    assert not [e for e in context.events if e[0] == "remember"]
    assert transcript.extra("uuid") == job.uuid
    assert transcript.text.startswith("halo nama saya")


def test_failed_job_says_why(server: FakeBahasakitaUpload, audio: Path) -> None:
    server.behaviour.outcome = "failed"
    error = failure(server, lambda s: s.run(context_for(server, audio)), ServiceRejected)
    assert "no speech found" in str(error)
    assert "rapat senin.wav" in str(error)
    assert str(error).startswith("Bahasakita upload rejected")


# --- what is refused before any request ----------------------------------------


def test_corrupt_file_is_refused_before_any_request(server: FakeBahasakitaUpload,
                                                    tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not audio at all")
    error = failure(server, lambda s: s.run(context_for(server, bad)), UnsupportedInput)
    assert "notes.wav" in str(error)
    assert server.requests == []


@pytest.mark.parametrize("token", [None, "", "   "])
def test_missing_token_says_where_to_set_it(server: FakeBahasakitaUpload, audio: Path,
                                            token: str | None) -> None:
    error = failure(server, lambda s: s.run(context_for(server, audio)), ConfigurationError,
                    token=token)
    assert "Preferences" in window_message(error)
    assert "Preferences" not in cli_message(error)  # the command line has no dialogs
    assert "DICTATION_BAHASAKITA_TOKEN" in window_message(error)
    assert "DICTATION_BAHASAKITA_TOKEN" in cli_message(error)
    error = failure(server, lambda s: s.change_priority("abc", "high"), ConfigurationError,
                    token=token)
    assert server.requests == []


# A line break, or what a bad paste brings along: a curly quote, an ellipsis, a letter
# from another script. httpx could not put the last three in a header at all.
@pytest.mark.parametrize("damage", ["\nsecond-line", "\u201d", "\u2026", "\u0436"])
def test_damaged_token_is_refused_without_echoing_it(server: FakeBahasakitaUpload,
                                                     damage: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        service_for(server, token=GOOD_TOKEN + damage)
    assert "paste it again in Preferences" in window_message(caught.value)
    assert "DICTATION_BAHASAKITA_TOKEN again" in cli_message(caught.value)
    assert GOOD_TOKEN not in window_message(caught.value)
    assert server.requests == []


# --- errors from the service ---------------------------------------------------


@pytest.mark.parametrize("echo", [False, True])
def test_wrong_token_asks_to_sign_in_again(server: FakeBahasakitaUpload, audio: Path,
                                           echo: bool) -> None:
    server.behaviour.echo_credentials = echo
    error = failure(server, lambda s: s.run(context_for(server, audio)), AuthenticationFailed,
                    token="wrong-token-0005")
    assert "Sign in to Bahasakita again" in window_message(error)
    assert "Preferences" not in cli_message(error)
    assert "Token is invalid or expired" in str(error)
    assert len(server.requests) == 1  # a refused token is not retried


def test_wrong_token_while_resuming(server: FakeBahasakitaUpload, audio: Path) -> None:
    job = server.add_job()
    context = context_for(server, audio, remote={"uuid": job.uuid})
    error = failure(server, lambda s: s.run(context), AuthenticationFailed,
                    token="wrong-token-0005")
    assert "Sign in to Bahasakita again" in window_message(error)


def test_auth_status_inside_an_http_200_body(server: FakeBahasakitaUpload, audio: Path) -> None:
    server.behaviour.embedded_status = 401
    server.behaviour.echo_credentials = True
    error = failure(server, lambda s: s.run(context_for(server, audio)), AuthenticationFailed)
    assert "status 401" in str(error) and "Token expired (***)" in str(error)
    assert "Sign in to Bahasakita again" in window_message(error)


def test_error_status_inside_an_http_200_body(server: FakeBahasakitaUpload, audio: Path) -> None:
    server.behaviour.embedded_status = 400
    error = failure(server, lambda s: s.run(context_for(server, audio)), ServiceRejected)
    assert isinstance(error, ServiceRejected) and error.status == 400
    assert "Request refused" in str(error)


@pytest.mark.parametrize(("burst", "path"), [([429, 503], UPLOAD), ([502, 500], CONTENT)])
def test_busy_answers_are_retried(server: FakeBahasakitaUpload, audio: Path,
                                  burst: list[int], path: str) -> None:
    for status in burst:
        server.fail(f"{path}*", status)
    transcript = run_job(server, context_for(server, audio))
    assert transcript.segments
    assert len(server.jobs) == 1
    assert server.paths("POST") == [UPLOAD] * (3 if path == UPLOAD else 1)


def test_busy_status_inside_an_http_200_poll_is_retried(server: FakeBahasakitaUpload,
                                                        audio: Path) -> None:
    # As an HTTP 503 would be: the module docstring promises the same treatment.
    for status in (503, 502):
        server.fail(f"{CONTENT}*", 200, busy_body(status))
    transcript = run_job(server, context_for(server, audio))
    assert transcript.segments
    assert server.content_polls() == 2 + 1 + 3 + 1  # the busy ones, queued, progress, done


def test_busy_status_inside_an_http_200_poll_until_attempts_run_out(
        server: FakeBahasakitaUpload, audio: Path) -> None:
    server.fail(f"{CONTENT}*", 200, busy_body(503), times=FAST_RETRY.attempts)
    error = failure(server, lambda s: s.run(context_for(server, audio)), ServiceRejected)
    assert isinstance(error, ServiceRejected) and error.status == 503
    assert "Server busy" in str(error)
    assert server.content_polls() == FAST_RETRY.attempts


def test_client_error_status_inside_an_http_200_poll_fails_at_once(
        server: FakeBahasakitaUpload, audio: Path) -> None:
    server.fail(f"{CONTENT}*", 200, busy_body(404))
    error = failure(server, lambda s: s.run(context_for(server, audio)), ServiceRejected)
    assert isinstance(error, ServiceRejected) and error.status == 404
    assert "Server busy" in str(error)  # the service's own words
    assert server.content_polls() == 1


def test_busy_until_attempts_run_out(server: FakeBahasakitaUpload, audio: Path) -> None:
    server.fail(EVERY_PATH, 503, times=3)
    error = failure(server, lambda s: s.run(context_for(server, audio)), ServiceRejected)
    assert isinstance(error, ServiceRejected) and error.status == 503
    assert "Server busy" in str(error)
    assert server.paths() == [UPLOAD] * 3


def test_slow_service_times_out(server: FakeBahasakitaUpload, audio: Path) -> None:
    server.delays[EVERY_PATH] = 5.0
    error = failure(server, lambda s: s.run(context_for(server, audio)), ConnectionFailed,
                    timeout=0.2, retry=RetryPolicy(attempts=1))
    assert "no answer" in str(error)


def test_job_that_never_finishes_stops_waiting(server: FakeBahasakitaUpload,
                                               audio: Path) -> None:
    server.behaviour.queued_polls = 10**9
    context = context_for(server, audio)
    error = failure(server, lambda s: s.run(context), ConnectionFailed,
                    poll=PollPolicy(initial=0.01, factor=1.0, maximum=0.01, total=0.1))
    assert "still queued" in str(error) and context.remote["uuid"] in str(error)
    assert server.content_polls() >= 2


@pytest.mark.parametrize("body", ["{not json", {"bk": {"message_status": "success"}},
                                  {"bk": {"message_status": "paused"}}])
def test_malformed_content_reply(server: FakeBahasakitaUpload, audio: Path, body: Any) -> None:
    server.behaviour.content_body = body
    error = failure(server, lambda s: s.run(context_for(server, audio)), RemoteProtocolError)
    assert str(error).startswith("Bahasakita upload: GET /v2/prod/stt/async/content/")


def test_malformed_upload_reply_remembers_nothing(server: FakeBahasakitaUpload,
                                                  audio: Path) -> None:
    server.behaviour.upload_body = {"bk": {"data": {"quota": 10}, "message_status": "success"}}
    context = context_for(server, audio)
    error = failure(server, lambda s: s.run(context), RemoteProtocolError)
    assert "'bk.data.uuid'" in str(error)
    assert context.remote == {}


def test_echoed_token_in_a_reply_that_is_not_json_leaves_no_prefix(
        server: FakeBahasakitaUpload, audio: Path) -> None:
    # The quote of the body is cut short inside the token: masked first, nothing is left.
    server.behaviour.content_body = f"{'Bad Gateway ' * 3}token {GOOD_TOKEN} refused " * 5
    error = failure(server, lambda s: s.run(context_for(server, audio)), RemoteProtocolError)
    assert str(error).startswith("Bahasakita upload: GET /v2/prod/stt/async/content/")
    assert "reply is not JSON: 'Bad Gateway Bad Gateway Bad Gateway token ***" in str(error)
    assert GOOD_TOKEN[:8] not in str(error)
    assert error.__context__ is None  # the JSON error would hold the whole body


def test_echoed_token_in_a_reply_is_masked(server: FakeBahasakitaUpload, audio: Path) -> None:
    server.behaviour.upload_body = {"bk": {"message_status": f"quota empty for {GOOD_TOKEN}"}}
    error = failure(server, lambda s: s.run(context_for(server, audio)), ServiceRejected)
    assert "quota empty for ***" in str(error)


# --- priority, cancel, monitoring ----------------------------------------------


def test_change_priority_of_a_waiting_job(server: FakeBahasakitaUpload) -> None:
    job = server.add_job()
    using(server, lambda s: s.change_priority(job.uuid, "high"))
    assert job.priority == "high"
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", CHANGE_PRIORITY)
    assert request.headers["Authorization"] == f"Bearer {GOOD_TOKEN}"


def test_change_priority_refused_once_processing(server: FakeBahasakitaUpload) -> None:
    job = server.add_job(queue="process")
    error = failure(server, lambda s: s.change_priority(job.uuid, "high"), ServiceRejected)
    assert "only be changed while the job is in the queue" in str(error)
    assert job.priority == "reguler"


def test_change_priority_of_an_unknown_job(server: FakeBahasakitaUpload) -> None:
    error = failure(server, lambda s: s.change_priority("0000-unknown", "reguler"),
                    ServiceRejected)
    assert isinstance(error, ServiceRejected) and error.status == 404
    assert "uuid not found" in str(error)


def test_change_priority_checks_its_arguments_first(server: FakeBahasakitaUpload) -> None:
    failure(server, lambda s: s.change_priority("abc", "urgent"), ConfigurationError)
    failure(server, lambda s: s.change_priority("../x", "high"), DictationError)
    assert server.requests == []


def test_cancel_sends_nothing(server: FakeBahasakitaUpload) -> None:
    assert using(server, lambda s: s.cancel({"uuid": "abc"})) is None
    assert server.requests == []


def test_monitoring_lists_the_uploaded_jobs_under_their_uuids(server: FakeBahasakitaUpload,
                                                              audio: Path) -> None:
    transcript = run_job(server, context_for(server, audio))
    waiting = server.add_job("later.wav")

    async def snapshot() -> Any:
        async with BahasakitaAccountClient(base_url=server.base_url,
                                           token=GOOD_TOKEN) as client:
            return await client.monitoring()

    queues = asyncio.run(snapshot()).queues
    (done,) = queues["success"]
    assert (done.uuid, done.filename) == (transcript.extra("uuid"), "rapat senin.wav")
    assert done.duration == 0.25
    assert [(i.uuid, i.filename) for i in queues["inquery"]] == [(waiting.uuid, "later.wav")]
    assert queues["process"] == [] and queues["failed"] == []


# --- the poll policy -----------------------------------------------------------


def test_poll_delays_grow_to_their_cap() -> None:
    delays = PollPolicy(initial=1.0, factor=2.0, maximum=5.0).delays()
    assert [next(delays) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize("kwargs", [{"initial": -1.0}, {"factor": 0.5},
                                    {"initial": 10.0, "maximum": 1.0}, {"total": 0.0}])
def test_poll_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        PollPolicy(**kwargs)
