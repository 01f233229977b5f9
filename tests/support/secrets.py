"""The "no secret in the DEBUG logs" check: one function, and the watch behind the
`no_secret_logged` fixture (tests/conftest.py) that runs it when a test ends.

Every library logs at its most talkative under the fixture, so a token, password or
key that leaks anywhere (a request line, a retry message, a traceback) shows up.
"""

from __future__ import annotations

import logging

import pytest


def logged_text(caplog: pytest.LogCaptureFixture, *, only: str | None = None) -> str:
    """Everything the captured records say: formatted messages, arguments and tracebacks,
    from every logger, or from `only` and its children."""
    records = [r for r in caplog.records
               if only is None or r.name == only or r.name.startswith(f"{only}.")]
    parts = [caplog.text] if only is None else []
    for record in records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or ""]
    return "\n".join(parts)


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture, *secrets: str,
                            only: str | None = None) -> None:
    """Fail if any of `secrets` is in a captured log record (see `logged_text`)."""
    text = logged_text(caplog, only=only)
    leaked = [secret for secret in secrets if secret and secret in text]
    assert not leaked, f"secrets in the logs: {leaked}"


class SecretWatch:
    """Secrets a test (or its fixtures, until they are torn down) names with `add()`;
    `check()` fails if any reached a log record."""

    def __init__(self, caplog: pytest.LogCaptureFixture):
        self._caplog = caplog
        self.secrets: list[str] = []
        caplog.set_level(logging.DEBUG)

    def add(self, *secrets: str) -> None:
        self.secrets.extend(secrets)

    def check(self) -> None:
        assert_no_secret_logged(self._caplog, *self.secrets)


def assert_error_hides(error: BaseException, *secrets: str) -> None:
    """Fail if any of `secrets` is in what a person or a log would see of `error`."""
    for text in (str(error), repr(error)):
        leaked = [secret for secret in secrets if secret and secret in text]
        assert not leaked, f"secrets in {type(error).__name__}: {leaked}"
