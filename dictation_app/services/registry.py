"""Every file-transcription service the app offers, in the order lists show them.

Add a file vendor:

1. one protocol module, `protocols/<vendor>.py`: pure request builders and reply
   parsers, tested without sockets;
2. one service module, `services/<vendor>.py`: a `JobService` on top of
   `transport.http.ServiceHttp`;
3. one descriptor module, `services/descriptors/<vendor>.py`, exporting `DESCRIPTOR`
   (id, label, its fields: the settings, keyring entries and environment variables it
   reads, its job options, and `build`, which imports the service module on first use
   and makes the service from those fields). Apart from the service, so that reading
   this registry (every command line does) imports no HTTP client;
4. one fake server for its tests, `tests/servers/<vendor>_server.py`, on loopback;
5. one line below, in `DESCRIPTORS`.

Nothing else changes: the provider lists and labels, the services dialog's fields,
the Files panel's option controls and Language list, `dictation-app transcribe --provider` with its
flags and help, the secret and environment lookups and the factory are all derived
from the descriptors (tests/services/test_registry.py checks that they are).
"""

from __future__ import annotations

from collections.abc import Callable

from dictation_app.core.errors import ConfigurationError, fix_of
from dictation_app.core.languages import LanguageSupport
from dictation_app.jobs.options import VendorOptions
from dictation_app.services.descriptor import Field, ServiceDescriptor
from dictation_app.services.descriptors import bahasakita_upload, botlhale, local, nevisa

DESCRIPTORS: tuple[ServiceDescriptor, ...] = (
    local.DESCRIPTOR,
    botlhale.DESCRIPTOR,
    nevisa.DESCRIPTOR,
    bahasakita_upload.DESCRIPTOR,
)
PROVIDERS: tuple[str, ...] = tuple(d.id for d in DESCRIPTORS)
LABELS: dict[str, str] = {d.id: d.label for d in DESCRIPTORS}
DEFAULT_PROVIDER = "local"


def descriptor(provider: str,
               descriptors: tuple[ServiceDescriptor, ...] = DESCRIPTORS) -> ServiceDescriptor:
    """The descriptor of `provider`; a ConfigurationError naming the choices if none."""
    for candidate in descriptors:
        if candidate.id == provider:
            return candidate
    raise ConfigurationError(
        f"{provider!r} is not a transcription service; choose one of "
        f"{', '.join(d.id for d in descriptors)}")


def options_types(descriptors: tuple[ServiceDescriptor, ...] = DESCRIPTORS
                  ) -> dict[str, type[VendorOptions]]:
    """provider -> the type of its job options, for the job store and the Files panel."""
    return {d.id: d.options_type for d in descriptors if d.options_type is not None}


def language_supports(descriptors: tuple[ServiceDescriptor, ...] = DESCRIPTORS
                      ) -> dict[str, Callable[[VendorOptions | None], LanguageSupport]]:
    """provider -> what languages its jobs take given their vendor options, for the
    Files panel's Language list."""
    return {d.id: d.language_support for d in descriptors}


def speaker_services(descriptors: tuple[ServiceDescriptor, ...] = DESCRIPTORS
                     ) -> frozenset[str]:
    """The providers whose jobs can tell speakers apart, for the Files panel."""
    return frozenset(d.id for d in descriptors if d.speakers)


def fields_at_fault(exc: BaseException,
                    descriptors: tuple[ServiceDescriptor, ...] = DESCRIPTORS
                    ) -> tuple[ServiceDescriptor, list[Field]] | None:
    """The vendor and fields an error's `Fix` names, for the window and the command
    line to say where to fix them; None when it names none this registry knows."""
    fix = fix_of(exc)
    if fix is None or fix.service is None:
        return None
    try:
        owner = descriptor(fix.service, descriptors)
    except ConfigurationError:
        return None
    fields = [f for f in owner.fields if f.id in fix.fields]
    return (owner, fields) if fields else None


def choices(descriptors: tuple[ServiceDescriptor, ...] = DESCRIPTORS
            ) -> list[tuple[str, str]]:
    """(id, label) pairs, for a widget's list of services."""
    return [(d.id, d.label) for d in descriptors]


def environment_variables(descriptors: tuple[ServiceDescriptor, ...] = DESCRIPTORS
                          ) -> tuple[str, ...]:
    """Every variable a service reads, without repeats, in the registry's order."""
    return tuple(dict.fromkeys(env for d in descriptors for env in d.envs))
