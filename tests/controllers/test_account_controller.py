"""Signing in from the Preferences dialog, end to end: the real window and controller on a
qasync loop, the real account client, and a Bahasakita REST server on loopback.

No microphone is needed: the controller lists no devices and must still sign in.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from dictation_app.audio.devices import list_input_devices
from dictation_app.controllers.dictation_controller import DictationController
from dictation_app.core.secrets import BAHASAKITA_TOKEN, KEYRING_SERVICE, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.settings_dialog import SettingsDialog
from tests.servers.bahasakita_rest_server import (
    EMAIL,
    ISSUED_TOKEN,
    PASSWORD,
    TOKEN,
    Behaviour,
    FakeBahasakitaRest,
)
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_async import run, until
from tests.support.secrets import SecretWatch


def token_expiring(expire_date: str, quota: Any = "600") -> dict[str, Any]:
    return {"bk": {"diktein_credits_token": {"token": ISSUED_TOKEN, "expire_date": expire_date,
                                             "quota": quota, "type": "prepaid"}}}


def build(qtbot: QtBot, server: FakeBahasakitaRest, *, with_microphone: bool = False
          ) -> tuple[MainWindow, DictationController, Settings, SecretStore]:
    """`with_microphone`: the real device list (start a PulseAudio virtual source first)."""
    settings = Settings()
    settings.set(Key.PROVIDER, "bahasakita")  # no offline engine to start
    settings.set(Key.BAHASAKITA_ACCOUNT_URL, server.base_url)
    secrets = SecretStore()
    window = MainWindow()
    qtbot.addWidget(window)
    controller = DictationController(
        window, settings, secrets, list_devices=list_input_devices if with_microphone else list)
    return window, controller, settings, secrets


def open_dialog(window: MainWindow) -> SettingsDialog:
    window.settings_requested.emit()
    dialog = window.settings_dialog
    assert dialog is not None
    return dialog


def sign_in(dialog: SettingsDialog, email: str, password: str) -> None:
    dialog.email_edit.setText(email)
    dialog.password_edit.setText(password)
    dialog.sign_in_button.click()


def test_sign_in_stores_the_token_and_its_expiry_and_quota(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring,
        no_secret_logged: SecretWatch) -> None:
    with FakeBahasakitaRest(Behaviour(
            token_response=token_expiring("2099-12-31 23:59:59", 600))) as server:
        window, controller, settings, secrets = build(qtbot, server)

        token_changes: list[None] = []
        controller.account_token_changed.connect(lambda: token_changes.append(None))

        async def scenario() -> None:
            controller.start()
            dialog = open_dialog(window)
            sign_in(dialog, EMAIL, PASSWORD)
            assert dialog.password_edit.text() == ""
            await until(lambda: dialog.sign_in_button.isEnabled())
            assert len(token_changes) == 1  # the monitoring panel picks the token up

            assert dialog.sign_in_status.text() == f"Signed in as {EMAIL}."
            assert dialog.token_edit.text() == ISSUED_TOKEN
            assert dialog.token_info.text() == "Quota: 600 · Expires: 2099-12-31 23:59"
            assert window.status_label.text() == f"Signed in to Bahasakita as {EMAIL}."
            with qtbot.waitSignal(window.settings_saved):
                dialog.accept()  # OK keeps the signed-in token and what is known of it
            assert len(token_changes) == 1  # the same token saved again is no change

            # Opened again, the dialog shows the quota and expiry.
            reopened = open_dialog(window)
            assert reopened.token_info.text() == "Quota: 600 · Expires: 2099-12-31 23:59"
            reopened.reject()

        run(loop, controller, scenario())

    [request] = server.requests
    assert request.path == TOKEN
    assert secrets.get(BAHASAKITA_TOKEN) == ISSUED_TOKEN
    assert memory_keyring.store[(KEYRING_SERVICE, BAHASAKITA_TOKEN)] == ISSUED_TOKEN
    assert settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES) == "2099-12-31T23:59:59"
    assert settings.get_str(Key.BAHASAKITA_TOKEN_QUOTA) == "600"

    basic = base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
    saved = settings.path.read_text(encoding="utf-8")
    for secret in (PASSWORD, basic, ISSUED_TOKEN):
        assert secret not in saved
    no_secret_logged.add(PASSWORD, basic, ISSUED_TOKEN)


def test_a_wrong_password_shows_the_service_message(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring,
        no_secret_logged: SecretWatch) -> None:
    with FakeBahasakitaRest(Behaviour(echo_credentials=True)) as server:
        window, controller, settings, secrets = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            dialog = open_dialog(window)
            sign_in(dialog, EMAIL, "wrong-password-0004")
            await until(lambda: dialog.sign_in_button.isEnabled())

            status = dialog.sign_in_status.text()
            assert "Wrong email or password" in status
            assert "wrong-password-0004" not in status  # echoed by the service, masked
            assert dialog.password_edit.text() == ""
            assert dialog.token_edit.text() == ""

        run(loop, controller, scenario())

    assert secrets.get(BAHASAKITA_TOKEN) is None
    assert settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES) == ""
    no_secret_logged.add("wrong-password-0004")
    assert "wrong-password-0004" not in settings.path.read_text(encoding="utf-8")


def test_a_token_expiring_tomorrow_is_warned_about(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring) -> None:
    tomorrow = datetime.now() + timedelta(days=1)
    with FakeBahasakitaRest(Behaviour(
            token_response=token_expiring(tomorrow.strftime("%Y-%m-%d %H:%M:%S")))) as server:
        window, controller, _settings, _secrets = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            dialog = open_dialog(window)
            sign_in(dialog, EMAIL, PASSWORD)
            await until(lambda: dialog.sign_in_button.isEnabled())

        run(loop, controller, scenario())

    day = tomorrow.date().isoformat()
    assert window.status_label.text() == (
        f"Your Bahasakita token expires on {day} (tomorrow). Sign in again in Preferences.")
    assert window.status_kind != "error"  # not expired yet: a warning, not a failure


@pytest.mark.pulse
def test_the_warning_shows_at_start_and_when_settings_are_saved(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring,
        pulse_mic: Callable[..., object]) -> None:
    pulse_mic()
    with FakeBahasakitaRest() as server:
        window, controller, settings, secrets = build(qtbot, server, with_microphone=True)
        secrets.set(BAHASAKITA_TOKEN, ISSUED_TOKEN)
        settings.set(Key.BAHASAKITA_TOKEN_EXPIRES, "2025-12-31T23:59:59")  # in the past

        async def scenario() -> None:
            controller.start()
            assert window.status_label.text() == (
                "Your Bahasakita token expired on 2025-12-31. Sign in again in Preferences.")
            assert window.status_kind == "error"

            dialog = open_dialog(window)
            with qtbot.waitSignal(window.settings_saved):
                dialog.accept()
            assert "expired on 2025-12-31" in window.status_label.text()

            # A different pasted token: its expiry is unknown, so no warning about it.
            dialog = open_dialog(window)
            dialog.token_edit.setText("pasted-token")
            with qtbot.waitSignal(window.settings_saved), \
                    qtbot.waitSignal(controller.account_token_changed):
                dialog.accept()
            assert settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES) == ""
            assert window.status_label.text().startswith("Ready: Bahasakita")

        run(loop, controller, scenario())
    assert server.requests == []


@pytest.mark.pulse
def test_no_token_no_warning(qtbot: QtBot, loop: asyncio.AbstractEventLoop,
                             memory_keyring: MemoryKeyring,
                             pulse_mic: Callable[..., object]) -> None:
    pulse_mic()
    with FakeBahasakitaRest() as server:
        window, controller, settings, _secrets = build(qtbot, server, with_microphone=True)
        settings.set(Key.BAHASAKITA_TOKEN_EXPIRES, "2025-12-31T23:59:59")

        async def scenario() -> None:
            controller.start()
            # No expiry warning for a token that is not there: the line asks for one.
            assert window.status_label.text().startswith("Bahasakita needs a token")
            assert "expire" not in window.status_label.text().lower()

        run(loop, controller, scenario())
