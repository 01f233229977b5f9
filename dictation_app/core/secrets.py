"""Tokens in the operating system's keyring, never in the settings file.

Where no keyring is available (a headless Linux box without a Secret Service), a
secret is kept in memory for this run only and `persistent` says so, so the UI can
tell the person rather than silently writing the token somewhere readable.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

KEYRING_SERVICE = "dictation-app"
# Shared by live dictation, monitoring and uploads. The file vendors' own entries are
# declared in their descriptors (services/<vendor>.py).
BAHASAKITA_TOKEN = "bahasakita-token"
BAHASAKITA_TOKEN_ENV = "DICTATION_BAHASAKITA_TOKEN"


class SecretStore:
    def __init__(self, service: str = KEYRING_SERVICE):
        # Imported here: keyring costs ~40 ms at import, which every CLI command would pay.
        import keyring

        self._keyring = keyring
        self.service = service
        self._memory: dict[str, str] = {}
        self.persistent = self._probe()

    def get(self, name: str) -> str | None:
        if name in self._memory:
            return self._memory[name]
        if not self.persistent:
            return None
        try:
            return self._keyring.get_password(self.service, name)
        except self._keyring.errors.KeyringError as exc:
            log.warning("keyring read of %s failed: %s", name, type(exc).__name__)
            return None

    def set(self, name: str, value: str) -> bool:
        """Store `value` (an empty one deletes); False when it is kept for this run only."""
        if not value:
            self.delete(name)
            return True
        if self.persistent:
            try:
                self._keyring.set_password(self.service, name, value)
                self._memory.pop(name, None)
                return True
            except self._keyring.errors.KeyringError as exc:
                log.warning("keyring write of %s failed (%s); keeping it for this run only",
                            name, type(exc).__name__)
        self._memory[name] = value
        return False

    def delete(self, name: str) -> None:
        self._memory.pop(name, None)
        if self.persistent:
            try:
                self._keyring.delete_password(self.service, name)
            except self._keyring.errors.PasswordDeleteError:
                pass  # nothing stored: already deleted
            except self._keyring.errors.KeyringError as exc:
                log.warning("keyring delete of %s failed: %s", name, type(exc).__name__)

    def _probe(self) -> bool:
        backend = self._keyring.get_keyring()
        try:
            priority = float(backend.priority)
        except Exception:
            priority = 0.0
        if priority <= 0:
            log.info("no usable keyring backend (%s): secrets kept in memory only",
                     type(backend).__name__)
            return False
        return True


def bahasakita_token() -> str | None:
    """The Bahasakita token for headless use: the environment first, then the keyring."""
    return secret_from_env_or_keyring(BAHASAKITA_TOKEN_ENV, BAHASAKITA_TOKEN)


def secret_from_env_or_keyring(env: str, name: str, store: SecretStore | None = None) -> str | None:
    """For headless use: the environment variable first, then the keyring entry."""
    return os.environ.get(env) or (store or SecretStore()).get(name)
