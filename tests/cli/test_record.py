"""`dictation-app record`: the command line against the app's real single-instance server
(app.py's QLocalServer) answering with a real DictationController, whose take streams
from the PulseAudio virtual microphone to a Bahasakita-protocol server on loopback.

The CLI blocks on its socket, so it runs on a worker thread (or as a child process)
while the test drives the qasync loop that serves it; nothing sleeps blindly.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from pytestqt.qtbot import QtBot

from dictation_app import app
from dictation_app.cli.commands import main
from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.core.instance import instance_socket_path
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.protocols.app_command import (
    CommandReply,
    LiveState,
    RecordAction,
    RecordCommand,
    encode_command,
    parse_reply,
)
from dictation_app.transport.app_command_client import NOT_RUNNING, send_command
from dictation_app.ui.main_window import MainWindow
from tests.servers.bahasakita_server import FakeBahasakita
from tests.support.qt_async import run, until

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class Running:
    """The window's side of the socket: controller, server, and the files it was given."""

    def __init__(self, qtbot: QtBot, server_url: str) -> None:
        settings = Settings()
        settings.set(Key.PROVIDER, "bahasakita")
        settings.set(Key.BAHASAKITA_URL, server_url)
        secrets = SecretStore()
        secrets.set(BAHASAKITA_TOKEN, "fake-live-token")
        self.window = MainWindow()
        qtbot.addWidget(self.window)
        self.controller = DictationController(self.window, settings, secrets)
        self.opened: list[list[Path]] = []
        self.server = app._listen_for_second_instances(
            self.window, self.opened.append, self.controller.answer_record_command)


@pytest.fixture
def running(qtbot: QtBot, loop: asyncio.AbstractEventLoop) -> Iterator[Running]:
    with FakeBahasakita() as bahasakita:
        instance = Running(qtbot, bahasakita.url)
        instance.bahasakita = bahasakita  # type: ignore[attr-defined]
        yield instance
        instance.server.close()


def cli(*args: str) -> Callable[[], int]:
    return lambda: main(["record", *args])


async def in_thread(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, work)


def exchange(data: bytes, *, hang_up: bool = False) -> bytes:
    """Send `data` as a hostile client would and return whatever comes back before EOF;
    with `hang_up`, end the message as a hand-over does, by closing the sending side."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(instance_socket_path()))
        try:
            sock.sendall(data)
            if hang_up:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server had heard enough; its answer may still be there to read
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


def test_the_cli_finds_the_socket_qt_listens_on(running: Running) -> None:
    assert running.server.isListening()
    assert running.server.fullServerName() == str(instance_socket_path())
    assert os.stat(instance_socket_path()).st_mode & 0o077 == 0  # this user only


@pytest.mark.pulse
def test_start_status_and_stop_drive_the_take(
        running: Running, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object], capsys: pytest.CaptureFixture[str]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    controller, bahasakita = running.controller, running.bahasakita  # type: ignore[attr-defined]

    async def scenario() -> None:
        controller.start()
        mic.write(bytes(16000 * 2 * 6))  # type: ignore[attr-defined]
        assert await in_thread(cli("start")) == 0
        assert controller.phase in (Phase.CONNECTING, Phase.RECORDING)
        await until(lambda: bool(bahasakita.sessions)
                    and len(bahasakita.sessions[0].chunk_sizes) >= 5)
        assert await in_thread(cli("start")) == 0  # already dictating: the same take
        assert await in_thread(cli("status")) == 0
        assert await in_thread(cli("stop")) == 0
        await until(lambda: controller.phase is Phase.IDLE)
        assert await in_thread(cli("stop")) == 0  # a second release: nothing to stop

    run(loop, controller, scenario())
    assert capsys.readouterr().out.split() == [
        "connecting", "recording", "recording", "stopping", "idle"]
    [session] = bahasakita.sessions
    assert session.stopped


@pytest.mark.pulse
def test_toggle_starts_when_idle_and_stops_when_recording(
        running: Running, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    controller, bahasakita = running.controller, running.bahasakita  # type: ignore[attr-defined]

    async def scenario() -> None:
        controller.start()
        mic.write(bytes(16000 * 2 * 6))  # type: ignore[attr-defined]
        reply = await in_thread(lambda: send_command(RecordCommand(RecordAction.TOGGLE)))
        assert reply == CommandReply(True, LiveState.CONNECTING)
        await until(lambda: controller.phase is Phase.RECORDING)
        reply = await in_thread(lambda: send_command(RecordCommand(RecordAction.TOGGLE)))
        assert reply == CommandReply(True, LiveState.STOPPING)
        await until(lambda: controller.phase is Phase.IDLE)

    run(loop, controller, scenario())
    assert len(bahasakita.sessions) == 1 and bahasakita.sessions[0].stopped


@pytest.mark.pulse
def test_the_real_entry_point_as_a_key_binding_runs_it(
        running: Running, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    """`python -m dictation_app record toggle` in a child, as sway's exec would run it."""
    mic = pulse_mic(rate=16000, channels=1)
    controller = running.controller

    def child(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dictation_app", "record", action],
                              capture_output=True, text=True, timeout=60, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})

    async def scenario() -> None:
        controller.start()
        mic.write(bytes(16000 * 2 * 6))  # type: ignore[attr-defined]
        started = await in_thread(lambda: child("toggle"))
        assert (started.returncode, started.stdout, started.stderr) == (0, "connecting\n", "")
        assert controller.phase is not Phase.IDLE
        await until(lambda: controller.phase is Phase.RECORDING)
        stopped = await in_thread(lambda: child("toggle"))
        assert (stopped.returncode, stopped.stdout) == (0, "stopping\n")
        await until(lambda: controller.phase is Phase.IDLE)

    run(loop, controller, scenario())


def test_a_start_the_window_refuses_exits_1_with_its_reason(
        running: Running, loop: asyncio.AbstractEventLoop,
        capsys: pytest.CaptureFixture[str]) -> None:
    """No microphone was opened (the controller was not started): nothing starts."""
    controller = running.controller

    async def scenario() -> None:
        assert await in_thread(cli("start")) == 1
        assert controller.phase is Phase.IDLE

    run(loop, controller, scenario())
    err = capsys.readouterr().err
    assert err.startswith("dictation-app: ") and "microphone" in err.lower()


def test_not_running_exits_1_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert not instance_socket_path().exists()
    assert main(["record", "toggle"]) == 1
    assert capsys.readouterr().err == f"{NOT_RUNNING}\n"


def test_a_socket_a_crashed_run_left_behind_is_not_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(instance_socket_path()))
    stale.close()  # the file stays, nobody listens
    try:
        assert main(["record", "start"]) == 1
    finally:
        instance_socket_path().unlink()
    assert NOT_RUNNING in capsys.readouterr().err


def test_a_window_that_never_answers_times_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hung:
        hung.bind(str(instance_socket_path()))
        hung.listen(1)  # accepts (in the kernel), never reads or answers
        try:
            assert main(["record", "start", "--timeout", "0.3"]) == 1
        finally:
            instance_socket_path().unlink()
    err = capsys.readouterr().err
    assert "did not answer within 0.3 s" in err


def test_hostile_clients_are_answered_or_cut_off_and_the_window_goes_on(
        running: Running, loop: asyncio.AbstractEventLoop,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "_CONNECTION_DEADLINE_MS", 1500)
    controller = running.controller
    answers: dict[str, bytes] = {}

    def silent() -> bytes:
        """Connects, sends nothing, waits: the deadline cuts it off."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(instance_socket_path()))
            return sock.recv(100)

    async def scenario() -> None:
        answers["garbage"] = await in_thread(lambda: exchange(b"\x00\xffGET / HTTP/1.1\r\n"))
        answers["huge line"] = await in_thread(lambda: exchange(b"{" + b"x" * 10_000_000))
        answers["not json"] = await in_thread(lambda: exchange(b"{nope}\n"))
        answers["version"] = await in_thread(
            lambda: exchange(b'{"v": 99, "command": "record", "action": "start"}\n'))
        # One path of 2 MB: over the cap, it is cut off before the hang-up would open it.
        answers["huge open"] = await in_thread(
            lambda: exchange(b"open\n" + b"/a" * 1_000_000 + b"\n", hang_up=True))
        answers["silent"] = await in_thread(silent)
        answers["status"] = await in_thread(
            lambda: exchange(encode_command(RecordCommand(RecordAction.STATUS))))

    run(loop, controller, scenario())
    for name in ("garbage", "huge line", "not json", "version"):
        reply = parse_reply(answers[name].rstrip(b"\n"))
        assert not reply.ok and reply.error, name
    assert "too long" in parse_reply(answers["huge line"].rstrip(b"\n")).error
    assert "version 99 is not supported" in parse_reply(answers["version"].rstrip()).error
    assert answers["huge open"] == b"" and answers["silent"] == b""
    assert running.opened == []  # neither the huge nor a cut-off message opened anything
    assert parse_reply(answers["status"].rstrip()) == CommandReply(True, LiveState.IDLE)
    assert running.server.isListening()


def test_a_second_window_still_hands_its_files_over(
        running: Running, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    talk = tmp_path / "talk.wav"
    memo = tmp_path / "memo.m4a"

    async def scenario() -> None:
        assert await in_thread(lambda: app._raise_running_instance([talk, memo])) is True
        await until(lambda: bool(running.opened))
        assert await in_thread(lambda: app._raise_running_instance()) is True

    run(loop, running.controller, scenario())
    assert running.opened == [[talk, memo]]


def test_the_server_removes_the_socket_it_closes(running: Running) -> None:
    path = instance_socket_path()
    assert path.exists()
    running.server.close()
    assert not path.exists()
