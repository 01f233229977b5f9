"""Errors as the command line says them: the lower layers say what is wrong and which
vendor field a `Fix` concerns; this module adds how to fix it from a shell (an
environment variable, a flag) and never names a menu, a dialog or Settings.

The window words the same errors in controllers/messages.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from dictation_app.core.errors import LIVE_TOKEN, Remedy, fix_of
from dictation_app.core.secrets import BAHASAKITA_TOKEN_ENV

# How to fix the token a live stream was given (--token, else the variable or keyring).
_LIVE_TOKEN: dict[Remedy, str] = {
    Remedy.ENTER: f": pass --token or set {BAHASAKITA_TOKEN_ENV}.",
    Remedy.RENEW: f" Check --token or {BAHASAKITA_TOKEN_ENV}; the token may have expired.",
    Remedy.REENTER: f"; pass it again with --token or {BAHASAKITA_TOKEN_ENV}.",
}


def cli_message(exc: BaseException) -> str:
    """`exc` as the command line says it: with how to fix what its `Fix` names here (the
    app's windows fill the same keyring and settings)."""
    text = str(exc)
    fix = fix_of(exc)
    if fix is None:
        return text
    if LIVE_TOKEN in fix.fields:
        return text + _LIVE_TOKEN.get(fix.remedy, "")
    # Here, not at the top: every command imports this module, and the registry imports
    # every vendor's service; only an error naming a vendor's field needs it.
    from dictation_app.services import registry

    at_fault = registry.fields_at_fault(exc)
    if at_fault is None:
        return text
    _owner, fields = at_fault
    envs = [f.env for f in fields if f.env]
    flags = [f"--{f.override.value.replace('_', '-')}" for f in fields if f.override]
    it = "it" if len(fields) == 1 else "them"
    if fix.remedy is Remedy.REENTER:
        return f"{text}; set {_listed(envs)} again." if envs else text
    ways = []
    if envs:
        ways.append(f"set {_listed(envs)}" if fix.remedy is Remedy.ENTER else
                    f"set {_listed(envs)} to a new value")
    if flags:
        ways.append(f"pass {' and '.join(flags)}")
    ways.append(f"enter {it} in the app" if fix.remedy is Remedy.ENTER else
                f"renew {it} in the app")
    hint = ", or ".join(ways)
    # After a "needs a token" with no full stop, the hint goes on the same sentence.
    if text.endswith("."):
        return f"{text} {hint[:1].upper()}{hint[1:]}."
    return f"{text}: {hint}."


def _listed(envs: Sequence[str]) -> str:
    if len(envs) == 1:
        return envs[0]
    return f"the environment variables {', '.join(envs[:-1])} and {envs[-1]}"
