"""What the app knows about Bahasakita file uploads without loading their service: the
settings and shared token they read, their job options, the remote ids and queue hooks
the window uses, and the `DESCRIPTOR`.

Kept apart from services/bahasakita_upload.py so that listing the vendors imports no
HTTP client; `build` and the queue hook import the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dictation_app.core.languages import LanguageSupport
from dictation_app.core.secrets import BAHASAKITA_TOKEN, BAHASAKITA_TOKEN_ENV
from dictation_app.core.settings import Setting
from dictation_app.jobs.model import Job, JobState
from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
from dictation_app.jobs.service import JobService
from dictation_app.protocols.bahasakita_upload import DEFAULT_BASE_URL, PROVIDER
from dictation_app.services.descriptor import (
    Config,
    Field,
    FieldKind,
    JobQueue,
    Override,
    ServiceDescriptor,
)

UUID_KEY = "uuid"  # the remote key the job's id is remembered under
# Remembered beside it once the service moved the job to high priority after its upload.
PRIORITY_KEY = "priority"
TOKEN_FIELD = "bahasakita_token"  # the shared token's field, named in errors about it
UPLOAD_URL = Setting("bahasakita_upload_url", "")  # empty: the protocol's default host
PRIORITY_OPTION = OptionSpec(
    "priority", "Priority", OptionKind.CHOICE, "reguler",
    choices=(("reguler", "Regular"), ("high", "High")),  # the service's spelling
    setting=Setting("job_priority", "reguler"), flag="--priority",
    help="Bahasakita queue priority",
    tooltip="High priority jobs are processed first, at a higher price")
SUBTITLE_OPTION = OptionSpec(
    "subtitle", "Subtitles from the service", OptionKind.BOOL, False,
    setting=Setting("job_subtitles", False),
    tooltip="Ask Bahasakita for its own subtitle file too; the result view can save it")


@dataclass(frozen=True)
class BahasakitaUploadOptions(VendorOptions):
    SPECS: ClassVar[tuple[OptionSpec, ...]] = (PRIORITY_OPTION, SUBTITLE_OPTION)

    priority: str = "reguler"  # high | reguler
    subtitle: bool = False  # ask for a subtitle file too


def remote_id(job: Job) -> str | None:
    """The Bahasakita job id of an upload: it names the job in the account's queues."""
    return job.remote.get(UUID_KEY) if job.provider == PROVIDER else None


def can_raise_priority(job: Job) -> bool:
    """An upload the service holds but has not finished, not yet at high priority: its
    place in the queue can change."""
    return (remote_id(job) is not None and job.state is JobState.PROCESSING
            and BahasakitaUploadOptions.of(job.options.vendor).priority != "high"
            and job.remote.get(PRIORITY_KEY) != "high")


async def _raise_priority(service: JobService, uuid: str, priority: str) -> dict[str, str]:
    """The queue hook: move the job, and remember its new priority with it."""
    from dictation_app.services.bahasakita_upload import BahasakitaUploadService

    assert isinstance(service, BahasakitaUploadService)
    await service.change_priority(uuid, priority)
    return {PRIORITY_KEY: priority}


def _build(config: Config) -> JobService:
    from dictation_app.services.bahasakita_upload import BahasakitaUploadService

    return BahasakitaUploadService(
        base_url=config.text("bahasakita_upload_url") or DEFAULT_BASE_URL,
        token=config.text("bahasakita_token"))


DESCRIPTOR = ServiceDescriptor(
    id=PROVIDER, label="Bahasakita", build=_build, options_type=BahasakitaUploadOptions,
    remote_id=remote_id, queue=JobQueue(can_raise_priority, _raise_priority),
    speakers=True,  # the upload's `diarization` field
    # source_language defaults to `detect`; the notes list no closed set of codes, so
    # any code goes (the service judges it) and the region's languages are suggested.
    languages=LanguageSupport("Bahasakita", ("id", "en", "jv", "su", "ms"), detects=True,
                              any_code=True),
    fields=(
        Field("bahasakita_upload_url", "Upload address:", FieldKind.URL, DEFAULT_BASE_URL,
              setting=UPLOAD_URL, override=Override.BASE_URL),
        # Entered (or signed in for) in Settings: live dictation and monitoring share it.
        Field(TOKEN_FIELD, "Token:", FieldKind.SECRET, secret=BAHASAKITA_TOKEN,
              env=BAHASAKITA_TOKEN_ENV, shown=False,
              place="sign in with your Bahasakita email and password in Preferences, paste "
                    "a token there"),
    ),
    note="The Bahasakita token is the one in Preferences, shared with live dictation.")
