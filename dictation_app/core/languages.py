"""Language codes as people type them: a short list to pick from and a BCP-47 check.

Pure: the Files panel and any front end that takes a language use it alike.
"""

from __future__ import annotations

import re

from dictation_app.core.errors import ConfigurationError

AUTOMATIC = "Automatic"  # the choice that lets the service detect the language
# Codes the services in this app are used with most; anything else can be typed.
LANGUAGES = (
    ("en", "English"), ("af", "Afrikaans"), ("zu", "isiZulu"), ("xh", "isiXhosa"),
    ("st", "Sesotho"), ("tn", "Setswana"), ("nso", "Sepedi"), ("ts", "Xitsonga"),
    ("ss", "siSwati"), ("ve", "Tshivenda"), ("nr", "isiNdebele"), ("id", "Indonesian"),
    ("ms", "Malay"), ("jv", "Javanese"), ("su", "Sundanese"), ("fa", "Persian"),
)
# One subtag of 2-3 letters, then subtags of 1-8 letters or digits: "en", "pt-BR",
# "sr-Latn-RS", "nso". Close enough to BCP 47 to catch typing mistakes.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def parse_language(text: str) -> str | None:
    """The language code in what a person typed or picked; None means detect it.

    Accepts "Automatic", "" or a code ("en", "pt-br" becomes "pt-BR") or a list entry
    ("English (en)"); raises ConfigurationError for anything else.
    """
    text = text.strip()
    if not text or text.casefold() == AUTOMATIC.casefold():
        return None
    entry = re.fullmatch(r".*\(([^()]*)\)", text)
    code = entry.group(1).strip() if entry else text
    if not _LANGUAGE_TAG.fullmatch(code):
        raise ConfigurationError(
            f"Transcription options: {text!r} is not a language code. Type a code such as "
            "en or pt-BR, pick a language from the list, or choose Automatic.")
    return _canonical_tag(code)


def _canonical_tag(code: str) -> str:
    first, *rest = code.split("-")
    parts = [first.lower()]
    for subtag in rest:
        if len(subtag) == 4 and subtag.isalpha():
            parts.append(subtag.title())  # script: Latn
        elif len(subtag) == 2 and subtag.isalpha():
            parts.append(subtag.upper())  # region: BR
        else:
            parts.append(subtag.lower())
    return "-".join(parts)
