"""Pure tests of the streaming protocol: no sockets, no event loop."""

from __future__ import annotations

import base64
import json

import pytest

from dictation_app.core.errors import LocalProtocolError, RemoteProtocolError
from dictation_app.protocols import bahasakita_stream as p

SESS = "0123456789abcdef0123456789abcdef"


def reply(kind: str, status: int = 200, **extra: object) -> str:
    return json.dumps({"bk": {"service": "stt", "type": kind, "status": status, **extra}})


def opened(version: p.ProtocolVersion = p.ProtocolVersion.V1) -> p.StreamClient:
    client = p.StreamClient(version=version)
    client.open()
    data = {"data": {"sess_id": SESS}} if version is p.ProtocolVersion.V1 else {}
    assert client.receive(reply("audioConn", **data)) == [
        p.SessionOpened(SESS if version is p.ProtocolVersion.V1 else None)]
    return client


def test_v1_session_messages_match_the_documented_shapes() -> None:
    client = p.StreamClient()
    assert json.loads(client.open()) == {"bk": {"service": "stt", "type": "audioConn"}}
    client.receive(reply("audioConn", message="", data={"sess_id": SESS}))
    chunk = bytes(range(256)) * 12 + bytes(128)
    frame = json.loads(client.audio(chunk))
    assert frame == {"bk": {"service": "stt", "type": "audioStream", "sess_id": SESS,
                            "data": {"audio": base64.b64encode(chunk).decode()}}}
    assert json.loads(client.stop()) == {"bk": {"service": "stt", "type": "audioStop",
                                                "sess_id": SESS}}
    assert client.receive(reply("audioStop", message="")) == [p.SessionStopped()]
    assert client.state is p.State.STOPPED


def test_v2_sends_language_and_no_session_id() -> None:
    client = p.StreamClient(version=p.ProtocolVersion.V2, language="en")
    assert json.loads(client.open())["bk"] == {"service": "stt", "type": "audioConn",
                                              "language": "en"}
    client.receive(reply("audioConn", message_status="success"))
    assert "sess_id" not in json.loads(client.audio(bytes(3200)))["bk"]
    assert "sess_id" not in json.loads(client.stop())["bk"]


def test_partials_and_finals_v1() -> None:
    client = opened()
    assert client.receive(reply("audioStream", data={"partial": " halo "})) == [
        p.PartialTranscript("halo")]
    assert client.receive(reply("audioStream", data={"final": "halo dunia"})) == [
        p.FinalTranscript("halo dunia")]
    assert client.receive(reply("audioStream")) == []  # a bare acknowledgement


def test_v2_transcript_is_partial_and_transcripts_are_finals() -> None:
    client = opened(p.ProtocolVersion.V2)
    assert client.receive(reply("audioStream", data={"transcript": "sel"})) == [
        p.PartialTranscript("sel")]
    assert client.receive(reply("audioStream", data={"transcripts": [
        "selamat pagi", {"text": "apa kabar"}]})) == [
        p.FinalTranscript("selamat pagi"), p.FinalTranscript("apa kabar")]
    # v1-style keys are accepted in v2 as well
    assert client.receive(reply("audioStream", data={"final": "ok"})) == [p.FinalTranscript("ok")]


@pytest.mark.parametrize("kind", ["AudioConn", "audioconn", "AUDIOCONN"])
def test_reply_type_is_accepted_in_any_case(kind: str) -> None:
    client = p.StreamClient()
    client.open()
    assert client.receive(reply(kind, data={"sess_id": SESS})) == [p.SessionOpened(SESS)]


def test_status_as_string_is_accepted() -> None:
    client = p.StreamClient()
    client.open()
    assert client.receive(reply("audioConn", status="200", data={"sess_id": SESS}))  # type: ignore[arg-type]


def test_rejected_conn_carries_the_server_message() -> None:
    client = p.StreamClient()
    client.open()
    events = client.receive(reply("audioConn", 400, message="token expired"))
    assert events == [p.RequestRejected(p.MessageType.AUDIO_CONN, 400, "token expired")]
    assert client.state is p.State.FAILED


def test_rejection_in_v2_reads_message_status() -> None:
    client = p.StreamClient(version=p.ProtocolVersion.V2)
    client.open()
    [event] = client.receive(reply("audioConn", 400, message_status="quota exhausted"))
    assert isinstance(event, p.RequestRejected) and event.message == "quota exhausted"


def test_rejection_without_message_still_says_something() -> None:
    client = p.StreamClient()
    client.open()
    [event] = client.receive(reply("audioConn", 400))
    assert isinstance(event, p.RequestRejected) and "400" in event.message


@pytest.mark.parametrize("frame, fragment", [
    ("not json", "not JSON"),
    ("[1, 2]", "no 'bk'"),
    (json.dumps({"bk": "x"}), "no 'bk'"),
    (reply("audioWhatever"), "unknown 'type'"),
    (reply("audioConn", status="ok"), "non-numeric 'status'"),
    (reply("audioConn", data={}), "sess_id"),
    (reply("audioConn", data={"sess_id": 'bad"id'}), "malformed"),
    (reply("audioStream", data={"partial": "x"}), "before the session opened"),
    (reply("audioStop"), "ended the session early"),
    ("[" * 50_000, "nests deeper than 64 levels"),
    (b"\xff\xfe{}", "not JSON"),
    (b"{\"bk\": \"\xc3\x28\"}", "not valid UTF-8"),
    ('{"bk": ' * 70 + "1" + "}" * 70, "nests deeper"),
    (reply("audioConn", status="\u00b2"), "non-numeric 'status'"),
    (reply("audioConn", status="9" * 5000), "non-numeric 'status'"),
    ("x" * (p.MAX_FRAME_BYTES + 1), "too large"),
])
def test_malformed_or_unexpected_replies_raise(frame: str | bytes, fragment: str) -> None:
    client = p.StreamClient()
    client.open()
    if fragment == "ended the session early":
        client.receive(reply("audioConn", data={"sess_id": SESS}))
    with pytest.raises(RemoteProtocolError, match=fragment):
        client.receive(frame)


def test_a_refused_reply_is_quoted_short_with_its_token_masked() -> None:
    client = p.StreamClient()
    client.open()
    with pytest.raises(RemoteProtocolError) as caught:
        client.receive("<html>token=s3cret " + "x" * 500)
    message = str(caught.value)
    assert "s3cret" not in message and "token=***" in message
    assert "server reply is not JSON" in message and len(message) < 200


def test_a_reply_for_another_session_is_ignored_and_reported() -> None:
    client = opened()
    frame = json.dumps({"bk": {"service": "stt", "type": "audioStream", "status": 200,
                               "sess_id": "f" * 32, "data": {"final": "not ours"}}})
    [event] = client.receive(frame)
    assert event == p.ForeignReply(p.MessageType.AUDIO_STREAM, "f" * 32)
    ours = json.dumps({"bk": {"service": "stt", "type": "audioStream", "status": 200,
                              "sess_id": SESS, "data": {"final": "ours"}}})
    assert client.receive(ours) == [p.FinalTranscript("ours")]
    assert client.state is p.State.STREAMING


@pytest.mark.parametrize("data", [{"partial": 3}, {"final": None}, [1]])
def test_result_fields_of_the_wrong_type_raise(data: object) -> None:
    client = opened()
    with pytest.raises(RemoteProtocolError, match="Bahasakita"):
        client.receive(reply("audioStream", data=data))


def test_misuse_raises_local_errors() -> None:
    client = p.StreamClient()
    with pytest.raises(LocalProtocolError, match="send audio while idle"):
        client.audio(bytes(3200))
    with pytest.raises(LocalProtocolError, match="stop"):
        client.stop()
    client = opened()
    with pytest.raises(LocalProtocolError, match="exactly 3200 bytes, got 3199"):
        client.audio(bytes(3199))
    with pytest.raises(LocalProtocolError, match="open a session while streaming"):
        client.open()


def test_replies_after_the_session_ended_are_violations() -> None:
    client = opened()
    client.stop()
    client.receive(reply("audioStop"))
    with pytest.raises(RemoteProtocolError, match="stopped"):
        client.receive(reply("audioStream", data={"final": "late"}))


def test_results_keep_arriving_while_stopping() -> None:
    client = opened()
    client.stop()
    assert client.receive(reply("audioStream", data={"final": "tail"})) == [
        p.FinalTranscript("tail")]


def test_url_helpers_set_and_redact_the_token() -> None:
    url = p.with_token("wss://api.example/v1/prod/stream?token=old&x=1", "s3cr3t")
    assert "token=s3cr3t" in url and "old" not in url and "x=1" in url
    redacted = p.redact_url(url)
    assert "s3cr3t" not in redacted and "token=***" in redacted
    assert p.with_token("ws://h/p", None) == "ws://h/p"


def test_server_half_round_trips_the_client_frames() -> None:
    client = p.StreamClient()
    assert p.parse_request(client.open()) == p.ConnRequest(None)
    client.receive(p.conn_reply(SESS))
    chunk = bytes(range(200)) * 16
    assert p.parse_request(client.audio(chunk)) == p.AudioRequest(SESS, chunk)
    assert p.parse_request(client.stop()) == p.StopRequest(SESS)
    assert client.receive(p.final_reply("done")) == [p.FinalTranscript("done")]
    assert client.receive(p.stop_reply()) == [p.SessionStopped()]


@pytest.mark.parametrize("frame, fragment", [
    ('{"bk": {"type": "audioStream", "data": {"audio": "***"}}}', "not base64"),
    ('{"bk": {"type": "audioStream"}}', "no 'data.audio'"),
    ('{"bk": {"type": "hello"}}', "unknown message type"),
    ('{"bk": {"type": "audioStop", "sess_id": 5}}', "'sess_id' is not a string"),
])
def test_server_half_rejects_bad_client_frames(frame: str, fragment: str) -> None:
    with pytest.raises(RemoteProtocolError, match=fragment):
        p.parse_request(frame)


def test_error_reply_parses_as_rejection() -> None:
    client = opened()
    [event] = client.receive(p.error_reply(p.MessageType.AUDIO_STREAM, "decoder crashed"))
    assert event == p.RequestRejected(p.MessageType.AUDIO_STREAM, 400, "decoder crashed")
