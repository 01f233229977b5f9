"""kill -9 mid-take: the next start shows what was said and the history holds it.

A child process (tests/support/take_harness.py) runs the real window, dictation
controller and journal, dictating from the PulseAudio virtual microphone to the fake
Bahasakita server here; it is killed with SIGKILL a while after finals arrived, then
started again. The finals it showed more than 1 s before the kill must be in the
history, the recording must end no more than 1 s before the kill, and the restarted
window must show the transcript and say the take was recovered.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dictation_app.takes.model import TakeState
from dictation_app.takes.store import TakeStore
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita

pytestmark = pytest.mark.pulse

DEADLINE = 60.0
HARNESS = [sys.executable, "-m", "tests.support.take_harness"]
ENV = {"QT_QPA_PLATFORM": "offscreen",
       "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def events_of(child: subprocess.Popen[str]) -> tuple[queue.Queue[dict[str, Any]],
                                                     threading.Thread]:
    """The child's JSON lines, as they come, read on a thread that ends at its EOF."""
    lines: queue.Queue[dict[str, Any]] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("{"):
                lines.put(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def next_event(lines: queue.Queue[dict[str, Any]], child: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        return lines.get(timeout=DEADLINE)
    except queue.Empty as exc:
        child.kill()
        raise AssertionError(
            f"no event from the child; stderr: {child.communicate()[1]}") from exc


def test_kill_9_mid_take_keeps_the_finals_and_the_recording(
        pulse_mic: Callable[..., Any]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    rng = np.random.default_rng(9)
    mic.write((rng.uniform(-0.3, 0.3, 16000 * 60) * 32767).astype("<i2").tobytes())
    env = dict(os.environ, **ENV)
    with FakeBahasakita(Behaviour(final_every=10)) as server:  # a final per second of audio
        child = subprocess.Popen([*HARNESS, "dictate", server.url], env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        reader: threading.Thread | None = None
        try:
            lines, reader = events_of(child)
            started = next_event(lines, child)
            assert started["event"] == "started"
            finals: list[dict[str, Any]] = []
            while len(finals) < 4:
                event = next_event(lines, child)
                if event["event"] == "final":
                    finals.append(event)
            # Half a second after the fourth final (inside the 1 s the test allows to be
            # lost) and over a second after the third, whatever bunching the load caused.
            kill_at = max(finals[3]["t"] + 0.5, finals[2]["t"] + 1.2)
            while time.time() < kill_at:
                time.sleep(0.01)  # waiting for a moment in time, not for a condition
            killed_at = time.time()
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
            if reader is not None:
                reader.join(10)  # EOF once the child is gone; then its pipe may close
            if child.stdout:
                child.stdout.close()
            if child.stderr:
                child.stderr.close()

    with TakeStore() as store:
        [take] = store.list()
        assert take.state is TakeState.RECORDING  # no goodbye
        stored = [f.text for f in take.finals]
    must_have = [f["text"] for f in finals if f["t"] < killed_at - 1.0]
    assert len(must_have) >= 3 and stored[:len(must_have)] == must_have

    again = subprocess.run([*HARNESS, "recover"], env=env, text=True, capture_output=True,
                           timeout=DEADLINE)
    assert again.returncode == 0, again.stderr
    shown = next(json.loads(line) for line in again.stdout.splitlines()
                 if line.startswith('{"event": "shown"'))
    assert all(text in shown["text"] for text in must_have)
    assert "recovered" in shown["status"]

    with TakeStore() as store:
        [take] = store.list()
    assert take.state is TakeState.RECOVERED and take.recording is not None
    with wave.open(str(take.recording), "rb") as w:
        recorded = w.getnframes() / w.getframerate()
    # The pre-roll (0.3 s before Record) is in the recording too, so this is generous
    # only by the microphone's own latency.
    lost = (killed_at - take.started) - recorded
    assert lost <= 1.0, f"the recording ends {lost:.2f} s before the kill"
    assert take.duration == pytest.approx(recorded)
    print(f"kill -9: recording ends {max(lost, 0):.2f} s before the kill; "
          f"{len(stored)} of {len(finals)} finals shown were kept")
