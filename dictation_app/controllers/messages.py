"""Errors as the window says them: the lower layers say what is wrong and which vendor
field a `Fix` concerns; this module adds where in the window to fix it.

A field the services dialog shows is fixed there ("File → File transcription
services", under its vendor); the shared Bahasakita token, which Settings holds (signed
in for or pasted), is fixed in Settings, worded for the part of the window that shows
the error (`Where`): the live status line, the account, or the Files panel.
The command line words the same errors in cli/messages.py.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from dictation_app.core.errors import LIVE_TOKEN, Fix, Remedy, fix_of
from dictation_app.core.secrets import BAHASAKITA_TOKEN, BAHASAKITA_TOKEN_ENV
from dictation_app.services import registry
from dictation_app.services.descriptor import ServiceDescriptor

SERVICES_DIALOG = "File → File transcription services"


class Where(str, enum.Enum):
    """The part of the window that shows an error: it words the fix its own way."""

    JOBS = "jobs"  # the Files panel and a job's failure
    LIVE = "live"  # the dictation status line
    ACCOUNT = "account"  # sign-in and the monitoring tab


# How to fix the Settings token, appended to what is wrong, as each part of the window
# has always said it.
_SETTINGS_TOKEN: dict[tuple[Where, Remedy], str] = {
    (Where.LIVE, Remedy.ENTER): ": open Preferences and paste your token, "
                                "or switch to Local (offline).",
    (Where.LIVE, Remedy.RENEW): " Check the token in Preferences; it may have expired.",
    (Where.ACCOUNT, Remedy.ENTER): ": sign in with your Bahasakita email and password, "
                                   f"paste a token in Preferences, or set {BAHASAKITA_TOKEN_ENV}.",
    (Where.ACCOUNT, Remedy.RENEW): " Sign in again or paste a new token in Preferences.",
    (Where.JOBS, Remedy.RENEW): " Sign in to Bahasakita again, or paste a new token in "
                                "Preferences.",
}
_REENTER_IN_SETTINGS = "; paste it again in Preferences."


def window_message(exc: BaseException, where: Where = Where.JOBS, *,
                   descriptors: tuple[ServiceDescriptor, ...] = registry.DESCRIPTORS) -> str:
    """`exc` as the window says it: with where to fix what its `Fix` names."""
    text = str(exc)
    fix = fix_of(exc)
    if fix is None:
        return text
    if _is_settings_token(fix, descriptors):
        if fix.remedy is Remedy.REENTER:
            return text + _REENTER_IN_SETTINGS
        phrase = _SETTINGS_TOKEN.get((where, fix.remedy))
        if phrase is not None:
            return text + phrase
    if fix.remedy is not Remedy.ENTER:
        return text
    return _enter_hint(exc, text, descriptors)


def needs_settings_token(exc: BaseException, *,
                         descriptors: tuple[ServiceDescriptor, ...] = registry.DESCRIPTORS
                         ) -> bool:
    """Whether `exc` is fixed by entering or renewing the token Settings holds, so the
    window can offer a button that opens Settings there."""
    fix = fix_of(exc)
    return fix is not None and _is_settings_token(fix, descriptors)


def _is_settings_token(fix: Fix, descriptors: tuple[ServiceDescriptor, ...]) -> bool:
    """Whether `fix` names the token Settings holds (a live stream's is that one)."""
    if LIVE_TOKEN in fix.fields:
        return True
    owner = next((d for d in descriptors if d.id == fix.service), None)
    return owner is not None and any(
        f.secret == BAHASAKITA_TOKEN for f in owner.fields if f.id in fix.fields)


def _enter_hint(exc: BaseException, text: str,
                descriptors: tuple[ServiceDescriptor, ...]) -> str:
    at_fault = registry.fields_at_fault(exc, descriptors)
    if at_fault is None:
        return text
    owner, fields = at_fault
    hints = []
    shown = [f for f in fields if f.shown]
    if shown:
        hints.append(f"enter {'it' if len(shown) == 1 else 'them'} in {SERVICES_DIALOG}, "
                     f"under {owner.group_title}")
    hints += [f.place for f in fields if not f.shown and f.place]
    envs = [f.env for f in fields if f.env]
    if envs:
        hints.append(f"set {_listed(envs)}")
    hint = ", or ".join(hints)
    return f"{text} {hint[:1].upper()}{hint[1:]}." if hint else text


def _listed(envs: Sequence[str]) -> str:
    if len(envs) == 1:
        return envs[0]
    return f"the environment variables {', '.join(envs[:-1])} and {envs[-1]}"
