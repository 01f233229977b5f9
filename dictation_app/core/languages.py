"""Language codes as people type them: a short list to pick from, a BCP-47 check, and
what one service or engine takes (`LanguageSupport`).

Pure: the Files panel and any front end that takes a language use it alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def primary_subtag(code: str) -> str:
    """"pt" of "pt-BR" (or "pt_BR"), lower case: what a list of known languages names."""
    return code.replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class LanguageSupport:
    """The languages one service (or offline engine) takes for a file job.

    `codes` are offered in the lists, in order; a closed list (`any_code` False) is
    all it knows, matched on the primary subtag ("pt-BR" is Portuguese). `any_code`:
    the service takes any BCP-47 code and judges it itself, so the codes are only
    suggestions and others may be typed. `detects`: with no language given it finds
    the one spoken, so "Automatic" is offered. `who` names it in messages.
    """

    who: str
    codes: tuple[str, ...]
    detects: bool = True
    any_code: bool = False

    def __post_init__(self) -> None:
        if not self.codes and not self.any_code:
            raise ValueError(f"{self.who}: a closed list of languages cannot be empty")

    @property
    def default(self) -> str | None:
        """What a job gets when nobody chose: detection, else the first language."""
        return None if self.detects else self.codes[0]

    def accepts(self, code: str | None) -> bool:
        if code is None:
            return self.detects
        if self.any_code:
            return True
        return primary_subtag(code) in self.codes or code in self.codes

    def check(self, code: str | None, *, how: str = "choose") -> None:
        """Raises ConfigurationError naming the languages it knows when `code` is not
        one of them (None: detection, for a service that cannot detect)."""
        if self.accepts(code):
            return
        known = ", ".join(self.codes)
        if code is None:
            raise ConfigurationError(
                f"{self.who} cannot detect the language; {how} one of: {known}")
        raise ConfigurationError(
            f"{self.who} does not know language {code!r}; it knows: {known}")

    def parse(self, text: str, *, how: str = "choose") -> str | None:
        """`parse_language(text)`, checked against what it knows."""
        code = parse_language(text)
        self.check(code, how=how)
        return code


def language_name(code: str) -> str:
    """The English name of a code this module lists, else the code itself."""
    return _NAMES.get(code, code)


_NAMES = dict(LANGUAGES)
