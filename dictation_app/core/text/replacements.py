"""The person's word replacements ("dictation app" -> "Dictation App"): parsing the
file format and applying them as whole words, longest phrase first."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from dictation_app.core.errors import ConfigurationError

Replacement = tuple[str, str]


def parse_replacements(text: str, *, source: str = "word replacements") -> list[Replacement]:
    """`spoken => written` per line, `#` comments and blank lines ignored; a line without
    `=>` is read as a two-column CSV row. A malformed line raises ConfigurationError
    naming the line."""
    pairs: list[Replacement] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=>" in line:
            spoken, _, written = line.partition("=>")
            cells = [spoken.strip(), written.strip()]
        else:
            cells = [c.strip() for c in next(csv.reader(io.StringIO(line)), [])]
        if len(cells) != 2 or not cells[0] or not cells[1]:
            raise ConfigurationError(
                f"{source}, line {number}: expected `spoken => written` or two CSV "
                f"columns, got {line[:60]!r}; fix or remove that line")
        pairs.append((cells[0], cells[1]))
    return pairs


def format_replacements(pairs: Sequence[Replacement]) -> str:
    """The settings string for `pairs`, readable by parse_replacements."""
    return "".join(f"{spoken} => {written}\n" for spoken, written in pairs)


def apply_replacements(text: str, pairs: Sequence[Replacement]) -> str:
    """Replace each spoken phrase (case-insensitive, whole words, any run of spaces
    between its words) by its written form; longer phrases win over their parts."""
    if not pairs:
        return text
    table = {" ".join(s.lower().split()): w for s, w in pairs}
    ordered = sorted(table, key=len, reverse=True)
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(r"\s+".join(map(re.escape, k.split())) for k in ordered)
        + r")(?!\w)", re.IGNORECASE)
    return pattern.sub(lambda m: table[" ".join(m.group(1).lower().split())], text)
