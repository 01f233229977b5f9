"""`dictation-app stream` as a script would run it: a real process, a real loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.bahasakita_server import Behaviour, FakeBahasakita

TOKEN = "fake-cli-token-value"


def cli(*args: str, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DICTATION_BAHASAKITA_TOKEN"}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "dictation_app", *args], capture_output=True,
                          text=True, timeout=timeout, env=environ)


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "speech.ogg"
    rng = np.random.default_rng(3)
    soundfile.write(str(path), rng.uniform(-0.3, 0.3, (44100 * 3, 2)).astype(np.float32), 44100)
    return path


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
    assert "--token" in result.stderr and "Settings" not in result.stderr
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
    assert "--token" in result.stderr and "Settings" not in result.stderr


def test_usage_errors_exit_2() -> None:
    result = cli("stream")
    assert result.returncode == 2 and "audio_file" in result.stderr
