"""The one exception tree of the app; every message says what failed and what to do.

    DictationError
    ├── ConnectionFailed          network unreachable, refused, dropped, timed out
    │   └── ReconnectGaveUp       a live take stopped trying to reconnect
    ├── AuthenticationFailed      token missing, wrong or expired
    ├── ServiceRejected           the service answered with an error status
    ├── ProtocolViolation
    │   ├── LocalProtocolError    we called a protocol method in the wrong state
    │   └── RemoteProtocolError   the peer sent something the protocol does not allow
    ├── AudioDeviceError          no input device, device vanished, setting refused
    ├── UnsupportedInput          an audio file we cannot decode
    └── ConfigurationError        a setting is missing or invalid

An AuthenticationFailed or ConfigurationError may carry a `Fix`: which vendor's
fields a person changes, and how (enter, renew, re-enter). The message says
only what is wrong; the window and the command line each add where to fix it (a
dialog, Settings; an environment variable, a flag), in controllers/messages.py and
cli/messages.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DictationError(Exception):
    """Base of every error the app reports to a person."""


class ConnectionFailed(DictationError):
    """The service could not be reached, or the connection dropped."""


class ReconnectGaveUp(ConnectionFailed):
    """A live take lost its connection and stopped retrying after its limit."""


class Remedy(str, enum.Enum):
    """What a person does to the fields a `Fix` names."""

    ENTER = "enter"  # they are empty: give them a value
    RENEW = "renew"  # the service refused them (wrong or expired): get new ones
    REENTER = "reenter"  # they cannot be sent as they are (a bad paste): enter them again


@dataclass(frozen=True)
class Fix:
    """The thing to fix, named, not worded: `service` is the vendor's id ("bahasakita")
    and `fields` the ids of its descriptor's fields (services/descriptor.py), or
    `LIVE_TOKEN` for whatever token a live stream was given."""

    service: str | None
    fields: tuple[str, ...]
    remedy: Remedy = Remedy.ENTER


# The token a live stream connection was given: its provider knows where it came from.
LIVE_TOKEN = "live_token"


class AuthenticationFailed(DictationError):
    """The service refused our credentials; `fix`, if given, names which."""

    def __init__(self, *args: object, fix: Fix | None = None):
        super().__init__(*args)
        self.fix = fix


class ServiceRejected(DictationError):
    """The service understood the request and answered with an error."""

    def __init__(self, message: str, *, service: str, operation: str, status: int | None = None):
        super().__init__(message)
        self.service = service
        self.operation = operation
        self.status = status
        self.server_message = message

    def __str__(self) -> str:
        status = f" (status {self.status})" if self.status is not None else ""
        return f"{self.service} rejected {self.operation}{status}: {self.server_message}"


class ProtocolViolation(DictationError):
    """One side broke the protocol's rules."""


class LocalProtocolError(ProtocolViolation):
    """We tried to do something the protocol does not allow in the current state."""


class RemoteProtocolError(ProtocolViolation):
    """The peer sent a message the protocol does not allow or that we cannot parse."""


class AudioDeviceError(DictationError):
    """An audio device is missing, vanished, or refused a setting."""


class UnsupportedInput(DictationError):
    """An input file is corrupt or in a format we cannot decode."""


class ConfigurationError(DictationError):
    """A setting is missing or invalid.

    Raised by a service, it says which: `service` (the vendor's id) and `fields` (the ids
    of its descriptor's fields at fault), which make a `Fix` to enter them, or a `fix`
    given whole. The message says what is wrong; the window and the command line each
    add where to fix it (a dialog, an environment variable).
    """

    def __init__(self, *args: object, service: str | None = None,
                 fields: tuple[str, ...] = (), fix: Fix | None = None):
        super().__init__(*args)
        if fix is None and fields:
            fix = Fix(service, fields)
        self.fix = fix

    @property
    def service(self) -> str | None:
        return self.fix.service if self.fix is not None else None

    @property
    def fields(self) -> tuple[str, ...]:
        return self.fix.fields if self.fix is not None else ()


def fix_of(exc: BaseException) -> Fix | None:
    """The `Fix` an error carries, if any."""
    fix = getattr(exc, "fix", None)
    return fix if isinstance(fix, Fix) else None
