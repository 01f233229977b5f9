"""Pure tests of the Bahasakita upload protocol: no sockets, no event loop."""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

import pytest

from dictation_app.core.errors import (
    ConfigurationError,
    LocalProtocolError,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.protocols import bahasakita_upload as u
from dictation_app.protocols.bahasakita_upload import ContentState
from dictation_app.protocols.transcript import Word

UUID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
CONTENT = f"GET /v2/prod/stt/async/content/{UUID}"
SRT = "1\n00:00:00,000 --> 00:00:01,500\nhalo nama saya\n"

# The vendor's examples with their placeholders filled in.
UPLOAD_REPLY: dict[str, Any] = {"bk": {
    "data": {"source_language": "detect", "target_language": "id", "diarization": True,
             "subtitle_cc": True, "check_summary": False, "uuid": UUID, "quota": 120},
    "message_status": "success"}}

SUCCESS_REPLY: dict[str, Any] = {"bk": {
    "data": {
        "target_language": "id", "uuid": UUID, "total_segments": 2,
        "transcripts": [
            {"text": "halo nama saya", "text_confidence": 0.9, "start_time": 0.0,
             "end_time": 1.5, "speaker": "speaker_01",
             "words": [{"score": 0.9, "word": "halo", "from": 0.0, "length": 0.25},
                       {"score": 0.8, "word": "nama", "from": 0.5, "length": 0.5},
                       {"score": 0.7, "word": "saya", "from": 1.0, "length": 0.5}]},
            {"text": " terima kasih ", "start_time": 2.0, "end_time": 3.0, "speaker": 2,
             "words": []},
        ],
        "subtitle_cc": base64.b64encode(SRT.encode()).decode(),
    },
    "message_status": "success"}}


def success(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SUCCESS_REPLY)
    body["bk"]["data"].update(changes)
    return body


def with_segment(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SUCCESS_REPLY)
    body["bk"]["data"]["transcripts"][0].update(changes)
    return body


def with_word(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SUCCESS_REPLY)
    body["bk"]["data"]["transcripts"][0]["words"][0].update(changes)
    return body


def content(body: object, **kwargs: Any) -> u.ContentStatus:
    return u.parse_content_reply(body, uuid=UUID, **kwargs)


def rejects(endpoint: str, field: str) -> Any:
    """A RemoteProtocolError naming the service, the endpoint and the field."""
    return pytest.raises(RemoteProtocolError,
                         match=rf"^Bahasakita upload: {endpoint} reply: '{re.escape(field)}' ")


# --- requests ------------------------------------------------------------------


def upload_form(**kwargs: Any) -> dict[str, str]:
    request = u.upload_request(**kwargs)
    assert (request.method, request.path) == ("POST", "/v2/prod/stt/async/upload")
    return request.form


def test_upload_form_defaults_to_detecting_the_language() -> None:
    form = upload_form(language=None, diarization=False, subtitle=False, priority="reguler")
    assert form == {"source_language": "detect", "diarization": "False",
                    "subtitle_cc": "False", "priority": "reguler"}


def test_upload_form_spells_booleans_as_the_vendor_client_does_and_shortens_bcp47() -> None:
    form = upload_form(language="id-ID", diarization=True, subtitle=True, priority="high",
                       target_language="EN_us")
    assert form == {"source_language": "id", "target_language": "en", "diarization": "True",
                    "subtitle_cc": "True", "priority": "high"}


@pytest.mark.parametrize("language", ["", "  "])
def test_upload_form_blank_language_is_detect(language: str) -> None:
    form = upload_form(language=language, diarization=False, subtitle=False,
                       priority="reguler", target_language=" ")
    assert form["source_language"] == "detect"
    assert "target_language" not in form


@pytest.mark.parametrize("priority", ["regular", "HIGH", "", "low"])
def test_upload_form_refuses_other_priorities(priority: str) -> None:
    with pytest.raises(ConfigurationError, match="high or reguler"):
        u.upload_request(language=None, diarization=False, subtitle=False, priority=priority)


def test_change_priority_body_is_the_documented_envelope() -> None:
    request = u.change_priority_request(f" {UUID} ", "high")
    assert (request.method, request.path, request.form) == (
        "POST", "/v2/prod/stt/changePriority", {})
    assert request.json == {"bk": {"data": {"uuid": UUID, "priority": "high"}}}
    with pytest.raises(ConfigurationError, match="high or reguler"):
        u.change_priority_request(UUID, "urgent")


@pytest.mark.parametrize("uuid", ["", " ", "../monitoring", "a/b", "a?b=1", "a#b", "a b"])
def test_a_uuid_that_would_change_the_path_is_refused(uuid: str) -> None:
    with pytest.raises(LocalProtocolError, match="is not a job uuid"):
        u.content_path(uuid)
    with pytest.raises(LocalProtocolError, match="is not a job uuid"):
        u.content_request(uuid)
    with pytest.raises(LocalProtocolError):
        u.change_priority_request(uuid, "high")


def test_content_path() -> None:
    assert u.content_path(UUID) == f"/v2/prod/stt/async/content/{UUID}"
    assert u.content_request(UUID).path == f"/v2/prod/stt/async/content/{UUID}"
    assert u.content_request(UUID).method == "GET"


# --- upload reply --------------------------------------------------------------


@pytest.mark.parametrize("body", [
    UPLOAD_REPLY,
    json.loads(json.dumps(UPLOAD_REPLY)),  # as the transport decodes it
    {"bk": {"data": {"uuid": f"  {UUID}\n"}}},  # no status at all
    {"bk": {"data": {"uuid": UUID}, "message_status": "inquery"}},
    {"bk": {"data": {"uuid": UUID, "message_status": "Upload OK"}}},  # free text beside a uuid
    {"bk": {"uuid": UUID, "message_status": "success"}},  # uuid beside data
])
def test_upload_reply_gives_the_uuid(body: object) -> None:
    assert u.parse_upload_reply(body) == UUID


@pytest.mark.parametrize(("body", "message"), [
    ({"bk": {"message_status": "Quota is not enough"}}, "Quota is not enough"),
    ({"bk": {"data": {"message_status": "File format not supported"}}},
     "File format not supported"),
    ({"bk": {"data": {"uuid": UUID}, "message_status": "failed",
             "message": "Audio is too long"}}, "Audio is too long"),
    ({"bk": {"message_status": "FAILED"}}, "FAILED"),
])
def test_upload_reply_with_the_services_refusal_is_rejected(body: object, message: str) -> None:
    with pytest.raises(ServiceRejected) as caught:
        u.parse_upload_reply(body)
    assert caught.value.server_message == message
    assert str(caught.value).startswith(
        "Bahasakita upload rejected POST /v2/prod/stt/async/upload: ")


UPLOAD = "POST /v2/prod/stt/async/upload"


@pytest.mark.parametrize(("body", "field"), [
    ([], "(body)"),
    ("[1]", "(body)"),
    ({}, "bk"),
    ({"bk": "x"}, "bk"),
    ({"bk": {}}, "bk.data"),
    ({"bk": {"message_status": "success"}}, "bk.data"),
    ({"bk": {"data": [UUID], "message_status": "success"}}, "bk.data"),
    ({"bk": {"data": {}, "message_status": "success"}}, "bk.data.uuid"),
    ({"bk": {"data": {"uuid": None}}}, "bk.data.uuid"),
    ({"bk": {"data": {"uuid": 42}}}, "bk.data.uuid"),
    ({"bk": {"data": {"uuid": "a/b"}}}, "bk.data.uuid"),
    ({"bk": {"data": {"uuid": ""}}}, "bk.data.uuid"),
    ({"bk": {"uuid": ["x"]}}, "bk.uuid"),
    ({"bk": {"data": {"uuid": UUID}, "message_status": 200}}, "bk.message_status"),
])
def test_upload_reply_rejections(body: object, field: str) -> None:
    with rejects(UPLOAD, field):
        u.parse_upload_reply(body)


# A body that is not JSON never reaches a parser: the transport refuses it, quoting it
# with the token masked (tests/transport/test_http.py). What does reach one is a JSON
# value that is not the envelope, a bare string included.
@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", None, 42, [UPLOAD_REPLY],
                                  b"{}"])
def test_upload_reply_that_is_no_json_object(body: object) -> None:
    with pytest.raises(RemoteProtocolError,
                       match=rf"^Bahasakita upload: {UPLOAD} reply: '\(body\)' is not a JSON"):
        u.parse_upload_reply(body)


# --- content reply: states -----------------------------------------------------


@pytest.mark.parametrize(("body", "state", "progress"), [
    ({"bk": {"message_status": "inquery"}}, ContentState.QUEUED, None),
    ({"bk": {"data": {"uuid": UUID, "transcripts": []}, "message_status": "inquery"}},
     ContentState.QUEUED, None),
    ({"bk": {"message_status": "In Query"}}, ContentState.QUEUED, None),
    ({"bk": {"message_status": "inprogress", "progress": 42.5}}, ContentState.PROCESSING, 42.5),
    ({"bk": {"message_status": "inprogress", "progress": None}}, ContentState.PROCESSING, None),
    ({"bk": {"message_status": "inprogress"}}, ContentState.PROCESSING, None),
    ({"bk": {"message_status": "INPROGRESS", "progress": "17"}}, ContentState.PROCESSING, 17.0),
    ({"bk": {"message_status": "in_progress", "progress": " 33.3% "}},
     ContentState.PROCESSING, 33.3),
    ({"bk": {"message_status": "in-progress", "progress": 7}}, ContentState.PROCESSING, 7.0),
    ({"bk": {"data": {"progress": 64}, "message_status": "inprogress"}},
     ContentState.PROCESSING, 64.0),
    ({"bk": {"data": {"progress": 64, "message_status": "inprogress"}}},
     ContentState.PROCESSING, 64.0),
    ({"bk": {"message_status": "inprogress", "progress": 130}}, ContentState.PROCESSING, 100.0),
    ({"bk": {"message_status": "inprogress", "progress": -1}}, ContentState.PROCESSING, 0.0),
    ({"bk": {"message_status": "process", "progress": ""}}, ContentState.PROCESSING, None),
])
def test_waiting_and_running_states(body: object, state: ContentState,
                                    progress: float | None) -> None:
    status = content(body)
    assert status == u.ContentStatus(state, progress)


@pytest.mark.parametrize(("body", "message"), [
    ({"bk": {"data": {"uuid": UUID}, "message_status": "failed", "message": "no speech"}},
     "no speech"),
    ({"bk": {"data": {"uuid": UUID, "error": " audio corrupt "}, "message_status": "Failed"}},
     "audio corrupt"),
    ({"bk": {"data": {"message_status": "process failed", "reason": "timeout"}}}, "timeout"),
    ({"bk": {"message_status": "failed"}}, None),
])
def test_failed_job_carries_the_services_reason(body: object, message: str | None) -> None:
    status = content(body)
    assert status.state is ContentState.FAILED
    assert status.message == message
    assert status.transcript is None


# --- content reply: the transcript ---------------------------------------------


def test_success_reply_gives_segments_speakers_words_and_subtitle() -> None:
    status = content(SUCCESS_REPLY, file="/home/ayu/rapat.wav", language="en")
    assert status.state is ContentState.COMPLETED
    assert status.progress == 100.0
    assert status.subtitle == SRT.encode()
    assert status.message is None
    t = status.transcript
    assert t is not None
    assert (t.provider, t.file, t.language, t.duration) == ("bahasakita", "/home/ayu/rapat.wav",
                                                           "id", None)
    assert t.text == "halo nama saya terima kasih"
    assert t.extra("uuid") == UUID
    first, second = t.segments
    assert (first.start, first.end, first.speaker, first.text) == (0.0, 1.5, "speaker_01",
                                                                   "halo nama saya")
    assert first.extra("text_confidence") == 0.9
    assert first.words == (Word("halo", 0.0, 0.25, 0.9), Word("nama", 0.5, 1.0, 0.8),
                           Word("saya", 1.0, 1.5, 0.7))
    assert (second.speaker, second.text, second.words, second.extras) == (
        "2", "terima kasih", (), ())


def test_process_success_and_status_in_data_are_completed() -> None:
    body = copy.deepcopy(SUCCESS_REPLY)
    del body["bk"]["message_status"]
    body["bk"]["data"]["message_status"] = "Process Success"
    status = content(json.loads(json.dumps(body)))
    assert status.state is ContentState.COMPLETED
    assert status.transcript is not None and len(status.transcript.segments) == 2


@pytest.mark.parametrize(("changes", "language"), [
    ({"target_language": None}, "en"),  # the job's choice
    ({"target_language": "detect"}, "en"),
    ({"target_language": None, "source_language": "jv"}, "jv"),
    ({"target_language": "", "language": "su-ID"}, "su"),
    ({"target_language": "ID"}, "id"),
])
def test_language_from_the_reply_else_the_jobs_choice(changes: dict[str, Any],
                                                      language: str) -> None:
    status = content(success(**changes), language="en-GB")
    assert status.transcript is not None and status.transcript.language == language


def test_no_language_anywhere_is_none() -> None:
    status = content(success(target_language=None))
    assert status.transcript is not None and status.transcript.language is None


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("1.25", "2", (1.25, 2.0)),
    ("00:01:02.500", "00:01:04.000", (62.5, 64.0)),
    ("01:02,5", "1:03", (62.5, 63.0)),
    ("1:00:00", "1:00:01.25", (3600.0, 3601.25)),
    (None, "", (None, None)),
    (3, 3, (3.0, 3.0)),
])
def test_segment_times_as_numbers_strings_or_clock(start: Any, end: Any,
                                                   expected: tuple[Any, Any]) -> None:
    status = content(with_segment(start_time=start, end_time=end))
    assert status.transcript is not None
    segment = status.transcript.segments[0]
    assert (segment.start, segment.end) == expected


@pytest.mark.parametrize(("changes", "expected"), [
    ({"from": "0.5", "length": "0.25", "score": "0.75"}, Word("halo", 0.5, 0.75, 0.75)),
    ({"from": "00:00:01.000", "length": 0.5}, Word("halo", 1.0, 1.5, 0.9)),
    ({"length": None}, Word("halo", 0.0, None, 0.9)),
    ({"from": None}, Word("halo", None, None, 0.9)),
    ({"score": None, "word": " halo "}, Word("halo", 0.0, 0.25, None)),
])
def test_word_variants(changes: dict[str, Any], expected: Word) -> None:
    status = content(with_word(**changes))
    assert status.transcript is not None
    assert status.transcript.segments[0].words[0] == expected


@pytest.mark.parametrize(("speaker", "expected"), [
    ("speaker_01", "speaker_01"), (" SPEAKER_00 ", "SPEAKER_00"), (0, "0"), (3, "3"),
    (None, None), ("", None),
])
def test_speaker_as_string_or_integer(speaker: Any, expected: str | None) -> None:
    status = content(with_segment(speaker=speaker))
    assert status.transcript is not None and status.transcript.segments[0].speaker == expected


def test_missing_text_is_built_from_the_words_and_missing_words_are_none() -> None:
    body = with_segment(text=None)
    del body["bk"]["data"]["transcripts"][1]["words"]
    status = content(body)
    assert status.transcript is not None
    assert status.transcript.segments[0].text == "halo nama saya"
    assert status.transcript.segments[1].words == ()


def test_empty_transcripts_give_an_empty_transcript() -> None:
    status = content(success(transcripts=[], subtitle_cc=None, duration="12.5"))
    assert status.transcript is not None
    assert (status.transcript.text, status.transcript.segments) == ("", ())
    assert status.transcript.duration == 12.5
    assert status.subtitle is None


@pytest.mark.parametrize("subtitle", [None, "", False])
def test_no_subtitle(subtitle: Any) -> None:
    assert content(success(subtitle_cc=subtitle)).subtitle is None


def test_subtitle_with_line_breaks_as_decodebytes_writes_it() -> None:
    text = SRT * 20
    status = content(success(subtitle_cc=base64.encodebytes(text.encode()).decode()))
    assert status.subtitle == text.encode()


def test_subtitle_is_left_out_of_the_repr() -> None:
    assert "subtitle" not in repr(content(SUCCESS_REPLY))


# --- content reply: rejections -------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ("null", "(body)"),
    ([SUCCESS_REPLY], "(body)"),
    ({"data": {}}, "bk"),
    ({"bk": None}, "bk"),
    ({"bk": {}}, "bk.message_status"),
    ({"bk": {"data": {"uuid": UUID}}}, "bk.message_status"),
    ({"bk": {"message_status": ["success"]}}, "bk.message_status"),
    ({"bk": {"data": {"message_status": 1}}}, "bk.data.message_status"),
    ({"bk": {"message_status": "uuid not found"}}, "bk.message_status"),
    ({"bk": {"data": {"message_status": "paused"}}}, "bk.data.message_status"),
    ({"bk": {"message_status": "inprogress", "data": "x"}}, "bk.data"),
    ({"bk": {"message_status": "inprogress", "progress": "half"}}, "bk.progress"),
    ({"bk": {"message_status": "inprogress", "progress": True}}, "bk.progress"),
    ({"bk": {"message_status": "inprogress", "progress": float("nan")}}, "bk.progress"),
    ({"bk": {"message_status": "inprogress", "data": {"progress": [5]}}}, "bk.data.progress"),
    ({"bk": {"message_status": "success"}}, "bk.data"),
    ({"bk": {"message_status": "success", "data": {"uuid": UUID}}}, "bk.data.transcripts"),
    (success(transcripts={"text": "x"}), "bk.data.transcripts"),
    (success(transcripts=["halo"]), "bk.data.transcripts[0]"),
    (with_segment(text=5), "bk.data.transcripts[0].text"),
    (with_segment(start_time="soon"), "bk.data.transcripts[0].start_time"),
    (with_segment(start_time="1:75:00"), "bk.data.transcripts[0].start_time"),
    (with_segment(start_time="00:00:61"), "bk.data.transcripts[0].start_time"),
    (with_segment(start_time=-0.5), "bk.data.transcripts[0].start_time"),
    (with_segment(end_time=False), "bk.data.transcripts[0].end_time"),
    (with_segment(start_time=2.0, end_time=1.0), "bk.data.transcripts[0].end_time"),
    (with_segment(speaker=True), "bk.data.transcripts[0].speaker"),
    (with_segment(speaker={"id": 1}), "bk.data.transcripts[0].speaker"),
    (with_segment(speaker=1.5), "bk.data.transcripts[0].speaker"),
    (with_segment(text_confidence="high"), "bk.data.transcripts[0].text_confidence"),
    (with_segment(words="halo"), "bk.data.transcripts[0].words"),
    (with_segment(words=["halo"]), "bk.data.transcripts[0].words[0]"),
    (with_word(word=None), "bk.data.transcripts[0].words[0].word"),
    (with_word(word=7), "bk.data.transcripts[0].words[0].word"),
    (with_word(**{"from": "later"}), "bk.data.transcripts[0].words[0].from"),
    (with_word(length=-0.1), "bk.data.transcripts[0].words[0].length"),
    (with_word(score="good"), "bk.data.transcripts[0].words[0].score"),
    (success(target_language=5), "bk.data.target_language"),
    (success(duration="long"), "bk.data.duration"),
    (success(subtitle_cc="not base64!"), "bk.data.subtitle_cc"),
    (success(subtitle_cc="abc"), "bk.data.subtitle_cc"),  # bad padding
    (success(subtitle_cc=["x"]), "bk.data.subtitle_cc"),
    (success(subtitle_cc=True), "bk.data.subtitle_cc"),
])
def test_content_reply_rejections(body: object, field: str) -> None:
    with rejects(CONTENT, field):
        content(body)


def test_unknown_status_is_quoted_so_the_person_sees_what_the_service_said() -> None:
    with pytest.raises(RemoteProtocolError, match="not a known job status: 'uuid not found'"):
        content({"bk": {"message_status": "uuid not found"}})


def test_missing_status_quotes_any_message_beside_it() -> None:
    with pytest.raises(RemoteProtocolError, match="the service said: 'Token expired'"):
        content({"bk": {"message": "Token expired"}})


def test_content_reply_that_is_no_json_object() -> None:
    # Not-JSON bodies are the transport's (tests/transport/test_http.py); a parser
    # refuses what is not the envelope.
    with pytest.raises(RemoteProtocolError, match=rf"^Bahasakita upload: {CONTENT} reply: "
                                                  "'\\(body\\)' is not a JSON object"):
        content("Internal Server Error")


# --- change priority -----------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"bk": {"data": {"uuid": UUID, "priority": "high"}, "message_status": "success"}},
    {"bk": {"data": {"uuid": UUID, "priority": "high", "message_status": "Success"}}},
    json.loads(json.dumps({"bk": {"message_status": " SUCCESS "}})),
])
def test_change_priority_success(body: object) -> None:
    u.parse_change_priority_reply(body)  # raises on anything but success


@pytest.mark.parametrize(("body", "message"), [
    ({"bk": {"data": {"uuid": UUID, "priority": "high"},
             "message_status": "Job is already being processed"}},
     "Job is already being processed"),
    ({"bk": {"message_status": "failed", "message": "uuid not found"}}, "uuid not found"),
    ({"bk": {"message_status": "failed"}}, "failed"),
    ({"bk": {"message": "Not allowed"}}, "Not allowed"),
])
def test_change_priority_refused(body: object, message: str) -> None:
    with pytest.raises(ServiceRejected) as caught:
        u.parse_change_priority_reply(body)
    assert caught.value.server_message == message
    assert caught.value.operation == "POST /v2/prod/stt/changePriority"


@pytest.mark.parametrize(("body", "field"), [
    ({"bk": {}}, "bk.message_status"),
    ({"bk": {"message_status": 1}}, "bk.message_status"),
    ({"status": "success"}, "bk"),
    ("[]", "(body)"),
])
def test_change_priority_rejections(body: object, field: str) -> None:
    with rejects("POST /v2/prod/stt/changePriority", field):
        u.parse_change_priority_reply(body)
