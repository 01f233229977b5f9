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
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dictation_app.jobs.options import StoredOptions, VendorOptions
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
    """What the person chose for one job: what every service understands, and the
    chosen vendor's own options (jobs/options.py), typed as that vendor declares them."""

    language: str | None = None  # BCP-47 code; None lets the service detect it
    diarization: bool = False
    vendor: VendorOptions | None = None  # None: the vendor's defaults

    def to_json(self) -> str:
        vendor = self.vendor.to_dict() if self.vendor is not None else {}
        return json.dumps({"language": self.language, "diarization": self.diarization,
                           "vendor": vendor}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, vendor_type: type[VendorOptions] | None = None
                  ) -> JobOptions:
        """Options as stored; `vendor_type` types the vendor's part (else StoredOptions).

        Reads the older flat shape too, where every vendor's options sat beside the shared
        ones: {"language", "diarization", "mode", "api_version", "priority", "subtitle"}.
        """
        data = json.loads(text) if text else {}
        if not isinstance(data, dict):
            raise ValueError(f"job options must be an object, not {type(data).__name__}")
        if isinstance(data.get("vendor"), dict):
            values = data["vendor"]
        else:
            values = {k: v for k, v in data.items() if k not in _SHARED}
        vendor: VendorOptions | None = None
        if vendor_type is not None:
            vendor = vendor_type.from_dict(values)
        elif values:
            vendor = StoredOptions(values)
        # Options written by a newer version are dropped rather than refused.
        return cls(**{k: v for k, v in data.items() if k in _SHARED}, vendor=vendor)


_SHARED = ("language", "diarization")  # the JobOptions fields besides `vendor`


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
    # Refused when added: the file cannot be decoded (the reason is `error`); never retried.
    refused: bool = False
    warning: str | None = None  # about the file, for a job that runs all the same

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


@dataclass(frozen=True)
class FileStamp:
    """What a job's file was when the job was added: a run that finds the same path with
    the same size and modification time takes it for the same file (jobs/store.py)."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        """The file's stamp, or None when it cannot be read (then nothing matches it)."""
        try:
            status = os.stat(path)
        except OSError:
            return None
        return cls(status.st_size, status.st_mtime_ns)


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
