"""What the app knows about Botlhale without loading its service: the keyring entries,
environment variables and settings it reads, its job options, and its `DESCRIPTOR`.

Kept apart from services/botlhale.py so that listing the vendors (the CLI's choices and
flags, the services dialog) imports no HTTP client; `build` imports the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dictation_app.core.languages import LanguageSupport
from dictation_app.core.settings import Setting
from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
from dictation_app.jobs.service import JobService
from dictation_app.protocols.botlhale import DEFAULT_BASE_URL, ORG_ID_FIELD, PROVIDER
from dictation_app.services.descriptor import (
    Config,
    Field,
    FieldKind,
    Override,
    ServiceDescriptor,
)

BOTLHALE_TOKEN = "botlhale-token"  # keyring entries
BOTLHALE_REFRESH_TOKEN = "botlhale-refresh-token"
BOTLHALE_TOKEN_ENV = "DICTATION_BOTLHALE_TOKEN"
BOTLHALE_REFRESH_TOKEN_ENV = "DICTATION_BOTLHALE_REFRESH_TOKEN"
BOTLHALE_ORG_ID_ENV = "DICTATION_BOTLHALE_ORG_ID"  # not secret; set beside the tokens
URL = Setting("botlhale_url", "")  # empty: https://api.botlhale.xyz
ORG_ID = Setting("botlhale_org_id", "")
API_VERSION = Setting("botlhale_api_version", 2)
MODE_OPTION = OptionSpec(
    "mode", "Mode", OptionKind.CHOICE, "auto",
    choices=(("auto", "Automatic"), ("sync", "Direct (up to 60 s)"),
             ("async", "Queued (long files)")),
    setting=Setting("job_mode", "auto"), flag="--mode",
    help="Botlhale: sync (up to 60 s) or async (default: by duration)",
    tooltip="Direct sends files of up to a minute in one request; queued uploads longer "
            "files and waits for the result")
# Only POST /asr (direct) documents `redact`; the async upload form has no such field,
# though its results may carry a masked text (`redaction`) of their own.
REDACT_OPTION = OptionSpec(
    "redact", "Mask names and places", OptionKind.BOOL, False,
    setting=Setting("job_redact", False), flag="--redact",
    help="Botlhale: also ask for the transcript with names and places masked (direct "
         "requests, files up to 60 s)",
    tooltip="Ask Botlhale for a copy of the transcript with names and places replaced by "
            "<PERSON> and <LOCATION>. Direct requests only (files up to a minute); "
            "queued jobs cannot ask for it",
    what="redaction")
API_VERSION_OPTION = OptionSpec(
    "api_version", "API", OptionKind.CHOICE, 2,
    choices=((1, "Older async API (v1)"), (2, "Current API (v2)")), setting=API_VERSION,
    flag="--api-version", help="Botlhale API generation (default: the app's setting)",
    what="API version", in_panel=False,  # chosen in the services dialog
    cli_default_from_setting=True)


@dataclass(frozen=True)
class BotlhaleOptions(VendorOptions):
    SPECS: ClassVar[tuple[OptionSpec, ...]] = (MODE_OPTION, REDACT_OPTION,
                                               API_VERSION_OPTION)

    mode: str = "auto"  # auto | sync | async
    api_version: int = 2  # the API generation
    redact: bool = False  # ask direct requests for a masked copy too


def _build(config: Config) -> JobService:
    from dictation_app.services.botlhale import BotlhaleService

    return BotlhaleService(
        base_url=config.text("botlhale_url") or DEFAULT_BASE_URL,
        token=config.text("botlhale_token"),
        refresh_token=config.text("botlhale_refresh_token"),
        org_id=config.text(ORG_ID_FIELD))


DESCRIPTOR = ServiceDescriptor(
    id=PROVIDER, label="Botlhale", build=_build, options_type=BotlhaleOptions,
    speakers=True,  # `diarization` on the async upload (files over a minute, or queued)
    # language_code is optional (detected when left out) and any BCP-47 tag; the list
    # of codes is on a page the docs link to, so South Africa's languages are suggested.
    languages=LanguageSupport(
        "Botlhale", ("en", "af", "zu", "xh", "st", "tn", "nso", "ts", "ss", "ve", "nr"),
        detects=True, any_code=True),
    fields=(
        Field("botlhale_url", "Address:", FieldKind.URL, DEFAULT_BASE_URL, setting=URL,
              override=Override.BASE_URL),
        Field("botlhale_token", "Token:", FieldKind.SECRET, "Bearer token",
              secret=BOTLHALE_TOKEN, env=BOTLHALE_TOKEN_ENV),
        Field("botlhale_refresh_token", "Refresh token:", FieldKind.SECRET,
              "or a refresh token, renewed automatically", secret=BOTLHALE_REFRESH_TOKEN,
              env=BOTLHALE_REFRESH_TOKEN_ENV),
        Field(ORG_ID_FIELD, "Organisation ID:", FieldKind.TEXT,
              "Organisation ID, for long files", setting=ORG_ID, env=BOTLHALE_ORG_ID_ENV),
        Field("botlhale_api_version", "API:", FieldKind.CHOICE, setting=API_VERSION,
              choices=((2, "Current API (v2)"), (1, "Older async API (v1)"))),
    ))
