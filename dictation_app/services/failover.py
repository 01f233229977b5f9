"""Failover: a cloud take that continues on the offline engine while the cloud is away.

When the person has chosen it (Settings ▸ failover), a take streamed to a cloud
service carries a fallback target, the embedded engine. `Route` says which of the
two the take streams to now. When the cloud's connection is lost, or cannot be made
at the start, for a reason a reconnect could cure (`is_retryable`), the take moves to
the fallback at once: the audio since the last final is resent there, and the
backlog follows, so no word waits for the cloud to return. Meanwhile
`wait_until_reachable` opens (and at once closes) a session to the cloud now and
then; once one opens, the fallback's session is finished cleanly (audioStop, its
last finals) and the take goes back to the cloud. Refusals (a bad token, a rejected
audioConn) do not fail over: they would not cure themselves, and the person must
see them. Each final is reported with the service that produced it, so the window,
the journal and the exports can say which words came from which engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dictation_app.core.errors import DictationError
from dictation_app.services.live_target import LiveTarget
from dictation_app.services.reconnect import backoff, is_retryable
from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener

log = logging.getLogger(__name__)

ConnectionFactory = Callable[[LiveTarget, str, TranscriptListener], StreamConnection]


@dataclass
class Route:
    """Where a take goes: its own target, or the fallback while that one cannot be reached."""

    primary: LiveTarget
    fallback: LiveTarget | None = None
    on_fallback: bool = False
    # Why the primary was left: what the take fails with if the fallback fails too.
    lost: DictationError | None = None

    @property
    def current(self) -> LiveTarget:
        if self.on_fallback and self.fallback is not None:
            return self.fallback
        return self.primary

    def fails_over(self, error: DictationError) -> bool:
        """Whether losing the primary this way moves the take to the fallback."""
        return self.fallback is not None and not self.on_fallback and is_retryable(error)

    def fail_over(self, error: DictationError) -> None:
        self.on_fallback = True
        self.lost = error

    def back(self) -> None:
        self.on_fallback = False
        self.lost = None

    def drop_fallback(self) -> DictationError | None:
        """The fallback cannot be used for the rest of the take; why the primary was left."""
        self.fallback = None
        self.on_fallback = False
        return self.lost

    def listening(self) -> str:
        """The status while audio flows on the current route."""
        if self.on_fallback and self.fallback is not None:
            return (f"Listening — {self.primary.service} cannot be reached: the "
                    f"{self.fallback.service} transcribes until it is back")
        return f"Listening — streaming to {self.primary.service}"


def _ignore(_event: object) -> None:
    """A probe sends no audio, so any transcript it gets is nobody's."""


async def wait_until_reachable(target: LiveTarget, url: str, connect: ConnectionFactory,
                               delays: Iterator[float]) -> bool:
    """Open a session to `target` after each of `delays` until one opens: True then.

    Each probe is ended at once (audioStop without audio, then closed). False when the
    service refuses the session outright (a reconnect would not cure that), so the take
    stays on its fallback; retryable failures just wait for the next delay.
    """
    for delay in delays:
        await asyncio.sleep(delay)
        probe = connect(target, url, _ignore)
        try:
            await probe.open()
        except DictationError as exc:
            await probe.close()
            if not is_retryable(exc):
                log.warning("%s refused a session while the take was on its fallback: %s",
                            target.service, exc)
                return False
            log.debug("%s is still unreachable: %s", target.service, exc)
            continue
        with contextlib.suppress(DictationError):
            await probe.stop()
        await probe.close()
        log.info("%s can be reached again", target.service)
        return True
    return False


def probe_delays(initial: float, cap: float) -> Iterator[float]:
    """The waits between probes: from `initial`, doubling up to `cap`, with jitter."""
    return backoff(initial=initial, cap=cap)
