from __future__ import annotations

import json
from pathlib import Path

import pytest

from dictation_app.core.settings import DEFAULTS, Key, Settings


def test_defaults_then_values_persist_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "settings.json"
    settings = Settings(path)
    assert settings.get(Key.PROVIDER) == "local" and not path.exists()
    settings.set(Key.PROVIDER, "bahasakita")
    settings.set(Key.PUSH_TO_TALK_KEY, "Ctrl+Space")
    again = Settings(path)
    assert again.get(Key.PROVIDER) == "bahasakita"
    assert again.get_str(Key.PUSH_TO_TALK_KEY) == "Ctrl+Space"
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]  # no temp files left


def test_default_location_is_the_platform_config_dir(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    Settings().set(Key.LANGUAGE, "en")
    assert json.loads((tmp_path / "dictation-app" / "settings.json").read_text()) == {
        "language": "en"}


def test_corrupt_or_ill_typed_file_falls_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert Settings(path).get(Key.PROVIDER) == DEFAULTS[Key.PROVIDER]
    path.write_text(json.dumps({"provider": 42, "welcome_seen": "yes", "unknown": 1}))
    settings = Settings(path)
    assert settings.get(Key.PROVIDER) == "local"
    assert settings.get_bool(Key.WELCOME_SEEN) is False


def test_wrong_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="provider takes str"):
        Settings(tmp_path / "s.json").set(Key.PROVIDER, 3)


def test_a_declared_setting_is_typed_kept_and_guarded(tmp_path: Path) -> None:
    from dictation_app.core.settings import Setting

    url = Setting("acme_url", "")
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"acme_url": "https://acme.test", "acme_level": "high"}))
    settings = Settings(path)
    assert settings.get(url) == "https://acme.test"  # a name Key does not list is kept
    assert settings.get(Setting("acme_level", 1)) == 1  # ill-typed: the default
    with pytest.raises(TypeError, match="acme_url takes str"):
        settings.set(url, 3)
    with pytest.raises(ValueError, match="looks like a secret"):
        settings.set(Setting("acme_token", ""), "x")
