"""The file-services dialog: each service's account and addresses, and how many jobs run at once.

Like the settings dialog it edits a value object and emits it on OK; it stores nothing.
Which sections and fields it shows is not its business: the controller passes them in
as `SectionSpec`s (derived from the vendors' descriptors). Secret fields are masked and
left out of every repr. The Bahasakita account (token, sign-in) stays in Settings:
live dictation, monitoring and uploads share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
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

URL, TEXT, SECRET, CHOICE = "url", "text", "secret", "choice"  # FieldSpec.kind


@dataclass(frozen=True)
class FieldSpec:
    id: str  # the key of its value in ServicesValues.fields
    label: str
    kind: str = TEXT  # URL (validated; empty = `placeholder`), TEXT, SECRET or CHOICE
    placeholder: str = ""
    choices: tuple[tuple[Any, str], ...] = ()  # (value, label) of a CHOICE
    strip: bool = True  # False: spaces count (a password)


@dataclass(frozen=True)
class SectionSpec:
    title: str
    fields: tuple[FieldSpec, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ServicesValues:
    fields: Mapping[str, Any] = field(default_factory=dict)  # FieldSpec.id -> value
    jobs_at_once: int = 2
    secrets: frozenset[str] = frozenset()  # ids in `fields` that a repr must not show

    def __repr__(self) -> str:
        shown = {k: ("***" if k in self.secrets else v) for k, v in self.fields.items()}
        return f"ServicesValues(fields={shown!r}, jobs_at_once={self.jobs_at_once!r})"

    def get(self, field_id: str, default: Any = "") -> Any:
        return self.fields.get(field_id, default)


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

    def __init__(self, sections: Sequence[SectionSpec], values: ServicesValues,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("servicesDialog")
        self.setWindowTitle("File transcription services")
        self.setMinimumWidth(520)

        self.edits: dict[str, QLineEdit | QComboBox] = {}  # FieldSpec.id -> its control
        self._specs: dict[str, FieldSpec] = {}
        groups = []
        for section in sections:
            group = QGroupBox(section.title)
            form = QFormLayout(group)
            for spec in section.fields:
                control = _control(spec, values.get(spec.id, ""))
                self.edits[spec.id] = control
                self._specs[spec.id] = spec
                form.addRow(spec.label, control)
            if section.note:
                note = QLabel(section.note)
                note.setWordWrap(True)
                form.addRow(note)
            groups.append(group)

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
        for edit in self._url_edits():
            edit.textChanged.connect(self._validate)

        layout = QVBoxLayout(self)
        for group in groups:
            layout.addWidget(group)
        layout.addLayout(general)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    @property
    def ok_button(self) -> QPushButton:
        return self._ok

    def values(self) -> ServicesValues:
        fields: dict[str, Any] = {}
        for field_id, control in self.edits.items():
            if isinstance(control, QComboBox):
                fields[field_id] = control.currentData()
            else:
                text = control.text()
                fields[field_id] = text.strip() if self._specs[field_id].strip else text
        return ServicesValues(fields, jobs_at_once=self.jobs_at_once.value(),
                              secrets=frozenset(i for i, spec in self._specs.items()
                                                if spec.kind == SECRET))

    def accept(self) -> None:
        if not self._validate():
            return
        self.services_saved.emit(self.values())
        super().accept()

    def _url_edits(self) -> list[QLineEdit]:
        return [edit for field_id, edit in self.edits.items()
                if self._specs[field_id].kind == URL and isinstance(edit, QLineEdit)]

    def _validate(self) -> bool:
        problems = [p for edit in self._url_edits() if (p := http_url_problem(edit.text()))]
        self.error.setText("\n".join(problems))
        self.error.setVisible(bool(problems))
        self._ok.setEnabled(not problems)
        return not problems


def _control(spec: FieldSpec, value: Any) -> QLineEdit | QComboBox:
    if spec.kind == CHOICE:
        combo = QComboBox()
        for choice, label in spec.choices:
            combo.addItem(label, choice)
        combo.setCurrentIndex(max(0, combo.findData(value)))
        return combo
    if spec.kind == URL:
        return _url_edit(str(value), spec.placeholder)
    if spec.kind == SECRET:
        return _secret_edit(str(value), spec.placeholder)
    edit = QLineEdit(str(value))
    edit.setPlaceholderText(spec.placeholder)
    return edit


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
