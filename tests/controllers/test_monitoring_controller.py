"""The monitoring controller feeding a real panel.

The tests run under `asyncio.run` (the controller's timer is an asyncio task) against
the loopback REST server or a gated fake client; they wait on conditions, never on
the clock.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from dictation_app.controllers.monitoring_controller import Backoff, MonitoringController
from dictation_app.core.errors import AuthenticationFailed, ConnectionFailed
from dictation_app.protocols.bahasakita_account import (
    MonitoringSnapshot,
)
from dictation_app.transport.bahasakita_account_client import (
    BahasakitaAccountClient,
)
from dictation_app.ui.monitoring_panel import MonitoringPanel
from tests.servers.bahasakita_rest_server import (
    GOOD_TOKEN,
    MONITORING,
    FakeBahasakitaRest,
    error_body,
    example_body,
)
from tests.support.monitoring import (
    bold_names,
    moved_to_processing,
    names,
    shown_panel,
    snapshot_of,
)


@pytest.fixture
def panel(qtbot: QtBot) -> MonitoringPanel:
    return shown_panel(qtbot)


@pytest.fixture
def server() -> Iterator[FakeBahasakitaRest]:
    with FakeBahasakitaRest() as running:
        yield running


def controlled(panel: MonitoringPanel, factory: Callable[[], BahasakitaAccountClient | None],
               scenario: Callable[[MonitoringController], Awaitable[None]],
               interval: float = 3600, backoff_cap: float = 300) -> None:
    async def run() -> None:
        controller = MonitoringController(panel, client_factory=factory, interval=interval,
                                          backoff_cap=backoff_cap)
        try:
            await scenario(controller)
        finally:
            await controller.stop()

    asyncio.run(run())


async def until_async(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for `condition` under plain asyncio (the loop yields; no fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def real_client(server: FakeBahasakitaRest) -> Callable[[], BahasakitaAccountClient]:
    return lambda: BahasakitaAccountClient(base_url=server.base_url, token=GOOD_TOKEN)


def test_refreshes_show_data_and_highlight_moved_jobs(panel: MonitoringPanel,
                                                      server: FakeBahasakitaRest) -> None:
    async def scenario(controller: MonitoringController) -> None:
        await controller.refresh()
        assert panel.queue_titles() == ["Waiting (1)", "Processing (1)", "Failed (0)",
                                        "Done (2)"]
        assert bold_names(panel, "inquery") == []  # a first load highlights nothing

        server.behaviour.monitoring_body = moved_to_processing(example_body())
        await controller.refresh()
        assert bold_names(panel, "process") == ["rapat-senin.wav"]

    controlled(panel, real_client(server), scenario)
    assert [r.headers["Authorization"] for r in server.requests] == [f"Bearer {GOOD_TOKEN}"] * 2


def test_a_failed_refresh_keeps_the_data_with_the_service_message(
        panel: MonitoringPanel, server: FakeBahasakitaRest) -> None:
    async def scenario(controller: MonitoringController) -> None:
        await controller.refresh()
        server.fail(MONITORING, 503, error_body(503, "Maintenance until 13:00"))
        await controller.refresh()

    controlled(panel, real_client(server), scenario)
    assert panel.is_stale
    assert names(panel, "inquery") == ["rapat-senin.wav"]
    assert "(HTTP 503): Maintenance until 13:00" in panel.message_label.text()
    assert panel.refresh_button.isEnabled()


class FakeClient:
    """Answers monitoring() with scripted results; `gate` holds every call until set."""

    base_url = "https://fake.invalid"

    def __init__(self, *results: MonitoringSnapshot | Exception):
        self.results = list(results)
        self.calls = 0
        self.closed = False
        self.gate = asyncio.Event()
        self.gate.set()
        self._called = asyncio.Event()

    async def monitoring(self) -> MonitoringSnapshot:
        self.calls += 1
        self._called.set()
        await self.gate.wait()
        result = self.results[min(self.calls, len(self.results)) - 1]
        if isinstance(result, Exception):
            raise result
        return result

    async def wait_calls(self, count: int) -> None:
        async def reached() -> None:
            while self.calls < count:
                self._called.clear()
                await self._called.wait()

        await asyncio.wait_for(reached(), 10)

    async def aclose(self) -> None:
        self.closed = True


def test_a_refresh_in_flight_is_never_doubled(panel: MonitoringPanel) -> None:
    fake = FakeClient(snapshot_of(example_body()))

    async def scenario(controller: MonitoringController) -> None:
        fake.gate.clear()
        first = asyncio.ensure_future(controller.refresh())
        await fake.wait_calls(1)
        assert not panel.refresh_button.isEnabled()
        panel.refresh_requested.emit()  # Refresh now while one is running
        second = asyncio.ensure_future(controller.refresh())
        fake.gate.set()
        await asyncio.gather(first, second)
        assert fake.calls == 1
        assert panel.queue_titles()[0] == "Waiting (1)" and panel.refresh_button.isEnabled()

    controlled(panel, lambda: fake, scenario)


def test_no_token_shows_signed_out_until_one_appears(panel: MonitoringPanel) -> None:
    fake = FakeClient(snapshot_of(example_body()))
    clients: list[FakeClient | None] = [None, fake]

    async def scenario(controller: MonitoringController) -> None:
        await controller.refresh()
        assert "not signed in" in panel.account_label.text()
        assert panel.message_label.isVisible()
        await controller.refresh()
        assert panel.account_label.text() == "Bahasakita account: ayu"

    controlled(panel, lambda: clients.pop(0), scenario)


def test_a_refused_token_asks_the_factory_again(panel: MonitoringPanel) -> None:
    refused = FakeClient(AuthenticationFailed("Bahasakita refused the token (HTTP 401): expired."))
    fresh = FakeClient(snapshot_of(example_body()))
    clients = [refused, fresh]

    async def scenario(controller: MonitoringController) -> None:
        await controller.refresh()
        assert "refused the token" in panel.message_label.text() and refused.closed
        await controller.refresh()
        assert not panel.message_label.isVisible() and fresh.calls == 1

    controlled(panel, lambda: clients.pop(0), scenario)


def test_the_timer_refreshes_and_follows_the_interval(panel: MonitoringPanel) -> None:
    fake = FakeClient(snapshot_of(example_body()), ConnectionFailed("Bahasakita monitoring: down"),
                      snapshot_of(example_body()))

    async def scenario(controller: MonitoringController) -> None:
        controller.start()
        await fake.wait_calls(1)  # at once, not after the first hour
        assert panel.interval_box.currentText() == "60 min"
        controller.set_interval(0.01)
        await fake.wait_calls(4)  # the ticks come quickly now, through a failure and back
        panel.interval_box.setCurrentIndex(panel.interval_box.findText("Paused"))
        assert controller.interval == 0

    controlled(panel, lambda: fake, scenario)
    assert fake.closed


def test_a_factory_that_fails_shows_why_and_keeps_the_timer(panel: MonitoringPanel) -> None:
    def factory() -> BahasakitaAccountClient:
        return BahasakitaAccountClient(token="pasted with a\nline break")

    async def scenario(controller: MonitoringController) -> None:
        await controller.refresh()
        await controller.refresh()  # still alive: asks again rather than raising

    controlled(panel, factory, scenario)
    assert "paste it again in Preferences" in panel.message_label.text()
    assert "pasted with a" not in panel.message_label.text()  # the token is never echoed


# --- back-off, signed out, refused tokens ------------------------------------------


def test_backoff_grows_for_the_same_failure_and_starts_again_for_another() -> None:
    backoff = Backoff(cap=300)
    assert backoff.delay(30) == 30
    delays = []
    for _ in range(5):
        backoff.failed("ConnectionFailed")
        delays.append(backoff.delay(30))
    assert delays == [30, 60, 120, 240, 300]  # one failure is a blip; then doubling, capped
    backoff.failed("RemoteProtocolError")  # another way of failing: counted afresh
    assert (backoff.failures, backoff.delay(30)) == (1, 30)
    backoff.failed("RemoteProtocolError")
    assert backoff.delay(600) == 600  # never faster than the interval chosen
    assert backoff.delay(0) is None  # paused stays paused
    backoff.failed("AuthenticationFailed", fatal=True)
    assert backoff.stopped and backoff.delay(30) is None
    backoff.reset()
    assert (backoff.failures, backoff.stopped, backoff.delay(30)) == (0, False, 30)


def test_repeated_failures_slow_the_timer_say_so_and_a_success_resets(
        panel: MonitoringPanel, server: FakeBahasakitaRest) -> None:
    async def scenario(controller: MonitoringController) -> None:
        server.fail(MONITORING, 503, error_body(503, "Maintenance until 13:00"), times=4)
        await controller.refresh()
        # One failure: the usual stale line, the timer unchanged.
        assert controller.delay == 30 and not panel.is_paused
        assert panel.refresh_button.text() == "Refresh now"
        delays = []
        for _ in range(3):
            await controller.refresh()
            delays.append(controller.delay)
        assert delays == [60, 120, 120]  # capped at 120 s here
        assert panel.is_paused
        message = panel.message_label.text()
        assert message.startswith("Paused after 4 failures: ")
        assert "Maintenance until 13:00" in message and "Next try at " in message
        assert panel.refresh_button.text() == "Retry now" and panel.refresh_button.isEnabled()
        assert panel.interval_box.isEnabled()  # slowed, not stopped: still the person's choice

        await controller.refresh()  # the fake answers again
        assert controller.delay == 30 and controller.failures == 0
        assert not panel.is_paused and not panel.message_label.isVisible()
        assert panel.refresh_button.text() == "Refresh now"
        assert panel.queue_titles()[0] == "Waiting (1)"

    controlled(panel, real_client(server), scenario, interval=30, backoff_cap=120)
    assert [r.path for r in server.requests] == [MONITORING] * 5


def test_the_timer_waits_longer_after_each_failure_and_recovers(
        panel: MonitoringPanel, server: FakeBahasakitaRest) -> None:
    # Ticks of 50 ms doubling to a cap of 200 ms: the fake fails three times, then answers.
    server.fail(MONITORING, 503, times=3)
    seen: list[float | None] = []
    starts: list[float] = []

    async def scenario(controller: MonitoringController) -> None:
        loop = asyncio.get_running_loop()
        original = panel.set_loading

        def loading(on: bool) -> None:  # each refresh's start, and the delay that led to it
            if on:
                starts.append(loop.time())
                seen.append(controller.delay)
            original(on)

        panel.set_loading = loading  # type: ignore[method-assign]
        controller.start()
        await until_async(lambda: len(server.requests) >= 5)

    controlled(panel, real_client(server), scenario, interval=0.05, backoff_cap=0.2)
    # The delay before each tick: grown by the failures, reset by the success.
    assert seen[1:5] == [0.05, 0.1, 0.2, 0.05]
    # And the ticks really came that far apart: well over the 50 ms they would be
    # without back-off (the timer never fires early; the margin is for a busy machine).
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[1] >= 0.075 and gaps[2] >= 0.15, gaps


def test_a_refused_token_stops_the_timer_until_the_token_changes(
        panel: MonitoringPanel, server: FakeBahasakitaRest) -> None:
    tokens = ["refused-token-0005"]

    def factory() -> BahasakitaAccountClient:
        return BahasakitaAccountClient(base_url=server.base_url, token=tokens[-1])

    async def scenario(controller: MonitoringController) -> None:
        controller.start()
        await until_async(lambda: panel.is_paused)
        assert controller.delay is None  # the timer has nothing left to tick for
        message = panel.message_label.text()
        assert message.startswith("Paused after 1 failure: ")
        assert "Token is invalid or expired" in message
        assert "Auto-refresh is off until the token changes." in message
        assert "refused-token-0005" not in message
        assert not panel.interval_box.isEnabled()
        assert panel.interval_box.toolTip() == "Auto-refresh is off until the token changes."
        assert panel.sign_in_button.isVisible()
        assert panel.refresh_button.text() == "Retry now" and panel.refresh_button.isEnabled()

        panel.refresh_button.click()  # Retry now asks, with the same token, and fails again
        await until_async(lambda: "Paused after 2 failures" in panel.message_label.text())
        assert len(server.requests) == 2 and controller.delay is None

        tokens.append(GOOD_TOKEN)
        controller.on_account_changed()
        # A fresh start at once, and the timer (20 ms) ticking again after it.
        await until_async(lambda: len(server.requests) >= 4)
        assert panel.account_label.text() == "Bahasakita account: ayu"
        assert not panel.is_paused and panel.interval_box.isEnabled()
        assert not panel.sign_in_button.isVisible()

    controlled(panel, factory, scenario, interval=0.02)
    auth = [r.headers["Authorization"] for r in server.requests]
    assert auth[:2] == ["Bearer refused-token-0005"] * 2
    assert set(auth[2:]) == {f"Bearer {GOOD_TOKEN}"}


def test_signed_out_the_timer_asks_nothing_and_the_controls_say_why(
        panel: MonitoringPanel, server: FakeBahasakitaRest) -> None:
    tokens: list[str] = []

    def factory() -> BahasakitaAccountClient | None:
        return (BahasakitaAccountClient(base_url=server.base_url, token=tokens[-1])
                if tokens else None)

    async def scenario(controller: MonitoringController) -> None:
        controller.start()
        await until_async(lambda: panel.sign_in_button.isVisible())
        assert controller.delay is None
        assert "Not signed in to Bahasakita" in panel.message_label.text()
        assert not panel.refresh_button.isEnabled()
        assert not panel.interval_box.isEnabled()
        assert "Sign in first" in panel.refresh_button.toolTip()
        assert "Sign in first" in panel.interval_box.toolTip()
        assert not panel.address_label.isVisible()

        tokens.append(GOOD_TOKEN)
        await controller.credentials_changed()
        assert panel.refresh_button.isEnabled() and panel.interval_box.isEnabled()
        assert not panel.sign_in_button.isVisible()
        assert panel.address_label.text() == f"Polls {server.base_url}"

    controlled(panel, factory, scenario, interval=0.02)
    assert [r.headers["Authorization"] for r in server.requests] == [f"Bearer {GOOD_TOKEN}"]


def test_a_token_change_mid_refresh_drops_that_refresh_and_keeps_the_timer(
        panel: MonitoringPanel, server: FakeBahasakitaRest) -> None:
    server.delays[MONITORING] = 30  # the first request hangs (cut short at shutdown)

    async def scenario(controller: MonitoringController) -> None:
        controller.start()
        await until_async(lambda: len(server.requests) == 1)
        del server.delays[MONITORING]
        controller.on_account_changed()  # e.g. a sign-in while the old token was asking
        # The new start answers, and the 20 ms timer goes on ticking after it.
        await until_async(lambda: len(server.requests) >= 4)
        assert panel.account_label.text() == "Bahasakita account: ayu"
        assert not panel.message_label.isVisible()

    controlled(panel, real_client(server), scenario, interval=0.02)
