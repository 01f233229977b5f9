"""The desktop tests' X server: one private Xvfb per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.x11 import KeySender, XvfbServer, XvfbUnavailable


@pytest.fixture(scope="module")
def xvfb() -> Iterator[XvfbServer]:
    """A private X server; its display name is `xvfb.display` (":N")."""
    try:
        server = XvfbServer()
    except XvfbUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"{exc} (CI must run the X11 tests: run scripts/setup.sh)")
        pytest.skip(str(exc))
    yield server
    server.close()


@pytest.fixture
def keys(xvfb: XvfbServer) -> Iterator[KeySender]:
    """A second X client that presses keys with XTest, as a person would."""
    sender = KeySender(xvfb.display)
    yield sender
    sender.close()
