"""The main window: controls on top, the live transcript in the middle, a side panel.

The window is passive (see STYLE.md): it emits intents (``record_requested``,
``device_selected``, ...) and offers update methods (``set_status``, ``add_final``,
...) for a controller to call. It handles only what never leaves the window: copying
the transcript, clearing it, push-to-talk key tracking, opening dialogs.

Its parts live beside it: the control bar (``control_bar``), the transcript pane
(``transcript_pane``), the status line (``status_line``), the menus
(``window_actions``), the push-to-talk key (``push_to_talk``) and file drops
(``file_drops``). The window wires them together and re-emits their intents.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dictation_app.audio.devices import InputDevice
from dictation_app.core.text.formatter import Formatted
from dictation_app.ui.about_dialog import AboutDialog, EngineCredit
from dictation_app.ui.control_bar import NO_MICROPHONE, ControlBar
from dictation_app.ui.dictation_overlay import DictationOverlay
from dictation_app.ui.file_drops import accept_file_drag, has_local_urls, take_file_drop
from dictation_app.ui.help_dialog import HOW_TO_TAB, SHORTCUTS_TAB, HelpDialog
from dictation_app.ui.jobs_panel import JobsPanel
from dictation_app.ui.push_to_talk import KEY_EVENTS, PushToTalkKey
from dictation_app.ui.settings_dialog import SettingsDialog, SettingsValues
from dictation_app.ui.status_line import STATUS_COLOURS, StatusLine
from dictation_app.ui.transcript_pane import (
    COPIED_MESSAGE_MS,
    UNDO_CLEAR_OFFER_MS,
    TranscriptPane,
)
from dictation_app.ui.transcript_view import TranscriptView
from dictation_app.ui.tray_icon import TrayIcon
from dictation_app.ui.window_actions import WindowActions

__all__ = [
    "COPIED_MESSAGE_MS",
    "NO_MICROPHONE",
    "STATUS_COLOURS",
    "UNDO_CLEAR_OFFER_MS",
    "MainWindow",
]

# What closing the window does while a tray icon is there (Key.CLOSE_TO_TRAY's values).
CLOSE_ASK, CLOSE_TO_TRAY, CLOSE_QUITS = "", "tray", "quit"

_STYLE = """
QWidget#controlBar { border-bottom: 1px solid palette(mid); }
QPushButton#recordButton {
    font-size: 11pt; font-weight: 600; padding: 7px 20px; min-width: 110px;
    border-radius: 5px; border: 1px solid palette(mid); background: palette(button);
}
QPushButton#recordButton:hover { border-color: #c62828; }
QPushButton#recordButton:disabled { color: palette(mid); }
QPushButton#recordButton[recording="true"] {
    background: #c62828; color: white; border: 1px solid #a31f1f;
}
QPushButton#recordButton[recording="true"]:hover { background: #b02323; }
QLabel#statusText[kind="error"] { color: #b3261e; }
"""

_DRAG_EVENTS = frozenset((QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop))


class MainWindow(QMainWindow):
    """The dictation window. Signals are intents; methods named ``set_*``/``show_*`` update it."""

    record_requested = Signal()
    stop_requested = Signal()
    push_to_talk_pressed = Signal()
    push_to_talk_released = Signal()
    device_selected = Signal(str)  # the InputDevice.id picked
    devices_refresh_requested = Signal()
    provider_selected = Signal(str)
    settings_requested = Signal()
    settings_saved = Signal(object)  # SettingsValues
    sign_in_requested = Signal(str, str)  # email, password: from the settings dialog
    welcome_dismissed = Signal()
    closing = Signal()
    # Close asked for while a take runs: the window stays until the take has ended (its
    # queued audio sent, its last final in) and closes then; asked again, it closes now.
    close_deferred = Signal()
    # File transcription. The window re-emits its jobs panel's two signals of the same
    # name, so connecting the window's covers the Add files button and drops on the panel.
    open_files_requested = Signal()
    files_dropped = Signal(list)  # list[Path]: regular files dropped anywhere on the window
    save_transcript_requested = Signal()  # File ▸ Save transcript…
    services_requested = Signal()  # the file-transcription services' accounts
    log_folder_requested = Signal()  # Help ▸ Open log folder
    status_action_requested = Signal()  # the button beside the status text was pressed
    # The close question answered with "Don't ask again" ticked: CLOSE_TO_TRAY or CLOSE_QUITS.
    close_policy_chosen = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, jobs_panel: JobsPanel | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dictation")
        self.jobs_panel = jobs_panel if jobs_panel is not None else JobsPanel()
        self.setAcceptDrops(True)
        self.resize(1100, 720)
        self.setStyleSheet(_STYLE)

        self._push_to_talk = PushToTalkKey(self)
        self._push_to_talk.pressed.connect(self.push_to_talk_pressed)
        self._push_to_talk.released.connect(self.push_to_talk_released)
        self._settings_dialog: SettingsDialog | None = None
        self._about_dialog: AboutDialog | None = None
        self._about_engines: tuple[EngineCredit, ...] = ()
        self._recording = False
        self._closing_after_take = False
        self._finishing_skipped = False
        # The take at a glance over other apps, while finals are typed into them.
        self.overlay = DictationOverlay()
        self._overlay_enabled = False
        # The tray icon, when the desktop has a tray: it mirrors the state like the
        # overlay does, and closing the window can leave the app running in it.
        self.tray: TrayIcon | None = None
        self._close_policy = CLOSE_ASK
        self._quit_requested = False
        self._close_question: QMessageBox | None = None

        self._build_actions()
        self.setCentralWidget(self._build_central())
        self._status_line = StatusLine(self.statusBar())
        self.status_icon = self._status_line.status_icon
        self.status_label = self._status_line.status_label
        self.push_to_talk_label = self._status_line.push_to_talk_label
        self.status_action_button = self._status_line.action_button
        self.status_action_button.clicked.connect(self.status_action_requested)
        self.set_devices([], None)
        self.set_status("idle", "Ready")
        self.set_recording(False)
        self.set_push_to_talk_key("F9")
        # Never narrower than the control bar needs, so the Record button is never clipped.
        self.setMinimumSize(self.minimumSizeHint().expandedTo(QSize(720, 480)))

        app = QApplication.instance()
        if app is not None:
            # Key events go to the focused widget; filtering at the application lets
            # push-to-talk work wherever the focus is in this window (editor included).
            app.installEventFilter(self)

    # ------------------------------------------------------------------ building

    def _build_actions(self) -> None:
        actions = WindowActions(self)
        self.record_action = actions.record
        self.transcribe_files_action = actions.transcribe_files
        self.services_action = actions.services
        self.save_transcript_action = actions.save_transcript
        self.quit_action = actions.quit
        self.copy_all_action = actions.copy_all
        self.clear_action = actions.clear
        self.undo_clear_action = actions.undo_clear
        self.settings_action = actions.settings
        self.about_action = actions.about
        self.how_to_action = actions.how_to
        self.shortcuts_action = actions.shortcuts_help
        self.log_folder_action = actions.log_folder
        self._actions = actions
        self._help_dialog: HelpDialog | None = None
        self.how_to_action.triggered.connect(lambda: self.show_help(HOW_TO_TAB))
        self.shortcuts_action.triggered.connect(lambda: self.show_help(SHORTCUTS_TAB))
        self.log_folder_action.triggered.connect(self.log_folder_requested.emit)
        self.transcribe_files_action.triggered.connect(self.open_files_requested.emit)
        self.services_action.triggered.connect(self.services_requested.emit)
        self.save_transcript_action.triggered.connect(self.save_transcript_requested.emit)
        self.quit_action.triggered.connect(self.quit)
        self.copy_all_action.triggered.connect(self.copy_all)
        self.clear_action.triggered.connect(self.clear_transcript)
        self.undo_clear_action.triggered.connect(self.undo_clear)
        self.settings_action.triggered.connect(self.settings_requested.emit)
        self.about_action.triggered.connect(self._on_about_action_triggered)
        actions.fill_menu_bar(self.menuBar())

    def _build_central(self) -> QWidget:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_control_bar())

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("mainSplitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_transcript_pane())
        self.side_panel = QTabWidget()
        self.side_panel.setObjectName("sidePanel")
        self.side_panel.setMinimumWidth(220)
        self.side_panel.setDocumentMode(True)
        self.jobs_panel.open_files_requested.connect(self.open_files_requested)
        self.jobs_panel.files_dropped.connect(self.files_dropped)
        self.side_panel.addTab(self.jobs_panel, "Files")
        splitter.addWidget(self.side_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([800, 280])
        layout.addWidget(splitter, 1)
        return central

    def _build_control_bar(self) -> ControlBar:
        bar = ControlBar()
        bar.record_requested.connect(self.record_requested)
        bar.stop_requested.connect(self.stop_requested)
        bar.device_selected.connect(self.device_selected)
        bar.devices_refresh_requested.connect(self.devices_refresh_requested)
        bar.provider_selected.connect(self.provider_selected)
        self.record_action.triggered.connect(bar.toggle_recording)
        self.control_bar = bar
        self.provider_combo = bar.provider_combo
        self.device_combo = bar.device_combo
        self.refresh_button = bar.refresh_button
        self.level_meter = bar.level_meter
        self.record_button = bar.record_button
        return bar

    def _build_transcript_pane(self) -> TranscriptPane:
        pane = TranscriptPane()
        pane.welcome_dismissed.connect(self.welcome_dismissed)
        pane.message_posted.connect(self.statusBar().showMessage)
        pane.undo_clear_available.connect(self.undo_clear_action.setEnabled)
        self.transcript_pane = pane
        self.welcome_banner = pane.welcome_banner
        self.clear_button = pane.clear_button
        self.copy_button = pane.copy_button
        return pane

    # ------------------------------------------------------------------ updates

    @property
    def transcript(self) -> TranscriptView:
        return self.transcript_pane.transcript

    def set_devices(self, devices: Sequence[InputDevice], selected: str | None) -> None:
        """List the microphones; ``selected`` is the ``InputDevice.id`` in use or None."""
        self.control_bar.set_devices(devices, selected)

    def set_level(self, peak: float, rms: float) -> None:
        self.control_bar.set_level(peak, rms)
        self.overlay.set_level(peak, rms)

    def set_recording(self, recording: bool) -> None:
        """Switch the Record button between Record and Stop."""
        self._recording = recording
        self.record_action.setText("Stop recording" if recording else "Start recording")
        self.control_bar.set_recording(recording)
        self._show_overlay()
        if self.tray is not None:
            self.tray.set_recording(recording)
        if not recording and self._closing_after_take:
            QTimer.singleShot(0, self.close)  # the take has ended: close, as asked

    @property
    def finishing_skipped(self) -> bool:
        """Whether the person closed again rather than wait for the take to finish."""
        return self._finishing_skipped

    def set_busy(self, busy: bool) -> None:
        """While busy (e.g. connecting) Record/Stop is unavailable."""
        self.control_bar.set_busy(busy)
        self.record_action.setEnabled(not busy)
        if self.tray is not None:
            self.tray.set_record_enabled(not busy)

    def set_status(self, kind: str, text: str, *, action: str = "") -> None:
        """Show the state of the pipeline; ``kind`` picks the colour, errors show in full.
        ``action`` labels a button beside it (``status_action_requested``); "" hides it."""
        self._status_line.set_status(kind, text, action=action)
        self.overlay.set_state(kind, text)
        if self.tray is not None:
            self.tray.set_state(kind, text)

    @property
    def status_kind(self) -> str:
        return self._status_line.kind

    @property
    def status_text(self) -> str:
        return self.status_label.text()

    def set_providers(self, providers: Sequence[tuple[str, str]], current: str) -> None:
        """List the recognizers as (id, label) pairs and select ``current``."""
        self.control_bar.set_providers(providers, current)

    def set_push_to_talk_key(self, sequence: str) -> None:
        """The key to hold for push-to-talk, as a QKeySequence string ("F9"); "" turns it off."""
        shown = self._push_to_talk.set_key(sequence)
        self._status_line.set_push_to_talk_key(shown)
        self.transcript_pane.set_push_to_talk_key(shown)

    def set_toggle_key(self, sequence: str) -> None:
        """A key that starts and stops a take, beside Ctrl+R ("" for none)."""
        keys = [QKeySequence("Ctrl+R")]
        if sequence and QKeySequence(sequence) != keys[0]:
            keys.append(QKeySequence(sequence))
        self.record_action.setShortcuts(keys)

    def show_settings(self, values: SettingsValues) -> None:
        """Open the settings dialog (window-modal, without a nested event loop)."""
        if self._settings_dialog is not None:
            self._settings_dialog.raise_()
            self._settings_dialog.activateWindow()
            return
        dialog = SettingsDialog(values, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.settings_saved.connect(self.settings_saved.emit)
        dialog.sign_in_requested.connect(self.sign_in_requested.emit)
        dialog.services_requested.connect(self.services_requested.emit)
        dialog.finished.connect(self._on_settings_dialog_finished)
        self._settings_dialog = dialog
        dialog.open()

    @property
    def settings_dialog(self) -> SettingsDialog | None:
        """The open settings dialog, if any."""
        return self._settings_dialog

    def show_welcome(self, visible: bool) -> None:
        """Show or hide the first-run welcome above the transcript."""
        self.welcome_banner.setVisible(visible)

    @property
    def about_dialog(self) -> AboutDialog | None:
        """The open About dialog, if any."""
        return self._about_dialog

    def set_about_engines(self, engines: Sequence[EngineCredit]) -> None:
        """The offline engines Help ▸ About names and credits."""
        self._about_engines = tuple(engines)

    def show_partial(self, text: str, separator: str | None = None) -> None:
        self.transcript.show_partial(text, separator)
        self.overlay.show_partial(text)

    def add_final(self, text: str | Formatted, *, engine_note: str = "") -> None:
        """A plain utterance, or a take formatter's `Formatted` applied exactly; with
        `engine_note`, marked as another engine's words (failover)."""
        self.transcript.add_final(text, engine_note=engine_note)
        self.overlay.show_final(text.text if isinstance(text, Formatted) else text)

    def set_overlay_enabled(self, enabled: bool) -> None:
        """Whether the overlay shows while a take runs (for output mode "type", where
        the person looks at another app, not at this window)."""
        self._overlay_enabled = enabled
        self._show_overlay()

    @property
    def overlay_enabled(self) -> bool:
        return self._overlay_enabled

    def set_tray(self, tray: TrayIcon | None) -> None:
        """The tray icon to keep in step with the take (None: the desktop has no tray,
        and closing the window quits)."""
        self.tray = tray
        if tray is not None:
            tray.set_state(self.status_kind, self.status_text)
            tray.set_recording(self._recording)
            tray.set_record_enabled(self.record_action.isEnabled())

    def set_close_policy(self, policy: str) -> None:
        """What closing the window does while there is a tray: CLOSE_ASK (the first
        time), CLOSE_TO_TRAY (hide; the app keeps running) or CLOSE_QUITS."""
        self._close_policy = policy if policy in (CLOSE_TO_TRAY, CLOSE_QUITS) else CLOSE_ASK

    @property
    def close_policy(self) -> str:
        return self._close_policy

    @property
    def close_question(self) -> QMessageBox | None:
        """The open "Keep Dictation running in the tray?" question, if any."""
        return self._close_question

    def quit(self) -> None:
        """Quit for real (File ▸ Quit, Ctrl+Q, the tray's Quit), the tray notwithstanding;
        a take in progress is finished first, as when closing."""
        self._quit_requested = True
        self.close()

    def show_from_tray(self) -> None:
        """Bring the window back (hidden in the tray, minimized or behind others)."""
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

    def begin_take(self, heading: str = "") -> None:
        """A new take's paragraph, under its heading (the time it started) if given."""
        self.transcript.begin_take(heading)

    # ------------------------------------------------------------------ window-only actions

    def copy_all(self) -> None:
        """Put the whole transcript (without the grey guess) on the clipboard."""
        self.transcript_pane.copy_all()

    def clear_transcript(self) -> None:
        """Empty the transcript; the Clear button offers "Undo clear" for a few seconds."""
        self.transcript_pane.clear_transcript()

    def undo_clear(self) -> None:
        self.transcript_pane.undo_clear()

    # ------------------------------------------------------------------ events

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in _DRAG_EVENTS:
            return self._filter_drag(watched, event)
        if kind not in KEY_EVENTS or self._push_to_talk.is_off:
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self:
            return False
        assert isinstance(event, QKeyEvent)
        return self._push_to_talk.handle(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        accept_file_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        accept_file_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = take_file_drop(
            event, lambda text: self.statusBar().showMessage(text, UNDO_CLEAR_OFFER_MS))
        if files:
            self.files_dropped.emit(files)

    def changeEvent(self, event: QEvent) -> None:
        # A key released in another window never reaches us: let go when focus leaves.
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self._push_to_talk.release()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._stays_in_tray():
            event.ignore()
            if self._close_policy == CLOSE_TO_TRAY:
                self._hide_to_tray()
            else:
                self._ask_close_to_tray()
            return
        if self._recording and not self._closing_after_take:
            self._closing_after_take = True
            event.ignore()
            self.close_deferred.emit()
            return
        self._finishing_skipped = self._recording
        self._push_to_talk.release()
        self.overlay.close()
        self.closing.emit()
        super().closeEvent(event)

    # ------------------------------------------------------------------ slots

    def _on_settings_dialog_finished(self) -> None:
        self._settings_dialog = None

    def _on_about_action_triggered(self) -> None:
        if self._about_dialog is not None:
            self._about_dialog.raise_()
            self._about_dialog.activateWindow()
            return
        dialog = AboutDialog(self, engines=self._about_engines)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._on_about_dialog_finished)
        self._about_dialog = dialog
        # show(), not open(): open() is window-modal, and nothing here needs to block
        # dictating while the dialog is up. Never exec(): no nested loop under qasync.
        dialog.show()

    def _on_about_dialog_finished(self) -> None:
        self._about_dialog = None

    def show_help(self, tab: int = HOW_TO_TAB) -> HelpDialog:
        """Help ▸ How to dictate or Keyboard shortcuts: one dialog, opened at `tab`."""
        dialog = self._help_dialog
        if dialog is None:
            dialog = HelpDialog(self, shortcuts=self._actions.shortcut_rows(),
                                push_to_talk=self._push_to_talk.key_text)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.finished.connect(self._on_help_dialog_finished)
            self._help_dialog = dialog
        dialog.tabs.setCurrentIndex(tab)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _on_help_dialog_finished(self) -> None:
        self._help_dialog = None

    # ------------------------------------------------------------------ helpers

    def _stays_in_tray(self) -> bool:
        quitting = self._quit_requested or self._closing_after_take
        return self.tray is not None and not quitting and self._close_policy != CLOSE_QUITS

    def _hide_to_tray(self) -> None:
        # The take, the system-wide keys and the overlay go on; only the window goes.
        self._push_to_talk.release()
        self.hide()

    def _ask_close_to_tray(self) -> None:
        if self._close_question is not None:
            self._close_question.raise_()
            self._close_question.activateWindow()
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Close Dictation",
                          "Keep Dictation running in the tray?", parent=self)
        box.setObjectName("closeToTrayQuestion")
        box.setInformativeText(
            "It keeps listening for your dictation keys, and its tray icon shows when it "
            "hears you. Quit from the tray icon's menu or with Ctrl+Q.")
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
        keep.setObjectName("keepRunningButton")
        quit_button = box.addButton("Quit", QMessageBox.ButtonRole.DestructiveRole)
        quit_button.setObjectName("quitButton")
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        remember = QCheckBox("Don't ask again")
        remember.setChecked(True)
        box.setCheckBox(remember)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered() -> None:
            self._close_question = None
            clicked = box.clickedButton()
            policy = (CLOSE_TO_TRAY if clicked is keep
                      else CLOSE_QUITS if clicked is quit_button else None)
            if policy is None:
                return  # Cancel or Escape: the window stays, and the question is kept
            if remember.isChecked():
                self._close_policy = policy
                self.close_policy_chosen.emit(policy)
            if policy == CLOSE_TO_TRAY:
                self._hide_to_tray()
            else:
                self.quit()

        box.finished.connect(answered)
        self._close_question = box
        # open(), never exec(): no nested event loop under qasync.
        box.open()

    def _show_overlay(self) -> None:
        wanted = self._overlay_enabled and self._recording
        if wanted and not self.overlay.isVisible():
            self.overlay.clear()  # no words or level left over from the last take
            self.overlay.show()
        elif not wanted:
            self.overlay.hide()

    def _filter_drag(self, watched: QObject, event: QEvent) -> bool:
        # Files dropped on a child (the transcript editor would paste their paths as
        # text) are the window's; the jobs panel handles its own, the window its own.
        if not isinstance(watched, QWidget) or watched is self or watched.window() is not self:
            return False
        if watched is self.jobs_panel or self.jobs_panel.isAncestorOf(watched):
            return False
        if not isinstance(event, QDropEvent) or not has_local_urls(event.mimeData()):
            return False  # text dragged within the editor stays the editor's
        if event.type() == QEvent.Type.Drop:
            self.dropEvent(event)
        else:
            event.acceptProposedAction()
        return True
