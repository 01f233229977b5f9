"""Decoding a service's reply, bounded, and reading fields out of the decoded JSON.

`decode_json()` is the one place a reply's bytes become a JSON value: it refuses a body
over a size limit, text that is not UTF-8, nesting deeper than `MAX_DEPTH` and anything
that is not strict JSON, each as a `RemoteProtocolError` quoting a short, masked excerpt
of what the server sent. The pure protocol modules and every transport and service that
reads a reply go through it.

Every rejection names the service, the endpoint and the offending field, so a person
(or a bug report) can tell which reply broke which rule.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from dictation_app.core.errors import RemoteProtocolError
from dictation_app.core.redaction import redact

# No reply of any service we speak nests deeper than about 8; 64 leaves room for a
# vendor's change while keeping every recursive step after decoding (repr, equality,
# our parsers) far from Python's recursion limit.
MAX_DEPTH = 64
# A two-hour transcript with word timings is a few MiB; a live stream's frames are far
# smaller and get their own limit (transport/stream_connection.py).
MAX_REPLY_BYTES = 64 << 20
EXCERPT_LIMIT = 60  # characters of a refused reply quoted in the message

_ESCAPE = re.compile(r"\\.", re.S)
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


@dataclass(frozen=True)
class Reply:
    """Where a reply came from: `Reply("Nevisa", "GET", "/celery-progress/1/")`."""

    service: str
    method: str
    path: str

    def error(self, name: str, problem: str) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"{self.service}: {self.method} {self.path} reply: '{name}' {problem}")

    def object(self, body: object) -> Mapping[str, Any]:
        if not isinstance(body, Mapping):
            raise self.error("(body)", f"is not a JSON object: {short(body)}")
        return body


def decode_json(data: bytes | str, where: str | Reply, *, limit: int = MAX_REPLY_BYTES,
                max_depth: int = MAX_DEPTH, mask: Callable[[str], str] | None = None,
                advice: str = "") -> object:
    """The JSON value in a reply, or RemoteProtocolError saying what was wrong with it.

    `where` names the reply ("Nevisa: GET /status reply", or a `Reply`); `mask` hides
    the credentials a caller knows of in the excerpt (credential-like `name=value`
    pairs are always masked); `advice`, if given, ends the message.

    The depth is measured before decoding, by a scan that never recurses: json's own
    decoder recurses once per level, so `[` x 50,000 raises RecursionError, and catching
    that is not enough: called with the stack already deep, a modest but legitimate
    reply would fail the same way, and a decoded value nested that deep breaks every
    recursive step after it (a repr for a message, a comparison).
    """
    label = f"{where.service}: {where.method} {where.path} reply" \
        if isinstance(where, Reply) else where
    problem: str | None = None
    text = ""
    if len(data) > limit:
        problem = f"is too large ({len(data):,} bytes; the limit is {limit:,})"
    elif isinstance(data, (bytes, bytearray, memoryview)):
        # As json.loads does for bytes: UTF-8, or UTF-16/32 found by its byte order
        # mark or its zero bytes (RFC 4627 allowed them).
        encoding = json.detect_encoding(bytes(data[:4]))
        try:
            text = bytes(data).decode(encoding)
        except UnicodeDecodeError:
            problem = f"is not JSON (not valid {encoding.upper().removesuffix('-SIG')} text)"
    else:
        text = data
    if problem is None and too_deep(text, max_depth):
        problem = f"nests deeper than {max_depth} levels"
    value: object = None
    if problem is None:
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            problem = "is not JSON"  # where it stops, the excerpt mostly shows
        except ValueError as exc:  # a NaN, or an integer of thousands of digits
            problem = f"is not JSON ({exc})" if "JSON" in str(exc) \
                else "holds a number too long to read"
        except RecursionError:  # unreachable after the scan; kept as a last line
            problem = f"nests deeper than {max_depth} levels"
    if problem is None:
        return value
    # Raised outside the except blocks: a JSONDecodeError's `doc` is the whole body,
    # which may echo a credential.
    tail = f". {advice}" if advice else ""
    raise RemoteProtocolError(f"{label} {problem}: {excerpt(data, mask)}{tail}")


def too_deep(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether the arrays and objects of JSON `text` nest deeper than `max_depth`,
    found without recursing; brackets inside strings do not count."""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # too few brackets to nest that deep, whatever their order
    # Escapes go first, so every remaining quote opens or closes a string and the
    # string pattern cannot backtrack: each pass is linear in the text.
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > max_depth


def excerpt(data: bytes | str, mask: Callable[[str], str] | None = None,
            limit: int = EXCERPT_LIMIT) -> str:
    """The start of what a server sent, fit for a message: decoded leniently,
    credentials masked (before the cut, so no prefix of one survives), quoted."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        # Only the start is shown; a few times the limit leaves room for masking.
        data = bytes(data[: limit * 8]).decode("utf-8", "replace")
    text = redact(data[: limit * 8].strip())
    if mask is not None:
        text = mask(text)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def number(value: object, name: str, where: Reply) -> float | None:
    """A finite number, or a string holding one (vendor docs mix both); None if absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    result: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = float(value)
        except OverflowError:  # an integer past float's range
            result = None
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            result = None
    if result is None or not math.isfinite(result):
        raise where.error(name, f"is not a number: {short(value)}")
    return result


def said_hint(said: str | None) -> str:
    """' (the service said: ...)', to follow a missing field when the reply gave a reason."""
    return f" (the service said: {said!r})" if said else ""


def short(value: object, limit: int = 60) -> str:
    """A value for a message: its repr, cut to `limit` characters."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        text = f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
