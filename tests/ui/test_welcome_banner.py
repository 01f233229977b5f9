"""WelcomeBanner: says what the app does and how to start; "Got it" only emits dismissed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dictation_app.ui.welcome_banner import WelcomeBanner


@pytest.fixture
def banner(qtbot: QtBot) -> WelcomeBanner:
    widget = WelcomeBanner()
    qtbot.addWidget(widget)
    widget.resize(700, widget.heightForWidth(700))
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_says_the_offline_engine_works_in_english_without_an_account(
    banner: WelcomeBanner,
) -> None:
    line = next(line for line in banner.text().splitlines() if "Local (offline)" in line)
    assert "English" in line
    assert "no account" in line
    assert "no internet" in line


def test_says_where_a_bahasakita_token_goes(banner: WelcomeBanner) -> None:
    line = next(line for line in banner.text().splitlines() if "Bahasakita" in line)
    assert "token" in line
    assert "Preferences" in line


def test_says_files_can_be_dropped_for_botlhale_and_nevisa(banner: WelcomeBanner) -> None:
    line = next(line for line in banner.text().splitlines() if "Botlhale" in line)
    assert "Nevisa" in line
    assert "files" in line


def test_is_short(banner: WelcomeBanner) -> None:
    title, *lines = banner.text().splitlines()
    assert title == "Welcome to Dictation"
    assert 3 <= len(lines) <= 5
    assert all(len(line) <= 100 for line in lines)


def test_got_it_emits_dismissed_once_and_leaves_hiding_to_the_window(
    qtbot: QtBot, banner: WelcomeBanner
) -> None:
    emitted: list[bool] = []
    banner.dismissed.connect(lambda: emitted.append(True))

    with qtbot.waitSignal(banner.dismissed):
        qtbot.mouseClick(banner.got_it_button, Qt.MouseButton.LeftButton)

    assert emitted == [True]
    assert banner.isVisible()  # passive: whoever placed it decides
