"""What the monitoring panel's tests and its controller's share: snapshots as the
transport decodes them, a job moving between queues, a panel to show them, and the
names the panel lists."""

from __future__ import annotations

import copy
import json
from typing import Any

from pytestqt.qtbot import QtBot

from dictation_app.protocols.bahasakita_account import MonitoringSnapshot, parse_monitoring
from dictation_app.ui.monitoring_panel import MonitoringPanel


def snapshot_of(body: dict[str, Any]) -> MonitoringSnapshot:
    return parse_monitoring(json.loads(json.dumps(body)))  # as the transport decodes it


def moved_to_processing(body: dict[str, Any]) -> dict[str, Any]:
    """The waiting job started: it leaves `inquery` and joins `process`."""
    body = copy.deepcopy(body)
    data = body["bk"]["data"]
    data["process"] = data["inquery"] + data["process"]
    data["inquery"] = []
    return body


def shown_panel(qtbot: QtBot) -> MonitoringPanel:
    """A monitoring panel on screen, as big as in the window's side bar."""
    widget = MonitoringPanel()
    qtbot.addWidget(widget)
    widget.resize(360, 600)
    widget.show()
    return widget


def names(panel: MonitoringPanel, queue: str) -> list[str]:
    return [row.text(0) for row in panel.job_rows(queue)]


def bold_names(panel: MonitoringPanel, queue: str) -> list[str]:
    return [row.text(0) for row in panel.job_rows(queue) if row.font(0).bold()]
