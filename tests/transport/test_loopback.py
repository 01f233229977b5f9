"""The one loopback check, which decides whether a request may bypass a proxy."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from dictation_app.transport.loopback import is_loopback_host


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "ws://localhost/", "http://[::1]:9/",
                                 "https://LOCALHOST"])
def test_local_hosts_are_loopback(url: str) -> None:
    assert is_loopback_host(urlsplit(url).hostname)


@pytest.mark.parametrize("host", ["api.dikte.in", "10.0.0.1", "localhost.example", "", None])
def test_other_hosts_are_not(host: str | None) -> None:
    assert not is_loopback_host(host)
