"""The registry of file services and what is derived from it: lists, CLI, dialog, factory."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dictation_app.cli.commands import build_parser
from dictation_app.controllers.jobs_controller import service_sections
from dictation_app.core.errors import ConfigurationError
from dictation_app.core.secrets import SecretStore
from dictation_app.core.settings import Settings
from dictation_app.services import registry
from dictation_app.services.botlhale import BotlhaleService
from dictation_app.services.descriptor import Field, FieldKind, ServiceDescriptor
from dictation_app.services.descriptors.botlhale import BOTLHALE_TOKEN
from dictation_app.services.factory import Overrides, ServiceFactory
from dictation_app.services.local import LocalFileService
from dictation_app.ui.services_dialog import ServicesDialog, ServicesValues


def test_ids_and_labels_come_from_the_descriptors_in_order() -> None:
    assert registry.PROVIDERS == ("local", "botlhale", "nevisa", "bahasakita")
    assert registry.LABELS == {"local": "Offline engine", "botlhale": "Botlhale",
                               "nevisa": "Nevisa", "bahasakita": "Bahasakita"}
    assert registry.choices() == list(registry.LABELS.items())
    assert registry.DEFAULT_PROVIDER in registry.PROVIDERS


def test_an_unknown_provider_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigurationError) as caught:
        registry.descriptor("whisper")
    assert "'whisper' is not a transcription service" in str(caught.value)
    assert "local, botlhale, nevisa, bahasakita" in str(caught.value)


def test_the_factory_refuses_an_unknown_provider_too(tmp_path: Path,
                                                     memory_keyring: object) -> None:
    factory = ServiceFactory(Settings(tmp_path / "s.json"), SecretStore(), environ={})
    with pytest.raises(ConfigurationError, match="choose one of local, botlhale"):
        factory("whisper")


def _subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_the_cli_provider_choices_are_the_registry_ids() -> None:
    transcribe = _subcommand("transcribe")
    provider = next(a for a in transcribe._actions if a.dest == "provider")
    assert tuple(provider.choices or ()) == registry.PROVIDERS
    assert provider.default == registry.DEFAULT_PROVIDER
    for env in registry.environment_variables():
        assert env in (transcribe.description or "")


def test_every_variable_a_service_reads_is_listed_once() -> None:
    envs = registry.environment_variables()
    assert len(envs) == len(set(envs))
    assert set(envs) == {f.env for d in registry.DESCRIPTORS for f in d.fields if f.env}
    assert "DICTATION_BAHASAKITA_TOKEN" in envs and "DICTATION_NEVISA_PASSWORD" in envs


def test_the_services_dialog_shows_a_field_per_descriptor_setting(qtbot: QtBot) -> None:
    shown = [f for d in registry.DESCRIPTORS for f in d.fields if f.shown]
    dialog = ServicesDialog(service_sections(registry.DESCRIPTORS), ServicesValues())
    qtbot.addWidget(dialog)
    assert list(dialog.edits) == [f.id for f in shown]
    assert set(dialog.values().fields) == {f.id for f in shown}
    assert dialog.values().secrets == {f.id for f in shown if f.kind is FieldKind.SECRET}


def test_a_new_vendor_needs_only_its_descriptor(qtbot: QtBot, tmp_path: Path,
                                               memory_keyring: object) -> None:
    """The recipe of registry.py: a descriptor is all the dialog and factory need."""
    from dictation_app.core.settings import Setting

    url = Setting("acme_url", "")
    built: list[str | None] = []

    def build(config: object) -> LocalFileService:
        built.append(config.text("acme_url"))  # type: ignore[attr-defined]
        return LocalFileService()

    acme = ServiceDescriptor(
        id="acme", label="Acme", build=build,
        fields=(Field("acme_url", "Address:", FieldKind.URL, "https://acme.example",
                      setting=url, override=None),
                Field("acme_key", "Key:", FieldKind.SECRET, secret="acme-key",
                      env="DICTATION_ACME_KEY")))
    descriptors = (*registry.DESCRIPTORS, acme)
    dialog = ServicesDialog(service_sections(descriptors), ServicesValues())
    qtbot.addWidget(dialog)
    assert "acme_url" in dialog.edits and "acme_key" in dialog.edits
    settings = Settings(tmp_path / "s.json")
    settings.set(url, "https://acme.test")
    factory = ServiceFactory(settings, SecretStore(), environ={}, descriptors=descriptors)
    assert isinstance(factory("acme"), LocalFileService)
    assert built == ["https://acme.test"]
    assert "DICTATION_ACME_KEY" in registry.environment_variables(descriptors)


def test_override_then_environment_then_keyring(tmp_path: Path,
                                               memory_keyring: object) -> None:
    secrets = SecretStore()
    secrets.set(BOTLHALE_TOKEN, "keyring-token-1111")
    settings = Settings(tmp_path / "s.json")
    token = next(f for f in registry.descriptor("botlhale").fields if f.id == "botlhale_token")
    url = next(f for f in registry.descriptor("botlhale").fields if f.id == "botlhale_url")
    plain = ServiceFactory(settings, secrets, environ={})
    assert plain.value(token) == "keyring-token-1111"
    assert plain.value(url) is None
    from_env = ServiceFactory(settings, secrets,
                              environ={"DICTATION_BOTLHALE_TOKEN": "env-token-2222"},
                              overrides=Overrides(base_url="http://127.0.0.1:9"))
    assert from_env.value(token) == "env-token-2222"
    assert from_env.value(url) == "http://127.0.0.1:9"


def test_a_service_is_built_once_until_forgotten(tmp_path: Path,
                                                 memory_keyring: object) -> None:
    factory = ServiceFactory(Settings(tmp_path / "s.json"), SecretStore(),
                             environ={"DICTATION_BOTLHALE_TOKEN": "env-token-2222"})
    first = factory("botlhale")
    assert isinstance(first, BotlhaleService)
    assert factory("botlhale") is first
    factory.forget("botlhale")
    assert factory("botlhale") is not first


def test_the_cli_vendor_flags_come_from_the_option_declarations() -> None:
    transcribe = _subcommand("transcribe")
    by_flag = {flag: action for action in transcribe._actions for flag in action.option_strings}
    declared = [spec for d in registry.DESCRIPTORS for spec in d.options if spec.flag]
    assert [spec.flag for spec in declared] == ["--engine", "--mode", "--redact",
                                                "--api-version", "--priority"]
    for spec in declared:
        action = by_flag[spec.flag or ""]
        assert list(action.choices or ()) == [value for value, _label in spec.choices]
        assert action.help == spec.help
    # The README's contract: the same defaults as ever.
    assert by_flag["--mode"].default == "auto" and by_flag["--priority"].default == "reguler"
    assert by_flag["--api-version"].default is None  # then the app's setting
    args = build_parser().parse_args(["transcribe", "a.wav", "--provider", "botlhale",
                                      "--mode", "sync", "--api-version", "1"])
    assert (args.mode, args.api_version, args.redact) == ("sync", 1, False)
    assert build_parser().parse_args(["transcribe", "a.wav", "--redact"]).redact is True


def test_a_new_vendors_options_get_panel_controls_from_its_declarations(qtbot: QtBot) -> None:
    from dataclasses import dataclass
    from typing import ClassVar

    from dictation_app.jobs.model import JobOptions
    from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
    from dictation_app.ui.jobs_panel import JobsPanel

    speed_spec = OptionSpec("speed", "Speed", OptionKind.CHOICE, "normal",
                            choices=(("normal", "Normal"), ("fast", "Fast")))

    @dataclass(frozen=True)
    class AcmeOptions(VendorOptions):
        SPECS: ClassVar[tuple[OptionSpec, ...]] = (speed_spec,)
        speed: str = "normal"

    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.set_providers([*registry.choices(), ("acme", "Acme")],
                        {**registry.options_types(), "acme": AcmeOptions})
    panel.set_provider("acme")
    combo = panel.option_controls[("acme", "speed")]
    assert not combo.isHidden()
    panel.set_option_values("acme", {"speed": "fast"})
    assert panel.options() == JobOptions(vendor=AcmeOptions(speed="fast"))
    with pytest.raises(ConfigurationError, match="speed must be normal or fast"):
        AcmeOptions(speed="warp")


def test_the_languages_each_service_takes_come_from_its_descriptor() -> None:
    from dictation_app.engine.registry import engines
    from dictation_app.services.descriptors.local import LocalOptions

    supports = registry.language_supports()
    assert set(supports) == set(registry.PROVIDERS)
    for engine in engines():  # offline: exactly what the chosen engine knows
        offline = supports["local"](LocalOptions(engine=engine.name))
        assert offline.codes == engine.languages
        assert offline.detects == engine.detects_language and not offline.any_code
    nevisa = supports["nevisa"](None)
    assert (nevisa.codes, nevisa.detects, nevisa.default) == (("fa",), False, "fa")
    for cloud in ("botlhale", "bahasakita"):  # detect, and take any code they are sent
        support = supports[cloud](None)
        assert support.detects and support.any_code and support.default is None
        assert support.accepts("pt-BR")
    with pytest.raises(ConfigurationError, match="knows: fa"):
        nevisa.check("en")


def test_only_the_services_that_send_diarization_offer_to_tell_speakers_apart() -> None:
    # Botlhale's async upload and Bahasakita's upload have a `diarization` field; the
    # offline engine and Nevisa's recognize-file do not.
    assert registry.speaker_services() == {"botlhale", "bahasakita"}
