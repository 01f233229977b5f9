"""Driving the app's qasync loop from tests: wait on conditions, never sleep blindly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from dictation_app.controllers.dictation_controller import DictationController


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def run(loop: asyncio.AbstractEventLoop, controller: DictationController,
        scenario: Awaitable[None]) -> None:
    """Run the scenario, then shut the controller down whatever happened."""
    try:
        loop.run_until_complete(asyncio.wait_for(scenario, 90))
    finally:
        loop.run_until_complete(controller.shutdown())
