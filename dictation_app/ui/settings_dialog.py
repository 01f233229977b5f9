"""The settings dialog: edits a ``SettingsValues`` and emits the result; it stores nothing.

Open it with ``open()`` (never ``exec()``: the app runs on a qasync loop, and a nested
event loop would stall it). Saving is the caller's job, on ``settings_saved``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

PROTOCOL_VERSIONS = ("v1", "v2")
DEFAULT_LANGUAGE = "id"


@dataclass(frozen=True)
class SettingsValues:
    """What the dialog edits. The token is left out of ``repr`` so it cannot reach a log."""

    bahasakita_url: str
    bahasakita_token: str = field(repr=False)
    protocol_version: str = "v1"
    language: str = DEFAULT_LANGUAGE
    push_to_talk_key: str = "F9"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the streaming endpoint, or None when it can."""
    url = url.strip()
    if not url:
        return "Enter the streaming URL, starting with wss:// (or ws:// for a local test server)."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "This URL is malformed; check the host and port."
    if parts.scheme not in ("ws", "wss"):
        return "The streaming URL must start with wss:// (or ws:// for a local test server)."
    if not parts.hostname:
        return "The URL has no host name after wss://."
    if "token" in parse_qs(parts.query):
        return "Remove the token from the URL and enter it in the Token field below."
    return None


class SettingsDialog(QDialog):
    """Edits the service settings; emits ``settings_saved(SettingsValues)`` on OK."""

    settings_saved = Signal(object)

    def __init__(self, values: SettingsValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)

        self.url_edit = QLineEdit(values.bahasakita_url)
        self.url_edit.setPlaceholderText("wss://api.bahasakita.co.id/v1/prod/stream")
        self.url_edit.setClearButtonEnabled(True)
        self.url_error = QLabel()
        self.url_error.setObjectName("urlError")
        self.url_error.setWordWrap(True)
        self.url_error.setStyleSheet("color: #b3261e;")
        self.url_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.token_edit = QLineEdit(values.bahasakita_token)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("Paste your Bahasakita token")
        self.token_toggle = QToolButton()
        self.token_toggle.setObjectName("tokenToggle")
        self.token_toggle.setCheckable(True)
        self.token_toggle.setText("Show")
        self.token_toggle.setToolTip("Show or hide the token")
        self.token_toggle.toggled.connect(self._on_token_toggle_toggled)
        token_row = QHBoxLayout()
        token_row.setContentsMargins(0, 0, 0, 0)
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(self.token_toggle)

        self.protocol_combo = QComboBox()
        self.protocol_combo.addItem("Version 1 (stream, with session id)", "v1")
        self.protocol_combo.addItem("Version 2 (stream2, with language)", "v2")
        index = self.protocol_combo.findData(values.protocol_version)
        self.protocol_combo.setCurrentIndex(max(0, index))
        self.protocol_combo.currentIndexChanged.connect(self._on_protocol_combo_changed)

        self.language_edit = QLineEdit(values.language or DEFAULT_LANGUAGE)
        self.language_edit.setPlaceholderText(DEFAULT_LANGUAGE)
        self.language_edit.setMaximumWidth(120)
        self.language_edit.setToolTip("Language code sent with version 2, e.g. id")

        self.push_to_talk_edit = QKeySequenceEdit(QKeySequence(values.push_to_talk_key))
        self.push_to_talk_edit.setMaximumSequenceLength(1)
        self.push_to_talk_edit.setClearButtonEnabled(True)
        self.push_to_talk_edit.setToolTip(
            "Hold this key while the window has focus to record; clear it to turn push-to-talk off."
        )

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        url_column = QVBoxLayout()
        url_column.setContentsMargins(0, 0, 0, 0)
        url_column.setSpacing(4)
        url_column.addWidget(self.url_edit)
        url_column.addWidget(self.url_error)
        form.addRow("Streaming URL:", url_column)
        form.addRow("Token:", token_row)
        form.addRow("Protocol:", self.protocol_combo)
        form.addRow("Language:", self.language_edit)
        keyboard_form = QFormLayout()
        keyboard_form.addRow("Push-to-talk key:", self.push_to_talk_edit)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(_heading("Bahasakita cloud recognition"))
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(_heading("Keyboard"))
        layout.addLayout(keyboard_form)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.url_edit.textChanged.connect(self._validate)
        self._on_protocol_combo_changed()
        self._validate()

    @property
    def ok_button(self) -> QPushButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    def values(self) -> SettingsValues:
        """What the fields hold now."""
        version = str(self.protocol_combo.currentData())
        return SettingsValues(
            bahasakita_url=self.url_edit.text().strip(),
            bahasakita_token=self.token_edit.text().strip(),
            protocol_version=version,
            language=self.language_edit.text().strip() or DEFAULT_LANGUAGE,
            push_to_talk_key=self.push_to_talk_edit.keySequence().toString(
                QKeySequence.SequenceFormat.PortableText
            ),
        )

    def accept(self) -> None:
        if self._validate():
            self.settings_saved.emit(self.values())
            super().accept()

    def _validate(self) -> bool:
        problem = url_problem(self.url_edit.text())
        self.url_error.setText(problem or "")
        self.url_error.setVisible(problem is not None)
        self.ok_button.setEnabled(problem is None)
        return problem is None

    def _on_token_toggle_toggled(self, shown: bool) -> None:
        self.token_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.token_toggle.setText("Hide" if shown else "Show")

    def _on_protocol_combo_changed(self) -> None:
        self.language_edit.setEnabled(self.protocol_combo.currentData() == "v2")


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label
