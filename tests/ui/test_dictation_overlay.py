"""The dictation overlay: never takes the focus, sits at the bottom centre of the screen,
shows the state, level and words (a final for a moment), and the main window shows it
only while a take runs with the overlay enabled."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dictation_app.core.text.formatter import Formatted
from dictation_app.ui.dictation_overlay import (
    BOTTOM_MARGIN,
    ELLIPSIS,
    MAX_LINES,
    WIDTH,
    DictationOverlay,
)
from dictation_app.ui.level_meter import FLOOR_DB, to_dbfs
from dictation_app.ui.main_window import MainWindow

LONG = " ".join(f"word{number}" for number in range(200))


@pytest.fixture
def overlay(qtbot: QtBot) -> DictationOverlay:
    widget = DictationOverlay(final_shown_ms=50)
    qtbot.addWidget(widget)
    return widget


def test_it_never_takes_the_focus_from_the_app_being_typed_into(
        qtbot: QtBot, window: MainWindow, overlay: DictationOverlay) -> None:
    flags = overlay.windowFlags()
    for flag in (Qt.WindowType.FramelessWindowHint, Qt.WindowType.WindowStaysOnTopHint,
                 Qt.WindowType.WindowDoesNotAcceptFocus):
        assert flags & flag, flag
    assert overlay.windowType() == Qt.WindowType.Tool
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert overlay.focusPolicy() == Qt.FocusPolicy.NoFocus

    focused = QApplication.focusWidget()
    overlay.show()
    qtbot.waitExposed(overlay)
    overlay.show_partial("hello")
    assert QGuiApplication.focusWindow() is window.windowHandle()
    assert window.isActiveWindow() and QApplication.focusWidget() is focused


def test_it_sits_at_the_bottom_centre_of_the_screen_and_grows_to_three_lines(
        qtbot: QtBot, overlay: DictationOverlay) -> None:
    overlay.show()
    qtbot.waitExposed(overlay)
    screen = overlay.screen()
    area = screen.availableGeometry()
    one_line = overlay.geometry()
    assert one_line.width() == min(WIDTH, area.width() - 32)
    assert abs(one_line.center().x() - area.center().x()) <= 1
    assert one_line.bottom() == area.bottom() - BOTTOM_MARGIN

    overlay.show_partial("a few words")
    short = overlay.geometry()
    overlay.show_partial(LONG)
    tall = overlay.geometry()
    line = overlay.text_label.fontMetrics().lineSpacing()
    assert one_line.height() < short.height() < tall.height()
    assert tall.height() - short.height() >= (MAX_LINES - 1) * line - 2
    assert tall.height() - short.height() < MAX_LINES * line
    # Still anchored to the same place as it grows.
    assert tall.bottom() == short.bottom() == area.bottom() - BOTTOM_MARGIN
    assert tall.center().x() == short.center().x()


def test_it_shows_the_state_the_level_and_the_grey_words(overlay: DictationOverlay) -> None:
    overlay.set_state("streaming", "Listening")
    assert overlay.shown_state == "Listening"
    assert overlay.accessibleDescription() == "Listening"
    assert overlay.accessibleName() == "Dictation"
    overlay.set_state("connecting", "Reconnecting (attempt 2)")
    assert overlay.accessibleDescription() == "Reconnecting (attempt 2)"
    with pytest.raises(ValueError, match="unknown status kind 'busy'"):
        overlay.set_state("busy", "Busy")

    assert overlay.level_db == FLOOR_DB
    overlay.set_level(0.5, 0.1)
    assert overlay.level_db == pytest.approx(to_dbfs(0.1))

    overlay.show_partial("the meeting  is\nmoved")
    assert overlay.shown_text == "the meeting is moved"
    assert not overlay.showing_final
    assert overlay.text_label.palette().color(QPalette.ColorRole.WindowText) != QColor("white")
    assert overlay.text_label.isVisibleTo(overlay)

    overlay.clear()
    assert overlay.shown_text == "" and not overlay.text_label.isVisibleTo(overlay)
    assert overlay.level_db == FLOOR_DB


def test_a_final_shows_in_white_then_clears(qtbot: QtBot, overlay: DictationOverlay) -> None:
    overlay.show_partial("hello wor")
    overlay.show_final("Hello world.")
    assert overlay.shown_text == "Hello world." and overlay.showing_final
    assert overlay.text_label.palette().color(QPalette.ColorRole.WindowText) == QColor("white")
    qtbot.waitUntil(lambda: overlay.shown_text == "", timeout=2000)
    assert not overlay.showing_final


def test_new_words_replace_a_final_and_are_not_cleared_by_its_timer(
        qtbot: QtBot) -> None:
    overlay = DictationOverlay(final_shown_ms=30)
    qtbot.addWidget(overlay)
    overlay.show_final("First.")
    overlay.show_partial("second")
    with qtbot.assertNotEmitted(overlay._clear_timer.timeout, wait=150):
        pass  # the final's timer was stopped by the new words
    assert overlay.shown_text == "second"
    # An empty final (a withdrawn partial) clears at once.
    overlay.show_final("")
    assert overlay.shown_text == ""


def test_a_long_partial_keeps_its_newest_words(qtbot: QtBot,
                                               overlay: DictationOverlay) -> None:
    overlay.show()
    qtbot.waitExposed(overlay)
    overlay.show_partial(LONG)
    shown = overlay.shown_text
    assert shown.startswith(ELLIPSIS + "word")
    assert shown.endswith("word198 word199")
    assert "word0 " not in shown
    label = overlay.text_label
    height = label.heightForWidth(label.width())
    assert height <= MAX_LINES * label.fontMetrics().lineSpacing() + 4
    assert overlay.text == " ".join(LONG.split())


def test_screenshots_in_light_and_dark_palettes(qtbot: QtBot, overlay: DictationOverlay,
                                                tmp_path: Path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    original = app.palette()
    shots: list[QImage] = []
    try:
        for window_colour in ("#f4f4f4", "#1f1f1f"):
            palette = QPalette(original)
            palette.setColor(QPalette.ColorRole.Window, QColor(window_colour))
            app.setPalette(palette)
            overlay.set_state("streaming", "Listening")
            overlay.set_level(0.4, 0.12)
            overlay.show_partial("so the meeting on thursday moves to the afternoon")
            overlay.show()
            qtbot.waitExposed(overlay)
            path = tmp_path / f"overlay-{window_colour[1:]}.png"
            assert overlay.grab().save(str(path))
            shots.append(QImage(str(path)))
    finally:
        app.setPalette(original)
    # The panel draws its own colours, so it looks the same over either palette: dark
    # and semi-opaque in the middle, with light text on it.
    for image in shots:
        centre = image.pixelColor(image.width() // 2, image.height() - 4)
        assert centre.lightness() < 60 and 150 < centre.alpha() < 255
    assert shots[0].pixelColor(40, 8) == shots[1].pixelColor(40, 8)


# ------------------------------------------------------------------ in the main window


def test_the_window_shows_an_enabled_overlay_while_recording(
        qtbot: QtBot, window: MainWindow) -> None:
    window.set_overlay_enabled(True)
    assert not window.overlay.isVisible()  # no take yet
    window.set_recording(True)
    qtbot.waitExposed(window.overlay)
    window.set_status("streaming", "Listening")
    window.set_level(0.5, 0.2)
    window.show_partial("hello wor", " ")
    assert window.overlay.shown_state == "Listening"
    assert window.overlay.shown_text == "hello wor"
    assert window.overlay.level_db == pytest.approx(to_dbfs(0.2))
    # The window's own behaviour is untouched.
    assert window.status_text == "Listening"
    assert window.transcript.partial_text() == "hello wor"

    window.add_final(Formatted("Hello world."))
    assert window.overlay.shown_text == "Hello world." and window.overlay.showing_final
    window.add_final("Plain words.")
    assert window.overlay.shown_text == "Plain words."
    assert window.transcript.plain_text() == "Hello world. Plain words."
    assert window.isActiveWindow()

    window.set_recording(False)
    assert not window.overlay.isVisible()
    # The next take starts clean.
    window.set_recording(True)
    assert window.overlay.isVisible() and window.overlay.shown_text == ""
    window.set_overlay_enabled(False)
    assert not window.overlay.isVisible()


def test_a_disabled_overlay_never_shows(window: MainWindow) -> None:
    assert not window.overlay_enabled
    window.set_recording(True)
    window.show_partial("hello")
    window.add_final("Hello.")
    assert not window.overlay.isVisible()
    window.set_recording(False)
    window.set_overlay_enabled(True)
    assert not window.overlay.isVisible()  # enabled, but no take runs
