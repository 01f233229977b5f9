"""Dictating into a real terminal, end to end, as a person on an X11 desktop would.

A real `xterm` on a private X server runs `cat > FILE` and has the focus (xdotool
gives it, as a window manager would). The app's own controllers (the dictation
controller and `build_desktop`, system-wide F9) take audio from the PulseAudio virtual
microphone to a Bahasakita-protocol server on loopback whose finals are Indonesian and
Persian. The push-to-talk key is held with XTest, or the take is driven by
`dictation-app record start` / `stop` through the app's instance socket. What `cat`
wrote, once Ctrl+D ends it, is exactly what the app's window shows; in paste mode the
clipboard the user had copied is theirs again afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dictation_app import app
from dictation_app.app import build_desktop
from dictation_app.cli.commands import main
from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.ui.main_window import MainWindow
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
from tests.support.qt_async import run, until
from tests.support.x11 import ClipboardHolder, KeySender, XvfbServer, clipboard_text

pytestmark = pytest.mark.pulse

INDONESIAN = ("Selamat pagi, apa kabar?", "Saya baik-baik saja.")
PERSIAN = ("سلام دنیا", "حال شما چطور است؟")
# xterm has no paste chord of its own but Shift+Insert; this is the binding users add
# so that Ctrl+Shift+V pastes the clipboard, as in other terminals.
PASTE_BINDING = "XTerm*VT100.translations: #override Ctrl Shift <Key>V: insert-selection(CLIPBOARD)"


class Xterm:
    """`xterm` running `cat > path` on `display`, with the keyboard focus."""

    def __init__(self, display: str, path: Path, *, paste_binding: bool = True) -> None:
        program = shutil.which("xterm")
        if program is None:
            if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
                pytest.fail("xterm is not installed (CI must run it: run scripts/setup.sh)")
            pytest.skip("xterm is not installed (the xterm package)")
        self.path = path
        self._env = {**os.environ, "DISPLAY": display, "LC_ALL": "C.UTF-8"}
        title = f"dictation-target-{os.getpid()}-{path.stem}"
        resources = ["-xrm", PASTE_BINDING] if paste_binding else []
        self._process = subprocess.Popen(
            [program, "-u8", "-T", title, *resources,
             "-e", "sh", "-c", 'exec cat > "$0"', str(path)],
            env=self._env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # No window manager on Xvfb: windowfocus rather than windowactivate, which
            # asks the window manager.
            found = self._xdotool("search", "--sync", "--onlyvisible", "--name", title)
            self.window = found.split()[0]
            self._xdotool("windowfocus", "--sync", self.window)
        except BaseException:
            self.close()
            raise

    def _xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self._env, capture_output=True,
                              text=True, timeout=20, check=False)
        assert done.returncode == 0, f"xdotool {' '.join(args)}: {done.stderr}"
        return done.stdout

    def focused(self) -> bool:
        return self._xdotool("getwindowfocus").strip() == self.window

    def end_input(self, keys: KeySender) -> str:
        """Once the app has typed all it was given (see `typed_all`): Ctrl+D twice
        (the first hands `cat` the line typed so far, the second ends it); what `cat`
        wrote, once xterm has exited."""
        for _ in range(2):
            keys.tap("Control_L", "d")
        assert self._process.wait(20) == 0
        return self.path.read_text(encoding="utf-8")

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(10)
        if self._process.stderr is not None:
            self._process.stderr.close()


@pytest.fixture
def xterm(xvfb: XvfbServer, tmp_path: Path) -> Iterator[Xterm]:
    terminal = Xterm(xvfb.display, tmp_path / "typed.txt")
    yield terminal
    terminal.close()


class App:
    """The app's controllers as `app.py` wires them, against a fake server scripted
    with `script`, in output `mode`, on the X server `display`."""

    def __init__(self, qtbot: QtBot, server: FakeBahasakita, display: str, mode: str,
                 language: str) -> None:
        settings = Settings()
        for key, value in ((Key.PROVIDER, "bahasakita"), (Key.BAHASAKITA_URL, server.url),
                           (Key.LANGUAGE, language), (Key.TAKE_TIMESTAMPS, False),
                           (Key.OUTPUT_MODE, mode)):
            settings.set(key, value)
        secrets = SecretStore()
        secrets.set(BAHASAKITA_TOKEN, "fake-live-token")
        self.window = MainWindow()
        qtbot.addWidget(self.window)
        self.server = server
        self.controller = DictationController(self.window, settings, secrets)
        self.desktop = build_desktop(self.window, self.controller, settings,
                                     environ={"DISPLAY": display})

    def shown(self) -> str:
        return self.window.transcript.plain_text().strip()

    def finals_sent(self) -> int:
        return len(self.server.sessions[-1].finals) if self.server.sessions else 0


def dictate(qtbot: QtBot, loop: asyncio.AbstractEventLoop, xvfb: XvfbServer,
            script: tuple[str, ...], mode: str, language: str,
            take: Callable[[App], Awaitable[None]],
            then: Callable[[App], Awaitable[None]]) -> None:
    """Start the app, run `take` (which ends once the server sent every final), wait
    for the take to end, then `then` while the app still runs."""
    behaviour = Behaviour(final_every=3, partial_every=1, script=script)
    with FakeBahasakita(behaviour) as server:
        running = App(qtbot, server, xvfb.display, mode, language)

        async def scenario() -> None:
            running.controller.start()
            running.desktop.start()
            assert running.desktop.grabbed == ["F9"]
            await take(running)
            await until(lambda: running.controller.phase is Phase.IDLE)
            await then(running)

        try:
            run(loop, running.controller, scenario())
        finally:
            running.desktop.shutdown()


async def typed_all(running: App) -> None:
    """Wait until the app's typing thread has done every insertion handed to it: it
    takes them in order, so a no-op given now runs after them. Only then may another
    client's keys follow, as the X server orders no two clients' requests."""
    await asyncio.wrap_future(running.desktop._typer.submit(lambda: None))


async def in_thread(work: Callable[[], object]) -> object:
    return await asyncio.get_running_loop().run_in_executor(None, work)


def holding_f9(mic: object, keys: KeySender, count: int) -> Callable[[App], Awaitable[None]]:
    async def take(running: App) -> None:
        keys.press("F9")
        keys.sync()
        await until(lambda: running.controller.phase is not Phase.IDLE)
        mic.write(bytes(16000 * 2 * 4))  # type: ignore[attr-defined]
        await until(lambda: running.finals_sent() >= count)
        keys.release("F9")
        keys.sync()
    return take


def test_holding_f9_types_indonesian_into_xterm_as_the_window_shows_it(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        xvfb: XvfbServer, keys: KeySender, xterm: Xterm) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    shown: list[str] = []
    written: list[object] = []

    async def then(running: App) -> None:
        shown.append(running.shown())
        assert xterm.focused()  # the app never took the focus
        await typed_all(running)
        written.append(await in_thread(lambda: xterm.end_input(keys)))

    dictate(qtbot, loop, xvfb, INDONESIAN, "type", "id", holding_f9(mic, keys, 2), then)
    # The server's own final at the stop ("last N") follows the scripted ones.
    assert re.fullmatch(r"Selamat pagi, apa kabar\? Saya baik-baik saja\. Last \d+", shown[0])
    assert written == shown


def test_record_start_and_stop_type_persian_into_xterm_as_the_window_shows_it(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        xvfb: XvfbServer, keys: KeySender, xterm: Xterm) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    shown: list[str] = []
    written: list[object] = []
    instance: list[object] = []

    async def take(running: App) -> None:
        instance.append(app._listen_for_second_instances(
            running.window, lambda _files: None, running.controller.answer_record_command))
        mic.write(bytes(16000 * 2 * 4))  # type: ignore[attr-defined]
        assert await in_thread(lambda: main(["record", "start"])) == 0
        await until(lambda: running.finals_sent() >= len(PERSIAN))
        assert await in_thread(lambda: main(["record", "stop"])) == 0

    async def then(running: App) -> None:
        shown.append(running.shown())
        await typed_all(running)
        written.append(await in_thread(lambda: xterm.end_input(keys)))

    try:
        dictate(qtbot, loop, xvfb, PERSIAN, "type", "fa", take, then)
    finally:
        for server in instance:
            server.close()  # type: ignore[attr-defined]
    assert re.fullmatch(r"سلام دنیا حال شما چطور است؟ last \d+", shown[0]), shown
    assert written == shown


def test_in_paste_mode_xterm_gets_the_text_and_the_clipboard_is_given_back(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        xvfb: XvfbServer, keys: KeySender, xterm: Xterm) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    copied = ClipboardHolder(xvfb.display, "what the user copied")
    shown: list[str] = []
    written: list[object] = []
    clipboard: list[object] = []

    async def then(running: App) -> None:
        shown.append(running.shown())
        await typed_all(running)
        written.append(await in_thread(lambda: xterm.end_input(keys)))
        # Asked while the app runs: the clipboard it gave back lives in the app.
        clipboard.append(await in_thread(lambda: clipboard_text(xvfb.display)))

    try:
        script = (INDONESIAN[0], PERSIAN[0])
        dictate(qtbot, loop, xvfb, script, "paste", "id", holding_f9(mic, keys, 2), then)
    finally:
        copied.close()
    assert re.fullmatch(r"Selamat pagi, apa kabar\? سلام دنیا last \d+", shown[0]), shown
    assert written == shown
    assert clipboard == ["what the user copied"]


def test_a_stock_xterm_takes_no_clipboard_paste_and_the_window_says_so(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        xvfb: XvfbServer, keys: KeySender, tmp_path: Path) -> None:
    # xterm as installed pastes only PRIMARY (Shift+Insert); Ctrl+Shift+V is a key.
    mic = pulse_mic(rate=16000, channels=1)
    terminal = Xterm(xvfb.display, tmp_path / "typed.txt", paste_binding=False)
    copied = ClipboardHolder(xvfb.display, "what the user copied")
    status: list[str] = []
    clipboard: list[object] = []

    async def then(running: App) -> None:
        await typed_all(running)
        await until(lambda: "not pasted" in running.window.status_text)
        status.append(running.window.status_text)
        clipboard.append(await in_thread(lambda: clipboard_text(xvfb.display)))

    try:
        dictate(qtbot, loop, xvfb, (PERSIAN[0],), "paste", "fa",
                holding_f9(mic, keys, 1), then)
    finally:
        copied.close()
        terminal.close()
    assert status[0].startswith("Could not put the text into the other app (the text "
                                "was not pasted: nothing fetched it from the clipboard")
    assert status[0].endswith("it is in this window and in History.")
    assert clipboard == ["what the user copied"]
