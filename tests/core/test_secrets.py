from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Settings
from tests.support.memory_keyring import MemoryKeyring


def test_tokens_go_to_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.persistent
    store.set(BAHASAKITA_TOKEN, "fake-value")
    assert memory_keyring.store == {("dictation-app", BAHASAKITA_TOKEN): "fake-value"}
    assert SecretStore().get(BAHASAKITA_TOKEN) == "fake-value"
    store.set(BAHASAKITA_TOKEN, "")  # clearing the field deletes the secret
    assert memory_keyring.store == {}
    store.delete(BAHASAKITA_TOKEN)  # deleting twice is fine


def test_a_write_the_keyring_refuses_is_kept_for_this_run_and_says_so(
        memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.set(BAHASAKITA_TOKEN, "fake-value") is True
    memory_keyring.locked = True
    assert store.set(BAHASAKITA_TOKEN, "newer-value") is False
    assert store.get(BAHASAKITA_TOKEN) == "newer-value"
    memory_keyring.locked = False
    assert memory_keyring.store == {("dictation-app", BAHASAKITA_TOKEN): "fake-value"}


def test_without_a_keyring_secrets_live_in_memory_only() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        store = SecretStore()
        assert not store.persistent
        store.set(BAHASAKITA_TOKEN, "fake-value")
        assert store.get(BAHASAKITA_TOKEN) == "fake-value"
        assert SecretStore().get(BAHASAKITA_TOKEN) is None
    finally:
        keyring.set_keyring(previous)


def test_settings_refuse_secret_like_keys(tmp_path: object) -> None:
    class Fake:
        value = "bahasakita_token"

    with pytest.raises(ValueError, match="SecretStore"):
        Settings(tmp_path / "s.json").set(Fake, "x")  # type: ignore[operator, arg-type]
