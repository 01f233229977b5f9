"""What the app knows about the embedded offline engine as a file service: its
`DESCRIPTOR`, with no settings, secrets or options of its own.

Kept apart from services/local.py like every vendor's; `build` imports the service.
"""

from __future__ import annotations

from dictation_app.jobs.service import JobService
from dictation_app.services.descriptor import Config, ServiceDescriptor

PROVIDER = "local"


def _build(config: Config) -> JobService:
    from dictation_app.services.local import LocalFileService

    return LocalFileService()


DESCRIPTOR = ServiceDescriptor(id=PROVIDER, label="Offline engine", build=_build)
