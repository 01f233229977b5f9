"""The job runner on a plain asyncio loop, a real store in a tmp dir, and small services
written here: each run follows a script the test controls through asyncio events."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dictation_app.core.errors import ConfigurationError, ServiceRejected, UnsupportedInput
from dictation_app.jobs.model import Job, JobOptions, JobState
from dictation_app.jobs.runner import JobRunner
from dictation_app.jobs.service import JobContext, JobService
from dictation_app.jobs.store import JobStore
from dictation_app.protocols.transcript import Segment, Transcript
from tests.support.secrets import SecretWatch

SECRET = "s3cr3t-token-value"
Script = Callable[[JobContext], Awaitable[Transcript]]


def transcript_for(context: JobContext, text: str = "done") -> Transcript:
    return Transcript(provider="fake", file=str(context.file), language="en", duration=2.0,
                      text=text, segments=(Segment(0.0, 2.0, None, text),),
                      extras=(("remote", ",".join(sorted(context.remote))),))


@dataclass
class Run:
    job_id: int
    remote: dict[str, str]  # what context.remote held when run() began
    outcome: str = "running"  # running | returned | raised | cancelled


@dataclass
class FakeService:
    """A JobService whose run() follows `script`; records what the runner asked of it."""

    provider: str = "nevisa"
    script: Script = field(default=lambda context: _done(context))
    cancel_error: Exception | None = None
    runs: list[Run] = field(default_factory=list)
    cancelled: list[dict[str, str]] = field(default_factory=list)
    closed: int = 0
    running: int = 0
    most_at_once: int = 0

    async def run(self, context: JobContext) -> Transcript:
        run = Run(context.job_id, dict(context.remote))
        self.runs.append(run)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            result = await self.script(context)
        except asyncio.CancelledError:
            run.outcome = "cancelled"
            raise
        except BaseException:
            run.outcome = "raised"
            raise
        finally:
            self.running -= 1
        run.outcome = "returned"
        return result

    async def cancel(self, remote: Mapping[str, str]) -> None:
        self.cancelled.append(dict(remote))
        if self.cancel_error is not None:
            raise self.cancel_error

    async def aclose(self) -> None:
        self.closed += 1

    def started(self) -> list[int]:
        return [run.job_id for run in self.runs]


async def _done(context: JobContext) -> Transcript:
    return transcript_for(context)


class Gates:
    """One event per job id: a gated run returns once the test opens its gate."""

    def __init__(self) -> None:
        self._events: dict[int, asyncio.Event] = {}

    def __getitem__(self, job_id: int) -> asyncio.Event:
        return self._events.setdefault(job_id, asyncio.Event())

    async def script(self, context: JobContext) -> Transcript:
        await self[context.job_id].wait()
        return transcript_for(context)


async def block_forever(context: JobContext) -> Transcript:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[JobStore]:
    with JobStore(path) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _no_secret_in_logs(no_secret_logged: SecretWatch) -> None:
    no_secret_logged.add(SECRET)


class Recorder:
    """A listener: every snapshot it was told about, in order."""

    def __init__(self) -> None:
        self.seen: list[Job] = []

    def __call__(self, job: Job) -> None:
        self.seen.append(job)

    def states(self, job_id: int) -> list[JobState]:
        states: list[JobState] = []
        for job in self.seen:
            if job.id == job_id and (not states or states[-1] is not job.state):
                states.append(job.state)
        return states


def runner_for(store: JobStore, *services: FakeService, at_once: int = 2) -> JobRunner:
    by_provider = {service.provider: service for service in services}

    def factory(provider: str) -> JobService:
        if provider not in by_provider:
            raise ConfigurationError(f"{provider} needs a token: add it in Preferences")
        return by_provider[provider]

    return JobRunner(store, factory, at_once=at_once)


def watched_runner(store: JobStore, *services: FakeService, at_once: int = 2
                   ) -> tuple[JobRunner, Recorder]:
    """`runner_for(...)` and a Recorder listening to it from the start."""
    runner = runner_for(store, *services, at_once=at_once)
    seen = Recorder()
    runner.add_listener(seen)
    return runner, seen


def submit(runner: JobRunner, name: str = "a.wav", provider: str = "nevisa") -> Job:
    return runner.submit(Path("/audio") / name, provider, JobOptions(language="fa"))


def test_a_job_completes_and_listeners_see_every_change_in_order(store: JobStore) -> None:
    async def reporting(context: JobContext) -> Transcript:
        for progress in (0.0, 0.5, 1.0):
            context.report(JobState.UPLOADING, progress)
        context.report(JobState.PROCESSING, None)
        context.report(JobState.PROCESSING, None)  # no change: nobody is told
        return transcript_for(context, "hello")

    service = FakeService(script=reporting)

    async def scenario() -> None:
        runner, seen = watched_runner(store, service)
        job = submit(runner)
        done = await runner.wait(job.id)
        assert done.state is JobState.COMPLETED and done.progress == 1.0
        assert done.result is not None and done.result.text == "hello"
        assert store.get(job.id) == done
        assert seen.states(job.id) == [JobState.QUEUED, JobState.UPLOADING,
                                       JobState.PROCESSING, JobState.COMPLETED]
        assert [(j.state, j.progress) for j in seen.seen] == [
            (JobState.QUEUED, None), (JobState.UPLOADING, 0.0), (JobState.UPLOADING, 0.5),
            (JobState.UPLOADING, 1.0), (JobState.PROCESSING, None),
            (JobState.COMPLETED, 1.0)]
        assert seen.seen[-1] == done
        assert await runner.wait(job.id) == done  # finished: at once
        await runner.aclose()

    run(scenario)


def test_progress_writes_are_throttled_yet_the_last_progress_reaches_the_store(
        store: JobStore) -> None:
    stored_after_burst: list[float | None] = []
    gate = asyncio.Event()

    async def chatty(context: JobContext) -> Transcript:
        for step in range(1, 101):
            context.report(JobState.UPLOADING, step / 100)
        job = store.get(context.job_id)
        stored_after_burst.append(job.progress if job else None)
        await gate.wait()
        return transcript_for(context)

    service = FakeService(script=chatty)

    async def scenario() -> None:
        runner, seen = watched_runner(store, service)
        job = submit(runner)
        await until(lambda: bool(stored_after_burst))
        assert stored_after_burst == [0.01]  # the first report only; the rest throttled
        assert [j.progress for j in seen.seen if j.state is JobState.UPLOADING] == \
            [step / 100 for step in range(1, 101)]  # listeners heard every step
        await until(lambda: (store.get(job.id) or job).progress == 1.0, timeout=2.0)
        gate.set()
        assert (await runner.wait(job.id)).state is JobState.COMPLETED
        await runner.aclose()

    run(scenario)


def test_no_more_than_at_once_jobs_run_and_waiting_ones_start_in_order(
        store: JobStore) -> None:
    gates = Gates()
    service = FakeService(script=gates.script)

    async def scenario() -> None:
        runner = runner_for(store, service, at_once=2)
        jobs = [submit(runner, f"{i}.wav") for i in range(5)]
        ids = [job.id for job in jobs]
        await until(lambda: len(service.runs) == 2)
        assert service.started() == ids[:2]
        assert [(store.get(i) or jobs[0]).state for i in ids[2:]] == [JobState.QUEUED] * 3
        gates[ids[1]].set()
        await until(lambda: len(service.runs) == 3)
        assert service.started() == [*ids[:2], ids[2]]
        assert service.most_at_once == 2
        runner.set_at_once(4)  # two running, room for two more
        await until(lambda: len(service.runs) == 5)
        assert service.started() == ids
        assert service.most_at_once == 4
        runner.set_at_once(1)
        for job_id in ids:
            gates[job_id].set()
        for job_id in ids:
            assert (await runner.wait(job_id)).state is JobState.COMPLETED
        with pytest.raises(ValueError, match="at least one"):
            runner.set_at_once(0)
        await runner.aclose()

    run(scenario)


def test_a_waiting_job_cancelled_never_starts(store: JobStore) -> None:
    gates = Gates()
    service = FakeService(script=gates.script)

    async def scenario() -> None:
        runner, seen = watched_runner(store, service, at_once=1)
        first, second, third = (submit(runner, f"{i}.wav") for i in range(3))
        await until(lambda: len(service.runs) == 1)
        await runner.cancel(second.id)
        cancelled = store.get(second.id)
        assert cancelled is not None and cancelled.state is JobState.CANCELLED
        assert seen.states(second.id) == [JobState.QUEUED, JobState.CANCELLED]
        assert not runner.is_active(second.id)
        gates[first.id].set()
        gates[third.id].set()
        assert (await runner.wait(third.id)).state is JobState.COMPLETED
        assert service.started() == [first.id, third.id]
        assert service.cancelled == []  # nothing remote to stop
        await runner.cancel(third.id)  # finished: stays as it is
        assert (await runner.wait(third.id)).state is JobState.COMPLETED
        await runner.aclose()

    run(scenario)


def test_cancelling_a_running_job_stops_it_and_the_remote_job(store: JobStore) -> None:
    async def remembering(context: JobContext) -> Transcript:
        await context.remember(task_id="t-1", key="uploads/a.wav")
        context.report(JobState.PROCESSING, 0.3)
        return await block_forever(context)

    service = FakeService(script=remembering)

    async def scenario() -> None:
        runner, seen = watched_runner(store, service)
        job = submit(runner)
        await until(lambda: (store.get(job.id) or job).state is JobState.PROCESSING)
        assert (store.get(job.id) or job).remote == {"task_id": "t-1", "key": "uploads/a.wav"}
        await runner.cancel(job.id)
        assert service.runs[0].outcome == "cancelled"
        assert service.cancelled == [{"task_id": "t-1", "key": "uploads/a.wav"}]
        cancelled = await runner.wait(job.id)
        assert cancelled.state is JobState.CANCELLED and cancelled.error is None
        assert seen.states(job.id) == [JobState.QUEUED, JobState.PROCESSING,
                                       JobState.CANCELLED]
        assert not runner.is_active(job.id)
        await runner.aclose()

    run(scenario)


def test_cancelling_a_resumed_job_still_waiting_stops_its_remote_job(store: JobStore) -> None:
    gates = Gates()
    service = FakeService(script=gates.script)
    earlier = store.add(Path("/audio/earlier.wav"), "nevisa", JobOptions())
    store.update(earlier.id, state=JobState.PROCESSING, remote={"task_id": "t-3"})
    blocker = store.add(Path("/audio/blocker.wav"), "nevisa", JobOptions())
    store.update(blocker.id, state=JobState.PROCESSING, remote={"task_id": "t-2"})

    async def scenario() -> None:
        runner = runner_for(store, service, at_once=1)
        await runner.resume()
        await until(lambda: len(service.runs) == 1)
        assert service.started() == [earlier.id]  # oldest first
        assert runner.is_active(blocker.id)
        await runner.cancel(blocker.id)
        cancelled = store.get(blocker.id)
        assert cancelled is not None and cancelled.state is JobState.CANCELLED
        assert service.cancelled == [{"task_id": "t-2"}]
        gates[earlier.id].set()
        assert (await runner.wait(earlier.id)).state is JobState.COMPLETED
        assert service.started() == [earlier.id]
        await runner.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await runner.cancel(earlier.id)

    run(scenario)


def test_a_refused_remote_cancel_is_noted_but_the_job_ends_cancelled(store: JobStore) -> None:
    async def remembering(context: JobContext) -> Transcript:
        await context.remember(task_id="t-7")
        return await block_forever(context)

    refusal = ServiceRejected("task already finished", service="Nevisa",
                              operation="cancel", status=409)
    service = FakeService(script=remembering, cancel_error=refusal)

    async def scenario() -> None:
        runner = runner_for(store, service)
        job = submit(runner)
        await until(lambda: bool((store.get(job.id) or job).remote))
        await runner.cancel(job.id)
        cancelled = store.get(job.id)
        assert cancelled is not None and cancelled.state is JobState.CANCELLED
        assert cancelled.error is not None
        assert "Nevisa" in cancelled.error and "task already finished" in cancelled.error
        assert service.cancelled == [{"task_id": "t-7"}]
        await runner.aclose()

    run(scenario)


def test_failures_are_stored_with_their_message_and_retry_runs_the_job_afresh(
        store: JobStore) -> None:
    attempts: list[dict[str, str]] = []

    async def flaky(context: JobContext) -> Transcript:
        attempts.append(dict(context.remote))
        if len(attempts) == 1:
            await context.remember(task_id="t-old")
            context.report(JobState.PROCESSING, 0.4)
            raise ServiceRejected("quota exhausted", service="Nevisa",
                                  operation="recognize-file", status=402)
        return transcript_for(context, "second time")

    service = FakeService(script=flaky)

    async def scenario() -> None:
        runner, seen = watched_runner(store, service)
        job = submit(runner)
        failed = await runner.wait(job.id)
        assert failed.state is JobState.FAILED
        assert failed.error == "Nevisa rejected recognize-file (status 402): quota exhausted"
        assert failed.remote == {"task_id": "t-old"}
        retried = runner.retry(job.id)
        assert retried.id == job.id and retried.state is JobState.QUEUED
        assert retried.remote == {} and retried.error is None and retried.progress is None
        done = await runner.wait(job.id)
        assert done.state is JobState.COMPLETED and done.error is None
        assert done.result is not None and done.result.text == "second time"
        assert attempts == [{}, {}]  # the retry did not see the old remote id
        assert seen.states(job.id) == [JobState.QUEUED, JobState.PROCESSING, JobState.FAILED,
                                       JobState.QUEUED, JobState.COMPLETED]
        with pytest.raises(ValueError, match="only failed or cancelled"):
            runner.retry(job.id)
        with pytest.raises(KeyError):
            runner.retry(job.id + 100)
        await runner.aclose()

    run(scenario)


def test_remove_cancels_a_running_job_then_forgets_it(store: JobStore) -> None:
    async def remembering(context: JobContext) -> Transcript:
        await context.remember(key="k")
        return await block_forever(context)

    service = FakeService(script=remembering)

    async def scenario() -> None:
        runner = runner_for(store, service)
        removed: list[int] = []
        runner.add_removal_listener(removed.append)
        job = submit(runner)
        done = submit(runner, "b.wav", provider="other")  # fails: no such service
        await until(lambda: bool((store.get(job.id) or job).remote))
        waiting = asyncio.ensure_future(runner.wait(job.id))
        await runner.remove(job.id)
        assert service.cancelled == [{"key": "k"}]
        assert store.get(job.id) is None
        assert (await waiting).state is JobState.CANCELLED  # it ended before it went
        with pytest.raises(KeyError):
            await runner.wait(job.id)
        await runner.wait(done.id)
        await runner.remove(done.id)  # a finished job just goes
        assert removed == [job.id, done.id]
        assert store.list() == []
        await runner.aclose()

    run(scenario)


def test_a_missing_service_configuration_fails_the_job_with_its_message(
        store: JobStore) -> None:
    service = FakeService()

    async def scenario() -> None:
        runner = runner_for(store, service)
        job = submit(runner, provider="botlhale")
        failed = await runner.wait(job.id)
        assert failed.state is JobState.FAILED
        assert failed.error == "botlhale needs a token: add it in Preferences"
        await runner.aclose()
        assert service.closed == 0  # never used

    run(scenario)


def test_an_internal_error_fails_that_job_and_the_runner_keeps_working(
        store: JobStore, caplog: pytest.LogCaptureFixture) -> None:
    async def buggy(context: JobContext) -> Transcript:
        raise ValueError(f"bad value from https://host/x?token={SECRET}")

    broken = FakeService(provider="botlhale", script=buggy)
    fine = FakeService(provider="nevisa")

    async def scenario() -> None:
        runner = runner_for(store, broken, fine, at_once=1)
        failing = submit(runner, provider="botlhale")
        after = submit(runner, provider="nevisa")
        failed = await runner.wait(failing.id)
        assert failed.state is JobState.FAILED
        assert failed.error is not None and failed.error.startswith("internal error: ValueError")
        assert "token=***" in failed.error and SECRET not in failed.error
        assert (await runner.wait(after.id)).state is JobState.COMPLETED
        await runner.aclose()

    run(scenario)
    assert "Traceback" in caplog.text and "buggy" in caplog.text


def test_a_failing_listener_does_not_stop_the_others_and_unsubscribing_works(
        store: JobStore) -> None:
    service = FakeService()

    def broken(job: Job) -> None:
        raise RuntimeError("listener bug")

    async def scenario() -> None:
        runner = runner_for(store, service)
        runner.add_listener(broken)
        kept, dropped = Recorder(), Recorder()
        runner.add_listener(kept)
        unsubscribe = runner.add_listener(dropped)
        first = submit(runner)
        assert (await runner.wait(first.id)).state is JobState.COMPLETED
        unsubscribe()
        second = submit(runner, "b.wav")
        await runner.wait(second.id)
        assert kept.states(second.id) == [JobState.QUEUED, JobState.COMPLETED]
        assert dropped.states(second.id) == []
        assert dropped.states(first.id) == [JobState.QUEUED, JobState.COMPLETED]
        await runner.aclose()

    run(scenario)


def test_quitting_keeps_jobs_unfinished_and_the_next_start_resumes_them(path: Path) -> None:
    async def processing(context: JobContext) -> Transcript:
        await context.remember(task_id="t-9")
        context.report(JobState.PROCESSING, 0.6)
        return await block_forever(context)

    async def uploading(context: JobContext) -> Transcript:
        context.report(JobState.UPLOADING, 0.5)
        return await block_forever(context)

    scripts = {"p.wav": processing, "u.wav": uploading}

    async def by_file(context: JobContext) -> Transcript:
        script = scripts.get(context.file.name, _done)
        return await script(context)

    first_run = FakeService(script=by_file)
    ids: dict[str, int] = {}

    async def before_quitting() -> None:
        with JobStore(path) as store:
            runner = runner_for(store, first_run, at_once=2)
            for name in ("c.wav", "p.wav", "u.wav"):
                ids[name] = submit(runner, name).id
            queued = submit(runner, "q.wav")  # waits for a slot
            ids["q.wav"] = queued.id
            waiting = asyncio.ensure_future(runner.wait(ids["p.wav"]))
            await runner.wait(ids["c.wav"])
            await until(lambda: len(first_run.runs) == 3 and all(
                (store.get(ids[n]) or queued).progress is not None for n in ("p.wav", "u.wav")))
            await runner.aclose()
            await runner.aclose()  # twice is harmless
            with pytest.raises(RuntimeError, match="closed before job"):
                await waiting
            with pytest.raises(RuntimeError, match="closed"):
                submit(runner)
            assert first_run.closed == 1
            outcomes = {run.job_id: run.outcome for run in first_run.runs}
            assert outcomes[ids["p.wav"]] == outcomes[ids["u.wav"]] == "cancelled"

    run(before_quitting)

    with JobStore(path) as store:
        states = {name: store.get(job_id) for name, job_id in ids.items()}
    assert {n: j.state for n, j in states.items() if j} == {
        "p.wav": JobState.PROCESSING, "u.wav": JobState.UPLOADING,
        "c.wav": JobState.COMPLETED, "q.wav": JobState.QUEUED}
    assert states["p.wav"] is not None and states["p.wav"].remote == {"task_id": "t-9"}
    completed = states["c.wav"]
    assert completed is not None and completed.result is not None

    second_run = FakeService()

    async def after_restart() -> None:
        with JobStore(path) as store:
            assert store.get(ids["c.wav"]) == completed  # the result survived
            runner, seen = watched_runner(store, second_run, at_once=2)
            await runner.resume()
            await runner.resume()  # already scheduled: nothing runs twice
            for name in ("p.wav", "u.wav", "q.wav"):
                assert (await runner.wait(ids[name])).state is JobState.COMPLETED
            remotes = {run.job_id: run.remote for run in second_run.runs}
            assert remotes == {ids["p.wav"]: {"task_id": "t-9"}, ids["u.wav"]: {},
                               ids["q.wav"]: {}}
            assert [run.job_id for run in second_run.runs] == \
                [ids["p.wav"], ids["u.wav"], ids["q.wav"]]  # oldest first
            # The uploading job started over from the queue; the processing one did not.
            assert seen.states(ids["u.wav"]) == [JobState.QUEUED, JobState.COMPLETED]
            assert seen.states(ids["p.wav"]) == [JobState.COMPLETED]
            restarted = next(j for j in seen.seen if j.id == ids["u.wav"])
            assert restarted.progress is None
            await runner.aclose()
            assert second_run.closed == 1

    run(after_restart)


def test_closing_closes_each_service_it_used_once(store: JobStore) -> None:
    first = FakeService(provider="nevisa")
    second = FakeService(provider="botlhale")
    unused = FakeService(provider="bahasakita")

    async def scenario() -> None:
        runner = runner_for(store, first, second, unused)
        jobs = [submit(runner, f"{i}.wav", provider=p)
                for i, p in enumerate(("nevisa", "botlhale", "nevisa"))]
        for job in jobs:
            await runner.wait(job.id)
        await runner.aclose()
        assert (first.closed, second.closed, unused.closed) == (1, 1, 0)
        with pytest.raises(RuntimeError):
            await runner.resume()

    run(scenario)


def test_services_may_report_only_uploading_or_processing(store: JobStore) -> None:
    async def wrong(context: JobContext) -> Transcript:
        context.report(JobState.COMPLETED, 1.0)
        return transcript_for(context)

    service = FakeService(script=wrong)

    async def scenario() -> None:
        runner = runner_for(store, service)
        job = submit(runner)
        failed = await runner.wait(job.id)
        assert failed.state is JobState.FAILED
        assert failed.error is not None and "uploading or processing" in failed.error
        await runner.aclose()

    run(scenario)


# --- when the store refuses a write --------------------------------------------------------


def test_an_outcome_the_job_list_cannot_store_still_ends_the_job_and_it_can_be_retried(
        path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gate = asyncio.Event()

    async def gated(context: JobContext) -> Transcript:
        context.report(JobState.PROCESSING, None)
        await gate.wait()
        return transcript_for(context, "finally")

    service = FakeService(script=gated)

    async def scenario() -> None:
        with JobStore(path, busy_timeout=0.05) as store:
            runner, seen = watched_runner(store, service)
            job = submit(runner)
            await until(lambda: (store.get(job.id) or job).state is JobState.PROCESSING)
            holder = sqlite3.connect(str(path), isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
            try:
                gate.set()
                failed = await asyncio.wait_for(runner.wait(job.id), 5)
                assert failed.state is JobState.FAILED and failed.result is None
                assert failed.error is not None
                assert "job list could not be saved" in failed.error
                assert "database is locked" in failed.error and "retry" in failed.error
                assert seen.seen[-1] == failed  # listeners heard it finish
                assert not runner.is_active(job.id)
                assert await asyncio.wait_for(runner.wait(job.id), 1) == failed
                # On disk it is still unfinished: the next start would resume it.
                assert (store.get(job.id) or job).state is JobState.PROCESSING
                await runner.cancel(job.id)  # finished, as far as anyone was told
            finally:
                holder.rollback()
                holder.close()
            assert runner.retry(job.id).state is JobState.QUEUED
            done = await asyncio.wait_for(runner.wait(job.id), 5)
            assert done.state is JobState.COMPLETED and done.result is not None
            assert (store.get(job.id) or job).state is JobState.COMPLETED
            assert seen.states(job.id) == [JobState.QUEUED, JobState.PROCESSING,
                                           JobState.FAILED, JobState.QUEUED,
                                           JobState.PROCESSING, JobState.COMPLETED]
            await runner.aclose()

    run(scenario)
    assert "could not store its outcome" in caplog.text and "OperationalError" in caplog.text


def test_a_transcript_the_store_cannot_encode_fails_the_job_instead_of_hanging(
        store: JobStore) -> None:
    async def odd(context: JobContext) -> Transcript:
        return Transcript("fake", None, None, float("nan"), f"token={SECRET}")

    service = FakeService(script=odd)

    async def scenario() -> None:
        runner = runner_for(store, service)
        job = submit(runner)
        failed = await asyncio.wait_for(runner.wait(job.id), 5)
        assert failed.state is JobState.FAILED and failed.error is not None
        assert "could not be saved (internal error: ValueError" in failed.error
        assert "transcript was lost" in failed.error
        await runner.aclose()

    run(scenario)


def test_progress_alone_is_committed_without_an_fsync_and_a_state_with_one(
        store: JobStore) -> None:
    # What the store's connection runs, in order: which synchronous mode each UPDATE of
    # a job was committed under, and which columns it set.
    writes: list[tuple[str, set[str]]] = []
    mode = ["FULL"]

    def trace(statement: str) -> None:
        if match := re.match(r"PRAGMA synchronous = (\w+)", statement):
            mode[0] = match.group(1)
        elif match := re.match(r"UPDATE jobs SET (.*) WHERE id", statement, re.S):
            writes.append((mode[0], set(re.findall(r"(\w+) = ", match.group(1)))))

    async def reporting(context: JobContext) -> Transcript:
        context.report(JobState.UPLOADING, 0.1)  # a new state: stored at once
        context.report(JobState.UPLOADING, 0.5)  # progress: stored by the throttle
        await until(lambda: getattr(store.get(context.job_id), "progress", None) == 0.5)
        return transcript_for(context)

    service = FakeService(script=reporting)
    store._db().set_trace_callback(trace)

    async def scenario() -> None:
        runner = runner_for(store, service)
        job = submit(runner)
        assert (await runner.wait(job.id)).state is JobState.COMPLETED
        await runner.aclose()

    run(scenario)
    store._db().set_trace_callback(None)
    assert [(m, c - {"updated"}) for m, c in writes] == [
        ("FULL", {"state", "progress"}),
        ("NORMAL", {"progress"}),
        ("FULL", {"state", "progress", "result", "preview", "error"})]


def test_a_second_runner_on_the_same_job_list_leaves_the_jobs_the_first_holds(
        path: Path) -> None:
    first_service, second_service = FakeService(script=block_forever), FakeService()

    async def scenario() -> None:
        with JobStore(path) as first_store, JobStore(path) as second_store:
            first = runner_for(first_store, first_service)
            held = submit(first, "held.wav")
            await until(lambda: len(first_service.runs) == 1)
            second = runner_for(second_store, second_service)
            await second.resume()  # the window starting while `transcribe` runs
            assert second.resume_job(held.id) is None
            assert not second.is_active(held.id) and second_service.runs == []
            first_store.update(held.id, state=JobState.FAILED)  # as if it failed there
            with pytest.raises(ValueError, match="another copy"):
                second.retry(held.id)  # ...but its runner has not let go of it yet
            first_store.update(held.id, state=JobState.UPLOADING)
            await first.aclose()  # quitting releases it: the other runner may take it now
            resumed = second.resume_job(held.id)
            assert resumed is not None and resumed.state is JobState.QUEUED
            assert (await second.wait(held.id)).state is JobState.COMPLETED
            assert [run.job_id for run in second_service.runs] == [held.id]
            await second.aclose()

    run(scenario)


def test_a_claim_ends_with_the_process_that_held_it_even_by_sigkill(path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from dictation_app.jobs.claims import JobClaims

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path;"
         "from dictation_app.jobs.claims import JobClaims;"
         "claims = JobClaims(Path(sys.argv[1])); assert claims.claim(7);"
         "print('held', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        claims = JobClaims(path)
        assert not claims.claim(7) and claims.claim(8)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert claims.claim(7) and claims.holds(7)
        claims.release_all()
        assert JobClaims(path).claim(7)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


def check_by_name(path: Path) -> str | None:
    """A file check as audio/files.py's, decided by the file's name."""
    if path.name.startswith("bad"):
        raise UnsupportedInput(f"{path.name}: cannot decode this file (not audio)")
    if path.name.startswith("short"):
        return f"{path.name} is shorter than its header says"
    return None


def test_a_file_the_check_refuses_fails_at_once_never_runs_and_is_not_retried(
        store: JobStore) -> None:
    service = FakeService(script=Gates().script)  # holds the one slot until the test ends

    async def scenario() -> None:
        runner = JobRunner(store, lambda _provider: service, at_once=1, check=check_by_name)
        seen = Recorder()
        runner.add_listener(seen)
        first = submit(runner, "good.wav")
        refused = submit(runner, "bad.wav")  # waits behind the first: refused all the same
        await until(lambda: store.get(refused.id).state is JobState.FAILED)
        stored = store.get(refused.id)
        assert stored is not None and stored.refused
        assert stored.error == "bad.wav: cannot decode this file (not audio)"
        assert seen.seen[-1].refused and seen.states(refused.id) == [JobState.QUEUED,
                                                                     JobState.FAILED]
        with pytest.raises(ValueError, match="cannot be decoded"):
            runner.retry(refused.id)
        # The first may start after the second is refused (its check runs on a thread).
        await until(lambda: len(service.runs) == 1)
        assert [run.job_id for run in service.runs] == [first.id]
        assert store.list()[0].refused  # listed jobs say so too
        await runner.aclose()

    run(scenario)


def test_a_warning_from_the_check_is_kept_and_the_job_runs(store: JobStore) -> None:
    service = FakeService()

    async def scenario() -> None:
        runner = JobRunner(store, lambda _provider: service, check=check_by_name)
        job = submit(runner, "short.wav")
        done = await runner.wait(job.id)
        assert done.state is JobState.COMPLETED
        assert done.warning == "short.wav is shorter than its header says"
        stored = store.get(job.id)
        assert stored is not None and stored.warning == done.warning and not stored.refused
        await runner.aclose()

    run(scenario)


def test_resume_or_submit_finds_the_files_unfinished_job_or_adds_one(
        path: Path, tmp_path: Path) -> None:
    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"RIFF")
    options = JobOptions(language="fa")
    service = FakeService(script=block_forever)

    async def scenario() -> None:
        with JobStore(path) as first_store, JobStore(path) as second_store:
            first = runner_for(first_store, service)
            job, mine = first.resume_or_submit(audio, "nevisa", options)
            assert mine and job.state is JobState.QUEUED
            second = runner_for(second_store, FakeService())
            held, ours = second.resume_or_submit(audio, "nevisa", options)
            assert (held.id, ours) == (job.id, False)  # the first holds it: not added again
            await second.cancel(job.id)  # only the runner that holds it can stop it
            assert second_store.get(job.id).state is not JobState.CANCELLED
            other, fresh = second.resume_or_submit(audio, "nevisa", JobOptions(language="en"))
            assert fresh and other.id != job.id  # other options: another job
            await first.aclose()
            again, resumed = second.resume_or_submit(audio, "nevisa", options)
            assert (again.id, resumed) == (job.id, True)
            await second.cancel(job.id)
            await second.cancel(other.id)
            await second.aclose()

    run(scenario)
