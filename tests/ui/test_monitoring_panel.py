"""The monitoring panel with qtbot: its update methods in, its signals out (the
controller that feeds it: tests/controllers/test_monitoring_controller.py)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dictation_app.ui.monitoring_panel import MonitoringPanel
from tests.servers.bahasakita_rest_server import (
    example_body,
)
from tests.support.monitoring import (
    bold_names,
    moved_to_processing,
    names,
    shown_panel,
    snapshot_of,
)

WAITING = "9b2f7d6e-0c1a-4e5b-8f3d-2a1c0b9e8d7f"
PROCESSING = "1c4e8a2b-3d5f-4a6b-9c7d-8e0f1a2b3c4d"
AT = datetime(2024, 5, 1, 12, 3, 4)


@pytest.fixture
def panel(qtbot: QtBot) -> MonitoringPanel:
    return shown_panel(qtbot)




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
              "Sign in again or paste a new token in Preferences.")
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
    assert "paste a token in Preferences" in panel.message_label.text()
    assert panel.account_label.text() == "Bahasakita account: not signed in"


def test_signed_out_offers_sign_in_and_greys_what_has_nothing_to_refresh(
        panel: MonitoringPanel, qtbot: QtBot) -> None:
    panel.show_signed_out("")
    assert panel.sign_in_button.isVisible() and panel.sign_in_button.text() == "Sign in…"
    assert not panel.refresh_button.isEnabled() and not panel.interval_box.isEnabled()
    assert "Sign in first" in panel.refresh_button.toolTip()
    with qtbot.waitSignal(panel.sign_in_requested):
        qtbot.mouseClick(panel.sign_in_button, Qt.MouseButton.LeftButton)

    panel.show_snapshot(snapshot_of(example_body()), set(), AT)  # signed in since
    assert not panel.sign_in_button.isVisible()
    assert panel.refresh_button.isEnabled() and panel.interval_box.isEnabled()
    assert panel.interval_box.toolTip() == "How often the queues refresh by themselves"


def test_paused_says_how_often_and_why_and_offers_retry(panel: MonitoringPanel,
                                                        qtbot: QtBot) -> None:
    panel.show_snapshot(snapshot_of(example_body()), set(), AT)
    panel.show_paused("Bahasakita monitoring: no answer.", failures=3,
                      next_try=datetime(2024, 5, 1, 12, 5, 0))
    assert panel.is_paused and panel.is_stale
    assert panel.message_label.text() == (
        "Paused after 3 failures: Bahasakita monitoring: no answer.\n"
        "Next try at 12:05:00, or press Retry now.")
    assert panel.refresh_button.text() == "Retry now"
    with qtbot.waitSignal(panel.refresh_requested):
        qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton)
    panel.set_loading(True)
    panel.set_loading(False)
    assert panel.refresh_button.text() == "Retry now"  # still paused until one succeeds
    assert names(panel, "inquery") == ["rapat-senin.wav"]  # the last data stays

    panel.show_paused("Bahasakita refused the token.", failures=1, next_try=None,
                      stopped="Auto-refresh is off until the token changes.", sign_in=True)
    assert panel.message_label.text().endswith("Auto-refresh is off until the token changes.")
    assert not panel.interval_box.isEnabled() and panel.sign_in_button.isVisible()

    panel.show_error("Bahasakita monitoring: down.")  # one failure of another kind
    assert not panel.is_paused and panel.refresh_button.text() == "Refresh now"
    assert panel.interval_box.isEnabled() and not panel.sign_in_button.isVisible()


@pytest.mark.parametrize(("url", "shown"), [
    ("https://api.dikte.in", "Polls https://api.dikte.in"),
    ("http://127.0.0.1:8123/base", "Polls http://127.0.0.1:8123/base"),
    ("https://user:hunter2@host.example/?token=abc#x", "Polls https://host.example/"),
    ("http://[::1]:80", "Polls http://[::1]:80"),
    ("", ""),
])
def test_the_address_is_shown_without_credentials(panel: MonitoringPanel, url: str,
                                                  shown: str) -> None:
    panel.set_address(url)
    assert panel.address_label.text() == shown
    assert panel.address_label.isVisible() == bool(shown)
    assert panel.address_label.textInteractionFlags() & \
        Qt.TextInteractionFlag.TextSelectableByMouse
