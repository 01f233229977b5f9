"""What the app knows about one file-transcription vendor, in one frozen value.

Each service module exports a `DESCRIPTOR`; services/registry.py lists them. From
the descriptors the provider lists, the services dialog's fields, the command line's
choices, flags and help, the secret and environment lookups and the factory are
derived, so a vendor is described once, beside its code.

A `Field` is one thing the person configures for a vendor: kept in the settings file
(`setting`) or, for a secret, in the keyring (`secret`); either may also come from an
environment variable (`env`), which wins, for headless use. A vendor's job options (a
Botlhale mode, a Bahasakita priority) are its `options_type`, whose `SPECS` declare
them (jobs/options.py). What only some vendors' jobs have (an id worth showing, a
queue whose order can change) are hooks on the descriptor, so the Files panel and its
controller ask for them without naming a vendor. So are the languages it takes
(`language_support`), which the panel's Language list and `transcribe --language`
follow.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from dictation_app.core.languages import LANGUAGES, LanguageSupport
from dictation_app.core.settings import Setting
from dictation_app.jobs.model import Job
from dictation_app.jobs.options import OptionSpec, VendorOptions
from dictation_app.jobs.service import JobService


class FieldKind(str, enum.Enum):
    URL = "url"  # a service address; empty means the vendor's documented one
    TEXT = "text"
    SECRET = "secret"  # masked, kept in the keyring, never in a repr or a log
    CHOICE = "choice"


class Override(str, enum.Enum):
    """Which command-line flag, if any, stands in for a field for one run."""

    BASE_URL = "base_url"  # --base-url: the service's API host
    ACCOUNTS_URL = "accounts_url"  # --accounts-url: a separate login host


@dataclass(frozen=True)
class Field:
    id: str  # unique across vendors: the services dialog's and its values' key
    label: str  # "Address:", as the dialog shows it
    kind: FieldKind = FieldKind.TEXT
    placeholder: str = ""  # for a URL: the default address, shown and used when empty
    setting: Setting | None = None  # where a non-secret value is kept
    secret: str | None = None  # the keyring entry of a secret
    env: str | None = None  # an environment variable that wins over both
    override: Override | None = None
    choices: tuple[tuple[int | str, str], ...] = ()  # (value, label) for CHOICE
    shown: bool = True  # False: configured elsewhere (the shared Bahasakita token)
    strip: bool = True  # False: leading and trailing spaces count (a password)
    place: str = ""  # where the window has it, for a field the services dialog does not show

    def __post_init__(self) -> None:
        if (self.setting is None) == (self.secret is None):
            raise ValueError(f"field {self.id}: give either a setting or a secret")
        if (self.kind is FieldKind.SECRET) != (self.secret is not None):
            raise ValueError(f"field {self.id}: secrets, and only they, live in the keyring")


class Config(Protocol):
    """What a descriptor's `build` reads its fields from (the factory's lookups)."""

    def text(self, field_id: str) -> str | None:
        """The field's value: a command-line override, else the environment, else the
        keyring or the settings; None when all are empty."""
        ...


@dataclass(frozen=True)
class JobQueue:
    """A vendor whose jobs wait in queues a person can move a job up in."""

    can_raise: Callable[[Job], bool]  # the job waits at the service and can move up now
    # Ask `service` to move the job (by its remote id) to `priority`; returns the remote
    # entries to remember with the job, so the panel shows the new priority.
    raise_priority: Callable[[JobService, str, str], Awaitable[Mapping[str, str]]]


@dataclass(frozen=True)
class ServiceDescriptor:
    id: str  # the provider name stored with every job and given to --provider
    label: str  # as lists and messages show it: "Botlhale"
    build: Callable[[Config], JobService]
    title: str = ""  # the services dialog's group title; empty: the label
    fields: tuple[Field, ...] = ()
    note: str = ""  # a line under the vendor's fields in the services dialog
    options_type: type[VendorOptions] | None = None  # its job options; None: it has none
    # The vendor's id of a job, worth showing: it matches the vendor's own account lists.
    remote_id: Callable[[Job], str | None] | None = None
    queue: JobQueue | None = None  # its jobs wait in queues whose order can change
    # The languages its jobs take; None: any code, detection offered (what the API
    # notes say when they say nothing else). `languages_of` wins where the vendor's
    # options decide (the offline engine chosen), given the job's vendor options.
    languages: LanguageSupport | None = None
    # Its jobs can tell speakers apart when asked (JobOptions.diarization): the Files
    # panel offers "Tell speakers apart" only then.
    speakers: bool = False
    languages_of: Callable[[VendorOptions | None], LanguageSupport] | None = None

    def remote_id_of(self, job: Job) -> str | None:
        return self.remote_id(job) if self.remote_id is not None else None

    def language_support(self, vendor: VendorOptions | None = None) -> LanguageSupport:
        """What languages a job with these vendor options can be given (the Files
        panel's list, `transcribe --language`)."""
        if self.languages_of is not None:
            return self.languages_of(vendor)
        if self.languages is not None:
            return self.languages
        return LanguageSupport(self.label, tuple(code for code, _name in LANGUAGES),
                               detects=True, any_code=True)

    @property
    def options(self) -> tuple[OptionSpec, ...]:
        """The job options this vendor honours, each declared once."""
        return self.options_type.SPECS if self.options_type is not None else ()

    @property
    def envs(self) -> tuple[str, ...]:
        return tuple(f.env for f in self.fields if f.env)

    @property
    def group_title(self) -> str:
        return self.title or self.label
