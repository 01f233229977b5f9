"""Jobs outlive the app: kill it while a Botlhale job is processing, start it again,
and the result arrives without a second upload.

The app runs for real (offscreen Qt, its own settings and data dirs) against the
loopback Botlhale server; the only things the test reads are the server's request
log and the app's job store on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dictation_app.jobs.model import JobState
from dictation_app.jobs.store import JobStore
from tests.servers.botlhale_server import (
    BEARER_TOKEN,
    BUCKET_PATH,
    ORG_ID,
    STATUS_PATH,
    UPLOAD_PATH,
    Behaviour,
    FakeBotlhale,
)
from tests.support.audio import tone, write_audio

DEADLINE = 60.0  # seconds; the app starts in about one


def wait_for(condition: Callable[[], object], what: str, app: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if app.poll() is not None:
            raise AssertionError(f"the app exited ({app.returncode}) before {what}: "
                                 f"{app.stderr.read().decode() if app.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling another process's state: there is no signal to wait on


@pytest.fixture
def server() -> Iterator[FakeBotlhale]:
    # The job keeps `running` until the test lets it finish.
    with FakeBotlhale(Behaviour(api_version=2, running_polls=10**6)) as running:
        yield running


def start_app(args: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN, DICTATION_BOTLHALE_ORG_ID=ORG_ID)
    return subprocess.Popen([sys.executable, "-m", "dictation_app", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(app: subprocess.Popen[bytes], sig: int) -> None:
    if app.poll() is None:
        app.send_signal(sig)
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(10)
    if app.stderr:
        app.stderr.close()


def test_a_job_killed_while_processing_resumes_and_completes_after_restart(
        server: FakeBotlhale, tmp_path: Path) -> None:
    audio = write_audio(tmp_path / "interview.wav", tone(2.0, hz=440, amplitude=0.2))
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "dictation-app"
    config.mkdir(parents=True)
    (config / "settings.json").write_text(json.dumps({
        "welcome_seen": True, "job_provider": "botlhale", "job_mode": "async",
        "botlhale_url": server.base_url, "botlhale_api_version": 2}))

    first = start_app([str(audio)])
    try:
        wait_for(lambda: server.to(STATUS_PATH), "the first status poll", first)
    finally:
        stop(first, signal.SIGKILL)  # no goodbye: the store must already hold the job
    assert len(server.to(BUCKET_PATH)) == 1

    with JobStore() as store:
        [job] = store.list()
    assert job.state is JobState.PROCESSING
    assert job.remote.get("key")  # the upload's object key survived the kill
    assert BEARER_TOKEN not in json.dumps(job.remote)

    server.behaviour.running_polls = 0  # the service finishes while the app is down
    second = start_app([])
    try:
        def completed() -> bool:
            with JobStore() as store:
                return store.get(job.id).state.finished  # type: ignore[union-attr]
        wait_for(completed, "the resumed job to finish", second)
    finally:
        stop(second, signal.SIGTERM)

    with JobStore() as store:
        done = store.get(job.id)
    assert done is not None and done.state is JobState.COMPLETED, done
    assert done.result is not None and done.result.segments
    assert done.result.file == str(audio)
    # Resumed by polling, not by uploading again.
    assert len(server.to(UPLOAD_PATH)) == 1
    assert len(server.to(BUCKET_PATH)) == 1
