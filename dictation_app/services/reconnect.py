"""When and how often a live take reconnects: a pure backoff generator and its limits.

`backoff()` yields the waits before each reconnect attempt: exponential, capped, with
jitter so that many clients dropped at once do not come back in step. `ReconnectPolicy`
holds those numbers and the limits after which a take stops retrying, and
`is_retryable()` is the one place that decides which failures a reconnect can cure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from dictation_app.core.errors import ConnectionFailed, DictationError


def backoff(*, initial: float = 0.5, factor: float = 2.0, cap: float = 10.0,
            jitter: float = 0.5, rng: random.Random | None = None) -> Iterator[float]:
    """Waits in seconds: initial, initial*factor, ... up to `cap`, each reduced by up to
    `jitter` (a fraction) at random, so the mean stays near the nominal value."""
    rng = rng or random.Random()
    delay = initial
    while True:
        yield delay * (1.0 - jitter * rng.random())
        delay = min(cap, delay * factor)


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a live take survives a lost connection; the defaults suit a person dictating.

    A take gives up after `max_attempts` failed attempts in a row or after `give_up_after`
    seconds without a working session, whichever comes first (by default 12 attempts or
    2 minutes; with the default backoff, 12 attempts take about 90 s). `resend_seconds`
    caps the audio kept for resending (the audio since the last final); the audio sent in
    the `final_latency` seconds before a final arrived is kept after it, because it may
    hold the start of the next utterance (see docs/ARCHITECTURE.md, "Reconnect and
    resend"). `memory_seconds` bounds the audio
    queued in memory before the rest goes to disk. `probe_initial` and `probe_max` space
    the attempts to reach the cloud again while a take is on its fallback engine.
    """

    enabled: bool = True
    max_attempts: int = 12
    give_up_after: float = 120.0
    initial_delay: float = 0.5
    max_delay: float = 10.0
    jitter: float = 0.5
    resend_seconds: float = 10.0
    final_latency: float = 0.5
    memory_seconds: float = 30.0
    # While a take is on its fallback engine, how often the cloud is tried again.
    probe_initial: float = 2.0
    probe_max: float = 30.0

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        return backoff(initial=self.initial_delay, cap=self.max_delay, jitter=self.jitter,
                       rng=rng)


NO_RECONNECT = ReconnectPolicy(enabled=False)


def is_retryable(error: DictationError) -> bool:
    """A lost or stalled connection is worth another attempt; a refusal is not.

    Authentication failures, rejected requests (a 400 on audioConn: bad token, quota),
    configuration errors and protocol violations would only fail the same way again.
    """
    return type(error) is ConnectionFailed
