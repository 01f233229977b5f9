"""Builds each file-job service from settings, the keyring and the environment.

One `ServiceFactory` serves the window and the CLI alike: it is the only place that
knows which setting, keyring entry or environment variable feeds which service. The
environment wins over the keyring (headless use), an explicit override (a CLI flag)
wins over both. A service is built on first use and kept; `forget()` drops it after
the person changes a setting, so the next job sees the new one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.secrets import (
    BAHASAKITA_TOKEN,
    BAHASAKITA_TOKEN_ENV,
    BOTLHALE_ORG_ID_ENV,
    BOTLHALE_REFRESH_TOKEN,
    BOTLHALE_REFRESH_TOKEN_ENV,
    BOTLHALE_TOKEN,
    BOTLHALE_TOKEN_ENV,
    NEVISA_PASSWORD,
    NEVISA_PASSWORD_ENV,
    NEVISA_USERNAME_ENV,
    SecretStore,
)
from dictation_app.core.settings import Key, Settings
from dictation_app.jobs.model import PROVIDERS
from dictation_app.jobs.service import JobService
from dictation_app.protocols import bahasakita_upload, botlhale, nevisa
from dictation_app.services.bahasakita_upload import BahasakitaUploadService
from dictation_app.services.botlhale import BotlhaleService
from dictation_app.services.local import LocalFileService
from dictation_app.services.nevisa import NevisaService


@dataclass(frozen=True)
class Overrides:
    """What the command line sets for this run only."""

    base_url: str | None = None  # the service's API host
    accounts_url: str | None = None  # Nevisa's login host


class ServiceFactory:
    def __init__(self, settings: Settings, secrets: SecretStore, *,
                 overrides: Overrides = Overrides(),
                 environ: Mapping[str, str] | None = None):
        self._settings = settings
        self._secrets = secrets
        self._overrides = overrides
        self._environ = os.environ if environ is None else environ
        self._services: dict[str, JobService] = {}
        self._builders: dict[str, Callable[[], JobService]] = {
            "local": self._local, "botlhale": self._botlhale, "nevisa": self._nevisa,
            "bahasakita": self._bahasakita,
        }

    def __call__(self, provider: str) -> JobService:
        if provider not in PROVIDERS:
            raise ConfigurationError(
                f"{provider!r} is not a transcription service; choose one of "
                f"{', '.join(PROVIDERS)}")
        service = self._services.get(provider)
        if service is None:
            service = self._services[provider] = self._builders[provider]()
        return service

    def forget(self, provider: str | None = None) -> None:
        """Build afresh next time: settings changed. Whoever ran jobs on the old
        service closes it (the runner closes every service it used)."""
        if provider is None:
            self._services.clear()
        else:
            self._services.pop(provider, None)

    # builders

    def _local(self) -> JobService:
        return LocalFileService()

    def _botlhale(self) -> JobService:
        return BotlhaleService(
            base_url=self._url(Key.BOTLHALE_URL, botlhale.DEFAULT_BASE_URL),
            token=self._secret(BOTLHALE_TOKEN_ENV, BOTLHALE_TOKEN),
            refresh_token=self._secret(BOTLHALE_REFRESH_TOKEN_ENV, BOTLHALE_REFRESH_TOKEN),
            org_id=self._environ.get(BOTLHALE_ORG_ID_ENV)
            or self._settings.get_str(Key.BOTLHALE_ORG_ID) or None)

    def _nevisa(self) -> JobService:
        accounts = (self._overrides.accounts_url
                    or self._settings.get_str(Key.NEVISA_ACCOUNTS_URL) or nevisa.ACCOUNT_BASE_URL)
        return NevisaService(
            api_url=self._url(Key.NEVISA_API_URL, nevisa.API_BASE_URL), accounts_url=accounts,
            username=self._environ.get(NEVISA_USERNAME_ENV)
            or self._settings.get_str(Key.NEVISA_USERNAME) or None,
            password=self._secret(NEVISA_PASSWORD_ENV, NEVISA_PASSWORD))

    def _bahasakita(self) -> JobService:
        return BahasakitaUploadService(
            base_url=self._url(Key.BAHASAKITA_UPLOAD_URL, bahasakita_upload.DEFAULT_BASE_URL),
            token=self._secret(BAHASAKITA_TOKEN_ENV, BAHASAKITA_TOKEN))

    def _url(self, key: Key, default: str) -> str:
        return self._overrides.base_url or self._settings.get_str(key) or default

    def _secret(self, env: str, name: str) -> str | None:
        return self._environ.get(env) or self._secrets.get(name) or None
