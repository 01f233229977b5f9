"""PollPolicy alone (its growth to the cap and its refusals are also checked in
test_bahasakita_upload.py's "poll policy" section, which belongs here)."""

from __future__ import annotations

from itertools import islice

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.services.poll_policy import PollClock, PollPolicy


def test_a_factor_of_one_polls_at_a_steady_pace() -> None:
    assert list(islice(PollPolicy(initial=4.0, factor=1.0).delays(), 3)) == [4.0, 4.0, 4.0]


def test_a_refused_policy_says_what_a_policy_needs_and_what_it_got() -> None:
    with pytest.raises(ConfigurationError, match=r"factor >= 1 .* factor=0\.5"):
        PollPolicy(factor=0.5)


def test_a_poll_clock_gives_the_policy_delays_until_the_next_would_end_past_the_total() -> None:
    now = [100.0]
    waits = PollClock(PollPolicy(initial=1.0, factor=2.0, maximum=4.0, total=10.0),
                      clock=lambda: now[0])
    seen = []
    while (delay := waits.next_delay()) is not None:
        seen.append(delay)
        now[0] += delay + 0.5  # the request between two pauses takes time too
    assert seen == [1.0, 2.0, 4.0]  # 100 -> 101.5 -> 104 -> 108.5; 108.5 + 4 > 110
