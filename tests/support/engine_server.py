"""The embedded engine's server (engine/server.py) on its own event loop in a thread, as
the app runs it, for the tests that stream to an engine in process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from dictation_app.engine.server import serve_forever


@contextmanager
def served_engine(*, name: str, start_timeout: float = 30,
                  **serve_args: Any) -> Iterator[str]:
    """`serve_forever` on 127.0.0.1 (a free port) in a thread called `name`; yields its
    ws:// URL once it is ready (fails the test if it never is), and checks on the way
    out that it stopped when cancelled, without an error. `serve_args` go to
    `serve_forever` (engine, grammar, engine options)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    urls: list[str] = []
    failure: list[BaseException] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    task = loop.create_task(serve_forever("127.0.0.1", 0, ready=on_ready, **serve_args))

    def run() -> None:
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            failure.append(exc)
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            ready.set()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    ready.wait(start_timeout)
    if not urls:
        thread.join()
        pytest.fail(f"the {name} did not start: {failure}")
    yield urls[0]
    loop.call_soon_threadsafe(task.cancel)
    thread.join(30)
    assert not thread.is_alive()
    assert not failure, failure
