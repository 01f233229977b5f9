"""The streaming client against a real WebSocket server on loopback (a file fed through
`stream_file`; what the file itself becomes is in tests/cli/test_stream.py)."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from dictation_app.cli.stream import Pace, stream_file
from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.protocols.bahasakita_stream import (
    MAX_FRAME_BYTES,
    FinalTranscript,
    ProtocolVersion,
)
from dictation_app.services.reconnect import NO_RECONNECT
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita, Frame, RawText
from tests.support.audio import noise, write_audio
from tests.support.secrets import assert_no_secret_logged, logged_text
from tests.support.streaming import run, stream_to

TOKEN = "fake-token-for-tests"


def stream(server: FakeBahasakita, path: Path, **kwargs: object) -> list[object]:
    return stream_to(server, path, token=TOKEN, **kwargs)


def test_protocol_v2_against_a_v2_server(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "in.wav", noise(2.0, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(version="v2", reply_type_case="pascal")) as server:
        events = stream(server, path, version=ProtocolVersion.V2, language="id")
    [session] = server.sessions
    assert session.messages[0]["bk"] == {"service": "stt", "type": "audioConn", "language": "id"}
    assert "sess_id" not in session.messages[1]["bk"]
    assert FinalTranscript("final 20") in events and session.stopped


def test_rejected_session_raises_with_the_server_message(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(reject_conn="Token is not valid")) as server, \
            pytest.raises(ServiceRejected, match="rejected audioConn.*Token is not valid"):
        stream(server, path)


def test_wrong_token_at_the_handshake_is_an_authentication_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_audio(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    caplog.set_level(logging.DEBUG)
    with FakeBahasakita(Behaviour(token="the-right-one")) as server, \
            pytest.raises(AuthenticationFailed, match="HTTP 401") as info:
        stream(server, path)
    assert TOKEN not in str(info.value)
    # websockets' own DEBUG lines carry the URL as given; ours must mask its token.
    assert_no_secret_logged(caplog, TOKEN, only="dictation_app")
    assert "token=***" in logged_text(caplog, only="dictation_app")


def test_dropped_connection_mid_stream_is_a_connection_error(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "in.wav", noise(3.0, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(drop_after=4)) as server, \
            pytest.raises(ConnectionFailed, match="dropped.*1011.*server went away"):
        stream(server, path, policy=NO_RECONNECT)


def test_garbage_from_the_server_is_a_protocol_error(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "in.wav", noise(3.0, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(garbage_after=3)) as server, \
            pytest.raises(RemoteProtocolError, match="not JSON"):
        stream(server, path)


def test_server_that_never_opens_the_session_times_out(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(silent_conn=True)) as server, \
            pytest.raises(ConnectionFailed, match="did not open a session within 0.3 s"):
        stream(server, path, open_timeout=0.3)


def test_nothing_listening_is_a_connection_error(tmp_path: Path, unused_port: int) -> None:
    path = write_audio(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    url = f"ws://127.0.0.1:{unused_port}/v1/prod/stream"
    with pytest.raises(ConnectionFailed, match="cannot connect") as info:
        run(stream_file(path, lambda on_transcript: StreamConnection(url, token=TOKEN)))
    assert TOKEN not in str(info.value)


def test_non_websocket_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="ws:// or wss://"):
        StreamConnection("https://api.example/v1", token=TOKEN)


# --- hostile replies --------------------------------------------------------------

# 6 s of audio: 60 chunks; the fake sends "final 20" after chunk 20 and a hostile frame
# after chunk 25, so a final precedes every failure.
HOSTILE_AFTER = 25
NESTED = "[" * 50_000
UNREADABLE = json.dumps({"bk": {"service": "stt", "type": "audioStream", "status": 200,
                                "data": {"final": {"deep": [1, 2]}}}})


@dataclass
class Outcome:
    events: list[object]
    error: BaseException | None
    seconds: float


def hostile_stream(tmp_path: Path, behaviour: Behaviour, *, seconds: float = 6.0) -> Outcome:
    path = write_audio(tmp_path / "in.wav", noise(seconds, 16000, 1), 16000)
    events: list[object] = []
    error: BaseException | None = None
    with FakeBahasakita(behaviour) as server:
        def connect(listener: TranscriptListener) -> StreamConnection:
            return StreamConnection(server.url, token=TOKEN, on_transcript=listener)

        started = time.monotonic()
        try:
            run(stream_file(path, connect, pace=Pace.FAST, on_transcript=events.append))
        except Exception as exc:
            error = exc
        elapsed = time.monotonic() - started
    return Outcome(events, error, elapsed)


@pytest.mark.parametrize("frame, fragment", [
    (b"\x00\x01\x02binary", "sent a binary frame \\(9 bytes\\)"),
    (RawText(b'{"bk": "\xff\xfe"}'), "not valid UTF-8"),
    ("x" * (MAX_FRAME_BYTES + 1), "larger than 1,048,576 bytes"),
    (NESTED, "nests deeper than 64 levels: '\\[\\[\\[\\["),
    ("<html>502 Bad Gateway</html>", "is not JSON: '<html>502 Bad Gateway"),
    (UNREADABLE, "'data.final' is not a string: {'deep'"),
], ids=["binary", "undecodable", "oversize", "nested", "not-json", "unreadable"])
def test_a_hostile_reply_fails_the_take_at_once_and_keeps_the_finals(
        tmp_path: Path, frame: Frame, fragment: str) -> None:
    outcome = hostile_stream(tmp_path, Behaviour(inject=[(HOSTILE_AFTER, frame)]))
    assert isinstance(outcome.error, RemoteProtocolError), outcome.error
    assert re.search(fragment, str(outcome.error)), str(outcome.error)
    assert str(outcome.error).startswith("Bahasakita streaming: ")
    assert FinalTranscript("final 20") in outcome.events
    # Not the 30 s "did not confirm the end" wait: the reader's failure woke the take.
    assert outcome.seconds < 10, outcome.seconds


def test_a_hostile_reply_to_the_last_chunk_wakes_the_wait_for_the_end(tmp_path: Path) -> None:
    # 2 s: 20 chunks, the last of which is answered by the nest, while stop() waits.
    outcome = hostile_stream(tmp_path, Behaviour(inject=[(20, NESTED)]), seconds=2.0)
    assert isinstance(outcome.error, RemoteProtocolError), outcome.error
    assert "nests deeper" in str(outcome.error)
    assert FinalTranscript("final 20") in outcome.events
    assert outcome.seconds < 10, outcome.seconds


def test_an_audio_stop_we_did_not_ask_for_ends_the_take_with_a_protocol_error(
        tmp_path: Path) -> None:
    outcome = hostile_stream(tmp_path, Behaviour(early_stop_after=HOSTILE_AFTER))
    assert isinstance(outcome.error, RemoteProtocolError), outcome.error
    assert "the server ended the session early" in str(outcome.error)
    assert FinalTranscript("final 20") in outcome.events
    assert outcome.seconds < 10, outcome.seconds


def test_a_final_of_another_session_is_ignored_and_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dictation_app.transport.stream_connection")
    outcome = hostile_stream(tmp_path, Behaviour(foreign_final_after=HOSTILE_AFTER))
    assert outcome.error is None
    texts = [e.text for e in outcome.events if isinstance(e, FinalTranscript)]
    assert texts == ["final 20", "final 40", "final 60", "last 60"]
    assert "ignored an audioStream reply for another session" in caplog.text
