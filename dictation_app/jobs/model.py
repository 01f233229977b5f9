"""What a file-transcription job is: its state, its options and what it remembers.

A `Job` is an immutable snapshot of one row of the job store. The runner moves a job
through its states; services only ever see a `JobContext` (jobs/service.py). A
transcript can run to megabytes, so a listed job carries only its `preview`; the whole
`result` comes with `JobStore.get()`.

    queued ──> uploading ──> processing ──> completed
       │            │              │
       └────────────┴──────────────┴──────> failed | cancelled
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dictation_app.core.errors import ConfigurationError
from dictation_app.protocols.transcript import Transcript

PREVIEW_LENGTH = 200  # characters of a transcript a listed job carries
_WORD = re.compile(r"\S+")


class JobState(str, enum.Enum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class JobOptions:
    """What the person chose for one job. Fields a service does not use are ignored."""

    language: str | None = None  # BCP-47 code; None lets the service detect it
    diarization: bool = False
    mode: str = "auto"  # Botlhale: auto | sync | async
    api_version: int = 2  # Botlhale API generation
    priority: str = "reguler"  # Bahasakita: high | reguler (the service's spelling)
    subtitle: bool = False  # Bahasakita: ask for a subtitle file too

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "sync", "async"):
            raise ConfigurationError(f"mode must be auto, sync or async, not {self.mode!r}")
        if self.api_version not in (1, 2):
            raise ConfigurationError(f"API version must be 1 or 2, not {self.api_version!r}")
        if self.priority not in ("high", "reguler"):
            raise ConfigurationError(f"priority must be high or reguler, not {self.priority!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobOptions:
        data = json.loads(text) if text else {}
        known = {f.name for f in fields(cls)}
        # Options written by a newer version are dropped rather than refused.
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Job:
    id: int
    file: Path
    provider: str
    options: JobOptions
    state: JobState
    progress: float | None  # 0..1 within the current state; None when unknown
    created: float  # Unix time
    updated: float
    remote: dict[str, str] = field(default_factory=dict)  # service ids: task id, uuid, key
    error: str | None = None
    # The transcript: only from JobStore.get() or the runner's completion notice; listed
    # jobs leave it out (None) and carry the start of its text as `preview`.
    result: Transcript | None = None
    preview: str | None = None  # None when there is no result; "" when it has no text

    @property
    def label(self) -> str:
        return self.file.name

    def without_result(self) -> Job:
        """This snapshot as the job list keeps it: the preview, not the transcript."""
        return self if self.result is None else replace(self, result=None)

    def summary(self) -> dict[str, Any]:
        """For logs: never the result text, never anything secret."""
        return {"id": self.id, "file": self.file.name, "provider": self.provider,
                "state": self.state.value, "remote": sorted(self.remote)}


def text_preview(text: str) -> str:
    """The start of a transcript's text with its whitespace collapsed, at most
    PREVIEW_LENGTH characters; reads no further into a long text than it needs."""
    words: list[str] = []
    length = -1
    for match in _WORD.finditer(text):
        words.append(match.group())
        length += len(words[-1]) + 1
        if length >= PREVIEW_LENGTH:
            break
    return " ".join(words)[:PREVIEW_LENGTH]
