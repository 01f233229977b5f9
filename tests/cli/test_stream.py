"""`dictation-app stream` as a script would run it (a real process, a real loopback server),
and `stream_file` in process: what a file of any rate and channels becomes on the wire,
and at what pace."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from dictation_app.audio.convert import to_s16le
from dictation_app.cli.stream import Pace, stream_file
from dictation_app.core.errors import UnsupportedInput
from dictation_app.protocols.bahasakita_stream import FinalTranscript, PartialTranscript
from dictation_app.transport.stream_connection import StreamConnection
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
from tests.support.audio import SENTENCES, Speech, noise, write_audio, write_speech
from tests.support.streaming import run, stream_to

TOKEN = "fake-cli-token-value"


def cli(*args: str, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DICTATION_BAHASAKITA_TOKEN"}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "dictation_app", *args], capture_output=True,
                          text=True, timeout=timeout, env=environ)


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    return write_audio(tmp_path / "speech.ogg", noise(3.0, 44100, 2, seed=3, amplitude=0.3),
                       44100)


def test_finals_go_to_stdout_one_per_line(audio: Path) -> None:
    with FakeBahasakita() as server:
        result = cli("stream", str(audio), "--url", server.url, "--pace", "fast")
    assert result.returncode == 0, result.stderr
    chunks = len(server.sessions[0].chunk_sizes)
    assert result.stdout.splitlines() == ["final 20", f"last {chunks}"]
    assert set(server.sessions[0].chunk_sizes) == {3200}


def test_jsonl_prints_every_event(audio: Path) -> None:
    with FakeBahasakita() as server:
        result = cli("stream", str(audio), "--url", server.url, "--pace", "fast", "--jsonl")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[:4] == [{"type": "partial", "text": "partial 5"},
                          {"type": "partial", "text": "partial 10"},
                          {"type": "partial", "text": "partial 15"},
                          {"type": "final", "text": "final 20"}]
    assert events[-1]["type"] == "final" and events[-1]["text"].startswith("last ")


def test_token_comes_from_the_environment(audio: Path) -> None:
    with FakeBahasakita(Behaviour(token=TOKEN)) as server:
        result = cli("stream", str(audio), "--provider", "bahasakita", "--url", server.url,
                     "--pace", "fast", env={"DICTATION_BAHASAKITA_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert f"token={TOKEN}" in server.sessions[0].path


def test_protocol_v2(audio: Path) -> None:
    with FakeBahasakita(Behaviour(version="v2")) as server:
        result = cli("stream", str(audio), "--url", server.url, "--pace", "fast",
                     "--protocol", "v2", "--language", "en")
    assert result.returncode == 0, result.stderr
    assert server.sessions[0].messages[0]["bk"]["language"] == "en"
    assert result.stdout.splitlines()[0] == "final 20"


def test_wrong_token_exits_non_zero_without_showing_it(audio: Path) -> None:
    with FakeBahasakita(Behaviour(token="the-real-one")) as server:
        result = cli("stream", str(audio), "--provider", "bahasakita", "--url", server.url,
                     "--token", TOKEN, "-v")
    assert result.returncode == 1
    assert "refused the token (HTTP 401)" in result.stderr
    assert "--token" in result.stderr and "Preferences" not in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_rejected_session_prints_the_server_message(audio: Path) -> None:
    with FakeBahasakita(Behaviour(reject_conn="Quota habis")) as server:
        result = cli("stream", str(audio), "--url", server.url)
    assert result.returncode == 1
    assert "rejected audioConn (status 400): Quota habis" in result.stderr


def test_bad_file_exits_non_zero_before_connecting(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("these are not samples")
    with FakeBahasakita() as server:
        result = cli("stream", str(bad), "--url", server.url)
    assert result.returncode == 1
    assert "notes.wav: cannot decode" in result.stderr
    assert server.sessions == []


def test_missing_file(tmp_path: Path) -> None:
    result = cli("stream", str(tmp_path / "nope.flac"), "--url", "ws://127.0.0.1:9/x")
    assert result.returncode == 1 and "nope.flac: no such file" in result.stderr


def test_unreachable_server(audio: Path) -> None:
    result = cli("stream", str(audio), "--url", "ws://127.0.0.1:9/v1/prod/stream",
                 "--token", TOKEN)
    assert result.returncode == 1
    assert "cannot connect to ws://127.0.0.1:9/v1/prod/stream?token=***" in result.stderr


def test_bahasakita_without_a_token_says_how_to_give_one(audio: Path) -> None:
    result = cli("stream", str(audio), "--provider", "bahasakita", "--url", "ws://127.0.0.1:9/")
    assert result.returncode == 1
    assert "DICTATION_BAHASAKITA_TOKEN" in result.stderr
    assert "--token" in result.stderr and "Preferences" not in result.stderr


def test_usage_errors_exit_2() -> None:
    result = cli("stream")
    assert result.returncode == 2 and "audio_file" in result.stderr


@pytest.mark.engine
def test_provider_local_starts_the_engine_itself(tmp_path: Path, speech: Speech) -> None:
    # The product's general model, not the test grammar: assert the path, not the words.
    path = write_speech(tmp_path / "speech.ogg", speech(0.3, SENTENCES[3], 0.8), 22050, 1)
    result = cli("stream", str(path), "--provider", "local", "--pace", "fast", "--jsonl",
                 timeout=180)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finals = [e["text"] for e in events if e["type"] == "final"]
    assert finals and all(finals), events
    heard = set(" ".join(finals).split())
    assert len(heard & set(SENTENCES[3].split())) >= 3, finals


@pytest.mark.engine
def test_engine_chooses_the_offline_engine(tmp_path: Path, speech: Speech) -> None:
    path = write_speech(tmp_path / "speech.ogg", speech(0.3, SENTENCES[3], 0.8), 22050, 1)
    result = cli("stream", str(path), "--provider", "local", "--engine", "pocketsphinx",
                 "--pace", "fast", timeout=180)
    assert result.returncode == 0, result.stderr
    finals = result.stdout.split()
    # pocketsphinx's words: lower case, no punctuation (Whisper's come capitalised).
    assert finals and all(word.isalpha() and word.islower() for word in finals), finals


@pytest.mark.engine
def test_a_language_the_engine_does_not_know_is_refused_by_name(audio: Path) -> None:
    result = cli("stream", str(audio), "--provider", "local", "--engine", "pocketsphinx",
                 "--language", "fa", timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    assert "fa" in result.stderr and "en" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_engine_options_with_a_cloud_provider_are_refused(audio: Path) -> None:
    result = cli("stream", str(audio), "--provider", "bahasakita", "--engine", "whisper",
                 env={"DICTATION_BAHASAKITA_TOKEN": TOKEN})
    assert result.returncode == 1
    assert "--engine and --model" in result.stderr and "--provider local" in result.stderr


# --- stream_file, in process ---------------------------------------------------------


def stream(server: FakeBahasakita, path: Path, **kwargs: object) -> list[object]:
    return stream_to(server, path, token=TOKEN, **kwargs)


def test_16k_mono_file_arrives_bit_exact_in_3200_byte_chunks(tmp_path: Path) -> None:
    data = noise(2.53, 16000, 1)
    path = write_audio(tmp_path / "in.wav", data, 16000)
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
    path = write_audio(tmp_path / "in.flac", data, rate)
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


def test_bad_file_fails_before_connecting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    with FakeBahasakita() as server, \
            pytest.raises(UnsupportedInput, match="bad.wav: cannot decode"):
        run(stream_file(bad, lambda on_transcript: StreamConnection(server.url, token=TOKEN)))
    assert server.sessions == []


def test_realtime_pace_sends_about_ten_chunks_a_second(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "in.wav", noise(0.8, 16000, 1), 16000)

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with FakeBahasakita() as server:
            await stream_file(path, lambda on_transcript: StreamConnection(server.url),
                              pace=Pace.REALTIME)
        return loop.time() - start

    # 8 chunks at 100 ms: the last is sent 0.7 s after the first.
    assert run(timed()) >= 0.7


# After chunk 25 of 60 (6 s), when "final 20" has been printed.
@pytest.mark.parametrize("behaviour, pace, fragment", [
    (Behaviour(inject=[(25, "[" * 50_000)]), "fast", "nests deeper than 64 levels"),
    (Behaviour(inject=[(25, b"\x00binary")]), "fast", "sent a binary frame"),
    (Behaviour(inject=[(25, "x" * (2 << 20))]), "fast", "larger than 1,048,576 bytes"),
    (Behaviour(early_stop_after=25), "fast", "the server ended the session early"),
    (Behaviour(early_stop_after=25), "realtime", "the server ended the session early"),
], ids=["nested", "binary", "oversize", "early-stop-fast", "early-stop-realtime"])
def test_a_hostile_reply_exits_non_zero_with_the_finals_printed(
        tmp_path: Path, behaviour: Behaviour, pace: str, fragment: str) -> None:
    audio = write_audio(tmp_path / "six.wav", noise(6.0, 16000, 1, seed=5), 16000)
    with FakeBahasakita(behaviour) as server:
        result = cli("stream", str(audio), "--url", server.url, "--pace", pace)
    assert result.returncode != 0
    assert result.stdout.splitlines()[0] == "final 20"
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dictation-app: ") and fragment in last, result.stderr


def test_a_final_of_another_session_is_not_printed(tmp_path: Path) -> None:
    audio = write_audio(tmp_path / "six.wav", noise(6.0, 16000, 1, seed=5), 16000)
    with FakeBahasakita(Behaviour(foreign_final_after=25)) as server:
        result = cli("stream", str(audio), "--url", server.url, "--pace", "fast")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["final 20", "final 40", "final 60", "last 60"]
    assert "someone else's words" not in result.stdout
# --- reconnects and a closed pipe --------------------------------------------------------


def test_a_dropped_stream_reconnects_and_says_so_on_stderr(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "in.wav", noise(6.0, 16000, 1, seed=5), 16000)
    with FakeBahasakita(Behaviour(drop_after=25)) as server:
        result = cli("stream", str(path), "--url", server.url, "--pace", "fast")
    assert result.returncode == 0, result.stderr
    assert len(server.sessions) == 2 and server.sessions[1].stopped
    status = [line for line in result.stderr.splitlines() if line.startswith("dictation-app:")]
    assert status[0].startswith("dictation-app: Reconnecting (attempt 1)… ")
    assert status[-1] == "dictation-app: Finishing the transcript…"
    assert "Traceback" not in result.stderr
    # The finals of both sessions, each once.
    assert result.stdout.splitlines() == [t for s in server.sessions for t in s.finals]


def test_a_closed_pipe_ends_the_stream_at_once_and_quietly(tmp_path: Path) -> None:
    # 30 s at real-time pace: finishing would take 30 s; the pipe closes after one line.
    path = write_audio(tmp_path / "in.wav", noise(30.0, 16000, 1, seed=6), 16000)
    environ = {k: v for k, v in os.environ.items() if k != "DICTATION_BAHASAKITA_TOKEN"}
    with FakeBahasakita(Behaviour(final_every=5)) as server:
        proc = subprocess.Popen([sys.executable, "-m", "dictation_app", "stream", str(path),
                                 "--url", server.url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=environ)
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == "final 5\n"
        proc.stdout.close()  # as `| head -1` does once it has its line
        returncode = proc.wait(timeout=15)
        stderr = proc.stderr.read()
        proc.stderr.close()
    assert returncode in (0, 141), stderr
    assert stderr == ""  # no traceback, no "Exception ignored"
    assert len(server.sessions[0].chunk_sizes) < 100  # it did not stream on to the end
