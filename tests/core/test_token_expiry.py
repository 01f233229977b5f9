"""expiry_warning: warn within three days of the expiry, and after it, never before."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dictation_app.core.token_expiry import expiry_warning, format_expiry, parse_expiry

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def test_unknown_expiry_gives_no_warning() -> None:
    assert expiry_warning(None, NOW) is None


def test_more_than_three_days_ahead_gives_no_warning() -> None:
    assert expiry_warning(NOW + timedelta(days=3, minutes=1), NOW) is None


@pytest.mark.parametrize(("expires", "when"), [
    (datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc), "in 2 days"),
    (datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc), "tomorrow"),
    (datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc), "today"),
    (datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc), "in 3 days"),
])
def test_within_three_days_says_the_date_and_how_soon(expires: datetime, when: str) -> None:
    day = expires.date().isoformat()
    assert expiry_warning(expires, NOW) == (
        f"Your Bahasakita token expires on {day} ({when}). Sign in again in Preferences.")


def test_an_expired_token_says_so() -> None:
    assert expiry_warning(datetime(2026, 11, 20, tzinfo=timezone.utc), NOW) == (
        "Your Bahasakita token expired on 2026-11-20. Sign in again in Preferences.")
    assert expiry_warning(NOW, NOW) is not None and "expired on" in str(expiry_warning(NOW, NOW))


def test_the_date_is_the_one_in_the_time_zone_of_now() -> None:
    # 23:00 UTC is already the next day in Jakarta (UTC+7).
    jakarta = timezone(timedelta(hours=7))
    now = datetime(2026, 11, 23, 12, 0, tzinfo=jakarta)
    warning = expiry_warning(datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc), now)
    assert warning is not None and "2026-11-25 (in 2 days)" in warning


def test_a_naive_expiry_is_read_as_local_time() -> None:
    now = datetime.now().astimezone()
    naive = (now + timedelta(days=1)).replace(tzinfo=None)
    warning = expiry_warning(naive, now)
    assert warning is not None and "(tomorrow)" in warning
    assert expiry_warning(naive + timedelta(days=5), now) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("", None),
    ("   ", None),
    ("not a date", None),
    ("2025-12-31T23:59:59", datetime(2025, 12, 31, 23, 59, 59)),
    ("2025-12-31T23:59:59+07:00",
     datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=7)))),
])
def test_parse_expiry(text: str, expected: datetime | None) -> None:
    assert parse_expiry(text) == expected


def test_format_expiry_drops_a_midnight_time() -> None:
    assert format_expiry(None) == ""
    assert format_expiry(datetime(2025, 12, 31)) == "2025-12-31"
    assert format_expiry(datetime(2025, 12, 31, 23, 59, 59)) == "2025-12-31 23:59"
