"""Jobs as the store makes them, for the widget tests that list them."""

from __future__ import annotations

from pathlib import Path

from dictation_app.jobs.model import Job, JobOptions, JobState, text_preview
from dictation_app.protocols.transcript import Transcript

NOW = 1_714_550_400.0  # 2024-05-01 08:00 UTC
UUID = "3f2a9c1e-7b4d-4e2a-9c1e-7b4d4e2a9c1e"


def job(job_id: int, state: JobState = JobState.QUEUED, *, created: float | None = None,
        provider: str = "botlhale", progress: float | None = None, error: str | None = None,
        remote: dict[str, str] | None = None, text: str | None = None,
        preview: str | None = None) -> Job:
    """A job as the store makes it: with `text`, a result and its preview (the preview
    alone, as listed, when `preview` is given)."""
    when = NOW - 1000 + job_id * 10 if created is None else created
    if text is not None and preview is None:
        preview = text_preview(text)
    return Job(id=job_id, file=Path(f"/audio/recording-{job_id}.wav"), provider=provider,
               options=JobOptions(), state=state, progress=progress, created=when,
               updated=when + 65, remote=remote or {}, error=error,
               result=None if text is None else Transcript(provider, f"recording-{job_id}.wav",
                                                           "en", 3.0, text),
               preview=preview)

