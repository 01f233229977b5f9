"""The fakes' shared scripting: which pattern answers a path, how often, and delays."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from tests.servers.loopback_http import (
    EVERY_PATH,
    LoopbackHTTPServer,
    Script,
    Scripted,
    read_body,
    send_json,
)


class Echo(LoopbackHTTPServer):
    """Answers 200 with the path, unless the script says otherwise."""

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        read_body(handler)
        if self._scripted(handler) is None:
            send_json(handler, 200, {"path": handler.path})


def test_an_exact_pattern_wins_over_a_prefix_and_a_longer_prefix_over_a_shorter() -> None:
    script = Script()
    script.add(EVERY_PATH, Scripted(500, "every"))
    script.add("/jobs/*", Scripted(501, "jobs"))
    script.add("/jobs/7/*", Scripted(502, "job 7"))
    script.add("/jobs/7/status", Scripted(503, "exact"))
    taken = [script.take("/jobs/7/status"), script.take("/jobs/7/status"),
             script.take("/jobs/7/status"), script.take("/jobs/7/status"),
             script.take("/jobs/7/status")]
    assert [a.status if a else None for a in taken] == [503, 502, 501, 500, None]
    script.add("/jobs/*", Scripted(501, "jobs"))
    assert script.take("/jobsx") is None  # a prefix pattern ends at its "/"
    assert script.take("/jobs/8") == Scripted(501, "jobs")


def test_fail_answers_the_next_requests_then_the_fake_answers_again() -> None:
    with Echo() as server:
        server.fail("/a", 503, times=2, headers={"Retry-After": "0"})
        server.reply("/b", 200, b"not json")
        replies = [httpx.get(f"{server.base_url}{path}") for path in ("/a", "/b", "/a", "/a")]
    assert [r.status_code for r in replies] == [503, 200, 503, 200]
    assert replies[0].json() == {"message": "Scripted failure 503"}
    assert replies[0].headers["Retry-After"] == "0"
    assert replies[1].content == b"not json"
    assert replies[3].json() == {"path": "/a"}


def test_a_delay_applies_per_pattern_and_ends_when_the_server_stops() -> None:
    with Echo() as server:
        server.delays["/slow"] = 0.3
        start = time.monotonic()
        assert httpx.get(f"{server.base_url}/fast").status_code == 200
        fast = time.monotonic() - start
        assert httpx.get(f"{server.base_url}/slow").status_code == 200
        slow = time.monotonic() - start - fast
        server.delays[EVERY_PATH] = 30
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{server.base_url}/any", timeout=0.2)
        stopping = time.monotonic()
    assert fast < 0.3 <= slow
    assert time.monotonic() - stopping < 5  # the 30 s delay was cut short
