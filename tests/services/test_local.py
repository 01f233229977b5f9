"""The offline engine as a file-job service: a child process per job, killed on cancel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictation_app.core.errors import (
    ConfigurationError,
    DictationError,
    RemoteProtocolError,
    UnsupportedInput,
)
from dictation_app.engine.server import PARENT_PIPE_ENV
from dictation_app.jobs.model import JobState
from dictation_app.protocols.transcript import Segment, Transcript, to_store_dict
from dictation_app.services.local import (
    Failure,
    LocalFileService,
    Progress,
    Result,
    default_command,
    parse_line,
)
from tests.support.audio import SENTENCES, Speech, minute_of_speech, write_pcm
from tests.support.job_context import RecordingContext

TRANSCRIPT = Transcript(provider="local", file="a.wav", language="en", duration=2.0,
                        text="hello there",
                        segments=(Segment(start=0.1, end=1.9, speaker=None, text="hello there"),))


def python(code: str) -> list[str]:
    """A stand-in for the child: the file (and --grammar) land in its sys.argv."""
    return [sys.executable, "-c", code]


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def transcriber_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any("engine-transcribe" in arg for arg in child.cmdline()):
                found.append(child)
        except psutil.Error:  # exited while we looked
            pass
    return found


# --- the child's lines ---------------------------------------------------------


def test_parse_line_reads_progress_result_and_errors_by_kind() -> None:
    assert parse_line(b'{"progress": 0.25}\n') == Progress(0.25)
    assert parse_line(b"\n") is None
    result = parse_line(json.dumps({"result": to_store_dict(TRANSCRIPT)}).encode())
    assert result == Result(TRANSCRIPT)

    failure = parse_line('{"error": "a.wav: cannot decode", "kind": "UnsupportedInput"}')
    assert isinstance(failure, Failure)
    assert type(failure.error) is UnsupportedInput
    assert str(failure.error) == "a.wav: cannot decode"
    failure = parse_line('{"error": "bad grammar", "kind": "ConfigurationError"}')
    assert isinstance(failure, Failure) and type(failure.error) is ConfigurationError
    # Only our own error classes are ever built from a name; the rest become the base.
    for kind in ("ServiceRejected", "SystemExit", "Path", "nonsense"):
        failure = parse_line(json.dumps({"error": "it broke", "kind": kind}))
        assert isinstance(failure, Failure) and type(failure.error) is DictationError
        assert str(failure.error) == "it broke"


@pytest.mark.parametrize("line", [
    b"Loading model...",
    b"[0.5]",
    b'{"progress": 1.5}',
    b'{"progress": true}',
    b'{"progress": "50%"}',
    b'{"progress": 0.5, "result": {}}',
    b'{"result": {"text": "no provider"}}',
    b'{"result": []}',
    b'{"error": "no kind"}',
    b'{"error": 3, "kind": "UnsupportedInput"}',
    b'{"status": "ok"}',
    b"[" * 50_000,
    b'{"result": {"provider": "x", "text": "t", "duration": 1e999999}}',
    b'{"result": {"provider": "x", "text": "t", "segments": [{"text": "s", "words": 5}]}}',
])
def test_parse_line_rejects_what_the_child_must_not_say(line: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="Offline engine: the transcriber process"):
        parse_line(line)


def test_default_command_runs_the_hidden_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_command() == [sys.executable, "-m", "dictation_app", "engine-transcribe"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert default_command() == [sys.executable, "engine-transcribe"]


# --- with stand-in children ------------------------------------------------------


def test_a_crashing_child_fails_the_job_with_its_stderr(tmp_path: Path) -> None:
    service = LocalFileService(command=python(
        "import sys; print('{\"progress\": 0.1}', flush=True); "
        "sys.stderr.write('Traceback (most recent call last):\\nMemoryError\\n'); sys.exit(3)"))
    context = RecordingContext(tmp_path / "a.wav")

    with pytest.raises(DictationError) as caught:
        run(service.run(context))

    message = str(caught.value)
    assert type(caught.value) is DictationError
    assert "Offline engine: the transcriber stopped (exit code 3) before it finished a.wav" \
        in message
    assert message.index("Traceback") < message.index("MemoryError") < message.index("Try again")
    assert context.reports == [(JobState.PROCESSING, 0.0), (JobState.PROCESSING, 0.1)]


def test_output_that_is_not_the_protocol_fails_the_job_and_ends_the_child(
        tmp_path: Path) -> None:
    # It would wait forever on the stdin the service holds open; the marker lets
    # transcriber_children() find it.
    service = LocalFileService(command=python(
        "# engine-transcribe stand-in\n"
        "import sys; print('hello', flush=True); sys.stdin.read()"))

    with pytest.raises(RemoteProtocolError, match="'hello'"):
        run(service.run(RecordingContext(tmp_path / "a.wav")))

    assert transcriber_children() == []


def test_concurrent_runs_each_get_their_own_child(tmp_path: Path) -> None:
    # Each stand-in answers with the file it was given, its --grammar argument and
    # whether it was told that its parent holds its stdin.
    service = LocalFileService(grammar="g.gram", max_children=2, command=python(
        "import json, os, sys\n"
        f"result = {to_store_dict(TRANSCRIPT)!r}\n"
        f"watch = os.environ.get({PARENT_PIPE_ENV!r})\n"
        "result.update(file=sys.argv[1], text=' '.join([*sys.argv[2:], str(watch)]))\n"
        "print(json.dumps({'progress': 0.5}))\n"
        "print(json.dumps({'result': result}))\n"))

    async def go() -> list[Transcript]:
        try:
            return list(await asyncio.gather(
                *(service.run(RecordingContext(tmp_path / name)) for name in ("a.wav", "b.wav"))))
        finally:
            await service.aclose()

    first, second = run(go())

    assert (first.file, second.file) == (str(tmp_path / "a.wav"), str(tmp_path / "b.wav"))
    assert first.text == second.text == "--grammar g.gram 1"
    assert first.segments == TRANSCRIPT.segments


def test_a_command_that_cannot_start_fails_the_job(tmp_path: Path) -> None:
    service = LocalFileService(command=[str(tmp_path / "no-such-program")])

    with pytest.raises(DictationError, match="cannot start the transcriber"):
        run(service.run(RecordingContext(tmp_path / "a.wav")))


# --- the real engine ---------------------------------------------------------------


@pytest.mark.engine
def test_a_file_is_transcribed_by_a_child_process(
        speech: Speech, grammar_file: Path, tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "two.wav", speech(0.5, SENTENCES[2], 1.0, SENTENCES[4], 0.5))
    service = LocalFileService(grammar=str(grammar_file))
    context = RecordingContext(path)

    transcript = run(service.run(context))

    assert [s.text for s in transcript.segments] == [SENTENCES[2], SENTENCES[4]]
    first, second = transcript.segments
    assert transcript.duration is not None
    assert 0 <= first.start < first.end < second.start < second.end <= transcript.duration
    assert (transcript.provider, transcript.file) == ("local", str(path))
    progress = [p for _, p in context.reports]
    assert {state for state, _ in context.reports} == {JobState.PROCESSING}
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)
    assert context.remembered == []  # nothing remote to resume
    assert transcriber_children() == []


@pytest.mark.engine
def test_a_corrupt_file_fails_with_unsupported_input(tmp_path: Path) -> None:
    path = tmp_path / "interview.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4)

    with pytest.raises(UnsupportedInput) as caught:
        run(LocalFileService().run(RecordingContext(path)))

    assert str(caught.value).startswith("interview.mp3: cannot decode this file")
    assert transcriber_children() == []


@pytest.fixture
def long_speech(speech: Speech, tmp_path: Path) -> Path:
    return write_pcm(tmp_path / "long.wav", minute_of_speech(speech))


async def start_on_the_child(service: LocalFileService, path: Path
                             ) -> tuple[asyncio.Task[Transcript], list[psutil.Process]]:
    """A run of `service` on `path`, once it reports progress (its child is at work),
    and the engine-transcribe children there are then."""
    progressed = asyncio.Event()
    context = RecordingContext(path, on_report=lambda _state, value: (
        progressed.set() if value else None))
    task = asyncio.create_task(service.run(context))
    await progressed.wait()
    return task, transcriber_children()


@pytest.mark.engine
def test_cancelling_the_run_kills_and_reaps_the_child(long_speech: Path) -> None:
    service = LocalFileService()

    async def go() -> tuple[list[psutil.Process], BaseException | None]:
        task, children = await start_on_the_child(service, long_speech)
        task.cancel()
        outcome = (await asyncio.gather(task, return_exceptions=True))[0]
        return children, outcome if isinstance(outcome, BaseException) else None

    children, outcome = run(go())

    assert isinstance(outcome, asyncio.CancelledError)
    assert len(children) == 1
    assert not psutil.pid_exists(children[0].pid)  # killed, and reaped: no zombie left


@pytest.mark.engine
def test_aclose_kills_a_running_child(long_speech: Path) -> None:
    service = LocalFileService()

    async def go() -> tuple[list[psutil.Process], BaseException | None]:
        task, children = await start_on_the_child(service, long_speech)
        await service.aclose()
        outcome = (await asyncio.gather(task, return_exceptions=True))[0]
        return children, outcome if isinstance(outcome, BaseException) else None

    children, outcome = run(go())

    assert type(outcome) is DictationError
    assert "stopped (exit code -9) before it finished long.wav" in str(outcome)
    assert len(children) == 1 and not psutil.pid_exists(children[0].pid)


# The Files panel's way of transcribing offline: LocalFileService.run, one child per job.
TRANSCRIBER_PARENT = """
import asyncio, sys
from pathlib import Path
from dictation_app.services.local import LocalFileService
from tests.support.job_context import RecordingContext

async def main():
    service = LocalFileService()
    started = asyncio.Event()
    context = RecordingContext(Path(sys.argv[1]),
                               on_report=lambda state, value: value and started.set())
    task = asyncio.create_task(service.run(context))
    await started.wait()
    print("CHILD", next(iter(service._children)).pid, flush=True)
    await task

asyncio.run(main())
"""


@pytest.mark.engine
def test_the_transcriber_child_ends_when_its_parent_is_killed_with_sigkill(
        long_speech: Path) -> None:
    from tests.support.orphans import gone_within, kill_leftover, kill_parent, start_parent

    parent, child = start_parent(TRANSCRIBER_PARENT, str(long_speech))
    try:
        assert psutil.Process(child).is_running()
        kill_parent(parent)
        assert gone_within(child, 3.0), "the transcriber outlived its parent"
    finally:
        kill_leftover(child)


@given(st.binary(max_size=80) | st.text(max_size=80)
       | st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                          st.sampled_from(["progress", "result", "error", "kind", "provider",
                                           "text", "segments", "words", "word", "start",
                                           "extras", "duration"]), inner, max_size=4),
                      max_leaves=12).map(json.dumps))
def test_parse_line_returns_a_message_or_raises_our_error_for_any_line(
        line: str | bytes) -> None:
    with contextlib.suppress(DictationError):
        parse_line(line)
