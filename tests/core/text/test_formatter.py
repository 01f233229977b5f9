"""TakeFormatter rules, table-driven, with the output rebuilt as the window would."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictation_app.core.text.formatter import (
    Formatted,
    TakeFormatter,
    join_takes,
    languages_for,
    mask_profanity,
)


def run(finals: list[str], **options: object) -> str:
    """Apply each Formatted to a buffer, as a window or typing backend does."""
    formatter = TakeFormatter(**options)  # type: ignore[arg-type]
    shown = ""
    for final in finals:
        out = formatter.feed(final)
        shown = shown[:len(shown) - out.retract] + out.text
        assert shown == formatter.output
    return shown


@pytest.mark.parametrize(("finals", "expected"), [
    # pocketsphinx: lowercase, unpunctuated
    (["hello world", "how are you"], "Hello world how are you"),
    (["hello world period", "how are you question mark"], "Hello world. How are you?"),
    (["hello", "comma", "world"], "Hello, world"),
    (["one", "new line", "two"], "One\nTwo"),
    (["one", "new paragraph", "two"], "One\n\nTwo"),
    (["hi", "exclamation point", "ok", "exclamation mark"], "Hi! Ok!"),
    (["dear sir", "colon"], "Dear sir:"),
    (["i went home full stop"], "I went home."),
    # Whisper: capitalised, punctuated finals and commands
    ([" Hello there.", " How are you?"], "Hello there. How are you?"),
    (["Hello there.", "Comma.", "friend."], "Hello there, friend."),
    (["First.", "New paragraph.", "Second."], "First.\n\nSecond."),
    (["I went home period."], "I went home."),
    (["iPhone sales rose.", "USA too."], "iPhone sales rose. USA too."),
    # not mangled
    (["the period of time was long"], "The period of time was long"),
    (["a comma-separated list"], "A comma-separated list"),
    (["my colon"], "My colon"),
    (["titik temu kita"], "Titik temu kita"),
    (["the new line of cars"], "The new line of cars"),
    # scratch that
    (["one", "two", "scratch that"], "One"),
    (["one", "two", "Scratch that.", "undo that"], ""),
    (["one", "scratch that", "scratch that", "two"], "Two"),
    (["one", "comma", "scratch that", "two"], "One two"),
    # spacing
    (["a", "", "b"], "A b"),
    (["a  b ", " c"], "A b c"),
])
def test_english_and_engine_styles(finals: list[str], expected: str) -> None:
    assert run(finals, language="en") == expected


@pytest.mark.parametrize(("finals", "expected"), [
    (["saya pulang titik", "kamu di mana tanda tanya"], "Saya pulang. Kamu di mana?"),
    (["halo", "koma", "dunia", "tanda seru"], "Halo, dunia!"),
    (["satu", "baris baru", "dua"], "Satu\nDua"),
    (["satu", "paragraf baru", "dua"], "Satu\n\nDua"),
    (["satu", "dua", "hapus itu"], "Satu"),
    (["Satu.", "Hapus itu."], ""),
])
def test_indonesian(finals: list[str], expected: str) -> None:
    assert run(finals, language="id") == expected


def test_commands_follow_the_take_language() -> None:
    assert run(["one", "koma"], language="en") == "One koma"
    assert run(["satu", "comma"], language="id") == "Satu comma"
    assert run(["one", "koma", "two", "comma"], language=None) == "One, two,"
    assert languages_for("id-ID") == ("id",)
    assert languages_for("fr") == ("en", "id")


def test_commands_off_leaves_the_words() -> None:
    assert run(["one", "comma", "scratch that"], spoken_commands=False) == \
        "One comma scratch that"


def test_replacements_and_profanity() -> None:
    pairs = [("dictation app", "Dictation App"), ("app", "application"), ("nasa", "NASA")]
    assert run(["the dictation app, and the app at nasa."], replacements=pairs) == \
        "The Dictation App, and the application at NASA."
    assert run(["oh shit", "comma", "damn"], mask_profanity=True) == "Oh s***, d***"
    assert run(["oh shit"]) == "Oh shit"
    assert mask_profanity("Shitake is fine, Shit is not") == "Shitake is fine, S*** is not"


def test_retraction_is_a_frozen_value() -> None:
    formatter = TakeFormatter()
    assert formatter.feed("hello") == Formatted("Hello", 0)
    assert formatter.feed("world") == Formatted(" world", 0)
    assert formatter.feed("scratch that") == Formatted("", 6)
    assert formatter.feed("scratch that") == Formatted("", 5)
    assert formatter.feed("scratch that") == Formatted("", 0)
    with pytest.raises(AttributeError):
        Formatted("a").text = "b"  # type: ignore[misc]


def test_partial_spacing() -> None:
    formatter = TakeFormatter()
    assert formatter.spacing("hello") == ""
    formatter.feed("hello")
    assert formatter.spacing("there") == " "
    assert formatter.spacing(", there") == ""
    formatter.feed("new line")
    assert formatter.spacing("there") == ""


def test_join_takes_is_a_paragraph_each() -> None:
    assert join_takes(["One.", "", " Two. "]) == "One.\n\nTwo."


COMMAND_WORDS = {"comma", "period", "stop", "question", "mark", "exclamation", "point",
                 "colon", "semicolon", "new", "line", "paragraph", "scratch", "undo",
                 "that", "full", "koma", "titik", "tanda", "tanya", "seru", "baris",
                 "baru", "paragraf", "hapus", "itu", "dua"}
word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8).filter(
    lambda w: w not in COMMAND_WORDS)


@given(st.lists(st.lists(word, min_size=1, max_size=6), max_size=8))
def test_no_words_are_lost(finals: list[list[str]]) -> None:
    shown = run([" ".join(f) for f in finals])
    assert shown.lower().split() == [w for f in finals for w in f]
