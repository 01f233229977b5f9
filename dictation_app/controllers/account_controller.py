"""The Bahasakita account in the window: sign-in from Settings, the token and its expiry,
and the account address (the REST base URL) that sign-in and the account tab use.

Signing in exchanges an email and password for a token (the password is dropped at
once); the token goes to the secret store, its expiry and quota to the settings,
and the window is told when it will expire. The dictation controller asks this
object whether the window is free to show a warning (`is_idle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from dictation_app.controllers.messages import Where, window_message
from dictation_app.core.errors import DictationError
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.core.token_expiry import expiry_warning, format_expiry, parse_expiry
from dictation_app.protocols.bahasakita_account import DEFAULT_BASE_URL as ACCOUNT_BASE_URL
from dictation_app.protocols.bahasakita_account import ServiceToken
from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient
from dictation_app.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class AccountController:
    """Sign-in, the stored token's facts, and the expiry warning in the status bar."""

    def __init__(
        self,
        window: MainWindow,
        settings: Settings,
        secrets: SecretStore,
        *,
        on_token_changed: Callable[[], None],
        is_idle: Callable[[], bool],
        on_address_changed: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ):
        self.window = window
        self.settings = settings
        self.secrets = secrets
        self._on_token_changed = on_token_changed
        self._on_address_changed = on_address_changed
        self._is_idle = is_idle
        self._clock = clock
        self._sign_in_task: asyncio.Task[None] | None = None

    async def shutdown(self) -> None:
        if self._sign_in_task is not None and not self._sign_in_task.done():
            self._sign_in_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sign_in_task

    # --- the token -----------------------------------------------------------

    @property
    def token(self) -> str:
        return self.secrets.get(BAHASAKITA_TOKEN) or ""

    def save_token(self, token: str) -> bool:
        """Store a token typed or pasted in Settings; True (and a signal) if it changed."""
        changed = token != self.token
        if changed:
            # A pasted token is not the one signed in for: its expiry and quota are unknown.
            self.settings.set(Key.BAHASAKITA_TOKEN_EXPIRES, "")
            self.settings.set(Key.BAHASAKITA_TOKEN_QUOTA, "")
        self.secrets.set(BAHASAKITA_TOKEN, token)
        if changed:
            self._on_token_changed()
        return changed

    def monitoring_client(self) -> BahasakitaAccountClient | None:
        """A client for the account tab, on the account address; None while signed out.

        Raises ConfigurationError for a token a header cannot carry or a malformed
        address: the tab says which, and waits for it to change."""
        token = self.token
        return BahasakitaAccountClient(base_url=self.account_url, token=token) if token else None

    # --- the account address -------------------------------------------------

    @property
    def account_url(self) -> str:
        """The REST base URL in force: the one in Settings, else the documented one."""
        return self.settings.get_str(Key.BAHASAKITA_ACCOUNT_URL) or ACCOUNT_BASE_URL

    @property
    def stored_account_url(self) -> str:
        """What Settings holds ("" for the documented default), for the dialog's field."""
        return self.settings.get_str(Key.BAHASAKITA_ACCOUNT_URL)

    def save_account_url(self, url: str) -> bool:
        """Store the address typed in Settings; True (and a signal) if the one in force
        changed. The documented address is stored as "default", like the streaming URL."""
        url = url.strip().rstrip("/")
        before = self.account_url
        stored = "" if url == ACCOUNT_BASE_URL.rstrip("/") else url
        self.settings.set(Key.BAHASAKITA_ACCOUNT_URL, stored)
        changed = self.account_url != before
        if changed:
            log.info("Bahasakita account address changed")
            self._on_address_changed()
        return changed

    def token_info(self) -> tuple[str, str]:
        """(expiry, quota) of the signed-in token as the Settings dialog shows them."""
        expires = parse_expiry(self.settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES))
        return format_expiry(expires), self.settings.get_str(Key.BAHASAKITA_TOKEN_QUOTA)

    def expiry_warning(self) -> str | None:
        if not self.secrets.get(BAHASAKITA_TOKEN):
            return None  # nothing signed in: nothing to expire
        expires = parse_expiry(self.settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES))
        return expiry_warning(expires, self._clock())

    def show_expiry_warning(self, *, over_errors: bool = False) -> bool:
        """Put the expiry warning in the status bar, if there is one; True if shown.

        A device or engine error is left in place unless `over_errors`: it says why
        nothing works right now, which matters more than a date.
        """
        warning = self.expiry_warning()
        if warning is None or not self._is_idle():
            return False
        if self.window.status_kind == "error" and not over_errors:
            return False
        expired = parse_expiry(self.settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES))
        self.window.set_status(
            "error" if expired is not None and expired.astimezone() <= self._clock()
            else "starting", warning)
        return True

    # --- sign-in -------------------------------------------------------------

    def sign_in(self, email: str, password: str) -> None:
        if self._sign_in_task is not None and not self._sign_in_task.done():
            return  # the dialog allows one at a time; a second would race the first
        self._sign_in_task = asyncio.ensure_future(self._sign_in(email, password))

    async def _sign_in(self, email: str, password: str) -> None:
        """Exchange the email and password for a token; keep the token, drop the password."""
        try:
            async with BahasakitaAccountClient(base_url=self.account_url) as client:
                token = await client.sign_in(email, password)
        except DictationError as exc:
            log.info("Bahasakita sign-in failed: %s", type(exc).__name__)
            self._tell_sign_in_result(False, window_message(exc, Where.ACCOUNT))
            return
        self._store_signed_in_token(token)
        self._on_token_changed()
        expires, quota = self.token_info()
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.set_token(token.token)
            dialog.set_token_info(expires, quota)
        where = "" if self.secrets.persistent else (
            " No system keyring is available, so the token is kept for this session only.")
        self._tell_sign_in_result(True, f"Signed in as {email.strip()}.{where}")
        if not self.show_expiry_warning(over_errors=True):
            self.window.set_status("idle", f"Signed in to Bahasakita as {email.strip()}.{where}")

    def _store_signed_in_token(self, token: ServiceToken) -> None:
        self.secrets.set(BAHASAKITA_TOKEN, token.token)
        expires = token.expire_date.isoformat() if token.expire_date is not None else ""
        self.settings.set(Key.BAHASAKITA_TOKEN_EXPIRES, expires)
        self.settings.set(Key.BAHASAKITA_TOKEN_QUOTA,
                          "" if token.quota is None else str(token.quota))

    def _tell_sign_in_result(self, ok: bool, message: str) -> None:
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.show_sign_in_result(ok, message)
        elif not ok:  # the dialog was closed while waiting: say it where it can be seen
            self.window.set_status("error", message)
