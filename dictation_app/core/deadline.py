"""`within(awaitable, seconds)`: await with a deadline, raising TimeoutError at it.

Python 3.11's `asyncio.wait_for` loses a cancellation that arrives as the awaited
operation completes: the caller's `task.cancel()` is swallowed and the task runs on (a
cancelled upload job went on polling its service until the test gave up). From 3.11
`asyncio.timeout()` does not; 3.10, which has no `asyncio.timeout()`, keeps `wait_for`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """The result of `awaitable`, or TimeoutError after `seconds` (None: no deadline)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - 3.10
