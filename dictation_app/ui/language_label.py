"""How a language code is shown in a list: "Sepedi (nso)", "Portuguese (pt)"."""

from __future__ import annotations

from PySide6.QtCore import QLocale

from dictation_app.core.languages import language_name


def language_label(code: str) -> str:
    """This app's name for the language where it has one, else Qt's English name for
    it, else the code alone; the code in brackets after a name."""
    name = language_name(code)
    if name == code:
        language = QLocale(code).language()
        if language not in (QLocale.Language.C, QLocale.Language.AnyLanguage):
            name = QLocale.languageToString(language)
    return f"{name} ({code})" if name != code else code
