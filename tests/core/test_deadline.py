"""`within`: a deadline that never loses a cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from dictation_app.core.deadline import within


async def _cancelled_as_it_completes(wait: Callable[[Awaitable[int], float], Awaitable[int]],
                                     ) -> bool:
    """Whether a task cancelled in the same step as its operation completes ends
    cancelled (as it must) rather than with the result."""
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def caller() -> int:
        return await wait(done, 5.0)

    task = asyncio.ensure_future(caller())
    await asyncio.sleep(0)  # the task now waits on the operation
    done.set_result(1)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False


def test_a_cancel_that_arrives_as_the_operation_completes_is_kept() -> None:
    assert asyncio.run(_cancelled_as_it_completes(within))


def test_the_deadline_raises_timeout_error_and_none_waits() -> None:
    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await within(asyncio.sleep(10), 0.01)
        assert await within(asyncio.sleep(0, "late"), None) == "late"

    asyncio.run(scenario())
