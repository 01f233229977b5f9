"""The composition root: builds the Qt application, event loop, settings, secrets,
controller and window, wires them together and runs until the window closes.

Two environment hooks serve the bundle's smoke test and the start-up benchmark:
`DICTATION_APP_SCREENSHOT=PATH` saves a picture of the main window once it is shown,
and `DICTATION_APP_EXIT_AFTER_SHOWN=1` then closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication

from dictation_app import __version__
from dictation_app.core.errors import RemoteProtocolError
from dictation_app.core.resources import APP_ID, app_icon_files
from dictation_app.protocols.app_command import (
    COMMAND_START,
    MAX_COMMAND_BYTES,
    CommandReply,
    RecordCommand,
    encode_reply,
    parse_command,
)
from dictation_app.ui.gc_pin import GuiThreadCollector

if TYPE_CHECKING:
    from dictation_app.controllers.desktop_controller import DesktopController
    from dictation_app.controllers.dictation_controller import DictationController
    from dictation_app.controllers.monitoring_controller import MonitoringController
    from dictation_app.core.settings import Settings
    from dictation_app.jobs.store import JobStore
    from dictation_app.takes.store import TakeStore
    from dictation_app.ui.about_dialog import EngineCredit
    from dictation_app.ui.main_window import MainWindow
    from dictation_app.ui.monitoring_panel import MonitoringPanel
    from dictation_app.ui.tray_icon import TrayIcon

log = logging.getLogger(__name__)

SCREENSHOT_ENV = "DICTATION_APP_SCREENSHOT"
EXIT_AFTER_SHOWN_ENV = "DICTATION_APP_EXIT_AFTER_SHOWN"
_RAISE = b"raise\n"
_OPEN = b"open\n"  # followed by one absolute path per line


def run_gui(files: Sequence[Path] = (), *, output: str | None = None) -> int:
    """Open the window; `files` (from the desktop's "Open with") become transcription jobs;
    `output` ("window", "type" or "paste"), if given, is where finals go for this run."""
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

    files = [Path(f).resolve() for f in files]
    if _raise_running_instance(files):
        what = "passed it the files" if files else "raised its window"
        print(f"dictation-app is already running: {what}.", file=sys.stderr)
        return 0
    from dictation_app.core.log_file import install_log_file

    install_log_file()
    collector = GuiThreadCollector(parent=app)
    collector.start()
    try:
        with contextlib.suppress(asyncio.CancelledError):
            qasync.run(_main(app, files, output=output))
    finally:
        collector.stop()
    return 0


async def _main(app: QApplication, files: Sequence[Path] = (), *,
                output: str | None = None) -> None:
    from dictation_app.audio.files import check_file
    from dictation_app.controllers.dictation_controller import DictationController
    from dictation_app.controllers.history_controller import HistoryController
    from dictation_app.controllers.jobs_controller import JobsController
    from dictation_app.controllers.messages import window_message
    from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
    from dictation_app.core.settings import MAX_JOBS_AT_ONCE, Key, Settings
    from dictation_app.jobs.runner import JobRunner
    from dictation_app.services import registry
    from dictation_app.services.factory import ServiceFactory
    from dictation_app.takes.journal import TakeJournal
    from dictation_app.ui.history_panel import HistoryPanel
    from dictation_app.ui.main_window import MainWindow

    settings = Settings()
    secrets = SecretStore()
    window = MainWindow()
    window.set_about_engines(about_engines())
    takes, takes_problem = _open_take_store()
    journal = TakeJournal(takes, keep_recordings=settings.get_bool(Key.KEEP_RECORDINGS))
    controller = DictationController(window, settings, secrets, journal=journal)
    if takes_problem:
        controller.note_history_problem(takes_problem)
    desktop = build_desktop(window, controller, settings, output=output)
    tray = build_tray(window, controller, settings, desktop)

    panel, monitoring = build_account_tab(window, controller, settings)

    store, store_problem = _open_job_store()
    factory = ServiceFactory(settings, secrets)
    at_once = min(MAX_JOBS_AT_ONCE, max(1, int(settings.get(Key.JOBS_AT_ONCE))))
    runner = JobRunner(store, factory, at_once=at_once, labels=registry.LABELS,
                       explain=window_message, check=check_file)
    jobs = JobsController(window, runner, store, settings, secrets, factory)
    controller.account_token_changed.connect(lambda: jobs.secret_changed(BAHASAKITA_TOKEN))
    jobs.link_monitoring(panel, refresh=monitoring.on_panel_refresh_requested)
    history_panel = HistoryPanel()
    window.side_panel.insertTab(1, history_panel, "History")  # beside Files
    history = HistoryController(window, history_panel, takes, settings,
                                transcribe_files=jobs.add_files)
    controller.takes_changed.connect(history.refresh)
    controller.transcribe_recording_requested.connect(lambda path: jobs.add_files([path]))
    window.show_welcome(not settings.get_bool(Key.WELCOME_SEEN))
    window.welcome_dismissed.connect(lambda: settings.set(Key.WELCOME_SEEN, True))
    window.log_folder_requested.connect(_open_log_folder)
    instance_server = _listen_for_second_instances(window, jobs.add_files,
                                                   controller.answer_record_command)

    closed = asyncio.Event()
    window.closing.connect(closed.set)
    window.show()
    history.start()
    controller.start()
    desktop.start()
    monitoring.start()
    jobs.start()
    if store_problem:
        window.jobs_panel.show_message(store_problem, error=True)
    if files:
        jobs.add_files(files)
    _schedule_smoke_hooks(window)
    await closed.wait()
    window.hide()
    if tray is not None:
        tray.hide()
    instance_server.close()
    desktop.shutdown()
    await monitoring.stop()
    await jobs.shutdown()
    store.close()
    if store_problem:
        shutil.rmtree(store.path.parent, ignore_errors=True)
    await controller.shutdown()
    await history.shutdown()
    takes.close()
    if takes_problem:
        shutil.rmtree(takes.path.parent, ignore_errors=True)


def build_account_tab(window: MainWindow, controller: DictationController, settings: Settings,
                      *, interval: float | None = None, backoff_cap: float | None = None
                      ) -> tuple[MonitoringPanel, MonitoringController]:
    """The "Bahasakita account" side tab and the controller that feeds it, wired to the
    account (its token and address, from Settings) and to Sign in…; the caller starts
    and stops the controller. `interval` and `backoff_cap` (seconds) override the
    setting and the 5-minute cap, for tests."""
    from dictation_app.controllers.monitoring_controller import (
        BACKOFF_CAP,
        MonitoringController,
    )
    from dictation_app.core.settings import Key
    from dictation_app.ui.monitoring_panel import MonitoringPanel

    panel = MonitoringPanel()
    window.side_panel.addTab(panel, "Bahasakita account")
    monitoring = MonitoringController(
        panel, client_factory=controller.account.monitoring_client,
        interval=settings.get(Key.MONITORING_INTERVAL) if interval is None else interval,
        backoff_cap=BACKOFF_CAP if backoff_cap is None else backoff_cap)
    panel.interval_changed.connect(lambda seconds: settings.set(Key.MONITORING_INTERVAL, seconds))
    panel.sign_in_requested.connect(controller.open_sign_in)
    controller.account_token_changed.connect(monitoring.on_account_changed)
    controller.account_address_changed.connect(monitoring.on_account_changed)
    return panel, monitoring


def about_engines() -> list[EngineCredit]:
    """Help ▸ About's engine lines and licence rows, one per engine in the registry."""
    from dictation_app.engine.registry import engines
    from dictation_app.ui.about_dialog import Bundled, EngineCredit

    return [EngineCredit(e.product, e.model_note, Bundled(e.credit, e.licence, e.distributions))
            for e in engines()]


def _open_job_store() -> tuple[JobStore, str | None]:
    """The job list; when it cannot be opened, one for this session and the reason why."""
    from dictation_app.core.errors import ConfigurationError
    from dictation_app.jobs.store import JobStore
    from dictation_app.services import registry

    types = registry.options_types()  # each vendor's options come back typed
    try:
        return JobStore(options_types=types), None
    except ConfigurationError as exc:
        log.error("job list unavailable: %s", exc)
        session = Path(tempfile.mkdtemp(prefix="dictation-jobs-")) / "jobs.sqlite3"
        return JobStore(session, options_types=types), (
            f"{exc} Until then, new jobs are kept for this session only.")


def _open_take_store() -> tuple[TakeStore, str | None]:
    """The take history; when it cannot be opened, one for this session and the reason."""
    from dictation_app.core.errors import ConfigurationError
    from dictation_app.takes.store import TakeStore

    try:
        return TakeStore(), None
    except ConfigurationError as exc:
        log.error("take history unavailable: %s", exc)
        session = Path(tempfile.mkdtemp(prefix="dictation-takes-")) / "takes.sqlite3"
        return TakeStore(session), (
            f"{exc} Until then, takes are kept for this session only.")


def build_desktop(window: MainWindow, controller: DictationController, settings: Settings,
                  *, output: str | None = None,
                  environ: Mapping[str, str] | None = None) -> DesktopController:
    """The system-wide keys and typing into other apps, wired to the take's intents and
    finals; Preferences shows what works here and applies a change at once."""
    from dictation_app.controllers.desktop_controller import DesktopController

    desktop = DesktopController(
        settings, hold_started=controller.hold_started, hold_ended=controller.hold_ended,
        toggle=controller.toggle_take, environ=environ, output=output,
        show_problem=lambda message: window.set_status("error", message),
        set_overlay=window.set_overlay_enabled)
    controller.take_began.connect(desktop.on_take_began)
    controller.text_settled.connect(desktop.on_text_settled)

    def on_settings_requested() -> None:  # after the controller opened the dialog
        dialog = window.settings_dialog
        if dialog is not None:
            dialog.set_desktop_notes(desktop.key_note, desktop.output_note)

    window.settings_requested.connect(on_settings_requested)
    window.settings_saved.connect(lambda _values: desktop.apply_settings())
    return desktop


def build_tray(window: MainWindow, controller: DictationController, settings: Settings,
               desktop: DesktopController, *, available: bool | None = None
               ) -> TrayIcon | None:
    """The tray icon, wired to the take and the output mode; None where the desktop has
    no tray (`available`, for tests: whether to act as if it had one), and closing the
    window then quits as it always did."""
    from PySide6.QtWidgets import QSystemTrayIcon

    from dictation_app.core.settings import Key
    from dictation_app.ui.tray_icon import TrayIcon

    if available is None:
        available = QSystemTrayIcon.isSystemTrayAvailable()
    if not available:
        return None
    tray = TrayIcon()
    window.set_tray(tray)
    window.set_close_policy(settings.get_str(Key.CLOSE_TO_TRAY))
    window.close_policy_chosen.connect(lambda policy: settings.set(Key.CLOSE_TO_TRAY, policy))
    tray.set_output_mode(desktop.output_mode)

    def on_output_mode_chosen(mode: str) -> None:
        settings.set(Key.OUTPUT_MODE, mode)
        desktop.apply_settings()
        # `--output` at launch still wins for this run: the tick says what happens.
        tray.set_output_mode(desktop.output_mode)

    tray.record_toggled.connect(controller.toggle_take)
    tray.output_mode_chosen.connect(on_output_mode_chosen)
    tray.show_window_requested.connect(window.show_from_tray)
    tray.quit_requested.connect(window.quit)
    window.settings_saved.connect(lambda _values: tray.set_output_mode(desktop.output_mode))
    tray.show()
    return tray


def _open_log_folder() -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    from dictation_app.core.log_file import log_dir

    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        log.warning("no file manager opened %s", folder)


# --- single instance -----------------------------------------------------------
# One local socket per user and config dir (core/instance.py). A second window hands
# its files over on it (raise/open, complete on disconnect); `dictation-app record`
# sends a command line and reads the answer (protocols/app_command.py). Anyone of this
# user may connect and send anything: every message is capped, every connection has a
# deadline, and what is not understood is answered or dropped, never raised.

_MAX_OPEN_BYTES = 1 << 20  # "open\n" and its paths: thousands of files
_CONNECTION_DEADLINE_MS = 10_000  # a client that sends nothing, or never ends, is cut off

RunCommand = Callable[[RecordCommand], CommandReply]


def _instance_name() -> str:
    from dictation_app.core.instance import instance_name

    return instance_name()


def _raise_running_instance(files: Sequence[Path] = ()) -> bool:
    """Ask a running instance to raise its window (and take `files`); True if one answered."""
    socket = QLocalSocket()
    socket.connectToServer(_instance_name())
    if not socket.waitForConnected(300):
        return False
    message = _RAISE
    if files:
        message = _OPEN + b"".join(os.fsencode(f) + b"\n" for f in files)
    socket.write(QByteArray(message))
    socket.waitForBytesWritten(1000)
    socket.disconnectFromServer()
    if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(1000)
    return True


def _listen_for_second_instances(window: object,
                                 open_files: Callable[[list[Path]], object],
                                 run_command: RunCommand | None = None) -> QLocalServer:
    """Listen on the instance socket: raise the window, open files, answer commands."""
    server = QLocalServer()
    # Only this user may connect: a message opens files and starts uploads.
    server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
    name = _instance_name()
    if not server.listen(name):
        # A crashed run leaves its socket file behind; nobody answered on it above.
        QLocalServer.removeServer(name)
        if not server.listen(name):
            log.warning("single-instance socket unavailable: %s", server.errorString())

    def on_connection() -> None:
        while (client := server.nextPendingConnection()) is not None:
            _InstanceConnection(client, window, open_files, run_command)

    server.newConnection.connect(on_connection)
    return server


class _InstanceConnection:
    """One client of the instance socket, from its first byte to its disconnect."""

    def __init__(self, client: QLocalSocket, window: object,
                 open_files: Callable[[list[Path]], object],
                 run_command: RunCommand | None) -> None:
        self.client = client
        self.window = window
        self.open_files = open_files
        self.run_command = run_command
        self.received = bytearray()
        self.finished = False  # answered, refused or cut off: nothing more is read
        deadline = QTimer(client)
        deadline.setSingleShot(True)
        deadline.timeout.connect(self.on_deadline)
        deadline.start(_CONNECTION_DEADLINE_MS)
        # Lambdas, held by the connections (and so is this object) until the socket goes.
        client.readyRead.connect(lambda: self.on_ready_read())
        client.disconnected.connect(lambda: self.on_disconnected())

    def on_ready_read(self) -> None:
        data = bytes(self.client.readAll().data())
        if self.finished:
            return
        self.received += data
        if self.received.startswith(COMMAND_START):
            newline = self.received.find(b"\n")
            if newline == -1 and len(self.received) < MAX_COMMAND_BYTES:
                return  # the rest of the line is on its way
            line = bytes(self.received if newline == -1 else self.received[:newline])
            self.answer(self.command_reply(line))
        elif not _could_be_hand_over(self.received):
            log.warning("ignored a malformed message on the instance socket")
            self.answer(CommandReply(False, error="Not a message dictation-app understands."))
        elif len(self.received) > _MAX_OPEN_BYTES:
            log.warning("ignored a message of over %d bytes on the instance socket",
                        _MAX_OPEN_BYTES)
            self.cut_off()

    def command_reply(self, line: bytes) -> CommandReply:
        try:
            command = parse_command(line)
        except RemoteProtocolError as exc:
            return CommandReply(False, error=str(exc))
        if self.run_command is None:
            return CommandReply(False, error="This window takes no commands.")
        try:
            return self.run_command(command)
        except Exception:  # a bug must not take the window down with it
            log.exception("command %s failed", command)
            return CommandReply(False, error="dictation-app could not carry out the "
                                             "command; its log says why.")

    def answer(self, reply: CommandReply) -> None:
        self.finished = True
        self.client.write(QByteArray(encode_reply(reply)))
        self.client.disconnectFromServer()  # once the answer is written

    def cut_off(self) -> None:
        self.finished = True
        self.client.abort()

    def on_deadline(self) -> None:
        if not self.finished:
            log.warning("cut off a client of the instance socket that did not finish "
                        "its message in time")
            self.cut_off()

    def on_disconnected(self) -> None:
        if not self.finished:
            self.finished = True
            self.received += bytes(self.client.readAll().data())
            # A command always ends in its answer; what ends here is a hand-over.
            if not self.received.startswith(COMMAND_START):
                try:
                    _on_instance_message(bytes(self.received), self.window, self.open_files)
                except Exception:
                    log.exception("could not act on a second instance's message")
        self.client.deleteLater()


def _could_be_hand_over(received: bytes | bytearray) -> bool:
    """Whether `received` is, or may yet become, a raise or open message."""
    return any(received[:len(word)] == word[:len(received)] for word in (_RAISE, _OPEN))


def _on_instance_message(message: bytes, window: object,
                         open_files: Callable[[list[Path]], object]) -> None:
    if not message.startswith((_RAISE, _OPEN)):
        log.warning("ignored a malformed message from a second instance")
        return
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
    if message.startswith(_OPEN):
        paths = [Path(os.fsdecode(line)) for line in message[len(_OPEN):].split(b"\n") if line]
        if paths:
            open_files(paths)


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
            # Quit, not close: with a tray, closing would ask whether to stay there.
            getattr(window, "quit", window.close)()

    # After the event loop has painted the window once.
    QTimer.singleShot(0, shown)
