"""Reading fields out of a service's decoded JSON reply, for the pure protocol modules.

Every rejection names the service, the endpoint and the offending field, so a person
(or a bug report) can tell which reply broke which rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dictation_app.core.errors import RemoteProtocolError


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


def number(value: object, name: str, where: Reply) -> float | None:
    """A finite number, or a string holding one (vendor docs mix both); None if absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    result: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
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
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
