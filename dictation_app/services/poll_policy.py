"""How patiently a remote job's status is polled: the policy and its growing delays.

Every file-job service that waits on a remote job (Botlhale, Nevisa, Bahasakita
uploads) polls by one of these; it is timing, not I/O, so it lives above transport/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dictation_app.core.errors import ConfigurationError


@dataclass(frozen=True)
class PollPolicy:
    """How patiently a remote job's status is polled, in seconds.

    The first poll goes out at once; the waits between polls start at `initial` and grow
    by `factor` up to `maximum`. After `total` seconds without an outcome the run gives
    up; the remote id stays remembered, so running the job again resumes the waiting.
    """

    initial: float = 3.0
    factor: float = 1.5
    maximum: float = 60.0
    total: float = 12 * 3600.0

    def __post_init__(self) -> None:
        if not (0 <= self.initial <= self.maximum and self.factor >= 1 and self.total > 0):
            raise ConfigurationError(
                f"a poll policy needs 0 <= initial <= maximum, factor >= 1 and a positive "
                f"total, not {self}")

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


class PollClock:
    """One job's waiting under a `PollPolicy`: each pause in turn, or None once the
    pause would end past the policy's `total` (the caller then says it stopped waiting)."""

    def __init__(self, policy: PollPolicy, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._deadline = clock() + policy.total
        self._delays = policy.delays()

    def next_delay(self) -> float | None:
        delay = next(self._delays)
        return delay if self._clock() + delay <= self._deadline else None
