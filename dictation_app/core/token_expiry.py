"""When to warn that the signed-in Bahasakita token is about to expire, and what to say.

Pure functions of an expiry and the current time: the controller reads the clock and
the settings, these decide. The service sends expiries without a time zone; a naive
datetime is read as local time, which is what the person sees on their calendar.
"""

from __future__ import annotations

from datetime import datetime, timedelta

WARN_BEFORE = timedelta(days=3)


def parse_expiry(text: str) -> datetime | None:
    """The stored ISO 8601 expiry, or None when it is empty or unreadable."""
    try:
        return datetime.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def expiry_warning(expires: datetime | None, now: datetime) -> str | None:
    """A status-bar warning when the token expires within three days or has expired."""
    if expires is None:
        return None
    expires, now = _aware(expires), _aware(now)
    if expires - now > WARN_BEFORE:
        return None
    day = expires.astimezone(now.tzinfo).date()
    if expires <= now:
        return (f"Your Bahasakita token expired on {day.isoformat()}. "
                "Sign in again in Preferences.")
    days = (day - now.date()).days
    when = "today" if days <= 0 else "tomorrow" if days == 1 else f"in {days} days"
    return (f"Your Bahasakita token expires on {day.isoformat()} ({when}). "
            "Sign in again in Preferences.")


def _aware(moment: datetime) -> datetime:
    # astimezone() reads a naive datetime as local time; an aware one keeps its zone.
    return moment.astimezone() if moment.tzinfo is None else moment


def format_expiry(expires: datetime | None) -> str:
    """How the Settings dialog shows an expiry: the date, and the time unless midnight."""
    if expires is None:
        return ""
    if (expires.hour, expires.minute, expires.second) == (0, 0, 0):
        return expires.date().isoformat()
    return expires.strftime("%Y-%m-%d %H:%M")
