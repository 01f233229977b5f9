"""The streaming client against a real WebSocket server on loopback (a file fed through
`stream_file`; what the file itself becomes is in tests/cli/test_stream.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dictation_app.cli.stream import stream_file
from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.protocols.bahasakita_stream import (
    FinalTranscript,
    ProtocolVersion,
)
from dictation_app.services.reconnect import NO_RECONNECT
from dictation_app.transport.stream_connection import StreamConnection
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
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
