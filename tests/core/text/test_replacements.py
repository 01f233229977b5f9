"""Word replacement files and matching."""

from __future__ import annotations

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.text.replacements import (
    apply_replacements,
    format_replacements,
    parse_replacements,
)


def test_arrow_lines_comments_and_csv() -> None:
    text = "# names\n\ndictation app => Dictation App\n  nasa=>NASA \n\"bk\",\"Bahasa, Kita\"\n"
    assert parse_replacements(text) == [("dictation app", "Dictation App"), ("nasa", "NASA"),
                                        ("bk", "Bahasa, Kita")]


@pytest.mark.parametrize("line", ["just words", "a =>", "=> b", "a,b,c"])
def test_malformed_line_is_named(line: str) -> None:
    with pytest.raises(ConfigurationError, match=r"words.txt, line 2"):
        parse_replacements(f"ok => OK\n{line}\n", source="words.txt")


def test_round_trip() -> None:
    pairs = [("dictation app", "Dictation App"), ("x", "Y")]
    assert parse_replacements(format_replacements(pairs)) == pairs


@pytest.mark.parametrize(("text", "expected"), [
    ("Dictation  App rocks", "Dictation App rocks"),
    ("(dictation app).", "(Dictation App)."),
    ("apps and app", "apps and application"),
    ("snapp", "snapp"),
])
def test_whole_words_longest_first(text: str, expected: str) -> None:
    pairs = [("app", "application"), ("dictation app", "Dictation App")]
    assert apply_replacements(text, pairs) == expected
