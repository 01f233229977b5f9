"""What the job service tests share: the runner's side of `JobContext`, which records
in order what a service reports and asks to remember (and can run a test's hook at
either), a way to drive a service in an event loop of its own (and to expect it to
fail), and a retry policy that does not make tests wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dictation_app.core.errors import DictationError
from dictation_app.jobs.model import JobOptions, JobState
from dictation_app.jobs.service import JobService
from dictation_app.transport.http import RetryPolicy

S = TypeVar("S", bound=JobService)
T = TypeVar("T")

# Three attempts, as the services make by default, a millisecond or so apart.
FAST_RETRY = RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0.0)


@dataclass
class RecordingContext:
    """A `JobContext` for one `run()`: the file, options and remote ids a test chose."""

    file: Path
    options: JobOptions = field(default_factory=JobOptions)
    remote: dict[str, str] = field(default_factory=dict)
    job_id: int = 7
    on_report: Callable[[JobState, float | None], None] | None = None
    # Called at each remember(), once `remote` holds the values; what it returns (say,
    # what the server had seen by then) is kept in that remember's event.
    on_remember: Callable[[], object] | None = None
    # In order: ("report", state, progress) and ("remember", values, on_remember()).
    events: list[tuple[str, Any, Any]] = field(default_factory=list)

    def report(self, state: JobState, progress: float | None = None) -> None:
        self.events.append(("report", state, progress))
        if self.on_report is not None:
            self.on_report(state, progress)

    async def remember(self, **values: str) -> None:
        self.remote.update(values)
        seen = self.on_remember() if self.on_remember is not None else None
        self.events.append(("remember", dict(values), seen))

    @property
    def reports(self) -> list[tuple[JobState, float | None]]:
        return [(state, progress) for kind, state, progress in self.events if kind == "report"]

    @property
    def remembered(self) -> list[dict[str, str]]:
        return [values for kind, values, _ in self.events if kind == "remember"]

    @property
    def seen_at_remember(self) -> list[object]:
        """What `on_remember` returned, one entry per remember()."""
        return [seen for kind, _, seen in self.events if kind == "remember"]

    def progress(self, state: JobState) -> list[float | None]:
        """The progress values reported with `state`, in order."""
        return [progress for s, progress in self.reports if s is state]


def run_service(make: Callable[[], S], use: Callable[[S], Awaitable[T]]) -> T:
    """Make a service and `use` it in a fresh event loop; it is closed whatever happens."""
    async def scenario() -> T:
        service = make()
        try:
            return await use(service)
        finally:
            await service.aclose()

    return asyncio.run(scenario())


def service_error(make: Callable[[], S], use: Callable[[S], Awaitable[object]],
                  expected: type[DictationError] = DictationError) -> DictationError:
    """`run_service(make, use)`, which must raise `expected`: the error it raised."""
    with pytest.raises(expected) as caught:
        run_service(make, use)
    return caught.value
