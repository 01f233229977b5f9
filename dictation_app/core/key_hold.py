"""Whether a push-to-talk key is held: auto-repeat's release/press pairs do not count.

Under X11 a held key repeats as a release followed at once by a press, and the
toolkit does not always flag the pair as a repeat (Qt under XWayland and some X
servers do not; a passive grab on the root window never does). The rule here is
the one every source of key events shares: a release only counts once
`REPEAT_INTERVAL_MS` has passed without a press of the same key. The driver (a
Qt timer, the X connection's reader) asks for the deadline and calls `expire()`
when it is reached; this class keeps no clock and does no I/O.

Why 60 ms: X generates a repeat's release and press together (the same server
timestamp), so the press trails the release by delivery jitter only, a few ms even
on a loaded machine; the shortest repeat period people configure is 20 ms (50 Hz),
which is between pairs, not within one. A person cannot let go of a key and press
it again in 60 ms (a deliberate re-press takes well over 100 ms), and 60 ms added to
the end of a take is not noticed: its audio tail is flushed after the release anyway.
"""

from __future__ import annotations

REPEAT_INTERVAL_MS = 60


class KeyHold:
    """One key's held state from its raw presses and releases (times in ms, any clock
    that the caller keeps the same for both)."""

    def __init__(self, interval_ms: int = REPEAT_INTERVAL_MS) -> None:
        self.interval_ms = interval_ms
        self.down = False
        self._released_at: int | None = None  # a release held back, not counted yet

    @property
    def release_pending(self) -> bool:
        return self._released_at is not None

    def press(self, time_ms: int) -> bool:
        """The key went down; True when a hold starts (not a repeat, not already down)."""
        released_at = self._released_at
        self._released_at = None
        if released_at is not None and time_ms - released_at <= self.interval_ms:
            return False  # auto-repeat: the hold goes on
        if self.down and released_at is None:
            return False  # a repeat press flagged as such, without its release
        self.down = True
        return True

    def release(self, time_ms: int) -> int | None:
        """The key went up; returns the time at which the release counts, if it may.

        None when the key was not held (a stray release, one already pending)."""
        if not self.down or self._released_at is not None:
            return None
        self._released_at = time_ms
        return time_ms + self.interval_ms

    def expire(self) -> bool:
        """The held-back release's interval has passed: True when the hold ends now."""
        if self._released_at is None:
            return False
        self._released_at = None
        self.down = False
        return True

    def reset(self) -> bool:
        """Let go at once (focus lost, a new key, shutdown): True if the key was held."""
        was_down = self.down
        self.down = False
        self._released_at = None
        return was_down
