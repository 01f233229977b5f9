"""Pure tests of the Botlhale REST protocol: no sockets, no event loop."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dictation_app.core.errors import (
    ConfigurationError,
    LocalProtocolError,
    RemoteProtocolError,
    UnsupportedInput,
)
from dictation_app.protocols import botlhale as b
from dictation_app.protocols.botlhale import ApiVersion, JobStatus
from tests.servers.botlhale_server import data_v1_body, data_v2_body, sync_body

# The seeds' examples, hand-corrected to valid JSON (placeholders made concrete). The
# sync and data replies are the ones the fake server sends: one copy of each.
SYNC_REPLY = sync_body()

UPLOAD_REPLY_V1: dict[str, Any] = {
    "fields": {
        "AWSAccessKeyId": "AKIAEXAMPLE",
        "key": "asr_a7ki4qpZ0635_zu-ZA_16000_19y3NDgP76m4.wav",
        "policy": "cG9saWN5",
        "signature": "c2lnbmF0dXJl",
        "x-amz-security-token": "SECRET-SESSION-TOKEN",
    },
    "url": "https://botlhale-api-asr-async.s3.amazonaws.com/",
}

UPLOAD_REPLY_V2: dict[str, Any] = {
    "upload_url": "https://s3-bucket-url.com/presigned-upload-link",
    "fields": {
        "key": "asr_uploads/audio_123456.wav",
        "AWSAccessKeyId": "AKIA...",
        "policy": "base64-encoded-policy",
        "signature": "signature-string",
    },
    "expires_in": 3600,
}

STATUS_V1_RUNNING = {"data": [{"OrgID": "BotlhaleAI999", "id": 207891841473145364,
                               "process": "x.wav", "processTime": "", "status": "running"}]}
STATUS_V2_RUNNING = {"status": "running", "location": "location", "inference_id": "org_98765"}
STATUS_V2_DONE = {"status": "completed", "location": "location", "inference_id": "org_98765"}

DATA_V1 = data_v1_body()
DATA_V2 = data_v2_body()


def rejects(match: str) -> Any:
    return pytest.raises(RemoteProtocolError, match=match)


# --- requests ------------------------------------------------------------------


def test_token_request_and_its_repr_hides_the_refresh_token() -> None:
    request = b.token_request(" r3fresh-SECRET ")
    assert (request.method, request.path) == ("POST", "/auth/generate")
    assert request.form == {"refresh_token": "r3fresh-SECRET"}
    assert request.params == {}
    assert "SECRET" not in repr(request)
    with pytest.raises(ConfigurationError, match="refresh token"):
        b.token_request("  ")


def test_sync_request_form_fields() -> None:
    request = b.sync_request(language_code="zu-ZA", sample_rate=16000, redact=True)
    assert (request.method, request.path) == ("POST", "/asr")
    assert request.form == {"language_code": "zu-ZA", "sample_rate": "16000", "redact": "True"}
    assert b.sync_request().form == {}
    assert b.SYNC_FILE_FIELD == "speech_file"


@pytest.mark.parametrize("rate", [7999, 48001, 0, True, 16000.0])
def test_sample_rate_outside_8_to_48_khz_is_refused(rate: Any) -> None:
    with pytest.raises(UnsupportedInput, match="8000 to 48000"):
        b.sync_request(sample_rate=rate)


def test_sample_rate_bounds_are_inclusive() -> None:
    assert b.check_sample_rate(8000) == 8000
    assert b.check_sample_rate(48000) == 48000


def test_upload_request_v2_uses_lower_case_names() -> None:
    request = b.upload_request(ApiVersion.V2, org_id="BotlhaleAI999", language_code="en-ZA",
                               diarization=True, voice_id="v1", notify_url="https://n/")
    assert (request.method, request.path) == ("POST", "/asr/async/upload")
    assert request.form == {"org_id": "BotlhaleAI999", "sample_rate": "16000",
                            "language_code": "en-ZA", "diarization": "True",
                            "voice_id": "v1", "notify_url": "https://n/"}


def test_upload_request_v2_org_id_is_optional() -> None:
    request = b.upload_request(ApiVersion.V2, org_id=None, sample_rate=8000)
    assert request.form == {"sample_rate": "8000", "diarization": "False"}


def test_upload_request_v1_uses_capitalised_names() -> None:
    request = b.upload_request(ApiVersion.V1, org_id="Org", language_code="zu-ZA",
                               sample_rate=44100)
    assert request.form == {"OrgID": "Org", "SampleRate": "44100", "LanguageCode": "zu-ZA",
                            "Diarization": "False"}


def test_upload_request_v1_needs_org_id_and_knows_no_notify_url() -> None:
    with pytest.raises(ConfigurationError, match="organisation ID"):
        b.upload_request(ApiVersion.V1, org_id=" ")
    with pytest.raises(LocalProtocolError, match="notify_url"):
        b.upload_request(ApiVersion.V1, org_id="Org", notify_url="https://n/")


def test_status_and_data_requests_per_version() -> None:
    v2 = b.status_request(ApiVersion.V2, org_id="Org", filename="Org/asr_1.wav")
    assert (v2.method, v2.path, v2.params) == (
        "GET", "/asr/async/status", {"org_id": "Org", "filename": "Org/asr_1.wav"})
    v1 = b.status_request(ApiVersion.V1, org_id="Org", filename="asr_1.wav")
    assert v1.params == {"OrgID": "Org", "FileName": "asr_1.wav"}
    d2 = b.data_request(ApiVersion.V2, org_id="Org", filename="asr_1.wav")
    assert (d2.path, d2.params) == ("/asr/async/data", {"org_id": "Org", "filename": "asr_1.wav"})
    d1 = b.data_request(1, org_id="Org", filename="asr_1.wav")  # type: ignore[arg-type]
    assert (d1.path, d1.params) == ("/asr/async/getdata", {"OrgID": "Org", "FileName": "asr_1.wav"})


def test_status_request_needs_org_id_and_filename() -> None:
    with pytest.raises(ConfigurationError, match="organisation ID"):
        b.status_request(ApiVersion.V2, org_id="", filename="f")
    with pytest.raises(LocalProtocolError, match="filename"):
        b.data_request(ApiVersion.V2, org_id="Org", filename=" ")


# --- limits and mode -----------------------------------------------------------


def test_limits() -> None:
    assert b.SYNC_MAX_SECONDS == 60
    assert b.ASYNC_MAX_SECONDS == 24_000
    assert sorted(b.SYNC_FORMATS) == ["amr", "flac", "ogg", "wav"]
    assert (b.MIN_SAMPLE_RATE, b.MAX_SAMPLE_RATE) == (8000, 48000)


@pytest.mark.parametrize(("duration", "requested", "mode"), [
    (0, "auto", "sync"), (60, "auto", "sync"), (60.01, "auto", "async"),
    (10, "async", "async"), (60, "sync", "sync"), (24_000, "auto", "async"),
])
def test_choose_mode(duration: float, requested: str, mode: str) -> None:
    assert b.choose_mode(duration, requested) == mode


def test_choose_mode_refuses_forced_sync_on_long_files() -> None:
    with pytest.raises(ConfigurationError, match="sync mode takes at most 60 s"):
        b.choose_mode(61, "sync")


@pytest.mark.parametrize("requested", ["auto", "sync", "async"])
def test_choose_mode_refuses_files_over_400_minutes(requested: str) -> None:
    with pytest.raises(ConfigurationError, match="at most 400 minutes"):
        b.choose_mode(24_000.5, requested)


@pytest.mark.parametrize(("duration", "requested"),
                         [(float("nan"), "auto"), (-1, "auto"), (5, "fast")])
def test_choose_mode_refuses_nonsense(duration: float, requested: str) -> None:
    with pytest.raises(ConfigurationError):
        b.choose_mode(duration, requested)


def test_check_sync_format() -> None:
    assert b.check_sync_format(".WAV") == "wav"
    assert b.check_sync_format("ogg") == "ogg"
    with pytest.raises(UnsupportedInput, match="mp3"):
        b.check_sync_format("mp3")


# --- token ---------------------------------------------------------------------


def test_token_reply() -> None:
    token = b.parse_token_reply({"token": "eyJ.SECRET", "expires": 3600})
    assert (token.token, token.expires_in) == ("eyJ.SECRET", 3600.0)
    assert "SECRET" not in repr(token)


def test_token_reply_variants() -> None:
    assert b.parse_token_reply({"token": "t", "expires": "86400"}).expires_in == 86400.0
    assert b.parse_token_reply({"token": "t", "expires_in": 60}).expires_in == 60.0
    assert b.parse_token_reply({"token": "t"}).expires_in is None


@pytest.mark.parametrize(("body", "field"), [
    ({"expires": 3600}, "'token'"),
    ({"token": 12, "expires": 3600}, "'token'"),
    ({"token": "t", "expires": "soon"}, "'expires'"),
    ({"token": "t", "expires": True}, "'expires'"),
    ({"token": "t", "expires": -5}, "'expires'"),
    (["token"], "'\\(body\\)'"),
])
def test_token_reply_rejections(body: Any, field: str) -> None:
    with rejects(f"Botlhale: POST /auth/generate reply: {field}"):
        b.parse_token_reply(body)


def test_token_errors_never_echo_the_token() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        b.parse_token_reply({"token": "   ", "expires": "x"})
    assert "token" in str(info.value)


# --- sync ----------------------------------------------------------------------


def test_sync_reply_from_the_seed() -> None:
    transcript = b.parse_sync_reply(SYNC_REPLY, file="beer.wav")
    assert transcript.provider == "botlhale"
    assert transcript.file == "beer.wav"
    assert transcript.language == "en-ZA"
    assert transcript.duration == pytest.approx(3.3467120181405896)
    assert transcript.text == "The stale smell of old beer lingers."
    (segment,) = transcript.segments
    assert (segment.start, segment.end, segment.speaker, segment.words) == (
        0.0, transcript.duration, None, ())
    assert transcript.extra("id") == "N5bliIh2i7MP9K5"
    assert transcript.extra("redacted_text") == "The stale smell of old beer lingers."
    assert transcript.extra("processing_seconds") == pytest.approx(1.5026299953460693)


def test_sync_reply_minimal_and_string_numbers() -> None:
    transcript = b.parse_sync_reply({"text": "", "audio_length": "2.5", "time": "0.3"})
    assert (transcript.duration, transcript.language, transcript.segments) == (2.5, None, ())
    assert transcript.to_json_dict()["segments"] == []


@pytest.mark.parametrize(("patch", "field"), [
    ({"text": None}, "text"), ({"text": 5}, "text"), ({"audio_length": "long"}, "audio_length"),
    ({"audio_length": [1]}, "audio_length"), ({"language_code": 1}, "language_code"),
    ({"time": float("inf")}, "time"),
])
def test_sync_reply_rejections(patch: dict[str, Any], field: str) -> None:
    body = {**SYNC_REPLY, **patch}
    with rejects(f"Botlhale: POST /asr reply: '{field}'"):
        b.parse_sync_reply(body)


# --- upload --------------------------------------------------------------------


@pytest.mark.parametrize(("body", "url", "key"), [
    (UPLOAD_REPLY_V1, "https://botlhale-api-asr-async.s3.amazonaws.com/",
     "asr_a7ki4qpZ0635_zu-ZA_16000_19y3NDgP76m4.wav"),
    (UPLOAD_REPLY_V2, "https://s3-bucket-url.com/presigned-upload-link",
     "asr_uploads/audio_123456.wav"),
])
def test_upload_reply_both_generations(body: dict[str, Any], url: str, key: str) -> None:
    post = b.parse_upload_reply(body)
    assert (post.url, post.key) == (url, key)
    assert post.fields == body["fields"]
    assert post.fields is not body["fields"]
    assert "SECRET" not in repr(post) and "signature" not in repr(post)


def test_upload_reply_expiry() -> None:
    assert b.parse_upload_reply(UPLOAD_REPLY_V2).expires_in == 3600.0
    assert b.parse_upload_reply(UPLOAD_REPLY_V1).expires_in is None


def test_upload_reply_prefers_upload_url() -> None:
    body = {**UPLOAD_REPLY_V2, "url": "https://old.example/"}
    assert b.parse_upload_reply(body).url == UPLOAD_REPLY_V2["upload_url"]


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("upload_url"), "'upload_url'"),
    (lambda d: d.update(upload_url="ftp://x/"), "'upload_url'"),
    (lambda d: d.update(upload_url=None), "'upload_url'"),
    (lambda d: d.pop("fields"), "'fields'"),
    (lambda d: d.update(fields=[["key", "x"]]), "'fields'"),
    (lambda d: d["fields"].pop("key"), "'fields.key'"),
    (lambda d: d["fields"].update(key=""), "'fields.key'"),
    (lambda d: d["fields"].update(policy=123), "'fields.policy'"),
    (lambda d: d.update(expires_in="soon"), "'expires_in'"),
])
def test_upload_reply_rejections(mutate: Any, field: str) -> None:
    body = copy.deepcopy(UPLOAD_REPLY_V2)
    mutate(body)
    with rejects(f"Botlhale: POST /asr/async/upload reply: {field}"):
        b.parse_upload_reply(body)


def test_upload_reply_rejection_does_not_echo_field_values() -> None:
    body = copy.deepcopy(UPLOAD_REPLY_V1)
    body["fields"]["x-amz-security-token"] = ["SECRET-SESSION-TOKEN"]
    with pytest.raises(RemoteProtocolError) as info:
        b.parse_upload_reply(body)
    assert "SECRET" not in str(info.value)
    assert "x-amz-security-token" in str(info.value)


def test_upload_reply_v1_url_error_names_url() -> None:
    body = {**UPLOAD_REPLY_V1, "url": 7}
    with rejects("'url'"):
        b.parse_upload_reply(body)


# --- status --------------------------------------------------------------------


@pytest.mark.parametrize(("body", "status", "raw"), [
    (STATUS_V1_RUNNING, JobStatus.RUNNING, "running"),
    (STATUS_V2_RUNNING, JobStatus.RUNNING, "running"),
    (STATUS_V2_DONE, JobStatus.COMPLETED, "completed"),
    ({"data": [{"status": "complete"}]}, JobStatus.COMPLETED, "complete"),
    ({"status": "Completed"}, JobStatus.COMPLETED, "Completed"),
    ({"status": "failed"}, JobStatus.FAILED, "failed"),
    ({"data": [{"status": "error"}]}, JobStatus.FAILED, "error"),
])
def test_status_reply_both_generations(body: dict[str, Any], status: JobStatus, raw: str) -> None:
    reply = b.parse_status_reply(body)
    assert (reply.status, reply.raw) == (status, raw)


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "exploded"}, "'status' is not a known job status"),
    ({"status": 1}, "'status'"),
    ({"data": []}, "'data' is empty"),
    ({"data": ["running"]}, "'data\\[0\\]'"),
    ({"data": [{"state": "running"}]}, "'data\\[0\\].status'"),
    ({"location": "x"}, "'status' is missing"),
    ("running", "'\\(body\\)'"),
])
def test_status_reply_rejections(body: Any, field: str) -> None:
    with rejects(f"Botlhale: GET /asr/async/status reply: {field}"):
        b.parse_status_reply(body)


# --- data ----------------------------------------------------------------------


def test_data_reply_v1_converts_milliseconds_to_seconds() -> None:
    transcript = b.parse_data_reply(DATA_V1, version=ApiVersion.V1, file="talk.wav")
    assert transcript.duration == 30.0  # given as the string "30.0"
    assert transcript.language == "nso-ZA"
    assert transcript.text == "Dumela mma Ke a leboga"
    first, second = transcript.segments
    assert first.start == pytest.approx(0.66)
    assert first.end == pytest.approx(1.26)
    assert (first.speaker, first.text, first.words) == ("speaker_0", "Dumela mma", ())
    assert second.start == pytest.approx(1.26)
    assert second.end == pytest.approx(2.31)
    assert transcript.extra("processing_seconds") == pytest.approx(10.914484739303589)


def test_data_reply_v2_keeps_redaction_and_emotion_aside() -> None:
    transcript = b.parse_data_reply(DATA_V2, file="call.wav")
    assert transcript.duration == 293.52
    assert transcript.language == "English"
    first, last = transcript.segments
    assert first.start == pytest.approx(1.1120543293718165)
    assert first.end == pytest.approx(4.083191850594227)
    assert last.start == pytest.approx(291.28183361629886)
    assert last.end == pytest.approx(292.9796264855688)
    assert first.speaker == "SPEAKER_00"
    assert first.text.endswith("Nick from Kuru.")
    assert first.extra("redaction") == ("Hello, good day. You're speaking to <PERSON> "
                                        "from <LOCATION>.")
    assert first.extra("emotion") == "neu"
    assert first.extra("translation") is None  # "-" means none
    json_dict = transcript.to_json_dict()
    assert set(json_dict["segments"][0]) == {"start", "end", "speaker", "text", "words"}
    assert json_dict["segments"][0]["words"] == []


def test_data_reply_variants() -> None:
    body = {"audio_length": 5, "time": 1.25, "timestamps": [
        {"start": "0", "end": "1500.5", "transcription": " a ", "speaker": None},
        {"start": 1500, "end": 2000, "transcription": "", "speaker": 3},
    ]}
    transcript = b.parse_data_reply(body)
    assert transcript.text == "a"
    assert [(s.start, s.end, s.speaker) for s in transcript.segments] == [
        (0.0, 1.5005, None), (1.5, 2.0, "3")]
    assert transcript.language is None
    assert transcript.extra("processing_seconds") == 1.25
    assert b.parse_data_reply({"timestamps": []}).segments == ()


def test_data_reply_language_is_the_most_frequent() -> None:
    body = {"timestamps": [
        {"start": 0, "end": 1, "transcription": "a", "language": "zu-ZA"},
        {"start": 1, "end": 2, "transcription": "b", "language": "en-ZA"},
        {"start": 2, "end": 3, "transcription": "c", "language": "en-ZA"},
    ]}
    assert b.parse_data_reply(body).language == "en-ZA"


@pytest.mark.parametrize(("patch", "field"), [
    ({"timestamps": None}, "'timestamps'"),
    ({"timestamps": {"start": 0}}, "'timestamps'"),
    ({"timestamps": [5]}, "'timestamps\\[0\\]'"),
    ({"timestamps": [{"end": 1, "transcription": "a"}]}, "'timestamps\\[0\\].start' is missing"),
    ({"timestamps": [{"start": "<float>", "end": 1, "transcription": "a"}]},
     "'timestamps\\[0\\].start' is not a number"),
    ({"timestamps": [{"start": 0, "end": True, "transcription": "a"}]},
     "'timestamps\\[0\\].end'"),
    ({"timestamps": [{"start": 5, "end": 1, "transcription": "a"}]},
     "'timestamps\\[0\\].end' is before"),
    ({"timestamps": [{"start": 0, "end": 1}]}, "'timestamps\\[0\\].transcription'"),
    ({"timestamps": [{"start": 0, "end": 1, "transcription": "a", "speaker": [0]}]},
     "'timestamps\\[0\\].speaker'"),
    ({"audio_length": "thirty"}, "'audio_length'"),
    ({"time": {"recognition": "x"}}, "'time.recognition'"),
    ({"status": "running"}, "'status' is 'running'"),
    ({"status": "weird"}, "'status' is not a known"),
])
def test_data_reply_rejections(patch: dict[str, Any], field: str) -> None:
    body = {**copy.deepcopy(DATA_V1), **patch}
    with rejects(f"Botlhale: GET /asr/async/data reply: {field}"):
        b.parse_data_reply(body)


def test_data_reply_errors_name_the_v1_endpoint() -> None:
    with rejects("GET /asr/async/getdata reply: 'timestamps'"):
        b.parse_data_reply({}, version=ApiVersion.V1)


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message", "code"), [
    ({"message": "Unauthorized"}, "Unauthorized", None),
    ({"error": "invalid org", "code": 400}, "invalid org", "400"),
    ({"error": {"message": "file too long", "code": "E12"}}, "file too long", "E12"),
    ({"detail": ["bad", "worse"]}, "bad; worse", None),
    ({"Message": "User is not authorized"}, "User is not authorized", None),
    ("Internal Server Error", "Internal Server Error", None),
    ("", None, None),
    (None, None, None),
    ([1, 2], None, None),
    ({"status": True}, None, None),
])
def test_error_reply(body: Any, message: str | None, code: str | None) -> None:
    assert b.parse_error_reply(body) == b.ErrorReply(message, code)
