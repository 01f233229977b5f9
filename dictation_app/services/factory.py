"""Builds each file-job service from settings, the keyring and the environment.

One `ServiceFactory` serves the window and the CLI alike. Which setting, keyring entry
or environment variable feeds which service is declared in each vendor's descriptor
(services/descriptor.py); this module only applies the precedence: an explicit
override (a CLI flag) wins, then the environment (headless use), then the keyring or
the settings file. A service is built on first use and kept; `forget()` drops it after
the person changes a setting, so the next job sees the new one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dictation_app.core.secrets import SecretStore
from dictation_app.core.settings import Settings
from dictation_app.jobs.service import JobService
from dictation_app.services import registry
from dictation_app.services.descriptor import Field, Override, ServiceDescriptor


@dataclass(frozen=True)
class Overrides:
    """What the command line sets for this run only."""

    base_url: str | None = None  # the service's API host
    accounts_url: str | None = None  # Nevisa's login host

    def get(self, which: Override) -> str | None:
        return self.base_url if which is Override.BASE_URL else self.accounts_url


class ServiceFactory:
    def __init__(self, settings: Settings, secrets: SecretStore, *,
                 overrides: Overrides = Overrides(),
                 environ: Mapping[str, str] | None = None,
                 descriptors: tuple[ServiceDescriptor, ...] = registry.DESCRIPTORS):
        self._settings = settings
        self._secrets = secrets
        self._overrides = overrides
        self._environ = os.environ if environ is None else environ
        self._descriptors = descriptors
        self._services: dict[str, JobService] = {}

    def __call__(self, provider: str) -> JobService:
        descriptor = registry.descriptor(provider, self._descriptors)  # refuses unknown ones
        service = self._services.get(provider)
        if service is None:
            service = self._services[provider] = descriptor.build(_Config(self, descriptor))
        return service

    def forget(self, provider: str | None = None) -> None:
        """Build afresh next time: settings changed. Whoever ran jobs on the old
        service closes it (the runner closes every service it used)."""
        if provider is None:
            self._services.clear()
        else:
            self._services.pop(provider, None)

    def value(self, field: Field) -> str | None:
        """One field's value by the precedence above; None when nothing gives one."""
        if field.override is not None and (given := self._overrides.get(field.override)):
            return given
        if field.env and (from_env := self._environ.get(field.env)):
            return from_env
        if field.secret is not None:
            return self._secrets.get(field.secret) or None
        assert field.setting is not None  # a field has one or the other
        return self._settings.get_str(field.setting) or None


class _Config:
    """One descriptor's view of the factory's lookups, by field id."""

    def __init__(self, factory: ServiceFactory, descriptor: ServiceDescriptor):
        self._factory = factory
        self._fields = {f.id: f for f in descriptor.fields}

    def text(self, field_id: str) -> str | None:
        return self._factory.value(self._fields[field_id])
