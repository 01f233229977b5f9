"""Recording what a Qt signal carried, for tests that check intents without a slot of their own."""

from __future__ import annotations

from typing import Any


def recorder(signal: object) -> list[Any]:
    """What the signal carried, each time: the argument, or a tuple when there are more."""
    seen: list[Any] = []

    def record(*args: object) -> None:
        seen.append(args[0] if len(args) == 1 else args)

    signal.connect(record)  # type: ignore[attr-defined]
    return seen
