"""Dictating into other apps: how fast the key and the text are, and what waiting costs.

Run: .venv/bin/python bench/bench_desktop.py

Everything is real but the speech service: a private X server (Xvfb), the PulseAudio
virtual microphone delivering silence in real time, the app's controllers wired as
app.py wires them (the dictation controller and `build_desktop`, F9 grabbed for the
whole desktop), and the fake Bahasakita server on loopback.

1. Key press to the first captured sample, 20 presses: from the XTest F9 press (a
   second X client, as the keyboard) to the take starting (`LiveSession.start`, which
   hands over the pre-roll) and to the first microphone block the running take gets.
   Also how much audio the pre-roll gave the take, and how much of it is from before
   the press (the pre-roll's length less the time from the press to the start).
2. Final to text in the target app, 30 finals a mode: from the dictation controller's
   `text_settled` to the last character of that final arriving in an X client window
   (`TypedTextWindow` for type, `PasteTargetWindow` for paste, which fetches the
   clipboard on Ctrl+V). The target: under 50 ms.
3. CPU of the armed-but-idle app, over 20 s: the real `python -m dictation_app` as a
   child process (its window up on the X server, F9 grabbed, the microphone open, no
   take), user + system time of the process as a share of one core. The target: < 1%.

`make bench` writes what this prints to bench/results/bench_desktop.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESSES = 20
FINALS = 30
IDLE_SECONDS = 20.0
WARM_UP_SECONDS = 3.0  # after the app is armed: start-up work is not idling


def isolate_user_dirs(folder: Path) -> None:
    """The settings, history and socket of this run live in `folder`, not the user's."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        path = folder / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(path)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Running:
    """The app's controllers against `server`, on the X server `display`."""

    def __init__(self, server_url: str, display: str, mode: str,
                 on_settled: Callable[[Any], None] | None = None) -> None:
        from dictation_app.app import build_desktop
        from dictation_app.controllers.dictation_controller import DictationController
        from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
        from dictation_app.core.settings import Key, Settings
        from dictation_app.ui.main_window import MainWindow

        settings = Settings(Path(tempfile.mkdtemp()) / "settings.json")
        for key, value in ((Key.PROVIDER, "bahasakita"), (Key.BAHASAKITA_URL, server_url),
                           (Key.LANGUAGE, "en"), (Key.TAKE_TIMESTAMPS, False),
                           (Key.OUTPUT_MODE, mode)):
            settings.set(key, value)
        secrets = SecretStore()
        secrets.set(BAHASAKITA_TOKEN, "fake-live-token")
        self.window = MainWindow()
        self.controller = DictationController(self.window, settings, secrets)
        if on_settled is not None:  # before the desktop's slot: stamped as it is emitted
            self.controller.text_settled.connect(on_settled)
        self.desktop = build_desktop(self.window, self.controller, settings,
                                     environ={"DISPLAY": display})

    async def start(self) -> None:
        self.controller.start()
        self.desktop.start()
        await until(lambda: self.controller.microphone is not None)

    async def stop(self) -> None:
        self.desktop.shutdown()
        await self.controller.shutdown()
        self.window.deleteLater()


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition was not met in time")
        await asyncio.sleep(0.005)


# --- 1. key press to the first sample ---------------------------------------------------


async def press_to_sample(display: str, server_url: str) -> list[dict[str, float]]:
    from dictation_app.controllers.dictation_controller import Phase
    from tests.support.x11 import KeySender

    running = Running(server_url, display, "window")
    session = running.controller.session
    mark: dict[str, float] = {}
    start = session.start

    def timed_start(target: Any, **kwargs: Any) -> None:
        mark["start"] = time.perf_counter()
        mark["pre_roll"] = session._pre_roll_frames / max(1, session._samplerate)
        start(target, **kwargs)

    session.start = timed_start  # type: ignore[method-assign]
    microphones = running.controller.microphones
    feed = microphones._on_block

    def timed_feed(block: Any) -> None:
        if session._pipeline is not None and "start" in mark and "block" not in mark:
            mark["block"] = time.perf_counter()
        feed(block)

    microphones._on_block = timed_feed
    keys = KeySender(display)
    results = []
    try:
        await running.start()
        for _ in range(PRESSES):
            # A full pre-roll, as after any pause between takes.
            await asyncio.sleep(0.8)
            mark.clear()
            pressed = time.perf_counter()
            keys.press("F9")
            keys.sync()
            await until(lambda: "block" in mark)
            keys.release("F9")
            keys.sync()
            await until(lambda: running.controller.phase is Phase.IDLE)
            results.append({"start": mark["start"] - pressed, "block": mark["block"] - pressed,
                            "pre_roll": mark["pre_roll"],
                            "before": mark["pre_roll"] - (mark["start"] - pressed)})
    finally:
        keys.close()
        await running.stop()
    return results


# --- 2. final to text in the target app -------------------------------------------------


async def final_to_text(display: str, mode: str) -> list[float]:
    from dictation_app.controllers.dictation_controller import Phase
    from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
    from tests.support.x11 import PasteTargetWindow, TypedTextWindow

    script = tuple(f"this is final number {i} of the benchmark" for i in range(FINALS))
    settled: list[tuple[float, int]] = []
    arrived: list[float] = []
    changed = threading.Condition()

    def on_settled(formatted: Any) -> None:
        with changed:
            settled.append((time.perf_counter(), len(formatted.text) - formatted.retract))
            changed.notify_all()

    target: TypedTextWindow | PasteTargetWindow = (
        TypedTextWindow(display) if mode == "type" else PasteTargetWindow(display))

    def watch() -> None:
        total = 0
        for i in range(FINALS):
            with changed:
                if not changed.wait_for(lambda i=i: len(settled) > i, 30):
                    return
                total += settled[i][1]
            text = target.wait_until(lambda text, total=total: len(text) >= total, 10)
            if len(text) < total:
                return
            arrived.append(time.perf_counter())

    watcher = threading.Thread(target=watch, daemon=True)
    with FakeBahasakita(Behaviour(final_every=4, partial_every=1, script=script)) as server:
        running = Running(server.url, display, mode, on_settled=on_settled)
        try:
            await running.start()
            watcher.start()
            running.controller.start_take()
            await until(lambda: len(arrived) >= FINALS or not watcher.is_alive(), 120)
            running.controller.stop_take()
            await until(lambda: running.controller.phase is Phase.IDLE)
        finally:
            await running.stop()
            target.close()
    if len(arrived) < FINALS:
        raise RuntimeError(f"{mode}: only {len(arrived)} of {FINALS} finals arrived")
    return [arrived[i] - settled[i][0] for i in range(FINALS)]


# --- 3. the armed-but-idle app's CPU --------------------------------------------------


def thread_cpu_seconds(pid: int) -> dict[tuple[int, str], float]:
    """User + system seconds of each thread of `pid`, by (thread id, name)."""
    spent = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            spent[(int(tid), name)] = (int(fields[11]) + int(fields[12])) / tick
    return spent


def app_answers() -> bool:
    from dictation_app.cli.commands import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["record", "status"]) == 0


def microphone_open() -> bool:
    done = subprocess.run(["pactl", "list", "short", "source-outputs"], capture_output=True,
                          text=True, check=False)
    return done.returncode == 0 and bool(done.stdout.strip())


def f9_taken(display: str) -> bool:
    from dictation_app.desktop.hotkey import HotkeyUnavailable, KeySpec
    from dictation_app.desktop.x11_hotkey import X11Hotkey

    probe = X11Hotkey(KeySpec.parse("F9"), lambda: None, lambda: None, display)
    try:
        probe.start()
    except HotkeyUnavailable:
        return True
    probe.stop()
    return False


def idle_cpu(display: str) -> tuple[dict[str, float], float]:
    """The share of one core the armed, idle app used, in all and by thread ("all",
    "main", "pulse", "other"), and the seconds measured."""
    from dictation_app.core.settings import config_dir

    settings = {"provider": "bahasakita", "bahasakita_url": "ws://127.0.0.1:9/stream",
                "welcome_seen": True, "output_mode": "type"}
    config = config_dir()
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "dictation_app"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (app_answers() and microphone_open() and f9_taken(display)):
            if child.poll() is not None or time.monotonic() > deadline:
                stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
                raise RuntimeError(f"the app did not arm: {stderr[-2000:]}")
            time.sleep(0.2)
        time.sleep(WARM_UP_SECONDS)
        before, started = thread_cpu_seconds(child.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        after, wall = thread_cpu_seconds(child.pid), time.monotonic() - started
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
        if child.stderr is not None:
            child.stderr.close()
    shares = {"all": 0.0, "main": 0.0, "pulse": 0.0, "other": 0.0}
    for (tid, name), seconds in after.items():
        share = (seconds - before.get((tid, name), 0.0)) / wall
        # The main thread runs Qt and the asyncio loop; libpulse names its own.
        kind = "main" if tid == child.pid else "pulse" if name == "threaded-ml" else "other"
        shares[kind] += share
        shares["all"] += share
    return shares, wall


# --- the report -------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from tests.servers.bahasakita_server import FakeBahasakita
    from tests.support.pulse import PulseMic, ensure_pulse_plugin
    from tests.support.x11 import XvfbServer

    folder = Path(tempfile.mkdtemp(prefix="bench-desktop-"))
    isolate_user_dirs(folder)
    xvfb = XvfbServer()
    mic = PulseMic(rate=16000, channels=1)
    try:
        ensure_pulse_plugin()
        app = QApplication.instance() or QApplication([])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with FakeBahasakita() as server:
            presses = loop.run_until_complete(press_to_sample(xvfb.display, server.url))
        typed = loop.run_until_complete(final_to_text(xvfb.display, "type"))
        pasted = loop.run_until_complete(final_to_text(xvfb.display, "paste"))
        loop.close()
        shares, wall = idle_cpu(xvfb.display)
    finally:
        mic.close()
        xvfb.close()

    print("### Dictating into other apps (`bench/bench_desktop.py`)\n")
    print(f"Key press to the first captured sample: XTest F9 press on Xvfb, {PRESSES} "
          "presses, the PulseAudio virtual microphone (real-time blocks)\n")
    print("| from the press to | median (ms) | p95 (ms) | max (ms) |")
    print("|---|---:|---:|---:|")
    for label, key in (("the take started (pre-roll handed over)", "start"),
                       ("the first live microphone block in the take", "block")):
        values = [p[key] for p in presses]
        print(f"| {label} | {ms(statistics.median(values))} | "
              f"{ms(percentile(values, 95))} | {ms(max(values))} |")
    pre_roll = statistics.median(p["pre_roll"] for p in presses)
    before = [p["before"] for p in presses]
    print(f"\nThe pre-roll gave each take {ms(pre_roll)} ms of audio (median), of which "
          f"{ms(statistics.median(before))} ms (median; least {ms(min(before))} ms) "
          "was said before the key went down.\n")
    print(f"Final to text in the target X client window, {FINALS} finals of 41-42 "
          "characters a mode (target under 50 ms)\n")
    print("| output | median (ms) | p95 (ms) | max (ms) |")
    print("|---|---:|---:|---:|")
    for label, values in (("type (XTest)", typed), ("paste (clipboard + Ctrl+V)", pasted)):
        print(f"| {label} | {ms(statistics.median(values))} | "
              f"{ms(percentile(values, 95))} | {ms(max(values))} |")
    print(f"\nThe armed-but-idle app (`python -m dictation_app`: window up on Xvfb, F9 "
          f"grabbed, microphone open, no take) over {wall:.0f} s: "
          f"**{shares['all'] * 100:.2f}% of one core** (target under 1%): the main "
          f"thread (Qt and the asyncio loop: 25 microphone blocks a second, each "
          f"redrawing the level meter and kept as pre-roll) {shares['main'] * 100:.2f}%, "
          f"PortAudio's capture and the other threads {shares['other'] * 100:.2f}%, "
          f"libpulse's thread {shares['pulse'] * 100:.2f}%.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
