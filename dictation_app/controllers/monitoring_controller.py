"""Keeps the monitoring panel fed: refreshes the Bahasakita queues on a timer or on request.

The panel only emits intents; this object owns the account client and decides what the
panel shows. Everything runs on the asyncio loop (qasync's, in the app): the timer is an
asyncio task that waits with a timeout, so nothing blocks the UI thread and tests can
drive it under plain `asyncio.run`.

A refresh in flight is shared, never doubled: a Refresh-now click or a timer tick that
comes while one is running waits for that one. The next timer tick is always counted
from the start of the last refresh, whoever asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject

from dictation_app.controllers.messages import Where, window_message
from dictation_app.core.errors import AuthenticationFailed, DictationError
from dictation_app.protocols.bahasakita_account import SERVICE, MonitoringSnapshot, diff
from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient
from dictation_app.ui.monitoring_panel import MonitoringPanel

log = logging.getLogger(__name__)

ClientFactory = Callable[[], BahasakitaAccountClient | None]


class MonitoringController(QObject):
    def __init__(self, panel: MonitoringPanel, *, client_factory: ClientFactory,
                 interval: float = 30):
        """`client_factory` returns None while there is no token; `interval` is in seconds,
        0 pauses the timer (fractions are allowed, for tests)."""
        super().__init__()
        self.panel = panel
        self._client_factory = client_factory
        self._client: BahasakitaAccountClient | None = None
        self._interval = interval
        self._previous: MonitoringSnapshot | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._last_started: float | None = None  # loop.time() of the last refresh
        self._wake: asyncio.Event | None = None
        self._timer: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        panel.refresh_requested.connect(self.on_panel_refresh_requested)
        panel.interval_changed.connect(self.on_panel_interval_changed)
        panel.set_interval(_whole_seconds(interval))

    @property
    def interval(self) -> float:
        return self._interval

    def start(self) -> None:
        """Refresh now, then every `interval` seconds. Call from the running event loop."""
        if self._timer is not None:
            return
        self._wake = asyncio.Event()
        self._timer = asyncio.get_running_loop().create_task(self._run_timer(),
                                                             name="monitoring-timer")

    async def stop(self) -> None:
        """Stop the timer, cancel a refresh in flight and close the client."""
        tasks = [t for t in (self._timer, self._inflight, *self._requests) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._timer = self._inflight = None
        self._requests.clear()
        await self._close_client()

    async def refresh(self) -> None:
        """Refresh once, or join the refresh already in flight; never raises."""
        task = self._inflight
        if task is None or task.done():
            task = self._inflight = asyncio.get_running_loop().create_task(
                self._refresh_once(), name="monitoring-refresh")
            self._last_started = asyncio.get_running_loop().time()
            if self._wake is not None:
                self._wake.set()  # the timer counts its next tick from this refresh
        # Shielded, so one waiter giving up (the timer being stopped) does not cancel
        # the refresh another waiter is counting on; stop() cancels it explicitly.
        await asyncio.shield(task)

    def set_interval(self, seconds: float) -> None:
        """Change the timer's period (0 pauses it); the panel is told to show it."""
        self._interval = max(0.0, seconds)
        self.panel.set_interval(_whole_seconds(self._interval))
        if self._wake is not None:
            self._wake.set()

    async def credentials_changed(self) -> None:
        """The token was replaced or removed: start over with a fresh client."""
        await self._close_client()
        self._previous = None  # maybe another account: nothing to compare with
        await self.refresh()

    # --- slots ---------------------------------------------------------------------

    def on_panel_refresh_requested(self) -> None:
        task = asyncio.get_running_loop().create_task(self.refresh())
        # Held until done: the loop keeps only weak references to tasks.
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    def on_panel_interval_changed(self, seconds: int) -> None:
        self.set_interval(seconds)

    # --- internals -----------------------------------------------------------------

    async def _run_timer(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            due = None
            if self._last_started is None:
                due = 0.0  # never refreshed: show something at once, even when paused
            elif self._interval > 0:
                due = self._last_started + self._interval - loop.time()
            if due is not None and due <= 0:
                await self.refresh()
                continue
            # Sleep until due, or until the interval changes or someone else refreshes.
            # Not wait_for: on 3.10/3.11 it swallows a cancel that lands as the event is
            # set (stop() right after an interval change), and the timer would live on.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=due)
            finally:
                waiter.cancel()

    async def _refresh_once(self) -> None:
        try:
            client = self._client or self._client_factory()
        except DictationError as exc:  # e.g. a malformed token in the keyring
            self._show_failure(exc)
            return
        if client is None:
            self._previous = None
            self.panel.show_signed_out("")
            return
        self._client = client
        self.panel.set_loading(True)
        try:
            snapshot = await client.monitoring()
        except DictationError as exc:
            self._show_failure(exc)
            if isinstance(exc, AuthenticationFailed):
                # Ask the factory again next time: the person may have signed in since.
                await self._close_client()
            return
        except Exception as exc:
            # A bug here must not kill the timer, nor leave the panel saying nothing.
            log.exception("monitoring refresh failed unexpectedly")
            self.panel.show_error(f"{SERVICE}: unexpected error ({type(exc).__name__}); "
                                  "see the log for details.")
            return
        finally:
            self.panel.set_loading(False)
        # On the first snapshot every job is "new"; highlighting them all says nothing.
        changed = set(diff(self._previous, snapshot)) if self._previous is not None else set()
        self._previous = snapshot
        self.panel.show_snapshot(snapshot, changed, datetime.now())

    def _show_failure(self, exc: DictationError) -> None:
        log.warning("%s", exc)
        self.panel.show_error(window_message(exc, Where.ACCOUNT))

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _whole_seconds(seconds: float) -> int:
    # The panel shows whole seconds; a fraction (tests) must not read as "Paused".
    return math.ceil(seconds) if seconds > 0 else 0
