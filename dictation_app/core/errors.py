"""The one exception tree of the app; every message says what failed and what to do.

    DictationError
    ├── ConnectionFailed          network unreachable, refused, dropped, timed out
    ├── AuthenticationFailed      token missing, wrong or expired
    ├── ServiceRejected           the service answered with an error status
    ├── ProtocolViolation
    │   ├── LocalProtocolError    we called a protocol method in the wrong state
    │   └── RemoteProtocolError   the peer sent something the protocol does not allow
    ├── AudioDeviceError          no input device, device vanished, setting refused
    ├── UnsupportedInput          an audio file we cannot decode
    └── ConfigurationError        a setting is missing or invalid
"""

from __future__ import annotations


class DictationError(Exception):
    """Base of every error the app reports to a person."""


class ConnectionFailed(DictationError):
    """The service could not be reached, or the connection dropped."""


class AuthenticationFailed(DictationError):
    """The service refused our credentials."""


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
    of its descriptor's fields at fault). The message says what is wrong; the window and
    the command line each add where to fix it (a dialog, an environment variable).
    """

    def __init__(self, *args: object, service: str | None = None,
                 fields: tuple[str, ...] = ()):
        super().__init__(*args)
        self.service = service
        self.fields = fields
