"""BotlhaleService against a loopback Botlhale (both API generations) and its S3 bucket."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
import soundfile

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
from dictation_app.protocols.transcript import Transcript
from dictation_app.services.botlhale import BotlhaleService
from dictation_app.services.descriptors.botlhale import BotlhaleOptions
from dictation_app.services.poll_policy import PollPolicy
from dictation_app.transport.http import RetryPolicy
from tests.servers.botlhale_server import (
    BEARER_TOKEN,
    BUCKET_PATH,
    DATA_V1_PATH,
    DATA_V2_PATH,
    FIELD_SECRETS,
    ORG_ID,
    POLICY,
    REFRESH_TOKEN,
    SESSION_TOKEN,
    STATUS_PATH,
    SYNC_PATH,
    TOKEN_PATH,
    UPLOAD_PATH,
    FakeBotlhale,
)
from tests.support.audio import tone
from tests.support.job_context import FAST_RETRY, RecordingContext, run_service, service_error
from tests.support.secrets import SecretWatch, assert_error_hides

FAST_POLL = PollPolicy(initial=0.001, factor=2.0, maximum=0.005, total=30.0)
SECRETS = (BEARER_TOKEN, REFRESH_TOKEN, *FIELD_SECRETS)


@pytest.fixture
def server(no_secret_logged: SecretWatch) -> Iterator[FakeBotlhale]:
    with FakeBotlhale() as running:
        yield running
    no_secret_logged.add(*SECRETS, *running.issued_tokens)


@pytest.fixture
def tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary folder, for this test only: converted copies land here."""
    import tempfile

    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def short_wav(tmp_path: Path) -> Path:
    path = tmp_path / "greeting.wav"
    soundfile.write(path, tone(3.0, 16_000, amplitude=0.3), 16_000, subtype="PCM_16")
    return path


@pytest.fixture
def long_wav(tmp_path: Path) -> Path:
    """61 s: over the sync limit; 11.7 MB, so the upload takes several 2 MiB reads."""
    path = tmp_path / "meeting.wav"
    soundfile.write(path, tone(61.0, 48_000, 2, amplitude=0.3), 48_000, subtype="PCM_16")
    return path


def make_service(server: FakeBotlhale, **kwargs: Any) -> BotlhaleService:
    settings: dict[str, Any] = {"base_url": server.base_url, "token": BEARER_TOKEN,
                                "org_id": ORG_ID, "retry": FAST_RETRY, "poll": FAST_POLL,
                                "timeout": 5.0}
    settings.update(kwargs)
    return BotlhaleService(**settings)


def run(server: FakeBotlhale, context: RecordingContext, **kwargs: Any) -> Transcript:
    return run_service(lambda: make_service(server, **kwargs), lambda s: s.run(context))


def failure(server: FakeBotlhale, context: RecordingContext, **kwargs: Any) -> DictationError:
    error = service_error(lambda: make_service(server, **kwargs), lambda s: s.run(context))
    assert_error_hides(error, *SECRETS, *server.issued_tokens)
    return error


def async_context(path: Path, version: int = 2, **options: Any) -> RecordingContext:
    return RecordingContext(path, JobOptions(
        vendor=BotlhaleOptions(mode="async", api_version=version), **options))


def check_rising_to_one(reports: list[tuple[JobState, float | None]]) -> list[float]:
    uploading = [p for state, p in reports if state is JobState.UPLOADING]
    assert uploading[0] == 0.0 and uploading[-1] == 1.0
    assert all(p is not None for p in uploading)
    assert uploading == sorted(uploading)  # type: ignore[type-var]
    return uploading  # type: ignore[return-value]


# --- sync ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_sync_posts_the_file_as_speech_file(server: FakeBotlhale, short_wav: Path,
                                            version: int) -> None:
    context = RecordingContext(
        short_wav, JobOptions(language="en-ZA", vendor=BotlhaleOptions(api_version=version)))
    transcript = run(server, context)

    assert transcript.provider == "botlhale" and transcript.file == str(short_wav)
    assert transcript.text == "The stale smell of old beer lingers."
    assert transcript.language == "en-ZA"
    assert [(s.start, s.end) for s in transcript.segments] == [(0.0, 3.3467120181405896)]
    assert transcript.extra("id") == "N5bliIh2i7MP9K5"
    (request,) = server.requests
    assert (request.method, request.path, request.status) == ("POST", SYNC_PATH, 200)
    assert request.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
    assert request.form == {"language_code": "en-ZA", "sample_rate": "16000"}
    (part,) = request.files
    assert (part.name, part.filename, part.magic) == ("speech_file", "greeting.wav", "wav")
    assert part.sha256 == hashlib.sha256(short_wav.read_bytes()).hexdigest()
    assert request.part_order[-1] == "speech_file"
    assert "chunked" not in request.headers.get("Transfer-Encoding", "")
    check_rising_to_one(context.reports)
    assert context.reports[-1] == (JobState.PROCESSING, None)
    assert context.remembered == []  # nothing to resume from a sync request


def test_redaction_is_asked_for_in_the_direct_request_form(server: FakeBotlhale,
                                                          short_wav: Path) -> None:
    context = RecordingContext(short_wav, JobOptions(vendor=BotlhaleOptions(redact=True)))
    transcript = run(server, context)
    (request,) = server.requests
    assert request.path == SYNC_PATH and request.status == 200
    assert request.form == {"sample_rate": "16000", "redact": "True"}  # a multipart field
    assert "redact" in request.part_order and request.part_order[-1] == "speech_file"
    assert transcript.extra("redacted_text") == "The stale smell of old beer lingers."


def test_redaction_is_not_sent_where_the_async_upload_does_not_document_it(
        server: FakeBotlhale, short_wav: Path) -> None:
    run(server, RecordingContext(short_wav, JobOptions(
        vendor=BotlhaleOptions(mode="async", redact=True))))
    (upload,) = server.to(UPLOAD_PATH)
    assert "redact" not in upload.form and upload.form["org_id"] == ORG_ID
    run(server, RecordingContext(short_wav, JobOptions(vendor=BotlhaleOptions(mode="sync"))))
    assert "redact" not in server.to(SYNC_PATH)[0].form  # off: the field is left out


def test_sync_mode_refuses_a_file_over_a_minute(server: FakeBotlhale, long_wav: Path) -> None:
    error = failure(server, RecordingContext(
        long_wav, JobOptions(vendor=BotlhaleOptions(mode="sync"))))
    assert isinstance(error, ConfigurationError) and "at most 60 s" in str(error)
    assert server.requests == []


# --- async ---------------------------------------------------------------------


def test_async_v2_uploads_remembers_polls_and_fetches(server: FakeBotlhale,
                                                      long_wav: Path) -> None:
    server.behaviour.running_polls = 3
    context = RecordingContext(long_wav, JobOptions(diarization=True))  # auto: 61 s -> async
    context.on_remember = server.paths
    transcript = run(server, context)

    assert server.paths() == [UPLOAD_PATH, BUCKET_PATH, *[STATUS_PATH] * 4, DATA_V2_PATH]
    upload, _, status, *_, data = server.requests
    assert upload.form == {"org_id": ORG_ID, "sample_rate": "48000", "diarization": "True"}
    (key,) = server.uploads
    assert server.uploads[key] == long_wav.read_bytes()
    assert status.query == {"org_id": ORG_ID, "filename": key} == data.query
    assert all(r.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
               for r in server.requests if r.path != BUCKET_PATH)
    # Stored after the upload and before the first status request, without secrets.
    assert context.remembered == [{"mode": "async", "key": key, "api_version": "2",
                                   "org_id": ORG_ID}]
    assert context.seen_at_remember == [[UPLOAD_PATH, BUCKET_PATH]]
    uploading = check_rising_to_one(context.reports)
    assert len(uploading) > 5  # progress came from the bytes, not only start and end
    assert context.reports[-1] == (JobState.PROCESSING, None)
    assert (JobState.PROCESSING, None) not in context.reports[:len(uploading)]

    assert transcript.file == str(long_wav)
    assert transcript.duration == 293.52 and transcript.language == "English"
    first, last = transcript.segments
    assert (first.start, first.end) == pytest.approx((1.1120543, 4.0831918))  # ms -> s
    assert (last.speaker, last.text) == ("SPEAKER_01", "Thank you.")
    assert transcript.text.startswith("Hello, good day.")


def test_async_v1_speaks_the_older_generation(server: FakeBotlhale, short_wav: Path) -> None:
    server.behaviour.api_version = 1
    context = async_context(short_wav, version=1, language="nso-ZA")
    transcript = run(server, context)

    assert server.paths() == [UPLOAD_PATH, BUCKET_PATH, STATUS_PATH, STATUS_PATH, DATA_V1_PATH]
    upload, _, status, _, data = server.requests
    assert upload.form == {"OrgID": ORG_ID, "SampleRate": "16000", "LanguageCode": "nso-ZA",
                           "Diarization": "False"}
    (key,) = server.uploads
    assert status.query == {"OrgID": ORG_ID, "FileName": key} == data.query
    assert context.remembered[0]["api_version"] == "1"
    assert transcript.duration == 30.0
    assert [(s.start, s.end, s.speaker, s.text) for s in transcript.segments] == [
        pytest.approx((0.66, 1.26, "speaker_0", "Dumela mma")),
        pytest.approx((1.26, 2.31, "speaker_1", "Ke a leboga")),
    ]


def test_the_service_setting_overrides_the_job_api_version(server: FakeBotlhale,
                                                           short_wav: Path) -> None:
    server.behaviour.api_version = 1
    run(server, async_context(short_wav, version=2), api_version=1)
    assert server.paths()[-1] == DATA_V1_PATH


@pytest.mark.parametrize("version", [1, 2])
def test_the_presigned_post_is_what_s3_needs(server: FakeBotlhale, short_wav: Path,
                                             version: int) -> None:
    server.behaviour.api_version = version
    run(server, async_context(short_wav, version=version))

    (bucket,) = server.to(BUCKET_PATH)
    assert bucket.status == 204
    assert "Authorization" not in bucket.headers  # another host: never the bearer token
    assert int(bucket.headers["Content-Length"]) > short_wav.stat().st_size
    assert "Transfer-Encoding" not in bucket.headers
    assert bucket.part_order[-1] == "file" and bucket.part_order.count("file") == 1
    assert bucket.form["policy"] == POLICY  # exact values, checked by the server too
    (part,) = bucket.files
    assert part.filename == bucket.form["key"].rsplit("/", 1)[-1]
    assert part.sha256 == hashlib.sha256(short_wav.read_bytes()).hexdigest()


def test_the_fake_bucket_enforces_its_rules(server: FakeBotlhale) -> None:
    # The checks above mean something only if the fake bucket refuses what S3 refuses.
    form = httpx.post(server.base_url + UPLOAD_PATH, data={"org_id": ORG_ID},
                      headers={"Authorization": f"Bearer {BEARER_TOKEN}"}).json()
    url, fields = form["upload_url"], form["fields"]

    def chunks() -> Iterator[bytes]:
        yield b"x"

    file_first = httpx.post(url, files={"file": ("a.wav", b"RIFF")},
                            data={k: v for k, v in fields.items() if k == "key"})
    wrong_value = httpx.post(url, data={**fields, "policy": "other"},
                             files={"file": ("a.wav", b"RIFF")})
    with_auth = httpx.post(url, data=fields, files={"file": ("a.wav", b"RIFF")},
                           headers={"Authorization": "Bearer x"})
    chunked = httpx.post(url, content=chunks())
    assert (file_first.status_code, wrong_value.status_code) == (403, 403)
    assert "<Code>AccessDenied</Code>" in wrong_value.text
    assert with_auth.status_code == 400
    assert chunked.status_code == 411
    assert httpx.post(url, data=fields, files={"file": ("a.wav", b"RIFF")}).status_code == 204


def test_a_refused_upload_says_what_s3_said(server: FakeBotlhale, short_wav: Path) -> None:
    server.behaviour.storage_error = (403, "AccessDenied", "Request has expired")
    context = async_context(short_wav)
    error = failure(server, context)
    assert isinstance(error, ServiceRejected)
    assert str(error) == ("Botlhale storage rejected the upload of greeting.wav: Request has "
                          "expired (AccessDenied). The upload link was refused or has "
                          "expired: run the job again")
    assert context.remembered == []  # nothing to resume: the file never arrived
    assert STATUS_PATH not in server.paths()


def test_a_bad_upload_request_says_what_s3_said(server: FakeBotlhale, short_wav: Path) -> None:
    server.behaviour.storage_error = (400, "EntityTooLarge",
                                      "Your proposed upload exceeds the maximum allowed size")
    error = failure(server, async_context(short_wav))
    assert isinstance(error, ServiceRejected) and error.status == 400
    assert "exceeds the maximum allowed size (EntityTooLarge)" in str(error)


def test_a_storage_hiccup_is_retried_with_the_whole_file(server: FakeBotlhale,
                                                         long_wav: Path) -> None:
    server.fail(BUCKET_PATH, 503, "<Error><Code>SlowDown</Code><Message>Reduce your request "
                "rate</Message></Error>", times=2)
    context = async_context(long_wav)
    run(server, context)
    assert [r.status for r in server.to(BUCKET_PATH)] == [503, 503, 204]
    assert list(server.uploads.values()) == [long_wav.read_bytes()]
    check_rising_to_one(context.reports)  # a retried upload never moves the bar back


@pytest.mark.parametrize(("version", "word", "message"), [
    (2, "failed", "Audio could not be decoded"),
    (1, "FAILURE", None),
])
def test_a_failed_job_is_rejected_with_the_service_word(server: FakeBotlhale, short_wav: Path,
                                                        version: int, word: str,
                                                        message: str | None) -> None:
    server.behaviour.api_version = version
    server.behaviour.outcome = word
    server.behaviour.failure_message = message
    error = failure(server, async_context(short_wav, version=version))
    assert isinstance(error, ServiceRejected)
    assert f"transcribing greeting.wav failed (status '{word}'): " in str(error)
    assert (message or "no reason given") in str(error)
    assert DATA_V1_PATH not in server.paths() and DATA_V2_PATH not in server.paths()


def test_a_stored_key_resumes_at_polling(server: FakeBotlhale, tmp_path: Path) -> None:
    server.behaviour.api_version = 1
    key = "asr_resumed0001_zu-ZA_16000_19y3NDgP76m4.wav"
    server.add_job(key)
    # The job remembers v1 and its organisation; the job options and settings say otherwise.
    context = RecordingContext(tmp_path / "gone-since.wav",
                               JobOptions(vendor=BotlhaleOptions(api_version=2)),
                               remote={"mode": "async", "key": key, "api_version": "1",
                                       "org_id": ORG_ID})
    transcript = run(server, context, org_id="SomeOtherOrg")
    assert server.paths() == [STATUS_PATH, STATUS_PATH, DATA_V1_PATH]
    assert server.requests[0].query == {"OrgID": ORG_ID, "FileName": key}
    assert context.reports == [(JobState.PROCESSING, None)]
    assert context.remembered == []
    assert transcript.text == "Dumela mma Ke a leboga"


def test_polling_gives_up_after_the_total_wait(server: FakeBotlhale, short_wav: Path) -> None:
    server.behaviour.running_polls = 10**9
    error = failure(server, async_context(short_wav),
                    poll=PollPolicy(initial=0.001, factor=2.0, maximum=0.005, total=0.05))
    assert isinstance(error, ConnectionFailed)
    assert "greeting.wav was still being transcribed after" in str(error)


def test_cancelling_while_polling_leaves_no_converted_copy(server: FakeBotlhale,
                                                           tmp_path: Path, tmp_dir: Path) -> None:
    source = tmp_path / "loud.wav"
    soundfile.write(source, tone(1.0, 96_000, amplitude=0.3), 96_000)  # over 48 kHz: converted
    server.behaviour.running_polls = 10**9

    async def scenario() -> None:
        remembered = asyncio.Event()
        context = async_context(source)
        context.on_remember = remembered.set
        service = make_service(server)
        job = asyncio.create_task(service.run(context))
        await remembered.wait()
        assert list(tmp_dir.rglob("*.flac"))  # the converted copy exists while in use
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        sent = len(server.requests)
        await service.cancel(context.remote)  # documented as doing nothing remotely
        await service.aclose()
        assert len(server.requests) == sent

    asyncio.run(scenario())
    assert list(tmp_dir.iterdir()) == []


# --- credentials ---------------------------------------------------------------


def test_a_refresh_token_buys_the_bearer_token(server: FakeBotlhale, short_wav: Path) -> None:
    run(server, async_context(short_wav), token=None, refresh_token=REFRESH_TOKEN)
    generate, *rest = server.requests
    assert generate.path == TOKEN_PATH and generate.form == {"refresh_token": REFRESH_TOKEN}
    assert "Authorization" not in generate.headers
    (issued,) = server.issued_tokens
    assert all(r.headers["Authorization"] == f"Bearer {issued}"
               for r in rest if r.path != BUCKET_PATH)


def test_a_refused_token_is_renewed_once_and_the_request_repeated(server: FakeBotlhale,
                                                                   short_wav: Path) -> None:
    server.behaviour.token_uses = 2  # upload, first status; then refused
    run(server, async_context(short_wav), token=None, refresh_token=REFRESH_TOKEN)
    assert server.paths() == [TOKEN_PATH, UPLOAD_PATH, BUCKET_PATH, STATUS_PATH, STATUS_PATH,
                              TOKEN_PATH, STATUS_PATH, DATA_V2_PATH]
    assert server.requests[4].status == 401
    first, second = server.issued_tokens
    assert server.requests[3].headers["Authorization"] == f"Bearer {first}"
    assert server.requests[6].headers["Authorization"] == f"Bearer {second}"


def test_a_given_bearer_token_is_replaced_when_refused(server: FakeBotlhale,
                                                       short_wav: Path) -> None:
    run(server, RecordingContext(short_wav), token="expired-bearer-token",
        refresh_token=REFRESH_TOKEN)
    assert server.paths() == [SYNC_PATH, TOKEN_PATH, SYNC_PATH]
    assert [r.status for r in server.requests] == [401, 200, 200]


def test_a_token_about_to_expire_is_renewed_first(server: FakeBotlhale, short_wav: Path) -> None:
    server.behaviour.token_expires = 30  # under the 60 s margin: renewed before each use
    run(server, async_context(short_wav), token=None, refresh_token=REFRESH_TOKEN)
    assert server.paths() == [TOKEN_PATH, UPLOAD_PATH, BUCKET_PATH, TOKEN_PATH, STATUS_PATH,
                              TOKEN_PATH, STATUS_PATH, TOKEN_PATH, DATA_V2_PATH]
    assert 401 not in [r.status for r in server.requests]


def test_concurrent_jobs_share_one_renewal(server: FakeBotlhale, short_wav: Path) -> None:
    async def scenario() -> list[Transcript]:
        service = make_service(server, token=None, refresh_token=REFRESH_TOKEN)
        try:
            return await asyncio.gather(*(service.run(async_context(short_wav))
                                          for _ in range(4)))
        finally:
            await service.aclose()

    transcripts = asyncio.run(scenario())
    assert len(transcripts) == 4 and len(server.uploads) == 4
    assert server.paths().count(TOKEN_PATH) == 1


def test_a_second_refusal_is_an_authentication_failure(server: FakeBotlhale,
                                                       short_wav: Path) -> None:
    server.behaviour.token_uses = 0  # every issued token is refused
    error = failure(server, async_context(short_wav), token=None, refresh_token=REFRESH_TOKEN)
    assert isinstance(error, AuthenticationFailed)
    assert "Botlhale refused the credentials for POST /asr/async/upload (HTTP 401): " \
           "The incoming token has expired" in str(error)
    assert server.paths() == [TOKEN_PATH, UPLOAD_PATH, TOKEN_PATH, UPLOAD_PATH]


def test_a_refused_bearer_token_without_refresh_token_fails_at_once(server: FakeBotlhale,
                                                                    short_wav: Path) -> None:
    error = failure(server, RecordingContext(short_wav), token="wrong-bearer-token")
    assert isinstance(error, AuthenticationFailed)
    assert "The incoming token is invalid" in str(error)
    assert server.paths() == [SYNC_PATH]


def test_a_refused_refresh_token_says_so(server: FakeBotlhale, short_wav: Path) -> None:
    error = failure(server, RecordingContext(short_wav), token=None, refresh_token="stale-refresh")
    assert isinstance(error, AuthenticationFailed)
    assert "POST /auth/generate (HTTP 401): Invalid refresh token" in str(error)
    assert server.paths() == [TOKEN_PATH]


def test_missing_credentials_name_the_settings(server: FakeBotlhale, short_wav: Path) -> None:
    error = failure(server, RecordingContext(short_wav), token=None)
    assert isinstance(error, ConfigurationError)
    for message in (window_message(error), cli_message(error)):
        assert "DICTATION_BOTLHALE_TOKEN" in message
        assert "DICTATION_BOTLHALE_REFRESH_TOKEN" in message
    assert "File → File transcription services, under Botlhale" in window_message(error)
    assert "File →" not in cli_message(error)
    error = failure(server, async_context(short_wav), org_id=None)
    assert isinstance(error, ConfigurationError) and error.fields == ("botlhale_org_id",)
    assert "DICTATION_BOTLHALE_ORG_ID" in cli_message(error)
    assert "DICTATION_BOTLHALE_ORG_ID" in window_message(error)
    assert server.requests == []


def test_a_token_with_a_line_break_is_refused_unechoed() -> None:
    with pytest.raises(ConfigurationError, match="paste it again") as caught:
        BotlhaleService(token="abc\r\nX-Evil: 1")
    assert "Evil" not in str(caught.value)


# What a bad paste brings along: httpx cannot put these in a header at all.
@pytest.mark.parametrize("damage", ["\u201d", "\u2026", "\u0436"])
@pytest.mark.parametrize("kind", ["token", "refresh_token"])
def test_a_token_with_a_non_ascii_character_is_refused_unechoed(kind: str,
                                                               damage: str) -> None:
    with pytest.raises(ConfigurationError, match="paste it again") as caught:
        BotlhaleService(**{kind: BEARER_TOKEN + damage})
    assert BEARER_TOKEN not in str(caught.value)


def test_a_long_reply_that_is_not_json_leaves_no_token_prefix(server: FakeBotlhale,
                                                              short_wav: Path) -> None:
    # The quote of the body is cut short inside the echoed token: masked first, nothing
    # of it is left.
    server.fail(STATUS_PATH, 200, f"{'Bad Gateway ' * 3}token {BEARER_TOKEN} refused " * 5)
    error = failure(server, async_context(short_wav))
    assert isinstance(error, RemoteProtocolError)
    assert "reply is not JSON: 'Bad Gateway Bad Gateway Bad Gateway token ***" in str(error)
    assert BEARER_TOKEN[:8] not in str(error)
    assert error.__context__ is None  # the JSON error would hold the whole body


def test_presigned_fields_are_not_kept_by_the_long_lived_client(server: FakeBotlhale,
                                                                short_wav: Path) -> None:
    service = make_service(server)

    async def two_jobs() -> int:
        try:
            before = len(service._http._secrets)
            for _ in range(2):
                await service.run(async_context(short_wav))
            return len(service._http._secrets) - before
        finally:
            await service.aclose()

    assert asyncio.run(two_jobs()) == 0
    assert len(server.to(BUCKET_PATH)) == 2


def test_secrets_the_service_echoes_are_masked(server: FakeBotlhale, short_wav: Path) -> None:
    server.fail(UPLOAD_PATH, 400, {"message": f"Bad token {BEARER_TOKEN}"})
    error = failure(server, async_context(short_wav))
    assert isinstance(error, ServiceRejected) and "Bad token ***" in str(error)


def test_presigned_credentials_stay_out_of_logs(server: FakeBotlhale, short_wav: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    server.behaviour.upload_query = f"X-Amz-Security-Token={SESSION_TOKEN}"
    server.fail(BUCKET_PATH, 500, f"<Error><Code>InternalError</Code><Message>policy {POLICY}"
                "</Message></Error>")
    run(server, async_context(short_wav))
    (_, bucket) = server.to(BUCKET_PATH)
    assert bucket.query == {"X-Amz-Security-Token": SESSION_TOKEN}  # it did travel
    assert "presigned-bucket?***" in caplog.text  # httpx's own request line, masked
    assert "policy ***" in caplog.text  # the retry log line, masked
    # The fixture checks that no secret reached the log.


# --- transient failures and bad replies ----------------------------------------


def test_429_and_5xx_are_retried(server: FakeBotlhale, short_wav: Path) -> None:
    server.fail(UPLOAD_PATH, 429, {"message": "Too Many Requests"}, headers={"Retry-After": "0"})
    server.fail(STATUS_PATH, 503, {"message": "Service Unavailable"}, times=2)
    run(server, async_context(short_wav))
    assert [r.status for r in server.to(UPLOAD_PATH)] == [429, 200]
    assert [r.status for r in server.to(STATUS_PATH)] == [503, 503, 200, 200]


def test_persistent_5xx_reports_the_service_message(server: FakeBotlhale,
                                                    short_wav: Path) -> None:
    server.fail(STATUS_PATH, 502, {"message": "Upstream recogniser unavailable"}, times=10)
    error = failure(server, async_context(short_wav))
    assert isinstance(error, ServiceRejected) and error.status == 502
    assert str(error) == ("Botlhale rejected GET /asr/async/status (status 502): "
                          "Upstream recogniser unavailable")
    assert len(server.to(STATUS_PATH)) == FAST_RETRY.attempts


def test_a_sync_post_is_not_repeated_after_a_500(server: FakeBotlhale, short_wav: Path) -> None:
    # The clip may have been transcribed (and billed) already: say so, do not send it again.
    server.fail(SYNC_PATH, 500, {"message": "Internal server error"}, times=10)
    error = failure(server, RecordingContext(short_wav))
    assert isinstance(error, ServiceRejected) and error.status == 500
    assert server.paths() == [SYNC_PATH]


def test_a_busy_sync_endpoint_is_asked_again(server: FakeBotlhale, short_wav: Path) -> None:
    server.fail(SYNC_PATH, 503, {"message": "Service Unavailable"})
    transcript = run(server, RecordingContext(short_wav))
    assert [r.status for r in server.requests] == [503, 200]
    assert transcript.text and server.requests[1].files[0].size == server.requests[0].files[0].size


def test_a_slow_reply_times_out(server: FakeBotlhale, short_wav: Path) -> None:
    server.delays[STATUS_PATH] = 30  # cut short when the server stops
    error = failure(server, async_context(short_wav), timeout=0.3,
                    retry=RetryPolicy(attempts=1))
    assert isinstance(error, ConnectionFailed)
    assert "no answer to GET /asr/async/status within 0.3 s" in str(error)


def test_malformed_json_is_a_protocol_error(server: FakeBotlhale, short_wav: Path) -> None:
    server.fail(STATUS_PATH, 200, '{"status": ')
    error = failure(server, async_context(short_wav))
    assert isinstance(error, RemoteProtocolError)
    assert "Botlhale: GET /asr/async/status reply is not JSON" in str(error)


@pytest.mark.parametrize(("path", "body", "expected"), [
    (UPLOAD_PATH, {"upload_url": "ftp://bucket/", "fields": {"key": "k"}}, "'upload_url'"),
    (STATUS_PATH, {"status": "sleeping"}, "'status' is not a known job status"),
    (DATA_V2_PATH, {"audio_length": 1.0, "timestamps": {"start": 0}}, "'timestamps'"),
    (SYNC_PATH, {"text": 42}, "'text' is not a string"),
])
def test_a_wrong_shape_names_the_field(server: FakeBotlhale, short_wav: Path, path: str,
                                       body: Any, expected: str) -> None:
    server.fail(path, 200, body)
    mode = "sync" if path == SYNC_PATH else "async"
    error = failure(server, RecordingContext(
        short_wav, JobOptions(vendor=BotlhaleOptions(mode=mode))))
    assert isinstance(error, RemoteProtocolError) and expected in str(error)


# --- input files ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "content"), [
    ("broken.wav", b"RIFF\x00\x00\x00\x00WAVEjunk"),
    ("notes.txt", b"not audio at all"),
])
def test_an_unreadable_file_fails_before_any_request(server: FakeBotlhale, tmp_path: Path,
                                                     name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = failure(server, RecordingContext(path))
    assert isinstance(error, UnsupportedInput) and name in str(error)
    assert server.requests == []


def write_m4a(path: Path, rate: int, seconds: float) -> None:
    samples = tone(seconds, rate, amplitude=0.3)[:, 0]
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 1024],
                                               format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.mark.parametrize(("name", "mode", "rate", "sent_rate"), [
    ("memo.mp3", "sync", 22_050, "22050"),
    ("memo.m4a", "async", 44_100, "44100"),
    ("memo.wav", "sync", 96_000, "16000"),  # over 48 kHz: resampled
])
def test_other_formats_are_sent_as_temporary_flac(server: FakeBotlhale, tmp_path: Path,
                                                  tmp_dir: Path, name: str, mode: str,
                                                  rate: int, sent_rate: str) -> None:
    source = tmp_path / name
    if name.endswith(".m4a"):
        write_m4a(source, rate, 2.0)
    elif name.endswith(".mp3"):
        soundfile.write(source, tone(2.0, rate, amplitude=0.3), rate, format="MP3",
                        subtype="MPEG_LAYER_III")
    else:
        soundfile.write(source, tone(2.0, rate, amplitude=0.3), rate)
    run(server, RecordingContext(source, JobOptions(vendor=BotlhaleOptions(mode=mode))))

    request = server.to(SYNC_PATH if mode == "sync" else BUCKET_PATH)[0]
    (part,) = request.files
    assert (part.magic, part.content_type) == ("flac", "audio/flac")
    rates = server.to(UPLOAD_PATH)[0].form if mode == "async" else request.form
    assert rates["sample_rate"] == sent_rate
    if mode == "sync":
        assert part.filename == "memo.flac"
    assert list(tmp_dir.iterdir()) == []  # the converted copy is gone


def test_a_converted_copy_is_deleted_when_the_job_fails(server: FakeBotlhale, tmp_path: Path,
                                                        tmp_dir: Path) -> None:
    source = tmp_path / "memo.mp3"
    soundfile.write(source, tone(2.0, 22_050, amplitude=0.3), 22_050, format="MP3",
                    subtype="MPEG_LAYER_III")
    server.fail(SYNC_PATH, 400, {"message": "Unsupported language"})
    error = failure(server, RecordingContext(source))
    assert isinstance(error, ServiceRejected) and "Unsupported language" in str(error)
    assert server.to(SYNC_PATH)[0].files[0].magic == "flac"
    assert list(tmp_dir.iterdir()) == []
