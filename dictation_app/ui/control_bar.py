"""The bar above the transcript: recognizer and microphone pickers, the level, Record/Stop.

Passive like every widget: it emits intents (``record_requested``, ``device_selected``,
...) and offers update methods (``set_devices``, ``set_recording``, ...). The main window
re-emits its signals under the same names; its style sheet styles the bar and the button.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QToolButton,
    QWidget,
)

from dictation_app.audio.devices import InputDevice
from dictation_app.ui.dot_icon import dot_icon
from dictation_app.ui.level_meter import LevelMeter
from dictation_app.ui.status_line import STATUS_COLOURS

NO_MICROPHONE = "No microphone found"


class ControlBar(QWidget):
    """Pickers, level meter and the Record button; ``toggle_recording`` is what a click does."""

    record_requested = Signal()
    stop_requested = Signal()
    device_selected = Signal(str)  # the InputDevice.id picked
    devices_refresh_requested = Signal()
    provider_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controlBar")
        # A QWidget subclass draws its style-sheet border only when asked to.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._recording = False
        self._busy = False
        self._selected_device: str | None = None
        self._current_provider = ""

        row = QHBoxLayout(self)
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
        self.record_button.clicked.connect(self.toggle_recording)

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

    def set_devices(self, devices: Sequence[InputDevice], selected: str | None) -> None:
        """List the microphones, one entry each; ``selected`` is the ``InputDevice.id`` in
        use, or None for the one marked default."""
        combo = self.device_combo
        combo.clear()
        if not devices:
            combo.addItem(NO_MICROPHONE, None)
            model = combo.model()
            if isinstance(model, QStandardItemModel):  # what QComboBox uses unless replaced
                model.item(0).setEnabled(False)
            combo.setToolTip("Connect a microphone; it shows here when the system sees it.")
            self._selected_device = None
            self._update_enabled()
            return
        for device in devices:
            combo.addItem(device.label, device.id)
            tip = (f"{device.name}: the system's default input (followed when it changes)"
                   if device.is_default else device.name)
            combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        position = combo.findData(selected) if selected is not None else -1
        if position < 0:
            position = next((i for i, d in enumerate(devices) if d.is_default), 0)
        combo.setCurrentIndex(position)
        self._selected_device = combo.currentData()
        combo.setToolTip(combo.currentText())
        self._update_enabled()

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

    def set_level(self, peak: float, rms: float) -> None:
        self.level_meter.set_level(peak, rms)

    def set_recording(self, recording: bool) -> None:
        """Switch the Record button between Record and Stop."""
        self._recording = recording
        button = self.record_button
        if recording:
            button.setText("Stop")
            button.setIcon(dot_icon("#ffffff", square=True))
            button.setToolTip("Stop recording (Ctrl+R)")
        else:
            button.setText("Record")
            button.setIcon(dot_icon(STATUS_COLOURS["error"]))
            button.setToolTip("Start recording (Ctrl+R)")
        button.setProperty("recording", recording)
        button.style().unpolish(button)
        button.style().polish(button)
        self._update_enabled()

    def set_busy(self, busy: bool) -> None:
        """While busy (e.g. connecting) Record/Stop is unavailable."""
        self._busy = busy
        self._update_enabled()

    def toggle_recording(self) -> None:
        """Ask to stop while recording, to record otherwise; nothing while busy."""
        if self._busy:
            return
        if self._recording:
            self.stop_requested.emit()
        else:
            self.record_requested.emit()

    def _on_device_combo_activated(self, position: int) -> None:
        device_id = self.device_combo.itemData(position)
        self.device_combo.setToolTip(self.device_combo.itemText(position))
        if device_id is not None and device_id != self._selected_device:
            self._selected_device = device_id
            self.device_selected.emit(device_id)

    def _on_provider_combo_activated(self, position: int) -> None:
        provider_id = str(self.provider_combo.itemData(position))
        if provider_id != self._current_provider:
            self._current_provider = provider_id
            self.provider_selected.emit(provider_id)

    def _update_enabled(self) -> None:
        self.record_button.setEnabled(not self._busy)
        choosing = not (self._recording or self._busy)
        self.provider_combo.setEnabled(choosing and self.provider_combo.count() > 0)
        has_devices = self.device_combo.findText(NO_MICROPHONE) < 0
        self.device_combo.setEnabled(choosing and has_devices)
        self.refresh_button.setEnabled(choosing)
