"""The monitoring controller feeding a real panel.

The tests run under `asyncio.run` (the controller's timer is an asyncio task) against
the loopback REST server or a gated fake client; they wait on conditions, never on
the clock.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from dictation_app.controllers.monitoring_controller import MonitoringController
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
               interval: float = 3600) -> None:
    async def run() -> None:
        controller = MonitoringController(panel, client_factory=factory, interval=interval)
        try:
            await scenario(controller)
        finally:
            await controller.stop()

    asyncio.run(run())


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
    assert "paste it again in Settings" in panel.message_label.text()
    assert "pasted with a" not in panel.message_label.text()  # the token is never echoed
