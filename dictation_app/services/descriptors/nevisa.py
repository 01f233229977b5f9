"""What the app knows about Nevisa (PersianSpeech) without loading its service: the
keyring entry, environment variables and settings it reads, and its `DESCRIPTOR`.

Kept apart from services/nevisa.py so that listing the vendors imports no HTTP client;
`build` imports the service.
"""

from __future__ import annotations

from dictation_app.core.languages import LanguageSupport
from dictation_app.core.settings import Setting
from dictation_app.jobs.service import JobService
from dictation_app.protocols.nevisa import ACCOUNT_BASE_URL, API_BASE_URL, PROVIDER
from dictation_app.services.descriptor import (
    Config,
    Field,
    FieldKind,
    Override,
    ServiceDescriptor,
)

NEVISA_PASSWORD = "nevisa-password"  # the keyring entry
NEVISA_PASSWORD_ENV = "DICTATION_NEVISA_PASSWORD"
NEVISA_USERNAME_ENV = "DICTATION_NEVISA_USERNAME"  # not secret; set beside the password
API_URL = Setting("nevisa_api_url", "")  # empty: https://api.persianspeech.com
ACCOUNTS_URL = Setting("nevisa_accounts_url", "")  # empty: https://accounting.persianspeech.com
USERNAME = Setting("nevisa_username", "")


def _build(config: Config) -> JobService:
    from dictation_app.services.nevisa import NevisaService

    return NevisaService(
        api_url=config.text("nevisa_api_url") or API_BASE_URL,
        accounts_url=config.text("nevisa_accounts_url") or ACCOUNT_BASE_URL,
        username=config.text("nevisa_username"), password=config.text("nevisa_password"))


DESCRIPTOR = ServiceDescriptor(
    id=PROVIDER, label="Nevisa", title="Nevisa (PersianSpeech)", build=_build,
    # recognize-file takes no language: the service transcribes Persian, and nothing else.
    languages=LanguageSupport("Nevisa", ("fa",), detects=False),
    fields=(
        Field("nevisa_api_url", "API address:", FieldKind.URL, API_BASE_URL, setting=API_URL,
              override=Override.BASE_URL),
        Field("nevisa_accounts_url", "Login address:", FieldKind.URL, ACCOUNT_BASE_URL,
              setting=ACCOUNTS_URL, override=Override.ACCOUNTS_URL),
        Field("nevisa_username", "Username:", FieldKind.TEXT, "Username, phone or email",
              setting=USERNAME, env=NEVISA_USERNAME_ENV),
        Field("nevisa_password", "Password:", FieldKind.SECRET, "Password",
              secret=NEVISA_PASSWORD, env=NEVISA_PASSWORD_ENV, strip=False),
    ))
