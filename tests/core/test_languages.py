"""BCP-47 codes as people type them (core/languages.py)."""

from __future__ import annotations

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.languages import LANGUAGES, parse_language


@pytest.mark.parametrize(("text", "code"), [
    ("", None), ("automatic", None), ("xh", "xh"), ("NSO", "nso"), ("isiZulu (zu)", "zu"),
    ("sr-latn-rs", "sr-Latn-RS"), ("es-419", "es-419"),
])
def test_parse_language(text: str, code: str | None) -> None:
    assert parse_language(text) == code


@pytest.mark.parametrize("text", ["e", "english", "en_US", "en-", "12", "en-toolongsubtag"])
def test_parse_language_refuses_what_is_not_a_code(text: str) -> None:
    with pytest.raises(ConfigurationError, match="Transcription options"):
        parse_language(text)


def test_every_listed_language_parses_to_its_own_code() -> None:
    for code, name in LANGUAGES:
        assert parse_language(f"{name} ({code})") == code


def test_a_closed_list_matches_the_primary_subtag_and_names_its_languages() -> None:
    from dictation_app.core.languages import LanguageSupport

    english = LanguageSupport("PocketSphinx", ("en",), detects=False)
    assert english.default == "en"
    assert english.accepts("en-GB") and english.accepts("en") and not english.accepts(None)
    assert english.parse("English (en)") == "en"
    with pytest.raises(ConfigurationError, match="does not know language 'de'; it knows: en"):
        english.parse("de")
    with pytest.raises(ConfigurationError, match="cannot detect the language; give one of: en"):
        english.parse("Automatic", how="give")
    open_list = LanguageSupport("Botlhale", ("zu",), any_code=True)
    assert open_list.default is None and open_list.accepts("pt-BR") and open_list.accepts(None)
    with pytest.raises(ValueError, match="cannot be empty"):
        LanguageSupport("Nobody", ())
