"""`dictation-app monitor` against a real loopback server.

Until the lead wires `add_monitor_parser` into cli.py, the in-process tests build the
parser here; the subprocess tests at the end run the real entry point once it is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from dictation_app.cli import monitor as monitor_cli
from dictation_app.cli.monitor import add_monitor_parser, run_monitor
from dictation_app.core.secrets import SecretStore
from tests.servers.bahasakita_rest_server import (
    GOOD_TOKEN,
    MONITORING,
    Behaviour,
    FakeBahasakitaRest,
    counters_in_data_body,
    example_body,
)

TOKEN_ENV = "DICTATION_BAHASAKITA_TOKEN"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBahasakitaRest]:
    monkeypatch.setenv(TOKEN_ENV, GOOD_TOKEN)
    # The keyring must not leak a developer's real token into a test.
    monkeypatch.setattr(SecretStore, "get", lambda self, name: None)
    with FakeBahasakitaRest() as running:
        yield running


def monitor(server: FakeBahasakitaRest, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dictation-app")
    add_monitor_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["monitor", "--base-url", server.base_url, *argv])
    return asyncio.run(run_monitor(args))


def without_updated_line(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("Updated "))


def test_the_table_reads_at_a_glance(server: FakeBahasakitaRest,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert monitor(server) == 0
    out = capsys.readouterr().out
    assert without_updated_line(out) == """\
Bahasakita account: ayu
Messages: in 4, out 2, status success

Waiting (1)
  ID        File             Duration  Created              Size MB
  9b2f7d6e  rapat-senin.wav   0:42:10  2024-05-01 09:12:00     38.0

Processing (1)
  ID        File             Duration  Created              Size MB
  1c4e8a2b  wawancara.mp3     0:15:05  2024-05-01 08:55:10     12.0

Failed (0)
  (none)

Done (2)
  ID        File             Duration  Created              Size MB
  5e6f7a8b  kuliah-umum.ogg   1:02:05  2024-04-30 16:01:02     55.0
  0a1b2c3d  memo.m4a          0:00:42  2024-04-29 10:00:00      1.0"""
    assert any(line.startswith("Updated 20") for line in out.splitlines())
    assert server.requests[0].headers["Authorization"] == f"Bearer {GOOD_TOKEN}"


def test_long_names_are_shortened_in_the_table_only(server: FakeBahasakitaRest,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    name = "rekaman-rapat-koordinasi-tahunan-seluruh-divisi-2024.wav"
    server.behaviour.monitoring_body["bk"]["data"]["failed"] = [
        {"f00dbabe-0000": {"filename": name, "duration": None, "created": None,
                           "filesize": None}}]
    assert monitor(server) == 0
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("  f00dbabe"))
    assert line.split() == ["f00dbabe", "rekaman-rapat-koordinas...ivisi-2024.wav", "-", "-", "-"]
    assert monitor(server, "--json") == 0
    assert json.loads(capsys.readouterr().out)["queues"]["failed"][0]["filename"] == name


EXPECTED_JSON: dict[str, Any] = {
    "username": "ayu",
    "queues": {
        "inquery": [{"uuid": "9b2f7d6e-0c1a-4e5b-8f3d-2a1c0b9e8d7f",
                     "filename": "rapat-senin.wav", "duration": 2530.0,
                     "created": "2024-05-01 09:12:00", "filesize_mb": 38.0}],
        "process": [{"uuid": "1c4e8a2b-3d5f-4a6b-9c7d-8e0f1a2b3c4d", "filename": "wawancara.mp3",
                     "duration": 905.4, "created": "2024-05-01 08:55:10", "filesize_mb": 12.0}],
        "failed": [],
        "success": [
            {"uuid": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "filename": "kuliah-umum.ogg",
             "duration": 3725.0, "created": "2024-04-30 16:01:02", "filesize_mb": 55.0},
            {"uuid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "filename": "memo.m4a",
             "duration": 42.0, "created": "2024-04-29 10:00:00", "filesize_mb": 1.0},
        ],
    },
    "msg_in": 4,
    "msg_out": 2,
    "message_status": "success",
}


@pytest.mark.parametrize("make_body", [example_body, counters_in_data_body])
def test_json_has_exactly_the_documented_shape(server: FakeBahasakitaRest, make_body: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    server.behaviour.monitoring_body = make_body()
    assert monitor(server, "--json") == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    printed = json.loads(out)
    assert printed == EXPECTED_JSON
    assert list(printed) == ["username", "queues", "msg_in", "msg_out", "message_status"]


def test_a_refused_token_exits_1_with_the_service_message(
        server: FakeBahasakitaRest, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(TOKEN_ENV, "stale-token-1234")
    assert monitor(server) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("dictation-app: Bahasakita refused the token (HTTP 401): Token is "
                            "invalid or expired. Set DICTATION_BAHASAKITA_TOKEN to a new value, or "
                            "renew it in the app.\n")
    assert "stale-token-1234" not in captured.err


def test_no_token_says_how_to_set_one(server: FakeBahasakitaRest, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    assert monitor(server) == 1
    err = capsys.readouterr().err
    assert TOKEN_ENV in err and "Preferences" not in err
    assert server.requests == []


def test_the_keyring_token_is_used_without_the_variable(
        server: FakeBahasakitaRest, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    monkeypatch.setattr(SecretStore, "get", lambda self, name: GOOD_TOKEN)
    assert monitor(server, "--json") == 0
    assert json.loads(capsys.readouterr().out)["username"] == "ayu"


class Interrupted(Exception):
    """Stands in for the cancellation asyncio.run delivers on Ctrl+C."""


def test_watch_prints_one_json_line_per_refresh_and_rides_out_5xx(
        server: FakeBahasakitaRest, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            server.fail(MONITORING, 503)  # the second refresh fails ...
        elif len(pauses) == 2:
            pass  # ... the third works again
        else:
            raise Interrupted

    monkeypatch.setattr(monitor_cli, "_pause", pause)
    with pytest.raises(Interrupted):
        monitor(server, "--json", "--watch", "15")
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [json.loads(line) for line in lines] == [EXPECTED_JSON, EXPECTED_JSON]
    assert "(HTTP 503)" in captured.err
    assert pauses == [15.0, 15.0, 15.0]


def test_watch_stops_on_a_refused_token(server: FakeBahasakitaRest,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    async def pause(seconds: float) -> None:
        server.behaviour.token = "revoked-meanwhile"

    monkeypatch.setattr(monitor_cli, "_pause", pause)
    assert monitor(server, "--watch", "5") == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("Bahasakita account: ayu")
    assert "refused the token" in captured.err


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan"])
def test_watch_needs_a_sensible_interval(server: FakeBahasakitaRest, value: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        monitor(server, "--watch", value)
    assert caught.value.code == 2
    assert "--watch" in capsys.readouterr().err


# --- the real entry point ------------------------------------------------------


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "dictation_app", *args], capture_output=True,
                          text=True, timeout=60, env=environ)


def test_the_command_runs_as_a_process() -> None:
    with FakeBahasakitaRest() as server:
        result = cli("monitor", "--base-url", server.base_url, "--json",
                     env={TOKEN_ENV: GOOD_TOKEN})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED_JSON


def test_the_process_fails_with_the_cause_and_without_the_token() -> None:
    with FakeBahasakitaRest(Behaviour(token="the-real-one")) as server:
        result = cli("monitor", "--base-url", server.base_url, "-v",
                     env={TOKEN_ENV: GOOD_TOKEN})
    assert result.returncode == 1
    assert "Bahasakita refused the token (HTTP 401): Token is invalid or expired" in result.stderr
    assert GOOD_TOKEN not in result.stdout + result.stderr
