"""Keeps the monitoring panel fed: refreshes the Bahasakita queues on a timer or on request.

The panel only emits intents; this object owns the account client and decides what the
panel shows. Everything runs on the asyncio loop (qasync's, in the app): the timer is an
asyncio task that waits with a timeout, so nothing blocks the UI thread and tests can
drive it under plain `asyncio.run`.

A refresh in flight is shared, never doubled: a Refresh-now click or a timer tick that
comes while one is running waits for that one. The next timer tick is always counted
from the start of the last refresh, whoever asked for it.

The timer only ticks while there is something to refresh: signed out (no token) it
waits for `credentials_changed()`; refreshes that keep failing the same way space the
ticks out (`Backoff`), and a refused token or an unusable token or address stops them
until the credentials or the address change. Whoever asks (Retry now, an upload that
reached the service) still gets a refresh at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import QObject

from dictation_app.controllers.messages import Where, window_message
from dictation_app.core.errors import AuthenticationFailed, ConfigurationError, DictationError
from dictation_app.protocols.bahasakita_account import SERVICE, MonitoringSnapshot, diff
from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient
from dictation_app.ui.monitoring_panel import MonitoringPanel

log = logging.getLogger(__name__)

ClientFactory = Callable[[], BahasakitaAccountClient | None]

BACKOFF_CAP = 300.0  # seconds: however often it failed, the account is tried every 5 min
_AUTH_STOPPED = "Auto-refresh is off until the token changes."
_SETTINGS_STOPPED = "Auto-refresh is off until the token or the account address changes."


class Backoff:
    """How far apart the auto-refreshes are after refreshes that failed the same way.

    One failure is a blip: the chosen interval stands. From the second failure of the
    same kind (the error's class) in a row the interval doubles each time, up to `cap`
    (never below the chosen interval); a failure of another kind starts the count
    again, a success clears it. A `fatal` failure (a refused token) stops the timer
    until `reset()`: asking again with the same token cannot succeed.
    """

    def __init__(self, *, cap: float = BACKOFF_CAP, factor: float = 2.0):
        self.cap = cap
        self.factor = factor
        self.failures = 0
        self.kind: str | None = None
        self.stopped = False

    def failed(self, kind: str, *, fatal: bool = False) -> None:
        self.failures = self.failures + 1 if kind == self.kind else 1
        self.kind = kind
        self.stopped = fatal

    def reset(self) -> None:
        self.failures = 0
        self.kind = None
        self.stopped = False

    @property
    def backing_off(self) -> bool:
        return self.stopped or self.failures >= 2

    def delay(self, interval: float) -> float | None:
        """Seconds to the next tick for the chosen `interval`; None: no tick (paused)."""
        if interval <= 0 or self.stopped:
            return None
        if self.failures < 2:
            return interval
        grown = interval * self.factor ** (self.failures - 1)
        return max(interval, min(grown, self.cap))


class MonitoringController(QObject):
    def __init__(self, panel: MonitoringPanel, *, client_factory: ClientFactory,
                 interval: float = 30, backoff_cap: float = BACKOFF_CAP):
        """`client_factory` returns None while there is no token; `interval` is in seconds,
        0 pauses the timer (fractions are allowed, for tests), and `backoff_cap` is the
        longest wait after repeated failures."""
        super().__init__()
        self.panel = panel
        self._client_factory = client_factory
        self._client: BahasakitaAccountClient | None = None
        self._interval = interval
        self._backoff = Backoff(cap=backoff_cap)
        self._signed_out = False  # the factory had no token: nothing to refresh
        self._restart_pending = False  # a credentials_changed() is scheduled, not begun
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

    @property
    def delay(self) -> float | None:
        """Seconds between the timer's refreshes now: the chosen interval, longer after
        repeated failures; None while the timer does not refresh at all (paused, signed
        out, or stopped by a refused token)."""
        if self._signed_out:
            return None
        return self._backoff.delay(self._interval)

    @property
    def failures(self) -> int:
        """Refreshes in a row that failed the same way."""
        return self._backoff.failures

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
        # Waited on, not awaited: one waiter giving up (the timer being stopped) does not
        # cancel the refresh another is counting on, and a refresh cancelled because the
        # credentials changed does not cancel its waiters (the timer) with it. stop()
        # and credentials_changed() cancel it explicitly.
        await asyncio.wait({task})

    def set_interval(self, seconds: float) -> None:
        """Change the timer's period (0 pauses it); the panel is told to show it."""
        self._interval = max(0.0, seconds)
        self.panel.set_interval(_whole_seconds(self._interval))
        if self._wake is not None:
            self._wake.set()

    async def credentials_changed(self) -> None:
        """The token or the account address was replaced or removed: start over with a
        fresh client, and with the timer going again if a failure had stopped it."""
        self._restart_pending = False
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            # It asks with the old credentials: its answer, or its failure, is stale.
            inflight.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await inflight
        await self._close_client()
        self._previous = None  # maybe another account: nothing to compare with
        self._backoff.reset()  # what failed was about the old credentials
        self._signed_out = False
        await self.refresh()

    # --- slots ---------------------------------------------------------------------

    def on_account_changed(self) -> None:
        """The token or the address changed: start over once, however many changes
        arrive together (Settings saves both at once)."""
        if self._restart_pending:
            return
        self._restart_pending = True
        task = asyncio.get_running_loop().create_task(self.credentials_changed(),
                                                      name="monitoring-restart")
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

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
            elif (delay := self.delay) is not None:
                due = self._last_started + delay - loop.time()
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
            self.panel.set_address("")
            self._failed(exc)
            return
        if client is None:
            self._previous = None
            self._signed_out = True
            self._backoff.reset()
            self.panel.set_address("")
            self.panel.show_signed_out("")
            return
        self._signed_out = False
        self._client = client
        self.panel.set_address(client.base_url)
        self.panel.set_loading(True)
        try:
            snapshot = await client.monitoring()
        except DictationError as exc:
            self._failed(exc)
            if isinstance(exc, AuthenticationFailed):
                # Ask the factory again next time: the person may have signed in since.
                await self._close_client()
            return
        except Exception as exc:
            # A bug here must not kill the timer, nor leave the panel saying nothing.
            log.exception("monitoring refresh failed unexpectedly")
            self._show_failure(type(exc).__name__,
                               f"{SERVICE}: unexpected error ({type(exc).__name__}); "
                               "see the log for details.")
            return
        finally:
            self.panel.set_loading(False)
        self._backoff.reset()
        # On the first snapshot every job is "new"; highlighting them all says nothing.
        changed = set(diff(self._previous, snapshot)) if self._previous is not None else set()
        self._previous = snapshot
        self.panel.show_snapshot(snapshot, changed, datetime.now())

    def _failed(self, exc: DictationError) -> None:
        log.warning("%s", exc)
        # A refused token, or one or an address the client cannot use, fails again and
        # again until someone changes it: the timer waits for that instead.
        stopped = (_AUTH_STOPPED if isinstance(exc, AuthenticationFailed)
                   else _SETTINGS_STOPPED if isinstance(exc, ConfigurationError) else None)
        self._show_failure(type(exc).__name__, window_message(exc, Where.ACCOUNT),
                           stopped=stopped, sign_in=stopped is not None)

    def _show_failure(self, kind: str, message: str, *, stopped: str | None = None,
                      sign_in: bool = False) -> None:
        self._backoff.failed(kind, fatal=stopped is not None)
        if not self._backoff.backing_off:
            self.panel.show_error(message)
            return
        delay = self.delay
        next_try = None if delay is None else datetime.now() + timedelta(seconds=delay)
        self.panel.show_paused(message, failures=self._backoff.failures, next_try=next_try,
                               stopped=stopped, sign_in=sign_in)

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _whole_seconds(seconds: float) -> int:
    # The panel shows whole seconds; a fraction (tests) must not read as "Paused".
    return math.ceil(seconds) if seconds > 0 else 0
