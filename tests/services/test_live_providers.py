"""The live-provider registry: the window's list, labels and a take's target come from it."""

from __future__ import annotations

import pytest

from dictation_app.controllers.messages import Where, window_message
from dictation_app.core.errors import ConfigurationError
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.protocols.bahasakita_stream import DEFAULT_URLS, ProtocolVersion
from dictation_app.services.live_providers import (
    DEFAULT_LIVE_PROVIDER,
    LIVE_PROVIDERS,
    failover_note,
    fallback_for,
    live_engine_args,
    live_provider,
    provider_choices,
)
from dictation_app.services.live_session import LiveTarget


def test_the_window_list_is_derived_from_the_descriptors() -> None:
    assert provider_choices() == [("local", "Local (offline)"),
                                  ("bahasakita", "Bahasakita (cloud)")]
    assert list(LIVE_PROVIDERS) == ["local", "bahasakita"] and DEFAULT_LIVE_PROVIDER == "local"


def test_an_unknown_provider_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="'nope'.*local, bahasakita"):
        live_provider("nope")


def test_the_local_engine_target_waits_for_the_engine() -> None:
    provider = live_provider("local")
    assert provider.uses_engine
    assert provider.resolve(Settings(), SecretStore()) == LiveTarget(
        url=None, token=None, version=ProtocolVersion.V1, language="en", service="Local engine")


def test_bahasakita_without_a_token_says_what_to_do(memory_keyring: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        live_provider("bahasakita").resolve(Settings(), SecretStore())
    assert window_message(caught.value, Where.LIVE).startswith(
        "Bahasakita needs a token: open Preferences")


def test_bahasakita_target_follows_the_settings(memory_keyring: object) -> None:
    settings, secrets = Settings(), SecretStore()
    secrets.set(BAHASAKITA_TOKEN, "fake-registry-token")
    settings.set(Key.PROTOCOL_VERSION, "v2")
    settings.set(Key.LANGUAGE, "en")
    provider = live_provider("bahasakita")
    assert not provider.uses_engine
    target = provider.resolve(settings, secrets)
    assert target == LiveTarget(url=DEFAULT_URLS[ProtocolVersion.V2],
                                token="fake-registry-token", version=ProtocolVersion.V2,
                                language="en", service="Bahasakita")
    settings.set(Key.BAHASAKITA_URL, "ws://127.0.0.1:9/mine")
    assert provider.resolve(settings, secrets).url == "ws://127.0.0.1:9/mine"


def cloud(language: str) -> LiveTarget:
    return LiveTarget(url="wss://example.test/v1/prod/stream", token="t",
                      version=ProtocolVersion.V1, language=language, service="Bahasakita")


def test_failover_gives_a_cloud_take_the_engine_only_when_chosen_and_it_knows_the_language(
) -> None:
    settings = Settings()
    assert fallback_for(cloud("en"), settings) is None  # not chosen
    settings.set(Key.FAILOVER, True)
    fallback = fallback_for(cloud("en-GB"), settings)
    assert fallback is not None and fallback.url is None  # the engine's, once it runs
    assert fallback.service == "Local engine" and fallback.language == "en-GB"
    assert fallback_for(cloud("id"), settings) is None  # its words would be English
    local = LIVE_PROVIDERS["local"].resolve(settings, SecretStore())
    assert fallback_for(local, settings) is None  # the engine's own take


def test_settings_says_when_failover_would_not_act() -> None:
    assert failover_note("en") == ""
    note = failover_note("id")
    assert "“id”" in note and "English" in note and "reconnect" in note


def test_the_live_engine_and_language_come_from_preferences() -> None:
    settings = Settings()
    assert live_engine_args(settings) == ["--engine", "whisper", "--language", "en"]
    settings.set(Key.LIVE_ENGINE, "pocketsphinx")
    assert live_engine_args(settings)[:2] == ["--engine", "pocketsphinx"]
    settings.set(Key.LIVE_ENGINE, "gone-engine")  # a hand-edited or older file
    assert live_engine_args(settings)[:2] == ["--engine", "whisper"]
    settings.set(Key.LIVE_LANGUAGE, "id")
    assert LIVE_PROVIDERS["local"].resolve(settings, SecretStore()).language == "id"
    # The engine hears Indonesian live now: an Indonesian cloud take may fail over to
    # it, an English one may not, and Preferences says why.
    settings.set(Key.FAILOVER, True)
    fallback = fallback_for(cloud("id"), settings)
    assert fallback is not None and fallback.language == "id"
    assert fallback_for(cloud("en"), settings) is None
    assert failover_note("id", "id") == ""
    assert "hears Indonesian live" in failover_note("en", "id")
