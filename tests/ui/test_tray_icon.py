"""The tray icon: its picture and tooltip follow the state, its menu and a click emit
intents. Offscreen there is no system tray; none of this needs one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from dictation_app.ui.tray_icon import (
    CONNECTING,
    ERROR,
    IDLE,
    LISTENING,
    LOOKS,
    TrayIcon,
    tray_pixmap,
)


@pytest.fixture
def tray(qtbot: QtBot) -> Iterator[TrayIcon]:
    icon = TrayIcon()
    yield icon
    icon.menu.deleteLater()
    icon.deleteLater()


def is_red(c: QColor) -> bool:
    return c.red() > 180 and c.green() < 100 and c.blue() < 100


def is_amber(c: QColor) -> bool:
    return c.red() > 200 and 120 < c.green() < 190 and c.blue() < 80


def is_yellow(c: QColor) -> bool:
    return c.red() > 200 and c.green() > 170 and c.blue() < 90


def badge_share(look: str, size: int, colour: Callable[[QColor], bool]) -> float:
    """The share of the lower right quarter (where the badge goes) in `colour`."""
    image = tray_pixmap(look, size).toImage()
    corner = [image.pixelColor(x, y) for x in range(size // 2, size)
              for y in range(size // 2, size)]
    return sum(1 for c in corner if c.alpha() > 200 and colour(c)) / len(corner)


def as_image(look: str, size: int) -> QImage:
    return tray_pixmap(look, size).toImage().convertToFormat(QImage.Format.Format_ARGB32)


@pytest.mark.parametrize("size", [16, 22, 24])
def test_each_look_has_its_own_picture_at_tray_sizes(qtbot: QtBot, size: int) -> None:
    images = {look: as_image(look, size) for look in LOOKS}
    assert all(image.width() == size and image.height() == size for image in images.values())
    for first in LOOKS:
        for second in LOOKS:
            if first < second:
                assert images[first] != images[second], (first, second)
    # The badge reads by colour: red while listening, amber connecting, yellow on error;
    # idle is the plain app icon.
    assert badge_share(LISTENING, size, is_red) > 0.3
    assert badge_share(CONNECTING, size, is_amber) > 0.2
    assert badge_share(ERROR, size, is_yellow) > 0.1
    for colour in (is_red, is_amber, is_yellow):
        assert badge_share(IDLE, size, colour) < 0.02


def test_an_unknown_look_is_refused(qtbot: QtBot) -> None:
    with pytest.raises(ValueError, match="expected one of"):
        tray_pixmap("dancing", 16)


def test_the_icon_and_tooltip_follow_the_status(tray: TrayIcon) -> None:
    shown: dict[str, QImage] = {}
    for kind, look, words in [("streaming", LISTENING, "Listening"),
                              ("connecting", CONNECTING, "Connecting"),
                              ("starting", CONNECTING, "Connecting"),
                              ("error", ERROR, "Problem"),
                              ("stopped", IDLE, "Ready"),
                              ("idle", IDLE, "Ready")]:
        tray.set_state(kind, f"said {kind}")
        assert tray.look == look
        assert tray.toolTip() == f"Dictation: {words}\nsaid {kind}"
        shown[look] = tray.icon().pixmap(22, 22).toImage()
    assert shown[LISTENING] != shown[IDLE] and shown[ERROR] != shown[CONNECTING]
    tray.set_state("idle")
    assert tray.toolTip() == "Dictation: Ready"
    with pytest.raises(ValueError, match="unknown tray state 'dancing'"):
        tray.set_state("dancing", "")
    assert tray.look == IDLE


def test_the_menu_starts_and_stops_and_its_text_follows(qtbot: QtBot, tray: TrayIcon) -> None:
    assert tray.contextMenu() is tray.menu
    assert tray.record_action.text() == "Start dictating"
    with qtbot.waitSignal(tray.record_toggled):
        tray.record_action.trigger()
    tray.set_recording(True)
    assert tray.record_action.text() == "Stop dictating"
    with qtbot.waitSignal(tray.record_toggled):
        tray.record_action.trigger()
    tray.set_recording(False)
    assert tray.record_action.text() == "Start dictating"
    tray.set_record_enabled(False)
    assert not tray.record_action.isEnabled()


def test_output_modes_are_exclusive_and_chosen_by_intent(qtbot: QtBot, tray: TrayIcon) -> None:
    actions = tray.output_actions
    assert [a.text() for a in tray.output_menu.actions()] == [
        "Only in this window", "Type into the focused app", "Paste into the focused app"]
    assert tray.output_mode == "window" and actions["window"].isChecked()
    with qtbot.waitSignal(tray.output_mode_chosen) as chosen:
        actions["paste"].trigger()
    assert chosen.args == ["paste"]
    assert [m for m, a in actions.items() if a.isChecked()] == ["paste"]
    tray.set_output_mode("type")
    assert [m for m, a in actions.items() if a.isChecked()] == ["type"]
    tray.set_output_mode("nonsense")  # a stale setting shows as the window, the default
    assert tray.output_mode == "window"


def test_show_window_and_quit_are_intents(qtbot: QtBot, tray: TrayIcon) -> None:
    labels = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert labels == ["Start dictating", "Output", "Show window", "Quit"]
    with qtbot.waitSignal(tray.show_window_requested):
        tray.show_action.trigger()
    with qtbot.waitSignal(tray.quit_requested):
        tray.quit_action.trigger()


def test_a_click_on_the_icon_shows_the_window_a_right_click_does_not(
        qtbot: QtBot, tray: TrayIcon) -> None:
    shown: list[bool] = []
    tray.show_window_requested.connect(lambda: shown.append(True))
    tray.activated.emit(QSystemTrayIcon.ActivationReason.Context)
    assert shown == []
    with qtbot.waitSignal(tray.show_window_requested):
        tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    assert shown == [True]
