"""A child process for the kill -9 test: the real window, dictation controller and take
journal on a qasync loop, dictating from the (PulseAudio virtual) microphone to a
Bahasakita-protocol server whose URL it is given.

    python -m tests.support.take_harness dictate URL    start a take, run until killed
    python -m tests.support.take_harness recover        start, print what is shown, exit

It writes one JSON line per event to stdout, with the wall-clock time it happened:
{"event": "started", "t"}, {"event": "final", "text", "t"} (as the window is told to
show it), and for `recover` {"event": "shown", "text", "status"}. Its settings and
history come from the XDG dirs in its environment, as the app's do.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import qasync
from PySide6.QtWidgets import QApplication

from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.core.text.formatter import Formatted
from dictation_app.takes.journal import TakeJournal
from dictation_app.takes.store import TakeStore
from dictation_app.ui.main_window import MainWindow


def say(**fields: Any) -> None:
    print(json.dumps({**fields, "t": time.time()}), flush=True)


async def until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("condition not met in time")
        await asyncio.sleep(0.02)


async def main(mode: str, url: str | None) -> None:
    settings = Settings()
    settings.set(Key.PROVIDER, "bahasakita")
    if url:
        settings.set(Key.BAHASAKITA_URL, url)
    secrets = SecretStore()
    secrets.set(BAHASAKITA_TOKEN, "harness-token")
    window = MainWindow()
    store = TakeStore()
    controller = DictationController(window, settings, secrets, journal=TakeJournal(store))
    shown = window.add_final

    def add_final(text: str | Formatted, *, engine_note: str = "") -> None:
        shown(text, engine_note=engine_note)
        say(event="final", text=text if isinstance(text, str) else text.text.strip())

    window.add_final = add_final  # type: ignore[method-assign]
    controller.start()
    if mode == "recover":
        say(event="shown", text=window.transcript.plain_text(), status=window.status_label.text())
        await controller.shutdown()
        store.close()
        return
    await until(lambda: controller.microphone is not None)
    controller.start_take()
    say(event="started")
    await until(lambda: controller.phase is Phase.RECORDING)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    app = QApplication(sys.argv[:1])
    qasync.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
