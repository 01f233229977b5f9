"""What the app knows about the embedded offline engine as a file service: its
`DESCRIPTOR`, with no settings or secrets, and one job option: which engine decodes,
which decides the languages a job can be given.

Kept apart from services/local.py like every vendor's; `build` imports the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dictation_app.core.languages import LanguageSupport
from dictation_app.core.settings import Setting
from dictation_app.engine.registry import default_engine, engines, get_engine
from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
from dictation_app.jobs.service import JobService
from dictation_app.services.descriptor import Config, ServiceDescriptor

PROVIDER = "local"
ENGINE_OPTION = OptionSpec(
    "engine", "Engine", OptionKind.CHOICE, default_engine().name,
    choices=tuple((e.name, e.label) for e in engines()),
    setting=Setting("job_local_engine", default_engine().name), flag="--engine",
    help=f"offline engine: which one decodes (default {default_engine().name})",
    tooltip="Which offline engine transcribes the file; each knows its own languages",
    what="offline engine")


@dataclass(frozen=True)
class LocalOptions(VendorOptions):
    SPECS: ClassVar[tuple[OptionSpec, ...]] = (ENGINE_OPTION,)

    engine: str = default_engine().name


def languages(vendor: VendorOptions | None) -> LanguageSupport:
    """What the chosen engine knows: its own languages, and Automatic only where it
    detects the language (Whisper does, PocketSphinx knows English alone)."""
    engine = get_engine(LocalOptions.of(vendor).engine)
    return LanguageSupport(f"Offline engine {engine.label}", engine.languages,
                           detects=engine.detects_language)


def _build(config: Config) -> JobService:
    from dictation_app.services.local import LocalFileService

    return LocalFileService()


DESCRIPTOR = ServiceDescriptor(id=PROVIDER, label="Offline engine", build=_build,
                               options_type=LocalOptions, languages_of=languages)
