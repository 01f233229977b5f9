"""The embedded offline engine's child process, started when the local provider needs it.

One start at a time: `ensure()` returns the running start (or its result) and only
begins a new one when the last failed, was cancelled or the child has gone. The
window is told "Starting the offline engine…" and, on failure, why.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from dictation_app.core.errors import DictationError
from dictation_app.engine.process import EngineProcess
from dictation_app.ui.main_window import MainWindow


class EngineController:
    """Owns the engine child; `ensure()` gives a task with its WebSocket URL."""

    def __init__(self, window: MainWindow, *, on_started: Callable[[], None],
                 engine_factory: Callable[[], EngineProcess] = EngineProcess):
        self.window = window
        self._on_started = on_started
        self._engine_factory = engine_factory
        self.engine: EngineProcess | None = None
        self._task: asyncio.Task[str] | None = None

    def ensure(self) -> asyncio.Task[str]:
        if self._task is None or (
            self._task.done()
            and (self._task.cancelled() or self._task.exception() is not None
                 or self.engine is None or not self.engine.running)
        ):
            self.engine = self._engine_factory()
            self.window.set_status("starting", "Starting the offline engine…")
            self._task = asyncio.ensure_future(self._start(self.engine))
            # A failure is shown in the status bar; mark it seen even if no session awaits it.
            self._task.add_done_callback(lambda task: task.cancelled() or task.exception())
        return self._task

    async def shutdown(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            # Awaited, so a start cut short has killed and reaped its child before the
            # loop closes (otherwise the reaping runs on a closed loop).
            with contextlib.suppress(asyncio.CancelledError, DictationError):
                await self._task
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    async def _start(self, engine: EngineProcess) -> str:
        try:
            url = await engine.start()
        except DictationError as exc:
            self.window.set_status("error", f"The offline engine did not start: {exc}")
            raise
        self._on_started()
        return url
