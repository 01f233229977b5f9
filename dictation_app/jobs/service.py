"""The contract between the job runner and one transcription service.

A service turns a file into a `Transcript`. The runner gives it a `JobContext`: the
file, the person's options, whatever remote identifiers an earlier run of the app
stored for this job, and two ways to speak back: `report()` for the state and
progress a person sees, and `remember()` to store a remote identifier (a task id, an
upload key) *before* going on, so that a crash after it loses nothing: on the next
start the runner calls `run()` again with `remote` filled in, and the service resumes
polling instead of uploading again.

Services raise from the app's error tree (errors.py). The runner retries nothing on
its own: transports retry transient HTTP failures (transport/http.py); what reaches
the runner is final for this run of the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from dictation_app.jobs.model import JobOptions, JobState
from dictation_app.protocols.transcript import Transcript


class JobContext(Protocol):
    @property
    def job_id(self) -> int: ...

    @property
    def file(self) -> Path: ...

    @property
    def options(self) -> JobOptions: ...

    @property
    def remote(self) -> Mapping[str, str]:
        """What earlier runs stored with remember(); empty for a fresh job."""
        ...

    def report(self, state: JobState, progress: float | None = None) -> None:
        """UPLOADING or PROCESSING, with progress 0..1 within that state, or None."""
        ...

    async def remember(self, **values: str) -> None:
        """Store remote identifiers durably; returns once they are on disk."""
        ...


class JobService(Protocol):
    provider: str  # its descriptor's id (services/registry.py)

    async def run(self, context: JobContext) -> Transcript:
        """Transcribe `context.file`; resume from `context.remote` where it can."""
        ...

    async def cancel(self, remote: Mapping[str, str]) -> None:
        """Best effort: stop the remote job these identifiers name, if the service can.

        Called after `run()` was cancelled; raises DictationError when the service
        refused, which the runner records but does not act on further.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; the service is not used afterwards."""
        ...


class UploadProgress:
    """Bytes read from the file -> UPLOADING reports, rising only, one per percent.

    Pass it to `transport.progress_file.ProgressFile`. A retried upload starts reading again from
    zero; the bar holds until it passes the point already shown instead of jumping back.
    With `processing_when_sent`, the end of the upload also reports PROCESSING: for a
    request whose reply is the result, the service is working from then on.
    """

    STEP = 0.01

    def __init__(self, context: JobContext, *, processing_when_sent: bool = False):
        self._context = context
        self._processing_when_sent = processing_when_sent
        self._shown = 0.0
        self._finished = False

    def __call__(self, sent: int, size: int) -> None:
        fraction = sent / size if size else 1.0
        if fraction >= 1.0:
            self.finish()
        elif not self._finished and fraction >= self._shown + self.STEP:
            self._shown = fraction
            self._context.report(JobState.UPLOADING, fraction)

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._context.report(JobState.UPLOADING, 1.0)
        if self._processing_when_sent:
            self._context.report(JobState.PROCESSING, None)
