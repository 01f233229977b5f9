from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked

from dictation_app.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.settings import Settings


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.locked = False  # True: reads and writes fail, as a keyring left locked does

    def get_password(self, service: str, username: str) -> str | None:
        self._check()
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check()
        self.store[(service, username)] = password

    def _check(self) -> None:
        if self.locked:
            raise KeyringLocked("the keyring is locked")

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.store:
            from keyring.errors import PasswordDeleteError

            raise PasswordDeleteError(username)
        del self.store[(service, username)]


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
