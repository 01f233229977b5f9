"""Runs file-transcription jobs on the asyncio loop, storing every change first.

At most `at_once` jobs run at a time; the rest wait in the order they came. Each
running job gets a `JobContext` (jobs/service.py) whose `report()` and `remember()`
write through to the `JobStore`, then listeners hear of the change. Quitting
(`aclose()`) stops the running jobs without marking them, so `resume()` on the next
start picks them up again; a service that remembered its remote ids resumes polling.

If the outcome of a run cannot be stored (a full disk, the job list locked too long),
listeners hear the job FAILED with an error saying so, waiters wake, and it can be
retried; the store still holds it unfinished, so the next start resumes it.

With a `check` (audio/files.py `check_file`, injected: jobs/ does not read audio), each
added file is probed at once, in a worker thread, while the job waits for its slot: a
file that cannot be decoded (not audio, a named pipe, a device) is refused, its job
FAILED with the reason and marked `refused`, so it is never retried; a warning about a
file that can be decoded all the same (a WAV shorter than its header says) is kept with
its job and the job runs.

Several runners may share one job list: the window's and those of `dictation-app
transcribe` runs, each in its own process. A runner claims a job (jobs/claims.py, an OS
lock released when its process dies) from the moment it schedules it until the run
ends, and leaves alone the unfinished jobs another runner holds, so no job is uploaded
or polled twice. A job it could not claim is not shown as changing here: the other
process writes its progress to the store.

Everything here runs on the loop thread, like the store it writes to. Listeners are
called synchronously on that thread and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import math
import sqlite3
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dictation_app.core.deadline import within
from dictation_app.core.errors import DictationError
from dictation_app.core.redaction import redact, redacting_logger
from dictation_app.jobs.claims import JobClaims
from dictation_app.jobs.model import FileStamp, Job, JobOptions, JobState
from dictation_app.jobs.service import JobService
from dictation_app.jobs.store import JobStore

log = redacting_logger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between stored progress updates of one job
CANCEL_TIMEOUT = 15.0  # seconds to wait for a service to confirm a remote cancel
CLOSE_TIMEOUT = 10.0  # seconds aclose() waits for running jobs to stop
_RETRYABLE = (JobState.FAILED, JobState.CANCELLED)

JobListener = Callable[[Job], None]
# A file's check: raises DictationError (UnsupportedInput) if it cannot be transcribed,
# returns a warning about it, or None. Called in a worker thread.
FileCheck = Callable[[Path], "str | None"]
RemovalListener = Callable[[int], None]  # called with the id of a removed job


class JobRunner:
    def __init__(self, store: JobStore, services: Callable[[str], JobService], *,
                 at_once: int = 2, labels: Mapping[str, str] | None = None,
                 explain: Callable[[DictationError], str] = str,
                 check: FileCheck | None = None):
        self._store = store
        self._check = check
        self._checks: dict[int, asyncio.Task[None]] = {}  # job id -> its file's check
        self._services = services
        self._labels = dict(labels or {})  # provider -> name in messages; else the id
        self._explain = explain  # a failure as the person reads it: where to fix it, too
        self._at_once = _positive(at_once)
        self._waiting: deque[int] = deque()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._cancelling: set[int] = set()
        self._used: list[JobService] = []  # every service a job ran on, closed by aclose()
        self._listeners: list[JobListener] = []
        self._removal_listeners: list[RemovalListener] = []
        self._waiters: dict[int, list[asyncio.Future[Job]]] = {}
        # Jobs whose outcome the store refused: FAILED here while the store holds them
        # unfinished. Forgotten as soon as the store takes a change of theirs.
        self._unsaved: dict[int, Job] = {}
        self._claims = JobClaims(store.path)
        self._closed = False

    # --- observing --------------------------------------------------------------------

    def add_listener(self, callback: JobListener) -> Callable[[], None]:
        """`callback(job)` after every change of a job (added, state, progress, ids,
        finished). Returns a function that unsubscribes."""
        self._listeners.append(callback)
        return functools.partial(_discard, self._listeners, callback)

    def add_removal_listener(self, callback: RemovalListener) -> Callable[[], None]:
        """`callback(job_id)` after a job left the store through remove()."""
        self._removal_listeners.append(callback)
        return functools.partial(_discard, self._removal_listeners, callback)

    @property
    def at_once(self) -> int:
        return self._at_once

    def set_at_once(self, count: int) -> None:
        """Running jobs beyond a lowered limit finish; no new one starts until below it."""
        self._at_once = _positive(count)
        self._pump()

    def used(self, service: JobService) -> bool:
        """Whether a job ran on `service`: aclose() closes those."""
        return any(used is service for used in self._used)

    def is_active(self, job_id: int) -> bool:
        """Waiting for a slot or running in this session."""
        return job_id in self._running or job_id in self._waiting

    # --- commands ---------------------------------------------------------------------

    def submit(self, file: Path, provider: str, options: JobOptions) -> Job:
        self._check_open()
        job = self._store.add(file, provider, options, FileStamp.of(file))
        self._claims.claim(job.id)  # a new job: nobody else can hold it yet
        log.info("job added: %s", job.summary())
        self._notify(job)
        if self._check is not None:
            check = asyncio.get_running_loop().create_task(self._check_file(job),
                                                           name=f"check-{job.id}")
            self._checks[job.id] = check
            check.add_done_callback(functools.partial(self._checked, job.id))
        self._enqueue(job.id)
        return job

    def _checked(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._checks.get(job_id) is task:
            del self._checks[job_id]

    async def _check_file(self, job: Job) -> None:
        """Refuse the job if its file cannot be decoded; keep a warning about it if any."""
        assert self._check is not None
        try:
            warning = await asyncio.to_thread(self._check, job.file)
        except DictationError as exc:
            self._refuse(job.id, self._explain(exc) or str(exc))
            return
        except Exception as exc:  # the service's own probe will say what is wrong
            _log_traceback(f"job {job.id}: checking {job.file.name} failed", exc)
            return
        if warning:
            log.warning("job %d: %s", job.id, warning)
            with contextlib.suppress(KeyError):  # removed meanwhile
                self._notify(self._store.set_warning(job.id, warning))

    def _refuse(self, job_id: int, reason: str) -> None:
        # A run that started meanwhile waits for this check, then finds the job finished.
        if job_id in self._waiting:
            self._waiting.remove(job_id)
        try:
            job = self._store.update(job_id, state=JobState.FAILED, error=reason, progress=None)
            self._store.mark_refused(job_id)
            refused = self._store.get(job_id, with_result=False)
        except KeyError:
            return
        self._claims.release(job_id)
        log.info("job refused: %s: %s", job.summary(), reason)
        if refused is not None:
            self._unsaved.pop(job_id, None)
            self._notify(refused)

    async def cancel(self, job_id: int) -> None:
        """Stop a job: a waiting one never starts, a running one is stopped here. Either
        way it ends CANCELLED, and if a service remembered remote ids for it, that
        service is asked to stop the remote job too (best effort: a refusal is noted in
        the job's error). Finished jobs stay as they are."""
        self._check_open()
        try:
            await self._stop(job_id)
        finally:
            # Held until the job is marked, so that no other runner picks it up meanwhile.
            self._claims.release(job_id)

    async def _stop(self, job_id: int) -> None:
        task = self._running.get(job_id)
        if task is None and job_id not in self._waiting and not self._claims.claim(job_id):
            # Another copy of the app runs it; only that one can stop it.
            log.info("job %d runs in another copy of the app; not cancelled here", job_id)
            return
        if job_id in self._waiting:
            self._waiting.remove(job_id)
        elif task is not None:
            if job_id in self._cancelling:  # another cancel() is already at it
                await asyncio.wait({task})
                return
            self._cancelling.add(job_id)
            try:
                task.cancel()
                await asyncio.wait({task})
            finally:
                self._cancelling.discard(job_id)
        current = self._current(job_id)
        if current is None or current.state.finished:
            return  # unknown, or it finished before the cancel took effect
        job = self._update(job_id, state=JobState.CANCELLED)
        if job is None:
            return
        log.info("job cancelled: %s", job.summary())
        if not job.remote or self._closed:
            return
        note = await self._cancel_remote(job)
        current = self._current(job_id)
        if note is not None and current is not None and current.state is JobState.CANCELLED:
            self._update(job_id, error=note)

    def retry(self, job_id: int) -> Job:
        """Run a failed or cancelled job again from the start: fresh remote job, no result."""
        self._check_open()
        job = self._current(job_id)
        if job is None:
            raise KeyError(f"job {job_id} is not in the job list")
        if job.state not in _RETRYABLE or self.is_active(job_id):
            raise ValueError(f"job {job_id} is {job.state.value}; only failed or cancelled "
                             "jobs can be retried")
        if job.refused:
            raise ValueError(f"job {job_id}'s file cannot be decoded; it is not retried")
        if not self._claims.claim(job_id):
            raise ValueError(f"job {job_id} is being run by another copy of the app")
        job = self._store.reset(job_id, keep_remote=False)
        self._unsaved.pop(job_id, None)
        log.info("job retried: %s", job.summary())
        self._notify(job)
        self._enqueue(job_id)
        return job

    async def remove(self, job_id: int) -> None:
        """Cancel the job if it waits or runs, then forget it."""
        await self.cancel(job_id)
        self._store.delete(job_id)
        self._claims.forget(job_id)
        self._unsaved.pop(job_id, None)
        log.info("job removed: %d", job_id)
        for future in self._waiters.pop(job_id, []):
            if not future.done():
                future.set_exception(KeyError(f"job {job_id} was removed"))
        for listener in list(self._removal_listeners):
            try:
                listener(job_id)
            except Exception:
                log.exception("a job removal listener failed")

    async def resume(self) -> None:
        """On start: schedule every unfinished job again, oldest first. Queued and
        uploading jobs start over (keeping remote ids a service remembered); processing
        jobs keep their state and ids, so the service resumes polling."""
        self._check_open()
        for job in self._store.unfinished():
            self._schedule_unfinished(job)
        self._pump()

    def resume_job(self, job_id: int) -> Job | None:
        """Schedule one unfinished job again, as resume() does; None if another runner
        holds it or it is finished or gone (then nothing changes)."""
        self._check_open()
        job = self._store.get(job_id, with_result=False)
        if job is None or job.state.finished:
            return None
        job = self._schedule_unfinished(job)
        self._pump()
        return job

    def resume_or_submit(self, file: Path, provider: str, options: JobOptions
                         ) -> tuple[Job, bool]:
        """The job for this file (the same path, size and modification time), provider
        and options: an unfinished one an earlier run left, scheduled again to resume from
        its stored remote ids, else a new one. Returns it and whether it is ours to run:
        False when every such job is held by another runner (the one returned is the
        oldest of those; look again later)."""
        self._check_open()
        with self._claims.adding():  # no other runner adds this file's job meanwhile
            stamp = FileStamp.of(file)
            found = self._store.find_unfinished(file, provider, options, stamp) if stamp else []
            for candidate in found:
                resumed = self._schedule_unfinished(candidate)
                if resumed is not None:
                    self._pump()
                    return resumed, True
            if found:
                return found[0], False
            return self.submit(file, provider, options), True

    def _schedule_unfinished(self, job: Job) -> Job | None:
        if self.is_active(job.id):
            return job
        if not self._claims.claim(job.id):
            log.info("job left to the copy of the app that runs it: %s", job.summary())
            return None
        # Read again under the claim: the runner that held it may have moved it on.
        current = self._store.get(job.id, with_result=False)
        if current is None or current.state.finished:
            self._claims.release(job.id)
            return None
        job = current
        self._unsaved.pop(job.id, None)
        if job.state is not JobState.PROCESSING:
            job = self._store.reset(job.id, keep_remote=True)
            self._notify(job)
        log.info("job resumed: %s", job.summary())
        self._waiting.append(job.id)
        return job

    async def wait(self, job_id: int) -> Job:
        """The job once it is completed, failed or cancelled. KeyError if it is (or gets)
        removed; RuntimeError if the runner closes first."""
        job = self._unsaved.get(job_id) or self._store.get(job_id)
        if job is None:
            raise KeyError(f"job {job_id} is not in the job list")
        if job.state.finished:
            return job
        self._check_open()
        future: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(job_id, [])
        waiters.append(future)
        try:
            return await future
        finally:
            if future in waiters:
                waiters.remove(future)

    async def aclose(self) -> None:
        """Stop for good (the app quits): running jobs stop without being marked, waiting
        ones stay queued, so both resume next start; then every service used is closed."""
        if self._closed:
            return
        self._closed = True
        for check in list(self._checks.values()):
            check.cancel()
        for job_id in self._waiting:
            self._claims.release(job_id)
        self._waiting.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
            for task in stuck:  # a service that ignores cancellation must not block quitting
                log.warning("%s did not stop within %.0f s; leaving it", task.get_name(),
                            CLOSE_TIMEOUT)
        for job_id, futures in self._waiters.items():
            for future in futures:
                if not future.done():
                    future.set_exception(RuntimeError(
                        f"the job runner closed before job {job_id} finished"))
        self._waiters.clear()
        self._claims.release_all()  # a task left stuck above holds no job from the others
        services, self._used = self._used, []
        for service in services:
            try:
                await service.aclose()
            except Exception:
                log.exception("closing the %s service failed", service.provider)

    # --- running ----------------------------------------------------------------------

    def _enqueue(self, job_id: int) -> None:
        self._waiting.append(job_id)
        self._pump()

    def _pump(self) -> None:
        while not self._closed and self._waiting and len(self._running) < self._at_once:
            job_id = self._waiting.popleft()
            task = asyncio.get_running_loop().create_task(self._drive(job_id),
                                                          name=f"job-{job_id}")
            self._running[job_id] = task
            task.add_done_callback(functools.partial(self._on_done, job_id))

    def _on_done(self, job_id: int, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            _log_traceback(f"job {job_id}: the runner could not record the outcome", exc)
        self._release(job_id, task)  # if cancelled before it began, _drive never did

    def _release(self, job_id: int, task: asyncio.Task[Any] | None) -> None:
        """Free the job's slot. Done by the task itself as it ends, before anyone woken by
        its outcome runs, so that a retry() right after wait() finds the slot free."""
        if task is not None and self._running.get(job_id) is task:
            del self._running[job_id]
            self._pump()

    async def _drive(self, job_id: int) -> None:
        job = self._store.get(job_id, with_result=False)
        if job is None or job.state.finished or not self._claims.claim(job_id):
            self._claims.release(job_id)
            self._release(job_id, asyncio.current_task())
            return
        check = self._checks.get(job_id)
        if check is not None:
            try:
                await asyncio.shield(check)  # a refused file never reaches its service
            except asyncio.CancelledError:
                if job_id not in self._cancelling:  # cancel() releases it once it is marked
                    self._claims.release(job_id)
                self._release(job_id, asyncio.current_task())
                raise
            checked = self._store.get(job_id, with_result=False)
            if checked is None or checked.state.finished:
                self._claims.release(job_id)
                self._release(job_id, asyncio.current_task())
                return
            job = checked  # with the warning the check may have kept
        context = _RunContext(self, job)
        try:
            service = self._service(job.provider)
            log.info("job started: %s", job.summary())
            transcript = await service.run(context)
        except asyncio.CancelledError:
            log.info("job stopped: %s", context.snapshot.summary())
            raise
        except DictationError as exc:
            if job_id not in self._cancelling:
                settled = self._settle(context, state=JobState.FAILED,
                                       error=self._explain(exc) or type(exc).__name__)
                log.warning("job failed: %s: %s", settled.summary() if settled else job_id, exc)
        except Exception as exc:
            if job_id not in self._cancelling:
                _log_traceback(f"job {job_id} ({job.provider}): internal error", exc)
                self._settle(context, state=JobState.FAILED,
                             error=f"internal error: {type(exc).__name__}: {redact(str(exc))}. "
                                   "Details are in the log; please report this.")
        else:
            settled = self._settle(context, state=JobState.COMPLETED, progress=1.0,
                                   result=transcript, error=None)
            if settled is not None and settled.state is JobState.COMPLETED:
                log.info("job completed: %s", settled.summary())
        finally:
            context.close()
            if job_id not in self._cancelling:  # cancel() releases it once it is marked
                self._claims.release(job_id)
            self._release(job_id, asyncio.current_task())

    def _settle(self, context: _RunContext, **changes: Any) -> Job | None:
        """Store and announce the outcome of a run. If the store refuses it, the job is
        announced FAILED all the same, so nobody waits for it forever."""
        context.close()  # no late progress write may overwrite the outcome
        try:
            return self._update(context.job_id, **changes)
        except Exception as exc:  # sqlite3.Error above all: a full disk, a lock timeout
            _log_traceback(f"job {context.job_id}: the job list could not store its outcome "
                           f"({changes['state'].value})", exc)
            if isinstance(exc, sqlite3.Error):
                reason = str(exc)
                advice = ("Free some disk space or close other copies of the app, then retry "
                          "the job.")
            else:
                reason = f"internal error: {type(exc).__name__}: {exc}"
                advice = "Details are in the log; please report this."
            lost = " and its transcript was lost" if changes.get("result") is not None else ""
            job = dataclasses.replace(
                context.snapshot, state=JobState.FAILED, updated=time.time(), result=None,
                preview=None,
                error=redact(f"The job list could not be saved ({reason}), so this job's "
                             f"outcome was not recorded{lost}. {advice}"))
            self._unsaved[job.id] = job
            self._notify(job)
            return job

    async def _cancel_remote(self, job: Job) -> str | None:
        """None when the service stopped the remote job; otherwise a note for the person."""
        label = self._labels.get(job.provider, job.provider)
        try:
            service = self._service(job.provider)  # the one the job ran on: it is cached
            await within(service.cancel(job.remote), CANCEL_TIMEOUT)
        except DictationError as exc:
            note = f"Cancelled here, but {label} did not confirm that it stopped the job: {exc}"
        except asyncio.TimeoutError:
            note = (f"Cancelled here, but {label} did not answer the request to stop the job "
                    f"within {CANCEL_TIMEOUT:.0f} s; it may still run there.")
        except Exception as exc:
            _log_traceback(f"job {job.id}: cancelling at {label} failed", exc)
            note = (f"Cancelled here, but stopping the job at {label} failed with an "
                    f"internal error ({type(exc).__name__}); it may still run there.")
        else:
            log.info("remote job cancelled: %s", job.summary())
            return None
        log.warning("job %s: %s", job.id, note)
        return note

    def _service(self, provider: str) -> JobService:
        service = self._services(provider)
        if not any(used is service for used in self._used):
            self._used.append(service)
        return service

    # --- storing and telling ----------------------------------------------------------

    def _update(self, job_id: int, **changes: Any) -> Job | None:
        try:
            job = self._store.update(job_id, **changes)
        except KeyError:
            return None  # removed meanwhile
        self._unsaved.pop(job_id, None)
        self._notify(job)
        return job

    def _current(self, job_id: int) -> Job | None:
        """The job as listeners last heard of its state, without its result."""
        return self._unsaved.get(job_id) or self._store.get(job_id, with_result=False)

    def _notify(self, job: Job) -> None:
        for listener in list(self._listeners):
            try:
                listener(job)
            except Exception:
                log.exception("a job listener failed")
        if job.state.finished:
            for future in self._waiters.pop(job.id, []):
                if not future.done():
                    future.set_result(job)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the job runner is closed")


class _RunContext:
    """The JobContext of one run: writes through to the store, throttling progress."""

    def __init__(self, runner: JobRunner, job: Job):
        self._runner = runner
        self._loop = asyncio.get_running_loop()
        self._job = job  # what listeners last heard
        self._stored = job  # what the store last holds
        self._written_at = -math.inf
        self._flush: asyncio.TimerHandle | None = None
        self._open = True

    @property
    def job_id(self) -> int:
        return self._job.id

    @property
    def file(self) -> Path:
        return self._job.file

    @property
    def options(self) -> JobOptions:
        return self._job.options

    @property
    def remote(self) -> Mapping[str, str]:
        return MappingProxyType(dict(self._job.remote))

    @property
    def snapshot(self) -> Job:
        return self._job

    def report(self, state: JobState, progress: float | None = None) -> None:
        if state not in (JobState.UPLOADING, JobState.PROCESSING):
            raise ValueError(f"a service reports uploading or processing, not {state.value}")
        if not self._open:
            return
        if progress is not None:
            progress = None if math.isnan(progress) else min(max(float(progress), 0.0), 1.0)
        if state is self._job.state and progress == self._job.progress:
            return
        if state is not self._stored.state or \
                self._loop.time() - self._written_at >= PROGRESS_INTERVAL:
            self._write(state, progress)
            return
        self._job = dataclasses.replace(self._job, state=state, progress=progress,
                                        updated=time.time())
        self._runner._notify(self._job)
        if self._flush is None:
            self._flush = self._loop.call_at(self._written_at + PROGRESS_INTERVAL,
                                             self._write_pending)

    async def remember(self, **values: str) -> None:
        if not values:
            return
        if not self._open:
            log.debug("job %d: ids remembered after its run ended were dropped", self.job_id)
            return
        stored = self._runner._store.update(self.job_id, remote=values)
        self._stored = stored
        self._job = dataclasses.replace(self._job, remote=stored.remote, updated=stored.updated)
        self._runner._notify(self._job)

    def close(self) -> None:
        self._open = False
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    def _write_pending(self) -> None:
        self._flush = None
        if self._open and (self._job.state, self._job.progress) != \
                (self._stored.state, self._stored.progress):
            self._write(self._job.state, self._job.progress)

    def _write(self, state: JobState, progress: float | None) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        # A state goes to disk at once (synchronous=FULL); progress alone need not.
        stored = self._runner._store.update(
            self.job_id, state=None if state is self._stored.state else state,
            progress=progress)
        self._written_at = self._loop.time()
        self._stored = self._job = stored
        self._runner._notify(stored)


def _log_traceback(message: str, exc: BaseException) -> None:
    # Formatted by hand so the exception text is redacted too, not just the message.
    details = redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    log.error("%s\n%s", message, details.rstrip())


def _positive(count: int) -> int:
    if count < 1:
        raise ValueError(f"at least one job must be able to run at once, not {count}")
    return count


def _discard(items: list[Any], item: Any) -> None:
    if item in items:
        items.remove(item)
