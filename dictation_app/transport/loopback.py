"""Whether a host is this machine: requests to it bypass any desktop proxy setting."""

from __future__ import annotations

# The names a local test or engine server is reached by; the forms urlsplit() gives
# (lower case, IPv6 without its brackets).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_host(host: str | None) -> bool:
    """True for a loopback host name or address, as `urlsplit(url).hostname` spells it.

    A proxy from HTTPS_PROXY (or the system's settings) must not capture a request to
    a local server; elsewhere it is honoured, as a browser would.
    """
    return host is not None and host.lower().strip("[]") in LOOPBACK_HOSTS
