"""TranscriptView: grey partials replaced in place, settled finals, edits that survive."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QEvent, QMimeData, QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette, QTextCursor, QTextFormat
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dictation_app.ui.transcript_view import (
    PARAGRAPH_HARD_LIMIT,
    TranscriptView,
)


@pytest.fixture
def view(qtbot: QtBot) -> TranscriptView:
    widget = TranscriptView()
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def colour_of(view: TranscriptView, text: str, occurrence: int = 0) -> QColor | None:
    """Foreground of the first character of ``text`` in the document; None = default colour."""
    position = -1
    for _ in range(occurrence + 1):
        position = view.toPlainText().index(text, position + 1)
    cursor = QTextCursor(view.document())
    cursor.setPosition(position + 1)  # charFormat() describes the character before
    fmt = cursor.charFormat()
    if not fmt.hasProperty(QTextFormat.Property.ForegroundBrush):
        return None
    return fmt.foreground().color()


def is_grey(colour: QColor | None, view: TranscriptView) -> bool:
    if colour is None:
        return False
    text = view.palette().color(QPalette.ColorRole.Text)
    base = view.palette().color(QPalette.ColorRole.Base)
    low, high = sorted((text.lightness(), base.lightness()))
    return colour.hslSaturation() == 0 and low + 40 < colour.lightness() < high - 40


def type_at(qtbot: QtBot, view: TranscriptView, position: int, keys: str) -> None:
    cursor = view.textCursor()
    cursor.setPosition(position)
    view.setTextCursor(cursor)
    view.setFocus()
    qtbot.keyClicks(view, keys)


def test_partial_is_grey_and_replaced_in_place(view: TranscriptView) -> None:
    view.show_partial("hello")
    view.show_partial("hello wor")
    view.show_partial("hello world")

    assert view.toPlainText() == "hello world"
    assert is_grey(colour_of(view, "hello"), view)
    assert view.partial_text() == "hello world"


def test_final_replaces_partial_in_normal_colour(view: TranscriptView) -> None:
    view.show_partial("helo wold")
    view.add_final("hello world")

    assert view.toPlainText() == "hello world"
    assert colour_of(view, "hello") is None
    assert view.partial_text() == ""


def test_partial_after_several_finals(view: TranscriptView) -> None:
    for word in ("One.", "Two.", "Three."):
        view.show_partial(word.lower())
        view.add_final(word)
    view.show_partial("four")
    view.show_partial("four five")

    assert view.toPlainText() == "One. Two. Three. four five"
    assert colour_of(view, "Three.") is None
    assert is_grey(colour_of(view, "four"), view)
    assert view.plain_text() == "One. Two. Three."


def test_final_without_partial_and_empty_results(view: TranscriptView) -> None:
    view.add_final("  spaced   out\n text ")
    view.show_partial("guess")
    view.add_final("")  # an empty final only ends the guess

    assert view.toPlainText() == "spaced out text"
    view.show_partial("again")
    view.show_partial("")
    assert view.toPlainText() == "spaced out text"


def test_plain_text_excludes_the_partial(view: TranscriptView) -> None:
    view.add_final("Settled words.")
    view.show_partial("still guessing")

    assert view.toPlainText() == "Settled words. still guessing"
    assert view.plain_text() == "Settled words."


def test_user_edit_before_the_partial_survives_later_results(
    qtbot: QtBot, view: TranscriptView
) -> None:
    view.add_final("the cat sat")
    view.show_partial("on")
    start = view.toPlainText().index("cat")
    cursor = view.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(start + 3, QTextCursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)
    view.setFocus()
    qtbot.keyClicks(view, "dog")

    view.show_partial("on the")
    view.add_final("on the mat.")
    view.add_final("It purred.")

    assert view.toPlainText() == "the dog sat on the mat. It purred."
    assert colour_of(view, "dog") is None


def test_text_typed_right_after_the_partial_is_kept_and_not_grey(
    qtbot: QtBot, view: TranscriptView
) -> None:
    view.add_final("First.")
    view.show_partial("sec")
    type_at(qtbot, view, len(view.toPlainText()), " [inaudible]")

    view.show_partial("second")
    assert view.toPlainText() == "First. second [inaudible]"
    assert colour_of(view, "[inaudible]") is None

    view.add_final("Second.")
    view.show_partial("third")
    assert view.toPlainText() == "First. Second. [inaudible] third"
    assert view.plain_text() == "First. Second. [inaudible]"


def test_text_typed_inside_the_guess_is_the_recognizers(qtbot: QtBot, view: TranscriptView) -> None:
    view.show_partial("helo")
    type_at(qtbot, view, 2, "l")

    view.add_final("hello there")
    assert view.toPlainText() == "hello there"


def test_deleting_the_whole_guess_then_a_final(qtbot: QtBot, view: TranscriptView) -> None:
    view.add_final("Kept.")
    view.show_partial("gone")
    cursor = view.textCursor()
    cursor.setPosition(len("Kept."))
    cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)

    view.add_final("Back.")
    assert view.toPlainText() == "Kept. Back."


def test_typing_over_a_grey_selection_is_not_grey(qtbot: QtBot, view: TranscriptView) -> None:
    view.add_final("Alpha.")
    view.show_partial("gamma")
    start = view.toPlainText().index("gamma")
    cursor = view.textCursor()
    cursor.setPosition(start)
    cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)
    view.setFocus()
    qtbot.keyClicks(view, "Zeta")

    assert view.toPlainText() == "Alpha. Zeta"
    assert colour_of(view, "Zeta") is None


def test_pasted_text_is_not_grey(qtbot: QtBot, view: TranscriptView) -> None:
    view.show_partial("guess")
    cursor = view.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    view.setTextCursor(cursor)
    mime = QMimeData()
    mime.setText(" pasted")
    view.insertFromMimeData(mime)

    assert view.toPlainText() == "guess pasted"
    assert colour_of(view, "pasted") is None


def test_clear_and_undo_clear(view: TranscriptView) -> None:
    view.add_final("Keep this.")
    view.show_partial("pending")
    view.clear_transcript()

    assert view.toPlainText() == ""
    assert view.can_undo_clear()

    view.show_partial("new")
    assert view.undo_clear()
    assert view.plain_text() == "Keep this.\n\n"
    view.add_final("New words.")
    assert view.toPlainText() == "Keep this.\n\nNew words."
    assert not view.undo_clear()


def test_clear_partial_leaves_finals(view: TranscriptView) -> None:
    view.add_final("Stay.")
    view.show_partial("go away")
    view.clear_partial()

    assert view.toPlainText() == "Stay."
    view.show_partial("next")
    assert view.toPlainText() == "Stay. next"


def test_long_dictation_is_split_into_paragraphs_at_utterance_boundaries(
    view: TranscriptView,
) -> None:
    utterance = "this is one utterance without any punctuation at all"
    for _ in range(200):
        view.add_final(utterance)

    paragraphs = view.plain_text().split("\n\n")
    assert len(paragraphs) > 1
    for paragraph in paragraphs:
        assert len(paragraph) <= PARAGRAPH_HARD_LIMIT + len(utterance)
        # A break never splits an utterance.
        assert paragraph.startswith("this is one") and paragraph.endswith("at all")


def test_paragraphs_prefer_sentence_ends(view: TranscriptView) -> None:
    for index in range(60):
        view.add_final(
            f"Sentence number {index} ends here." if index % 3 == 2 else f"clause {index}"
        )

    paragraphs = view.plain_text().split("\n\n")
    assert len(paragraphs) > 1
    assert all(paragraph.endswith(".") for paragraph in paragraphs[:-1])


def test_autoscroll_follows_new_text_when_at_the_end(qtbot: QtBot, view: TranscriptView) -> None:
    bar = view.verticalScrollBar()
    for index in range(80):
        view.add_final(f"Line {index} of a long transcript that wraps.")
        view.show_partial("and more")

    qtbot.waitUntil(lambda: bar.maximum() > 0)
    assert bar.value() == bar.maximum()


def test_autoscroll_follows_when_the_scroll_bar_first_appears(
    qtbot: QtBot, view: TranscriptView
) -> None:
    # Qt sets the scroll range only after layout here; following must not miss it.
    bar = view.verticalScrollBar()
    for index in range(60):
        view.show_partial(f"guess {index}")
        view.add_final(f"Utterance {index} with a few more words in it.")
        qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert bar.maximum() > 0


def test_autoscroll_leaves_the_view_when_scrolled_up(qtbot: QtBot, view: TranscriptView) -> None:
    bar = view.verticalScrollBar()
    for index in range(80):
        view.add_final(f"Line {index} of a long transcript that wraps.")
    qtbot.waitUntil(lambda: bar.maximum() > 10)
    bar.setValue(3)

    for index in range(40):
        view.show_partial(f"more words {index}")
        view.add_final(f"More text {index}.")

    assert bar.value() == 3
    bar.setValue(bar.maximum())  # back at the end: following resumes
    view.add_final("Latest.")
    assert bar.value() == bar.maximum()


def test_typing_does_not_scroll_away_and_caret_is_not_moved_by_results(
    qtbot: QtBot, view: TranscriptView
) -> None:
    view.add_final("Start.")
    cursor = view.textCursor()
    cursor.setPosition(0)
    view.setTextCursor(cursor)
    view.add_final("More.")
    view.show_partial("guess")

    assert view.textCursor().position() == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_what_is_on_screen_matches_a_full_repaint(
    qtbot: QtBot, view: TranscriptView, seed: int
) -> None:
    """Updates repaint only the lines they change; the screen must never keep stale text.

    Compares the window's backing store (what the person sees) with a fresh rendering
    of the widget after random mixes of results, scrolling, resizing and typing.
    """
    rnd = random.Random(seed)
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "theta",
        "kappa",
        "lambda",
        "sigma",
        "omega",
    ]
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)  # no show/hide flicker
    view.setCursorWidth(0)  # a blinking caret would differ between the two pictures
    bar = view.verticalScrollBar()
    screen = QGuiApplication.primaryScreen()

    for step in range(150):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 12)))
        action = rnd.random()
        if action < 0.45:
            view.show_partial(text)
        elif action < 0.8:
            view.add_final(text + rnd.choice(["", ".", "?"]))
        elif action < 0.84:
            view.clear_partial()
        elif action < 0.9:
            bar.setValue(rnd.randint(0, bar.maximum()))
        elif action < 0.93:
            bar.setValue(bar.maximum())
        elif action < 0.96:
            view.resize(rnd.randint(300, 700), rnd.randint(150, 400))
        else:
            type_at(qtbot, view, rnd.randint(0, len(view.toPlainText())), " typed ")
        if rnd.random() < 0.3:
            continue  # several updates before the next paint
        for _ in range(2):
            QApplication.processEvents()
        shown = (
            screen.grabWindow(view.winId()).toImage().convertToFormat(QImage.Format.Format_RGB32)
        )
        fresh = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        assert shown == fresh, f"stale pixels after step {step}"


def test_scroll_bar_is_repainted_only_when_its_handle_moves(
    qtbot: QtBot, view: TranscriptView
) -> None:
    """A long transcript gains a line every few words; the bar's look rarely changes."""
    view.setCursorWidth(0)
    bar = view.verticalScrollBar()
    for index in range(400):
        view.add_final(f"Utterance {index} of a long transcript.")
    qtbot.waitUntil(lambda: bar.isVisible() and bar.maximum() > 30)
    QApplication.processEvents()
    paints = []

    class PaintCounter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                paints.append(watched)
            return False

    counter = PaintCounter()
    screen = QGuiApplication.primaryScreen()
    maximum = bar.maximum()
    for index in range(60):
        bar.installEventFilter(counter)  # counts the window's repaints, not grab()'s
        view.show_partial("and then some more words" + " more" * (index % 8))
        view.add_final(f"Utterance {index} with a few more words in it.")
        QApplication.processEvents()
        bar.removeEventFilter(counter)
        assert bar.value() == bar.maximum()
        shown = (
            screen.grabWindow(view.winId()).toImage().convertToFormat(QImage.Format.Format_RGB32)
        )
        fresh = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        assert shown == fresh, f"stale pixels after step {index}"

    lines_added = bar.maximum() - maximum
    assert lines_added > 30
    assert len(paints) < lines_added / 2


# ------------------------------------------------------------------ formatted takes


def test_a_formatted_final_retracts_within_its_take_then_appends_as_given(
        view: TranscriptView) -> None:
    from dictation_app.core.text.formatter import Formatted

    view.add_final("Before.")
    view.begin_take("09:05")
    view.add_final(Formatted("Hello world"))
    view.show_partial("again", " ")
    assert view.toPlainText() == "Before.\n\n09:05\nHello world again"
    view.add_final(Formatted(","))  # the grey guess goes, nothing doubled
    view.add_final(Formatted("\n\n"))
    view.add_final(Formatted("", retract=2))  # scratch that
    view.add_final(Formatted(" and more"))
    assert view.plain_text() == "Before.\n\n09:05\nHello world, and more"
    # A retract never reaches into the text before the take, nor its heading.
    view.add_final(Formatted("", retract=1000))
    assert view.plain_text() == "Before.\n\n09:05\n"


def test_a_take_heading_is_small_and_a_take_without_one_is_just_a_paragraph(
        view: TranscriptView) -> None:
    from dictation_app.core.text.formatter import Formatted

    view.begin_take("09:05")
    view.add_final(Formatted("First"))
    view.begin_take()
    view.add_final(Formatted("Second"))
    assert view.plain_text() == "09:05\nFirst\n\nSecond"
    cursor = QTextCursor(view.document())
    cursor.setPosition(1)
    assert cursor.charFormat().fontPointSize() < view.font().pointSizeF()
