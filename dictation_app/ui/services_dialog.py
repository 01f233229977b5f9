"""The file-services dialog: accounts for Botlhale and Nevisa, and how many jobs run at once.

Like the settings dialog it edits a value object and emits it on OK; it stores nothing.
Secret fields are masked and left out of every repr. The Bahasakita account (token,
sign-in) stays in Settings: live dictation, monitoring and uploads share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dictation_app.core.settings import MAX_JOBS_AT_ONCE


@dataclass(frozen=True)
class ServicesValues:
    botlhale_url: str = ""
    botlhale_token: str = field(default="", repr=False)
    botlhale_refresh_token: str = field(default="", repr=False)
    botlhale_org_id: str = ""
    botlhale_api_version: int = 2
    nevisa_api_url: str = ""
    nevisa_accounts_url: str = ""
    nevisa_username: str = ""
    nevisa_password: str = field(default="", repr=False)
    bahasakita_upload_url: str = ""
    jobs_at_once: int = 2


def http_url_problem(url: str) -> str | None:
    """Why `url` cannot be a service address, or None when it can (empty = default)."""
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not a web address: it must start with https://"
    if parts.query or parts.fragment:
        return f"{url!r}: give only the address, without ?… or #…"
    return None


class ServicesDialog(QDialog):
    """Emits `services_saved(ServicesValues)` on OK; open it with `open()`."""

    services_saved = Signal(object)

    def __init__(self, values: ServicesValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("servicesDialog")
        self.setWindowTitle("File transcription services")
        self.setMinimumWidth(520)

        self.botlhale_url = _url_edit(values.botlhale_url, "https://api.botlhale.xyz")
        self.botlhale_token = _secret_edit(values.botlhale_token, "Bearer token")
        self.botlhale_refresh_token = _secret_edit(
            values.botlhale_refresh_token, "or a refresh token, renewed automatically")
        self.botlhale_org_id = QLineEdit(values.botlhale_org_id)
        self.botlhale_org_id.setPlaceholderText("Organisation ID, for long files")
        self.botlhale_api = QComboBox()
        self.botlhale_api.addItem("Current API (v2)", 2)
        self.botlhale_api.addItem("Older async API (v1)", 1)
        self.botlhale_api.setCurrentIndex(max(0, self.botlhale_api.findData(
            values.botlhale_api_version)))
        botlhale = QGroupBox("Botlhale")
        form = QFormLayout(botlhale)
        form.addRow("Address:", self.botlhale_url)
        form.addRow("Token:", self.botlhale_token)
        form.addRow("Refresh token:", self.botlhale_refresh_token)
        form.addRow("Organisation ID:", self.botlhale_org_id)
        form.addRow("API:", self.botlhale_api)

        self.nevisa_api_url = _url_edit(values.nevisa_api_url, "https://api.persianspeech.com")
        self.nevisa_accounts_url = _url_edit(values.nevisa_accounts_url,
                                             "https://accounting.persianspeech.com")
        self.nevisa_username = QLineEdit(values.nevisa_username)
        self.nevisa_username.setPlaceholderText("Username, phone or email")
        self.nevisa_password = _secret_edit(values.nevisa_password, "Password")
        nevisa = QGroupBox("Nevisa (PersianSpeech)")
        form = QFormLayout(nevisa)
        form.addRow("API address:", self.nevisa_api_url)
        form.addRow("Login address:", self.nevisa_accounts_url)
        form.addRow("Username:", self.nevisa_username)
        form.addRow("Password:", self.nevisa_password)

        self.bahasakita_upload_url = _url_edit(values.bahasakita_upload_url,
                                               "https://api.bahasakita.co.id")
        bahasakita = QGroupBox("Bahasakita")
        form = QFormLayout(bahasakita)
        form.addRow("Upload address:", self.bahasakita_upload_url)
        note = QLabel("The Bahasakita token is the one in Settings, shared with live dictation.")
        note.setWordWrap(True)
        form.addRow(note)

        self.jobs_at_once = QSpinBox()
        self.jobs_at_once.setRange(1, MAX_JOBS_AT_ONCE)
        self.jobs_at_once.setValue(values.jobs_at_once)
        self.jobs_at_once.setToolTip("Jobs that upload or transcribe at the same time; "
                                     "the others wait their turn.")
        general = QFormLayout()
        general.addRow("Jobs at once:", self.jobs_at_once)

        self.error = QLabel()
        self.error.setObjectName("servicesError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        self.error.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        for edit in (self.botlhale_url, self.nevisa_api_url, self.nevisa_accounts_url,
                     self.bahasakita_upload_url):
            edit.textChanged.connect(self._validate)

        layout = QVBoxLayout(self)
        for part in (botlhale, nevisa, bahasakita):
            layout.addWidget(part)
        layout.addLayout(general)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    @property
    def ok_button(self) -> QPushButton:
        return self._ok

    def values(self) -> ServicesValues:
        return ServicesValues(
            botlhale_url=self.botlhale_url.text().strip(),
            botlhale_token=self.botlhale_token.text().strip(),
            botlhale_refresh_token=self.botlhale_refresh_token.text().strip(),
            botlhale_org_id=self.botlhale_org_id.text().strip(),
            botlhale_api_version=int(self.botlhale_api.currentData()),
            nevisa_api_url=self.nevisa_api_url.text().strip(),
            nevisa_accounts_url=self.nevisa_accounts_url.text().strip(),
            nevisa_username=self.nevisa_username.text().strip(),
            nevisa_password=self.nevisa_password.text(),
            bahasakita_upload_url=self.bahasakita_upload_url.text().strip(),
            jobs_at_once=self.jobs_at_once.value(),
        )

    def accept(self) -> None:
        if not self._validate():
            return
        self.services_saved.emit(self.values())
        super().accept()

    def _validate(self) -> bool:
        problems = [p for edit in (self.botlhale_url, self.nevisa_api_url,
                                   self.nevisa_accounts_url, self.bahasakita_upload_url)
                    if (p := http_url_problem(edit.text()))]
        self.error.setText("\n".join(problems))
        self.error.setVisible(bool(problems))
        self._ok.setEnabled(not problems)
        return not problems


def _url_edit(value: str, default: str) -> QLineEdit:
    edit = QLineEdit(value)
    edit.setPlaceholderText(default)
    edit.setToolTip(f"Leave empty for {default}")
    edit.setClearButtonEnabled(True)
    return edit


def _secret_edit(value: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit(value)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    edit.setInputMethodHints(Qt.InputMethodHint.ImhHiddenText
                             | Qt.InputMethodHint.ImhSensitiveData)
    return edit
