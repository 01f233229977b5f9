"""The composition root: builds the Qt application, event loop, settings, secrets,
controller and window, wires them together and runs until the window closes.

Two environment hooks serve the bundle's smoke test and the start-up benchmark:
`DICTATION_APP_SCREENSHOT=PATH` saves a picture of the main window once it is shown,
and `DICTATION_APP_EXIT_AFTER_SHOWN=1` then closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sys

from PySide6.QtCore import QByteArray, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication

from dictation_app import __version__
from dictation_app.resources import APP_ID, app_icon_files

log = logging.getLogger(__name__)

SCREENSHOT_ENV = "DICTATION_APP_SCREENSHOT"
EXIT_AFTER_SHOWN_ENV = "DICTATION_APP_EXIT_AFTER_SHOWN"
_RAISE = b"raise\n"


def run_gui() -> int:
    import qasync

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("Dictation")
    app.setOrganizationName("dictation-app")
    app.setApplicationVersion(__version__)
    # Wayland matches the window to its .desktop entry (and so its icon) by this name.
    app.setDesktopFileName(APP_ID)
    icon = QIcon()
    for path in app_icon_files():
        icon.addFile(str(path))
    app.setWindowIcon(icon)
    # The window's closing signal ends the run, after the engine and microphone are shut down.
    app.setQuitOnLastWindowClosed(False)

    if _raise_running_instance():
        print("dictation-app is already running: raised its window.", file=sys.stderr)
        return 0
    with contextlib.suppress(asyncio.CancelledError):
        qasync.run(_main(app))
    return 0


async def _main(app: QApplication) -> None:
    from dictation_app.controller import DictationController
    from dictation_app.monitoring_controller import MonitoringController
    from dictation_app.secrets import BAHASAKITA_TOKEN, SecretStore
    from dictation_app.settings import Key, Settings
    from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient
    from dictation_app.ui.main_window import MainWindow
    from dictation_app.ui.monitoring_panel import MonitoringPanel

    settings = Settings()
    secrets = SecretStore()
    window = MainWindow()
    controller = DictationController(window, settings, secrets)

    def account_client() -> BahasakitaAccountClient | None:
        token = secrets.get(BAHASAKITA_TOKEN)
        return BahasakitaAccountClient(token=token) if token else None

    panel = MonitoringPanel()
    window.side_panel.addTab(panel, "Bahasakita account")
    monitoring = MonitoringController(panel, client_factory=account_client,
                                      interval=settings.get(Key.MONITORING_INTERVAL))
    panel.interval_changed.connect(lambda seconds: settings.set(Key.MONITORING_INTERVAL, seconds))
    # Held here: the loop keeps only a weak reference to a task nobody awaits.
    refreshes: set[asyncio.Task[None]] = set()

    def on_account_token_changed() -> None:
        task = asyncio.ensure_future(monitoring.credentials_changed())
        refreshes.add(task)
        task.add_done_callback(refreshes.discard)

    controller.account_token_changed.connect(on_account_token_changed)
    window.show_welcome(not settings.get_bool(Key.WELCOME_SEEN))
    window.welcome_dismissed.connect(lambda: settings.set(Key.WELCOME_SEEN, True))
    instance_server = _listen_for_second_instances(window)

    closed = asyncio.Event()
    window.closing.connect(closed.set)
    window.show()
    controller.start()
    monitoring.start()
    _schedule_smoke_hooks(window)
    await closed.wait()
    window.hide()
    instance_server.close()
    await monitoring.stop()
    await controller.shutdown()


# --- single instance -----------------------------------------------------------


def _instance_name() -> str:
    """One name per user and config dir: a test with its own config dir gets its own."""
    from dictation_app.settings import config_dir

    digest = hashlib.sha256(str(config_dir()).encode()).hexdigest()[:16]
    return f"dictation-app-{digest}"


def _raise_running_instance() -> bool:
    """Ask a running instance to raise its window; True if one answered."""
    socket = QLocalSocket()
    socket.connectToServer(_instance_name())
    if not socket.waitForConnected(300):
        return False
    socket.write(QByteArray(_RAISE))
    socket.waitForBytesWritten(300)
    socket.disconnectFromServer()
    return True


def _listen_for_second_instances(window: object) -> QLocalServer:
    server = QLocalServer()
    name = _instance_name()
    if not server.listen(name):
        # A crashed run leaves its socket file behind; nobody answered on it above.
        QLocalServer.removeServer(name)
        if not server.listen(name):
            log.warning("single-instance socket unavailable: %s", server.errorString())

    def on_connection() -> None:
        while (client := server.nextPendingConnection()) is not None:
            client.readyRead.connect(lambda c=client: _on_instance_message(c, window))
            client.disconnected.connect(client.deleteLater)

    server.newConnection.connect(on_connection)
    return server


def _on_instance_message(client: QLocalSocket, window: object) -> None:
    if bytes(client.readAll().data()).startswith(_RAISE.strip()):
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QWidget

        assert isinstance(window, QWidget)
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
        window.show()
        window.raise_()
        window.activateWindow()


# --- smoke-test hooks ----------------------------------------------------------


def _schedule_smoke_hooks(window: object) -> None:
    path = os.environ.get(SCREENSHOT_ENV)
    exit_after = os.environ.get(EXIT_AFTER_SHOWN_ENV) == "1"
    if not path and not exit_after:
        return
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)

    def shown() -> None:
        if path:
            window.grab().save(path)
        if exit_after:
            window.close()

    # After the event loop has painted the window once.
    QTimer.singleShot(0, shown)
