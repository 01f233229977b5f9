"""The auto-repeat rule: a release counts only when no press follows within the interval."""

from __future__ import annotations

from dictation_app.core.key_hold import REPEAT_INTERVAL_MS, KeyHold


def test_release_press_pairs_within_the_interval_are_one_hold() -> None:
    hold = KeyHold()
    assert hold.press(1000)
    t = 1000
    for _ in range(20):  # X's repeats: release and press at the same server time
        t += 33
        assert hold.release(t) == t + REPEAT_INTERVAL_MS
        assert not hold.press(t)
    assert hold.down and not hold.release_pending


def test_a_release_counts_once_its_interval_passes() -> None:
    hold = KeyHold()
    hold.press(0)
    assert hold.release(500) == 500 + REPEAT_INTERVAL_MS
    assert hold.release(510) is None  # already pending
    assert hold.expire()
    assert not hold.down
    assert not hold.expire()  # nothing pending any more
    assert hold.press(900)  # a new hold


def test_a_press_after_the_interval_is_a_new_hold() -> None:
    hold = KeyHold(interval_ms=60)
    hold.press(0)
    hold.release(100)
    assert hold.press(161)


def test_stray_and_flagged_events_do_not_count() -> None:
    hold = KeyHold()
    assert hold.release(5) is None  # never pressed
    assert hold.press(10)
    assert not hold.press(20)  # a repeat press without its release
    assert hold.reset()
    assert not hold.reset()
