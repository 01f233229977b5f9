"""Widget tests run offscreen (no display, no sound card, no network); the panel and
window fixtures the widget test modules share."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from pytestqt.qtbot import QtBot

from dictation_app.controllers.jobs_controller import vendor_job_actions
from dictation_app.services import registry
from dictation_app.ui.jobs_panel import JobsPanel
from dictation_app.ui.main_window import MainWindow
from tests.support.jobs import NOW


@pytest.fixture
def panel(qtbot: QtBot) -> JobsPanel:
    widget = JobsPanel(clock=lambda: NOW)
    # As the jobs controller does:
    widget.set_providers(registry.choices(), registry.options_types(),
                         registry.language_supports(),
                         speakers=registry.speaker_services())
    widget.set_job_actions(vendor_job_actions())
    qtbot.addWidget(widget)
    widget.resize(320, 600)
    return widget


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    widget = MainWindow()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    return widget
