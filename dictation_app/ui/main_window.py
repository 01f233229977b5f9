"""The main window: controls on top, the live transcript in the middle, a side panel.

The window is passive (see STYLE.md): it emits intents (``record_requested``,
``device_selected``, ...) and offers update methods (``set_status``, ``add_final``,
...) for a controller to call. It handles only what never leaves the window: copying
the transcript, clearing it, push-to-talk key tracking, opening dialogs.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
    QResizeEvent,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dictation_app.audio.devices import InputDevice
from dictation_app.ui.about_dialog import AboutDialog, EngineCredit
from dictation_app.ui.file_drops import accept_file_drag, has_local_urls, take_file_drop
from dictation_app.ui.jobs_panel import JobsPanel
from dictation_app.ui.level_meter import LevelMeter
from dictation_app.ui.settings_dialog import SettingsDialog, SettingsValues
from dictation_app.ui.transcript_view import TranscriptView
from dictation_app.ui.welcome_banner import WelcomeBanner

STATUS_COLOURS = {
    "idle": "#8a8f98",
    "starting": "#d99a1e",
    "connecting": "#d99a1e",
    "streaming": "#2e9d57",
    "stopped": "#8a8f98",
    "error": "#c62828",
}
NO_MICROPHONE = "No microphone found"
SYSTEM_DEFAULT = "System default"
COPIED_MESSAGE_MS = 2500
UNDO_CLEAR_OFFER_MS = 10_000

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


def _dot_icon(colour: str, size: int = 12, *, square: bool = False) -> QIcon:
    """A filled dot (or square), drawn at the screen's pixel ratio so it stays crisp."""
    screen = QGuiApplication.primaryScreen()
    ratio = screen.devicePixelRatio() if screen is not None else 1.0
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    if square:
        painter.drawRoundedRect(2, 2, size - 4, size - 4, 1.5, 1.5)
    else:
        painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class MainWindow(QMainWindow):
    """The dictation window. Signals are intents; methods named ``set_*``/``show_*`` update it."""

    record_requested = Signal()
    stop_requested = Signal()
    push_to_talk_pressed = Signal()
    push_to_talk_released = Signal()
    device_selected = Signal(object)  # InputDevice.index, or None for the system default
    devices_refresh_requested = Signal()
    provider_selected = Signal(str)
    settings_requested = Signal()
    settings_saved = Signal(object)  # SettingsValues
    sign_in_requested = Signal(str, str)  # email, password: from the settings dialog
    welcome_dismissed = Signal()
    closing = Signal()
    # File transcription. The window re-emits its jobs panel's two signals of the same
    # name, so connecting the window's covers the Add files button and drops on the panel.
    open_files_requested = Signal()
    files_dropped = Signal(list)  # list[Path]: regular files dropped anywhere on the window
    services_requested = Signal()  # the file-transcription services' accounts

    def __init__(
        self, parent: QWidget | None = None, *, jobs_panel: JobsPanel | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dictation")
        self.jobs_panel = jobs_panel if jobs_panel is not None else JobsPanel()
        self.setAcceptDrops(True)
        self.resize(1100, 720)
        self.setStyleSheet(_STYLE)

        self._recording = False
        self._busy = False
        self._selected_device: int | None = None
        self._current_provider = ""
        self._ptt_key: QKeySequence = QKeySequence()
        self._ptt_down = False
        self._settings_dialog: SettingsDialog | None = None
        self._about_dialog: AboutDialog | None = None
        self._about_engines: tuple[EngineCredit, ...] = ()
        self._status_kind = "idle"

        self._build_actions()
        self._build_menus()
        self.setCentralWidget(self._build_central())
        self._build_status_bar()
        self.set_devices([], None)
        self.set_status("idle", "Ready")
        self.set_recording(False)
        self.set_push_to_talk_key("F9")
        self._on_transcript_text_changed()
        # Never narrower than the control bar needs, so the Record button is never clipped.
        self.setMinimumSize(self.minimumSizeHint().expandedTo(QSize(720, 480)))

        app = QApplication.instance()
        if app is not None:
            # Key events go to the focused widget; filtering at the application lets
            # push-to-talk work wherever the focus is in this window (editor included).
            app.installEventFilter(self)

    # ------------------------------------------------------------------ building

    def _build_actions(self) -> None:
        self.record_action = QAction("Start recording", self)
        self.record_action.setShortcut(QKeySequence("Ctrl+R"))
        self.record_action.triggered.connect(self._on_record_button_clicked)

        self.transcribe_files_action = QAction("Transcribe files…", self)
        self.transcribe_files_action.setShortcut(QKeySequence("Ctrl+O"))
        self.transcribe_files_action.setStatusTip("Choose audio or video files to transcribe")
        self.transcribe_files_action.triggered.connect(self.open_files_requested.emit)

        self.services_action = QAction("File transcription services…", self)
        self.services_action.setStatusTip("Accounts for Botlhale, Nevisa and Bahasakita uploads")
        self.services_action.triggered.connect(self.services_requested.emit)

        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)

        self.copy_all_action = QAction("Copy all", self)
        self.copy_all_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_all_action.setStatusTip("Copy the whole transcript to the clipboard")
        self.copy_all_action.triggered.connect(self.copy_all)

        self.clear_action = QAction("Clear transcript", self)
        self.clear_action.triggered.connect(self.clear_transcript)

        self.undo_clear_action = QAction("Undo clear", self)
        self.undo_clear_action.setEnabled(False)
        self.undo_clear_action.triggered.connect(self.undo_clear)

        self.settings_action = QAction("Settings…", self)
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.settings_action.triggered.connect(self.settings_requested.emit)

        self.about_action = QAction("About Dictation", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self._on_about_action_triggered)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.record_action)
        file_menu.addAction(self.transcribe_files_action)
        file_menu.addAction(self.services_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.copy_all_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.clear_action)
        edit_menu.addAction(self.undo_clear_action)
        bar.addAction(self.settings_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

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

    def _build_control_bar(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("controlBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(12, 8, 12, 8)
        row.setSpacing(8)

        self.provider_combo = QComboBox()
        self.provider_combo.setObjectName("providerCombo")
        self.provider_combo.setToolTip("Which recognizer turns your speech into text")
        self.provider_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.provider_combo.setMinimumContentsLength(12)
        self.provider_combo.activated.connect(self._on_provider_combo_activated)

        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.device_combo.setMinimumContentsLength(14)
        self.device_combo.activated.connect(self._on_device_combo_activated)

        self.refresh_button = QToolButton()
        self.refresh_button.setObjectName("refreshDevicesButton")
        self.refresh_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload)
        )
        self.refresh_button.setToolTip("Look for microphones again")
        self.refresh_button.setAccessibleName("Refresh microphones")
        self.refresh_button.clicked.connect(self.devices_refresh_requested.emit)

        self.level_meter = LevelMeter()
        self.level_meter.setMinimumWidth(140)
        self.level_meter.setMaximumWidth(260)

        self.record_button = QPushButton()
        self.record_button.setObjectName("recordButton")
        self.record_button.setIconSize(QSize(12, 12))
        self.record_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.record_button.clicked.connect(self._on_record_button_clicked)

        row.addWidget(QLabel("Recognizer"))
        row.addWidget(self.provider_combo)
        row.addSpacing(12)
        row.addWidget(QLabel("Microphone"))
        row.addWidget(self.device_combo, 1)
        row.addWidget(self.refresh_button)
        row.addSpacing(4)
        row.addWidget(self.level_meter, 1)
        row.addSpacing(12)
        row.addWidget(self.record_button)
        return bar

    def _build_transcript_pane(self) -> QWidget:
        pane = QWidget()
        column = QVBoxLayout(pane)
        column.setContentsMargins(12, 10, 6, 8)
        column.setSpacing(6)
        # Hidden until the controller calls show_welcome(): only a first run shows it.
        self.welcome_banner = WelcomeBanner()
        self.welcome_banner.hide()
        self.welcome_banner.dismissed.connect(self._on_welcome_banner_dismissed)
        column.addWidget(self.welcome_banner)
        self._transcript = TranscriptView()
        self._transcript.textChanged.connect(self._on_transcript_text_changed)
        column.addWidget(self._transcript, 1)

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addStretch(1)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Empty the transcript (you can undo this)")
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        self.copy_button = QPushButton("Copy all")
        self.copy_button.setObjectName("copyAllButton")
        self.copy_button.setToolTip("Copy the whole transcript to the clipboard (Ctrl+Shift+C)")
        self.copy_button.setDefault(False)
        self.copy_button.clicked.connect(self.copy_all)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.copy_button)
        column.addLayout(buttons)

        self._undo_clear_timer = QTimer(self)
        self._undo_clear_timer.setSingleShot(True)
        self._undo_clear_timer.setInterval(UNDO_CLEAR_OFFER_MS)
        self._undo_clear_timer.timeout.connect(self._end_undo_clear_offer)
        return pane

    def _build_status_bar(self) -> None:
        status_bar = self.statusBar()
        self.status_icon = QLabel()
        self.status_icon.setObjectName("statusIcon")
        self.status_icon.setContentsMargins(6, 0, 0, 0)
        self.status_label = _WrappingLabel()
        self.status_label.setObjectName("statusText")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_bar.addWidget(self.status_icon)
        status_bar.addWidget(self.status_label, 1)
        self.push_to_talk_label = _caption("")
        self.push_to_talk_label.setObjectName("pushToTalkHint")
        status_bar.addPermanentWidget(self.push_to_talk_label)

    # ------------------------------------------------------------------ updates

    @property
    def transcript(self) -> TranscriptView:
        return self._transcript

    def set_devices(self, devices: Sequence[InputDevice], selected: int | None) -> None:
        """List the microphones; ``selected`` is an ``InputDevice.index`` or None (default)."""
        combo = self.device_combo
        combo.clear()
        if not devices:
            combo.addItem(NO_MICROPHONE, None)
            model = combo.model()
            if isinstance(model, QStandardItemModel):  # what QComboBox uses unless replaced
                model.item(0).setEnabled(False)
            combo.setToolTip("Connect a microphone, then press the refresh button.")
            self._selected_device = None
            self._update_enabled()
            return
        combo.addItem(SYSTEM_DEFAULT, None)
        combo.setItemData(0, "Whatever the system uses as its input", Qt.ItemDataRole.ToolTipRole)
        for device in devices:
            label = f"{device.label} — default" if device.is_default else device.label
            combo.addItem(label, device.index)
            combo.setItemData(combo.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        position = combo.findData(selected) if selected is not None else 0
        combo.setCurrentIndex(max(0, position))
        self._selected_device = combo.currentData()
        combo.setToolTip(combo.currentText())
        self._update_enabled()

    def set_level(self, peak: float, rms: float) -> None:
        self.level_meter.set_level(peak, rms)

    def set_recording(self, recording: bool) -> None:
        """Switch the Record button between Record and Stop."""
        self._recording = recording
        button = self.record_button
        if recording:
            button.setText("Stop")
            button.setIcon(_dot_icon("#ffffff", square=True))
            button.setToolTip("Stop recording (Ctrl+R)")
            self.record_action.setText("Stop recording")
        else:
            button.setText("Record")
            button.setIcon(_dot_icon(STATUS_COLOURS["error"]))
            button.setToolTip("Start recording (Ctrl+R)")
            self.record_action.setText("Start recording")
        button.setProperty("recording", recording)
        button.style().unpolish(button)
        button.style().polish(button)
        self._update_enabled()

    def set_busy(self, busy: bool) -> None:
        """While busy (e.g. connecting) Record/Stop is unavailable."""
        self._busy = busy
        self._update_enabled()

    def set_status(self, kind: str, text: str) -> None:
        """Show the state of the pipeline; ``kind`` picks the colour, errors show in full."""
        if kind not in STATUS_COLOURS:
            expected = ", ".join(STATUS_COLOURS)
            raise ValueError(f"unknown status kind {kind!r}; expected one of: {expected}")
        self.status_icon.setPixmap(_dot_icon(STATUS_COLOURS[kind], 10).pixmap(10, 10))
        self.status_label.setText(text)
        self.status_label.setToolTip(text if kind == "error" else "")
        self.status_label.setProperty("kind", kind)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self._status_kind = kind
        self.statusBar().clearMessage()

    @property
    def status_kind(self) -> str:
        return self._status_kind

    def set_providers(self, providers: Sequence[tuple[str, str]], current: str) -> None:
        """List the recognizers as (id, label) pairs and select ``current``."""
        combo = self.provider_combo
        combo.clear()
        for provider_id, label in providers:
            combo.addItem(label, provider_id)
        position = combo.findData(current)
        combo.setCurrentIndex(max(0, position) if combo.count() else -1)
        self._current_provider = str(combo.currentData() or "")
        self._update_enabled()

    def set_push_to_talk_key(self, sequence: str) -> None:
        """The key to hold for push-to-talk, as a QKeySequence string ("F9"); "" turns it off."""
        self._release_push_to_talk()
        key = QKeySequence.fromString(sequence, QKeySequence.SequenceFormat.PortableText)
        self._ptt_key = key if key.count() == 1 else QKeySequence()
        shown = self._ptt_key.toString(QKeySequence.SequenceFormat.NativeText)
        if shown:
            self.push_to_talk_label.setText(f"Hold {shown} to talk")
            self._transcript.setPlaceholderText(
                f"Press Record (Ctrl+R) or hold {shown}, then speak.\n\n"
                "Words in grey are still being recognized; they turn black once settled."
            )
        else:
            self.push_to_talk_label.setText("")
            self._transcript.setPlaceholderText(
                "Press Record (Ctrl+R), then speak.\n\n"
                "Words in grey are still being recognized; they turn black once settled."
            )

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

    def show_partial(self, text: str) -> None:
        self._transcript.show_partial(text)

    def add_final(self, text: str) -> None:
        self._transcript.add_final(text)

    # ------------------------------------------------------------------ window-only actions

    def copy_all(self) -> None:
        """Put the whole transcript (without the grey guess) on the clipboard."""
        text = self._transcript.plain_text()
        if not text.strip():
            self.statusBar().showMessage("Nothing to copy yet", COPIED_MESSAGE_MS)
            return
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(text)
        words = len(text.split())
        plural = "" if words == 1 else "s"
        self.statusBar().showMessage(
            f"Copied — {words:,} word{plural} on the clipboard", COPIED_MESSAGE_MS
        )

    def clear_transcript(self) -> None:
        """Empty the transcript; the Clear button offers "Undo clear" for a few seconds."""
        if not self._transcript.plain_text().strip():
            self._transcript.clear_partial()
            return
        self._undo_clear_timer.start()  # before clearing: keeps the button enabled
        self.clear_button.setText("Undo clear")
        self.clear_button.setToolTip("Bring back the text you just cleared")
        self.undo_clear_action.setEnabled(True)
        self._transcript.clear_transcript()
        self.statusBar().showMessage(
            "Transcript cleared. Undo with the button or Edit ▸ Undo clear.", UNDO_CLEAR_OFFER_MS
        )

    def undo_clear(self) -> None:
        if self._transcript.undo_clear():
            self.statusBar().showMessage("Transcript restored", COPIED_MESSAGE_MS)
        self._end_undo_clear_offer()
        self.undo_clear_action.setEnabled(False)

    # ------------------------------------------------------------------ events

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in _DRAG_EVENTS:
            return self._filter_drag(watched, event)
        if kind not in _KEY_EVENTS or self._ptt_key.isEmpty():
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self:
            return False
        assert isinstance(event, QKeyEvent)
        if not self._is_push_to_talk_key(event, releasing=kind == QEvent.Type.KeyRelease):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the key is ours: no shortcut may take it
        elif kind == QEvent.Type.KeyPress:
            if not event.isAutoRepeat() and not self._ptt_down:
                self._ptt_down = True
                self.push_to_talk_pressed.emit()
        elif not event.isAutoRepeat():
            self._release_push_to_talk()
        return True

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
            self._release_push_to_talk()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._release_push_to_talk()
        self.closing.emit()
        super().closeEvent(event)

    # ------------------------------------------------------------------ slots

    def _on_record_button_clicked(self) -> None:
        if self._busy:
            return
        if self._recording:
            self.stop_requested.emit()
        else:
            self.record_requested.emit()

    def _on_device_combo_activated(self, position: int) -> None:
        index = self.device_combo.itemData(position)
        self.device_combo.setToolTip(self.device_combo.itemText(position))
        if index != self._selected_device:
            self._selected_device = index
            self.device_selected.emit(index)

    def _on_provider_combo_activated(self, position: int) -> None:
        provider_id = str(self.provider_combo.itemData(position))
        if provider_id != self._current_provider:
            self._current_provider = provider_id
            self.provider_selected.emit(provider_id)

    def _on_clear_button_clicked(self) -> None:
        if self._undo_clear_timer.isActive():
            self.undo_clear()
        else:
            self.clear_transcript()

    def _on_transcript_text_changed(self) -> None:
        empty = self._transcript.document().isEmpty()
        self.copy_button.setEnabled(not empty)
        if not self._undo_clear_timer.isActive():
            self.clear_button.setEnabled(not empty)

    def _on_settings_dialog_finished(self) -> None:
        self._settings_dialog = None

    def _on_welcome_banner_dismissed(self) -> None:
        self.welcome_banner.hide()
        self.welcome_dismissed.emit()

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

    def set_about_engines(self, engines: Sequence[EngineCredit]) -> None:
        """The offline engines Help ▸ About names and credits."""
        self._about_engines = tuple(engines)

    # ------------------------------------------------------------------ helpers

    def _end_undo_clear_offer(self) -> None:
        self._undo_clear_timer.stop()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Empty the transcript (you can undo this)")
        self._on_transcript_text_changed()

    def _update_enabled(self) -> None:
        can_toggle = not self._busy
        self.record_button.setEnabled(can_toggle)
        self.record_action.setEnabled(can_toggle)
        choosing = not (self._recording or self._busy)
        self.provider_combo.setEnabled(choosing and self.provider_combo.count() > 0)
        has_devices = self.device_combo.findText(NO_MICROPHONE) < 0
        self.device_combo.setEnabled(choosing and has_devices)
        self.refresh_button.setEnabled(choosing)

    def _is_push_to_talk_key(self, event: QKeyEvent, *, releasing: bool) -> bool:
        combination = self._ptt_key[0]  # type: ignore[index]  # __getitem__ not in stubs
        if event.key() != combination.key():
            return False
        if releasing:
            # Modifiers may already be up when the key itself is released.
            return self._ptt_down
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return modifiers == combination.keyboardModifiers()

    def _release_push_to_talk(self) -> None:
        if self._ptt_down:
            self._ptt_down = False
            self.push_to_talk_released.emit()

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


_KEY_EVENTS = frozenset(
    (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride)
)
_DRAG_EVENTS = frozenset((QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop))


class _WrappingLabel(QLabel):
    """A word-wrapped label whose height follows its width, even in a status bar.

    QStatusBar's layout ignores height-for-width, so a plain wrapped label asks for the
    height its text needs at zero width. This one reports the height for the width it has.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def hasHeightForWidth(self) -> bool:
        return False  # the height is reported through the size hints instead

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.height() != self._height():
            self.updateGeometry()

    def _height(self) -> int:
        # Before the first layout the label is tiny; assume a sensible width till then.
        width = max(self.width(), 400)
        return max(self.fontMetrics().height(), self.heightForWidth(width))


def _caption(text: str) -> QLabel:
    """A secondary label: text colour blended toward the background, legible in any theme."""
    label = QLabel(text)
    palette = label.palette()
    text_colour = palette.color(QPalette.ColorRole.WindowText)
    background = palette.color(QPalette.ColorRole.Window)
    palette.setColor(
        QPalette.ColorRole.WindowText,
        QColor(
            round(text_colour.red() * 0.6 + background.red() * 0.4),
            round(text_colour.green() * 0.6 + background.green() * 0.4),
            round(text_colour.blue() * 0.6 + background.blue() * 0.4),
        ),
    )
    label.setPalette(palette)
    return label
