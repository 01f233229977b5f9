"""Tokens in the operating system's keyring, never in the settings file.

Where no keyring is available (a headless Linux box without a Secret Service), a
secret is kept in memory for this run only and `persistent` says so, so the UI can
tell the person rather than silently writing the token somewhere readable.
"""

from __future__ import annotations

import logging

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "dictation-app"
BAHASAKITA_TOKEN = "bahasakita-token"


class SecretStore:
    def __init__(self, service: str = KEYRING_SERVICE):
        self.service = service
        self._memory: dict[str, str] = {}
        self.persistent = self._probe()

    def get(self, name: str) -> str | None:
        if name in self._memory:
            return self._memory[name]
        if not self.persistent:
            return None
        try:
            return keyring.get_password(self.service, name)
        except KeyringError as exc:
            log.warning("keyring read of %s failed: %s", name, type(exc).__name__)
            return None

    def set(self, name: str, value: str) -> None:
        if not value:
            self.delete(name)
            return
        if self.persistent:
            try:
                keyring.set_password(self.service, name, value)
                self._memory.pop(name, None)
                return
            except KeyringError as exc:
                log.warning("keyring write of %s failed (%s); keeping it for this run only",
                            name, type(exc).__name__)
        self._memory[name] = value

    def delete(self, name: str) -> None:
        self._memory.pop(name, None)
        if self.persistent:
            try:
                keyring.delete_password(self.service, name)
            except PasswordDeleteError:
                pass  # nothing stored: already deleted
            except KeyringError as exc:
                log.warning("keyring delete of %s failed: %s", name, type(exc).__name__)

    @staticmethod
    def _probe() -> bool:
        backend = keyring.get_keyring()
        try:
            priority = float(backend.priority)
        except Exception:
            priority = 0.0
        if priority <= 0:
            log.info("no usable keyring backend (%s): secrets kept in memory only",
                     type(backend).__name__)
            return False
        return True
