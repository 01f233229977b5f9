"""The "Bahasakita account" tab as the app wires it (`app.build_account_tab`): the real
window, dictation and monitoring controllers and account client on a qasync loop,
against Bahasakita REST fakes on loopback, each on its own port.

What the fakes' request logs show is the point: nothing is asked while signed out, and
the address in Settings is the one asked, from the moment it is saved.
"""

from __future__ import annotations

import asyncio

from pytestqt.qtbot import QtBot

from dictation_app.app import build_account_tab
from dictation_app.controllers.account_controller import AccountController
from dictation_app.controllers.dictation_controller import DictationController
from dictation_app.controllers.monitoring_controller import MonitoringController
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.protocols.bahasakita_account import DEFAULT_BASE_URL
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.monitoring_panel import MonitoringPanel
from dictation_app.ui.settings_dialog import CLOUD
from tests.servers.bahasakita_rest_server import (
    EMAIL,
    GOOD_TOKEN,
    ISSUED_TOKEN,
    MONITORING,
    PASSWORD,
    TOKEN,
    Behaviour,
    FakeBahasakitaRest,
)
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_async import until
from tests.support.secrets import SecretWatch


def build(qtbot: QtBot, account_url: str, token: str = ""
          ) -> tuple[MainWindow, DictationController, Settings, MonitoringPanel,
                     MonitoringController]:
    settings = Settings()
    settings.set(Key.PROVIDER, "bahasakita")  # no offline engine to start
    settings.set(Key.BAHASAKITA_ACCOUNT_URL, account_url)
    secrets = SecretStore()
    if token:
        secrets.set(BAHASAKITA_TOKEN, token)
    window = MainWindow()
    qtbot.addWidget(window)
    controller = DictationController(window, settings, secrets, list_devices=list)
    panel, monitoring = build_account_tab(window, controller, settings, interval=3600)
    window.side_panel.setCurrentWidget(panel)  # the tab in view, as a person looks at it
    window.show()
    return window, controller, settings, panel, monitoring


def run(loop: asyncio.AbstractEventLoop, controller: DictationController,
        monitoring: MonitoringController, scenario: object) -> None:
    try:
        loop.run_until_complete(asyncio.wait_for(scenario, 60))  # type: ignore[arg-type]
    finally:
        loop.run_until_complete(monitoring.stop())
        loop.run_until_complete(controller.shutdown())


def test_signed_out_nothing_is_asked_and_sign_in_opens_settings_at_the_email(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring,
        no_secret_logged: SecretWatch) -> None:
    with FakeBahasakitaRest(Behaviour(token=ISSUED_TOKEN)) as server:
        window, controller, _, panel, monitoring = build(qtbot, server.base_url)

        async def scenario() -> None:
            controller.start()
            monitoring.start()
            await until(lambda: panel.sign_in_button.isVisible())
            assert panel.account_label.text() == "Bahasakita account: not signed in"
            assert "Not signed in to Bahasakita" in panel.message_label.text()
            assert not panel.refresh_button.isEnabled()
            assert not panel.interval_box.isEnabled()
            assert "Sign in first" in panel.interval_box.toolTip()
            assert monitoring.delay is None
            assert server.requests == []  # signed out: no request at all

            panel.sign_in_button.click()
            dialog = window.settings_dialog
            assert dialog is not None
            await until(lambda: dialog.focusWidget() is dialog.email_edit)
            dialog.email_edit.setText(EMAIL)
            dialog.password_edit.setText(PASSWORD)
            dialog.sign_in_button.click()
            # The token the sign-in brought starts the tab, on the address in Settings.
            await until(lambda: panel.account_label.text() == "Bahasakita account: ayu")
            assert panel.address_label.text() == f"Polls {server.base_url}"
            assert ISSUED_TOKEN not in panel.address_label.text()
            assert panel.refresh_button.isEnabled() and panel.interval_box.isEnabled()
            assert not panel.sign_in_button.isVisible()
            dialog.reject()

        run(loop, controller, monitoring, scenario())

    assert [r.path for r in server.requests] == [TOKEN, MONITORING]
    assert server.requests[1].headers["Authorization"] == f"Bearer {ISSUED_TOKEN}"
    no_secret_logged.add(PASSWORD, ISSUED_TOKEN)


def test_the_account_address_from_settings_is_used_at_once_without_a_restart(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring) -> None:
    with FakeBahasakitaRest() as first, FakeBahasakitaRest() as second:
        window, controller, settings, panel, monitoring = build(
            qtbot, first.base_url, token=GOOD_TOKEN)

        async def scenario() -> None:
            controller.start()
            monitoring.start()
            await until(lambda: panel.account_label.text() == "Bahasakita account: ayu")
            assert panel.address_label.text() == f"Polls {first.base_url}"

            window.settings_requested.emit()
            dialog = window.settings_dialog
            assert dialog is not None
            dialog.show_section(CLOUD)
            assert dialog.account_url_edit.text() == first.base_url
            assert dialog.account_url_edit.placeholderText() == DEFAULT_BASE_URL
            # Checked as typed: a wrong scheme is named in place and OK waits.
            dialog.account_url_edit.setText("ftp://api.example")
            assert dialog.account_url_error.isVisible()
            assert "https://" in dialog.account_url_error.text()
            assert not dialog.ok_button.isEnabled()
            dialog.account_url_edit.setText(second.base_url)
            assert not dialog.account_url_error.isVisible() and dialog.ok_button.isEnabled()
            with qtbot.waitSignal(window.settings_saved):
                dialog.accept()
            await until(lambda: len(second.requests) == 1
                        and panel.address_label.text() == f"Polls {second.base_url}")
            assert settings.get_str(Key.BAHASAKITA_ACCOUNT_URL) == second.base_url
            assert not panel.message_label.isVisible()

        run(loop, controller, monitoring, scenario())

    assert [r.path for r in first.requests] == [MONITORING]
    assert [r.path for r in second.requests] == [MONITORING]


def test_the_documented_address_is_stored_as_default_and_only_a_change_is_announced(
        qtbot: QtBot, memory_keyring: MemoryKeyring) -> None:
    settings = Settings()
    window = MainWindow()
    qtbot.addWidget(window)
    changes: list[None] = []
    account = AccountController(window, settings, SecretStore(), on_token_changed=list,
                                is_idle=lambda: True,
                                on_address_changed=lambda: changes.append(None))
    assert account.account_url == DEFAULT_BASE_URL and account.monitoring_client() is None
    assert not account.save_account_url(DEFAULT_BASE_URL + "/")  # the default, spelt out
    assert settings.get_str(Key.BAHASAKITA_ACCOUNT_URL) == "" and changes == []
    assert account.save_account_url(" http://127.0.0.1:8123/ ")
    assert account.account_url == "http://127.0.0.1:8123" and len(changes) == 1
    assert not account.save_account_url("http://127.0.0.1:8123")
    assert account.save_account_url("")  # emptied: the documented address again
    assert account.account_url == DEFAULT_BASE_URL and len(changes) == 2
