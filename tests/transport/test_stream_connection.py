"""The streaming client against a real WebSocket server on loopback."""

from __future__ import annotations

import asyncio
import logging
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from dictation_app.audio.convert import to_s16le
from dictation_app.cli.stream import Pace, stream_file
from dictation_app.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    RemoteProtocolError,
    ServiceRejected,
    UnsupportedInput,
)
from dictation_app.protocols.bahasakita_stream import (
    FinalTranscript,
    PartialTranscript,
    ProtocolVersion,
)
from dictation_app.transport.stream_connection import StreamConnection
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita

TOKEN = "fake-token-for-tests"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 30))


def noise(seconds: float, rate: int, channels: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.6, 0.6, (int(seconds * rate), channels)).astype(np.float32)


def write(path: Path, data: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    soundfile.write(str(path), data, rate, subtype=subtype)
    return path


def stream(server: FakeBahasakita, path: Path, **kwargs: object) -> list[object]:
    events: list[object] = []
    conn = StreamConnection(server.url, token=TOKEN, on_transcript=events.append,
                            **kwargs)  # type: ignore[arg-type]
    run(stream_file(path, conn, pace=Pace.FAST))
    return events


def test_16k_mono_file_arrives_bit_exact_in_3200_byte_chunks(tmp_path: Path) -> None:
    data = noise(2.53, 16000, 1)
    path = write(tmp_path / "in.wav", data, 16000)
    with FakeBahasakita() as server:
        events = stream(server, path)
    [session] = server.sessions
    assert set(session.chunk_sizes) == {3200}
    with wave.open(str(path)) as w:
        original = w.readframes(w.getnframes())
    assert len(session.audio) % 3200 == 0
    assert bytes(session.audio[: len(original)]) == original
    assert not any(session.audio[len(original):])  # zero padding of the last chunk
    assert session.stopped and "token=" + TOKEN in session.path
    assert events[-1] == FinalTranscript(f"last {len(session.chunk_sizes)}")
    assert PartialTranscript("partial 5") in events and FinalTranscript("final 20") in events


@pytest.mark.parametrize("rate, channels", [(48000, 2), (44100, 1), (8000, 1), (22050, 2)])
def test_any_rate_and_channels_arrive_as_16k_mono(tmp_path: Path, rate: int,
                                                   channels: int) -> None:
    data = noise(1.7, rate, channels)
    path = write(tmp_path / "in.flac", data, rate)
    decoded, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    expected = np.frombuffer(to_s16le(soxr.resample(decoded.mean(axis=1), rate, 16000,
                                                    quality="HQ")), "<i2")
    with FakeBahasakita() as server:
        stream(server, path)
    [session] = server.sessions
    assert set(session.chunk_sizes) == {3200}
    received = np.frombuffer(bytes(session.audio), "<i2")
    assert len(received) - len(expected) in range(0, 1600)  # padding only
    assert np.abs(received[: len(expected)].astype(int) - expected).max() <= 1
    assert not received[len(expected):].any()


def test_protocol_v2_against_a_v2_server(tmp_path: Path) -> None:
    path = write(tmp_path / "in.wav", noise(2.0, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(version="v2", reply_type_case="pascal")) as server:
        events = stream(server, path, version=ProtocolVersion.V2, language="id")
    [session] = server.sessions
    assert session.messages[0]["bk"] == {"service": "stt", "type": "audioConn", "language": "id"}
    assert "sess_id" not in session.messages[1]["bk"]
    assert FinalTranscript("final 20") in events and session.stopped


def test_rejected_session_raises_with_the_server_message(tmp_path: Path) -> None:
    path = write(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(reject_conn="Token is not valid")) as server, \
            pytest.raises(ServiceRejected, match="rejected audioConn.*Token is not valid"):
        stream(server, path)


def test_wrong_token_at_the_handshake_is_an_authentication_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    caplog.set_level(logging.DEBUG)
    with FakeBahasakita(Behaviour(token="the-right-one")) as server, \
            pytest.raises(AuthenticationFailed, match="HTTP 401") as info:
        stream(server, path)
    assert TOKEN not in str(info.value)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("dictation_app"))
    assert TOKEN not in ours and "token=***" in ours


def test_dropped_connection_mid_stream_is_a_connection_error(tmp_path: Path) -> None:
    path = write(tmp_path / "in.wav", noise(3.0, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(drop_after=4)) as server, \
            pytest.raises(ConnectionFailed, match="dropped.*1011.*server went away"):
        stream(server, path)


def test_garbage_from_the_server_is_a_protocol_error(tmp_path: Path) -> None:
    path = write(tmp_path / "in.wav", noise(3.0, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(garbage_after=3)) as server, \
            pytest.raises(RemoteProtocolError, match="not JSON"):
        stream(server, path)


def test_server_that_never_opens_the_session_times_out(tmp_path: Path) -> None:
    path = write(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    with FakeBahasakita(Behaviour(silent_conn=True)) as server, \
            pytest.raises(ConnectionFailed, match="did not open a session within 0.3 s"):
        stream(server, path, open_timeout=0.3)


def test_nothing_listening_is_a_connection_error(tmp_path: Path, unused_port: int) -> None:
    path = write(tmp_path / "in.wav", noise(0.5, 16000, 1), 16000)
    conn = StreamConnection(f"ws://127.0.0.1:{unused_port}/v1/prod/stream", token=TOKEN)
    with pytest.raises(ConnectionFailed, match="cannot connect") as info:
        run(stream_file(path, conn))
    assert TOKEN not in str(info.value)


def test_non_websocket_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="ws:// or wss://"):
        StreamConnection("https://api.example/v1", token=TOKEN)


def test_bad_file_fails_before_connecting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    with FakeBahasakita() as server:
        conn = StreamConnection(server.url, token=TOKEN)
        with pytest.raises(UnsupportedInput, match="bad.wav: cannot decode"):
            run(stream_file(bad, conn))
    assert server.sessions == []


def test_realtime_pace_sends_about_ten_chunks_a_second(tmp_path: Path) -> None:
    path = write(tmp_path / "in.wav", noise(0.8, 16000, 1), 16000)

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with FakeBahasakita() as server:
            await stream_file(path, StreamConnection(server.url), pace=Pace.REALTIME)
        return loop.time() - start

    # 8 chunks at 100 ms: the last is sent 0.7 s after the first.
    assert run(timed()) >= 0.7
