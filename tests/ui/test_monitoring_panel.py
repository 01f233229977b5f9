"""The monitoring panel with qtbot, and the controller that feeds it.

The panel tests drive its update methods and watch its signals. The controller tests
run under `asyncio.run` (the controller's timer is an asyncio task) with a real panel,
against the loopback REST server or a gated fake client; they wait on conditions,
never on the clock.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dictation_app.controllers.monitoring_controller import MonitoringController
from dictation_app.core.errors import AuthenticationFailed, ConnectionFailed
from dictation_app.protocols.bahasakita_account import (
    MonitoringSnapshot,
    parse_monitoring,
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

WAITING = "9b2f7d6e-0c1a-4e5b-8f3d-2a1c0b9e8d7f"
PROCESSING = "1c4e8a2b-3d5f-4a6b-9c7d-8e0f1a2b3c4d"
AT = datetime(2024, 5, 1, 12, 3, 4)


def snapshot_of(body: dict[str, Any]) -> MonitoringSnapshot:
    return parse_monitoring(json.loads(json.dumps(body)))  # as the transport decodes it


def moved_to_processing(body: dict[str, Any]) -> dict[str, Any]:
    """The waiting job started: it leaves `inquery` and joins `process`."""
    body = copy.deepcopy(body)
    data = body["bk"]["data"]
    data["process"] = data["inquery"] + data["process"]
    data["inquery"] = []
    return body


@pytest.fixture
def panel(qtbot: QtBot) -> MonitoringPanel:
    widget = MonitoringPanel()
    qtbot.addWidget(widget)
    widget.resize(360, 600)
    widget.show()
    return widget


def names(panel: MonitoringPanel, queue: str) -> list[str]:
    return [row.text(0) for row in panel.job_rows(queue)]


def bold_names(panel: MonitoringPanel, queue: str) -> list[str]:
    return [row.text(0) for row in panel.job_rows(queue) if row.font(0).bold()]


# --- the panel alone -----------------------------------------------------------


def test_a_snapshot_shows_every_queue_with_its_count(panel: MonitoringPanel) -> None:
    panel.show_snapshot(snapshot_of(example_body()), set(), AT)
    assert panel.queue_titles() == ["Waiting (1)", "Processing (1)", "Failed (0)", "Done (2)"]
    assert panel.account_label.text() == "Bahasakita account: ayu"
    assert panel.counters_label.text() == "Messages: 4 in · 2 out"
    assert panel.status_label.text() == "Updated 12:03:04"
    assert panel.tree.isVisible() and not panel.message_label.isVisible()
    (waiting,) = panel.job_rows("inquery")
    # Created today shows the time only; other days the date.
    assert [waiting.text(c) for c in range(4)] == ["rapat-senin.wav", "0:42:10", "09:12", "38"]
    assert names(panel, "success") == ["kuliah-umum.ogg", "memo.m4a"]  # newest first
    assert panel.job_rows("success")[1].text(2) == "29 Apr"
    assert WAITING in waiting.toolTip(0)


def test_a_failure_keeps_the_data_marks_it_stale_and_says_why(panel: MonitoringPanel) -> None:
    panel.show_snapshot(snapshot_of(example_body()), set(), AT)
    normal = panel.job_rows("inquery")[0].foreground(0).color()
    reason = ("Bahasakita refused the token (HTTP 401): Token expired. "
              "Sign in again or paste a new token in Settings.")
    panel.show_error(reason)
    assert panel.is_stale
    assert panel.status_label.text() == "Stale: last updated 12:03:04"
    assert names(panel, "inquery") == ["rapat-senin.wav"]
    assert panel.queue_titles()[3] == "Done (2)"
    assert panel.job_rows("inquery")[0].foreground(0).color() != normal  # greyed
    assert panel.message_label.isVisible() and panel.message_label.text() == reason
    assert panel.message_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse

    panel.show_snapshot(snapshot_of(example_body()), set(), datetime(2024, 5, 1, 12, 3, 34))
    assert not panel.is_stale and not panel.message_label.isVisible()
    assert panel.status_label.text() == "Updated 12:03:34"


def test_an_error_before_any_data_shows_no_empty_queues(panel: MonitoringPanel) -> None:
    panel.show_error("Bahasakita monitoring: cannot connect to https://api.dikte.in")
    assert not panel.tree.isVisible()
    assert panel.status_label.text() == "Not updated yet"
    assert panel.message_label.isVisible()


def test_changed_jobs_stand_out_until_the_next_snapshot(panel: MonitoringPanel) -> None:
    body = moved_to_processing(example_body())
    panel.show_snapshot(snapshot_of(body), {WAITING}, AT)
    assert bold_names(panel, "process") == ["rapat-senin.wav"]
    changed = next(r for r in panel.job_rows("process") if r.text(0) == "rapat-senin.wav")
    assert not changed.icon(0).isNull()
    assert "Changed since the last refresh" in changed.toolTip(0)
    assert panel.queue_titles()[:2] == ["Waiting (0)", "Processing (2) · 1 changed"]

    panel.show_snapshot(snapshot_of(body), set(), AT)
    assert bold_names(panel, "process") == []
    assert panel.queue_titles()[1] == "Processing (2)"


def test_what_a_person_expanded_stays_expanded(panel: MonitoringPanel) -> None:
    panel.show_snapshot(snapshot_of(example_body()), set(), AT)
    done = panel.tree.topLevelItem(3)
    assert done is not None and not done.isExpanded()  # done jobs pile up: folded
    done.setExpanded(True)
    panel.show_snapshot(snapshot_of(example_body()), set(), AT)
    assert done.isExpanded()


def test_choosing_an_interval_emits_it(panel: MonitoringPanel, qtbot: QtBot) -> None:
    assert panel.interval_box.currentText() == "Paused"
    with qtbot.waitSignal(panel.interval_changed) as signal:
        panel.interval_box.setCurrentIndex(panel.interval_box.findText("1 min"))
    assert signal.args == [60]
    with qtbot.waitSignal(panel.interval_changed) as signal:
        panel.interval_box.setCurrentIndex(panel.interval_box.findText("Paused"))
    assert signal.args == [0]


def test_set_interval_shows_it_without_emitting(panel: MonitoringPanel, qtbot: QtBot) -> None:
    with qtbot.assertNotEmitted(panel.interval_changed):
        panel.set_interval(300)
        assert panel.interval_box.currentText() == "5 min"
        panel.set_interval(45)
        assert panel.interval_box.currentText() == "45 s"


def test_refresh_now_emits_and_loading_disables_it(panel: MonitoringPanel, qtbot: QtBot) -> None:
    with qtbot.waitSignal(panel.refresh_requested):
        qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton)
    panel.set_loading(True)
    assert not panel.refresh_button.isEnabled()
    panel.set_loading(False)
    assert panel.refresh_button.isEnabled() and panel.refresh_button.text() == "Refresh now"


def test_signed_out_says_how_to_add_a_token(panel: MonitoringPanel) -> None:
    panel.show_snapshot(snapshot_of(example_body()), set(), AT)
    panel.show_signed_out("")
    assert not panel.tree.isVisible()
    assert "paste a token in Settings" in panel.message_label.text()
    assert panel.account_label.text() == "Bahasakita account: not signed in"


# --- the controller feeding it ---------------------------------------------------


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
