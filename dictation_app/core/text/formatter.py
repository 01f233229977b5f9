"""TakeFormatter: fed the finals of one take in order, it says what to output for each
as a `Formatted` (text to append, and how many characters of earlier output to remove
first), so the window and a typing backend follow the same rules.

Rules: one space between finals, none at the start or after a newline or before
punctuation; a capital at the start of a take and after . ? !; spoken punctuation and
commands (English and Indonesian) acting only as a whole final or at its end; the
person's word replacements; an optional profanity mask.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dictation_app.core.text.replacements import Replacement, apply_replacements


@dataclass(frozen=True)
class Formatted:
    """What one final becomes: remove the last `retract` characters already output,
    then append `text`. `retract` is non-zero for "scratch that" and when a spoken mark
    replaces a trailing space or mark the engine put there ("Hello." + "Comma." ->
    "Hello,"). Consumers (the window, a typing backend) apply exactly this."""

    text: str
    retract: int = 0


# Spoken word(s) -> what they insert. "\n" and "\n\n" are line and paragraph breaks.
_PUNCTUATION: dict[str, dict[str, str]] = {
    "en": {"comma": ",", "period": ".", "full stop": ".", "question mark": "?",
           "exclamation mark": "!", "exclamation point": "!", "colon": ":",
           "semicolon": ";", "new line": "\n", "new paragraph": "\n\n"},
    "id": {"koma": ",", "titik": ".", "tanda tanya": "?", "tanda seru": "!",
           "titik dua": ":", "titik koma": ";", "baris baru": "\n",
           "paragraf baru": "\n\n"},
}
_RETRACT = {"en": {"scratch that", "undo that"}, "id": {"hapus itu"}}
# "colon" (and "titik dua", "titik koma", "semicolon") only act as a whole final: "my
# colon" is anatomy. Every other mark also acts as the last word(s) of a longer final.
_ONLY_ALONE = {"colon", "semicolon", "titik dua", "titik koma"}
_AT_END = {spoken for marks in _PUNCTUATION.values() for spoken in marks} - _ONLY_ALONE

_PROFANITY = ("fuck", "fucking", "shit", "bitch", "bastard", "asshole", "cunt",
              "dick", "piss", "crap", "damn", "bollocks", "wanker")
_PROFANITY_RE = re.compile(r"(?<!\w)(" + "|".join(_PROFANITY) + r")(?!\w)", re.IGNORECASE)
_NO_SPACE_BEFORE = tuple(",.?!:;)")
_SENTENCE_END = re.compile(r"[.?!][\"')\]]*\s*$")
_TRAILING = ".,?!;: "


def languages_for(code: str | None) -> tuple[str, ...]:
    """The command languages for a take's language code. Unknown or empty: both, since
    the two word lists do not collide and a mixed-language person loses nothing."""
    base = (code or "").lower().replace("_", "-").split("-")[0]
    return (base,) if base in _PUNCTUATION else ("en", "id")


def mask_profanity(text: str) -> str:
    return _PROFANITY_RE.sub(lambda m: m.group(1)[0] + "*" * (len(m.group(1)) - 1), text)


def _command_key(final: str) -> str:
    return " ".join(final.strip().strip(_TRAILING).lower().split())


@dataclass
class TakeFormatter:
    """One take's formatter. `feed(final)` -> Formatted; `spacing(partial)` is the
    leading space a partial shown after the current output needs."""

    language: str | None = None
    spoken_commands: bool = True
    replacements: Sequence[Replacement] = ()
    mask_profanity: bool = False
    _output: str = ""
    _pieces: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self._output

    def feed(self, final: str) -> Formatted:
        langs = languages_for(self.language)
        text = " ".join(final.split())
        if self.spoken_commands:
            key = _command_key(text)
            if any(key in _RETRACT[lang] for lang in langs):
                return self._retract()
            for lang in langs:
                if key in _PUNCTUATION[lang]:
                    return self._append(_PUNCTUATION[lang][key], raw=True)
            text = self._end_command(text, langs)
        if not text:
            return self._append("", raw=True)
        text = apply_replacements(text, self.replacements)
        if self.mask_profanity:
            text = mask_profanity(text)
        return self._append(text, raw=False)

    def spacing(self, partial: str) -> str:
        return self._space_before(partial.strip())

    def _end_command(self, text: str, langs: tuple[str, ...]) -> str:
        words = text.rstrip(_TRAILING).split(" ")
        for count in (2, 1):
            if len(words) <= count:
                continue
            tail = " ".join(words[-count:]).lower()
            for lang in langs:
                mark = _PUNCTUATION[lang].get(tail)
                if mark is not None and tail in _AT_END:
                    head = " ".join(words[:-count]).rstrip(_TRAILING)
                    return head + mark
        return text

    def _space_before(self, text: str) -> str:
        if not self._output or not text or self._output.endswith(("\n", " ")):
            return ""
        if text.startswith(_NO_SPACE_BEFORE) or text.startswith("\n"):
            return ""
        return " "

    def _append(self, text: str, *, raw: bool) -> Formatted:
        if text.startswith((",", ".", "?", "!", ":", ";", "\n")):
            # A mark replaces a trailing space or mark the engine put there.
            stripped = self._output.rstrip(" ")
            drop = len(self._output) - len(stripped)
            if text[0] in ",.?!:;" and stripped.endswith(tuple(",.?!:;")):
                stripped, drop = stripped[:-1], drop + 1
            if drop:
                self._output = stripped
                self._pieces[-1:] = [self._pieces[-1][:-drop]] if self._pieces else []
                return self._push(text, retract=drop)
        at_start = not self._output or self._output.endswith("\n")
        if not raw and (at_start or _SENTENCE_END.search(self._output)):
            text = _capitalise(text)
        return self._push(self._space_before(text) + text, retract=0)

    def _push(self, piece: str, *, retract: int) -> Formatted:
        self._output += piece
        self._pieces.append(piece)
        return Formatted(piece, retract)

    def _retract(self) -> Formatted:
        if not self._pieces:
            return Formatted("", 0)
        piece = self._pieces.pop()
        self._output = self._output[:len(self._output) - len(piece)]
        return Formatted("", len(piece))


def _capitalise(text: str) -> str:
    """Only a lowercase first letter changes: "iPhone" and "USA" stay."""
    first = text.split(" ", 1)[0]
    if first[:1].islower() and first[1:] == first[1:].lower():
        return text[0].upper() + text[1:]
    return text


def join_takes(texts: Sequence[str]) -> str:
    """The window's text: a paragraph per take, empty takes left out."""
    return "\n\n".join(t.strip() for t in texts if t.strip())
