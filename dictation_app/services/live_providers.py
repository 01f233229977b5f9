"""The live providers a take can stream to, one descriptor each, in one registry.

A descriptor says what the window and the CLI show (id, label), the name messages
use, whether the embedded engine must run, and how to resolve a `LiveTarget` from
the settings and secrets. The provider list, its labels and the target of a take
are derived from `LIVE_PROVIDERS`; adding a live provider means adding one here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dictation_app.core.errors import LIVE_TOKEN, ConfigurationError, Fix
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.protocols.bahasakita_stream import DEFAULT_URLS, ProtocolVersion
from dictation_app.services.live_target import LiveTarget

if TYPE_CHECKING:
    from dictation_app.core.settings import Settings


@dataclass(frozen=True)
class LiveProvider:
    id: str  # stored in Settings (Key.PROVIDER) and given to `stream --provider`
    label: str  # what the window's provider list shows
    service: str  # the name status and error messages use
    uses_engine: bool  # the embedded offline engine must be running to stream to it
    resolve: Callable[[Settings, SecretStore], LiveTarget]


# The language the live engine runs in (its model is chosen by it when it starts).
LOCAL_LANGUAGE = "en"  # what the offline engine hears live unless Preferences say


def live_language(settings: Settings) -> str:
    """The language the offline engine hears live (Preferences ▸ Recognition)."""
    from dictation_app.core.settings import Key

    return settings.get_str(Key.LIVE_LANGUAGE).strip() or LOCAL_LANGUAGE


def live_engine_args(settings: Settings) -> list[str]:
    """`serve` options for the live engine child: the engine and language Preferences
    name (an engine the registry no longer has: the default, with the language)."""
    from dictation_app.core.settings import Key
    from dictation_app.engine.registry import REGISTRY

    name = settings.get_str(Key.LIVE_ENGINE)
    engine = REGISTRY.get(name) if name in REGISTRY.names() else REGISTRY.default()
    return ["--engine", engine.name, "--language", live_language(settings)]


def _local_target(settings: Settings, secrets: SecretStore) -> LiveTarget:
    # The engine's URL is known once it has started; it speaks protocol v1.
    return LiveTarget(url=None, token=None, version=ProtocolVersion.V1,
                      language=live_language(settings), service=LOCAL.service)


def _primary(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def _bahasakita_target(settings: Settings, secrets: SecretStore) -> LiveTarget:
    # Imported here for start-up cost: the CLI reads this registry for its choices, and
    # settings (platformdirs) is only needed once a target is resolved.
    from dictation_app.core.settings import Key

    token = secrets.get(BAHASAKITA_TOKEN)
    if not token:
        raise ConfigurationError("Bahasakita needs a token",
                                 fix=Fix(BAHASAKITA.id, (LIVE_TOKEN,)))
    version = ProtocolVersion(settings.get_str(Key.PROTOCOL_VERSION))
    url = settings.get_str(Key.BAHASAKITA_URL) or DEFAULT_URLS[version]
    return LiveTarget(url=url, token=token, version=version,
                      language=settings.get_str(Key.LANGUAGE), service=BAHASAKITA.service)


LOCAL = LiveProvider(id="local", label="Local (offline)", service="Local engine",
                     uses_engine=True, resolve=_local_target)
BAHASAKITA = LiveProvider(id="bahasakita", label="Bahasakita (cloud)", service="Bahasakita",
                          uses_engine=False, resolve=_bahasakita_target)

# In the order the window lists them; the first is the default.
LIVE_PROVIDERS: Mapping[str, LiveProvider] = {p.id: p for p in (LOCAL, BAHASAKITA)}
DEFAULT_LIVE_PROVIDER = LOCAL.id


def fallback_for(target: LiveTarget, settings: Settings) -> LiveTarget | None:
    """The offline engine as the fallback of a cloud take, when the person chose failover
    and the engine knows the take's language; None otherwise (the take only reconnects)."""
    from dictation_app.core.settings import Key

    if target.url is None or not settings.get_bool(Key.FAILOVER):
        return None  # the engine's own take, or no failover
    if _primary(target.language) != _primary(live_language(settings)):
        return None  # the live engine's words would be another language's
    return LiveTarget(url=None, token=None, version=ProtocolVersion.V1,
                      language=target.language, service=LOCAL.service)


def failover_note(language: str, local_language: str = LOCAL_LANGUAGE) -> str:
    """Why failover would not act for takes in `language` when the offline engine hears
    `local_language` live, for Preferences; "" if it would."""
    if _primary(language) == _primary(local_language):
        return ""
    from dictation_app.core.languages import language_name

    return (f"The offline engine hears {language_name(local_language)} live, not "
            f"“{language}”, so takes in that language wait and reconnect instead; to fail "
            "over, choose that language for the offline engine.")


def live_provider(provider_id: str) -> LiveProvider:
    """The descriptor for `provider_id`; a ConfigurationError naming the known ones if none."""
    try:
        return LIVE_PROVIDERS[provider_id]
    except KeyError:
        known = ", ".join(LIVE_PROVIDERS)
        raise ConfigurationError(
            f"unknown live provider {provider_id!r}; expected one of: {known}") from None


def provider_choices() -> list[tuple[str, str]]:
    """(id, label) pairs for the window's provider list."""
    return [(p.id, p.label) for p in LIVE_PROVIDERS.values()]
