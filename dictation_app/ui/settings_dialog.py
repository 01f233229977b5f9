"""The Preferences window: edits a ``SettingsValues`` and emits the result; it stores
nothing. A list of sections (SECTIONS) on the left, each a scrolled page, so each new
capability has a place of its own and every choice is in one window.

Open it with ``open()`` (never ``exec()``: the app runs on a qasync loop, and a nested
event loop would stall it). Saving is the caller's job, on ``settings_saved``; signing in
is too, on ``sign_in_requested``. The password field is emptied as soon as it is sent,
so the dialog holds the password no longer than the person takes to type it.

The Text group's word replacements are checked as they are typed (``parse_replacements``):
a malformed line is named under the editor and OK stays disabled, so a list that does
not parse is never saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.text.replacements import parse_replacements
from dictation_app.protocols.bahasakita_account import DEFAULT_BASE_URL as ACCOUNT_BASE_URL
from dictation_app.protocols.bahasakita_account import base_url_problem
from dictation_app.ui.language_label import language_label

# The sections, in the order the list shows them.
GENERAL = "General"
MICROPHONE = "Microphone"
RECOGNITION = "Recognition and models"
SHORTCUTS = "Shortcuts and output"
CLOUD = "Cloud services and accounts"
PRIVACY = "Privacy and storage"
SECTIONS = (GENERAL, MICROPHONE, RECOGNITION, SHORTCUTS, CLOUD, PRIVACY)

PROTOCOL_VERSIONS = ("v1", "v2")
DEFAULT_LANGUAGE = "id"
MAX_IMPORT_BYTES = 1 << 20  # a word list, not a dictionary


@dataclass(frozen=True)
class SettingsValues:
    """What the dialog edits. The token is left out of ``repr`` so it cannot reach a log."""

    bahasakita_url: str
    bahasakita_token: str = field(repr=False)
    protocol_version: str = "v1"
    language: str = DEFAULT_LANGUAGE
    push_to_talk_key: str = "F9"
    keep_recordings: bool = True  # each take's audio, kept beside the history
    recordings_days: int = 30  # recordings older than this are deleted at start; 0: never
    failover: bool = False  # a cloud take continues on the offline engine while it is away
    spoken_commands: bool = True  # "comma", "new paragraph", "scratch that"...
    mask_profanity: bool = False
    word_replacements: str = ""  # `spoken => written` lines, as parse_replacements reads
    take_timestamps: bool = True  # each take's paragraph headed by its start time
    # The account's REST base URL (sign-in, the account tab); "": the documented one.
    bahasakita_account_url: str = ""
    system_wide_keys: bool = True  # the keys work while any app has the focus
    toggle_key: str = ""  # press to start, press again to stop; "" none
    output_mode: str = "window"  # "type" or "paste": each final into the focused app
    # The offline engines live dictation may run, as (name, label, languages), and the
    # one chosen with the language it hears.
    live_engines: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    # The microphones as (id, label), the default's label saying so, and the one in use.
    microphones: tuple[tuple[str, str], ...] = ()
    microphone: str = ''
    live_engine: str = ""
    live_language: str = "en"
    start_at_login: bool = False  # the desktop starts the app when the person logs in
    close_to_tray: str = ""  # closing the window: "" ask, "tray" keep running, "quit"
    tray_available: bool = True  # without a tray, closing the window always quits


OUTPUT_CHOICES = (("window", "Only in this window"),
                  ("type", "Type each final into the app that has the focus"),
                  ("paste", "Paste each final there (the clipboard is given back)"))
CLOSE_CHOICES = (("", "Ask"), ("tray", "Keep running in the tray"), ("quit", "Quit"))


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


def account_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the account address, or None when it can ("" is the default)."""
    return base_url_problem(url) if url.strip() else None


class SettingsDialog(QDialog):
    """Edits the service settings; emits ``settings_saved(SettingsValues)`` on OK.

    The sign-in group emits ``sign_in_requested(email, password)``; the caller answers
    with ``show_sign_in_result``, and ``set_token`` / ``set_token_info`` on success.
    """

    settings_saved = Signal(object)
    sign_in_requested = Signal(str, str)  # email, password
    services_requested = Signal()  # the file services' accounts (their own dialog)

    def __init__(self, values: SettingsValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(720)
        self.resize(760, 560)
        self._sign_in_return_pressed = False

        self.url_edit = QLineEdit(values.bahasakita_url)
        self.url_edit.setPlaceholderText("wss://api.bahasakita.co.id/v1/prod/stream")
        self.url_edit.setClearButtonEnabled(True)
        self.url_error = QLabel()
        self.url_error.setObjectName("urlError")
        self.url_error.setWordWrap(True)
        self.url_error.setStyleSheet("color: #b3261e;")
        self.url_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.account_url_edit = QLineEdit(values.bahasakita_account_url)
        self.account_url_edit.setObjectName("accountUrlEdit")
        self.account_url_edit.setPlaceholderText(ACCOUNT_BASE_URL)
        self.account_url_edit.setClearButtonEnabled(True)
        self.account_url_edit.setToolTip(
            "Where sign-in and the Bahasakita account tab go; leave it empty for "
            f"{ACCOUNT_BASE_URL}.")
        self.account_url_error = QLabel()
        self.account_url_error.setObjectName("accountUrlError")
        self.account_url_error.setWordWrap(True)
        self.account_url_error.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.account_url_error.setStyleSheet("color: #b3261e;")
        self.account_url_error.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.account_url_error.hide()

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
        self.token_info = QLabel()
        self.token_info.setObjectName("tokenInfo")
        self.token_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.token_info.hide()
        token_column = QVBoxLayout()
        token_column.setContentsMargins(0, 0, 0, 0)
        token_column.setSpacing(4)
        token_column.addLayout(token_row)
        token_column.addWidget(self.token_info)

        self.sign_in_group = self._build_sign_in_group()

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
            "Hold this key to record, and let go to stop; clear it to turn push-to-talk off.")
        self.push_to_talk_edit.setAccessibleName("Push-to-talk key")
        self.toggle_edit = QKeySequenceEdit(QKeySequence(values.toggle_key))
        self.toggle_edit.setObjectName("toggleKeyEdit")
        self.toggle_edit.setMaximumSequenceLength(1)
        self.toggle_edit.setClearButtonEnabled(True)
        self.toggle_edit.setAccessibleName("Start and stop key")
        self.toggle_edit.setToolTip("Press once to start dictating and again to stop; "
                                    "empty for none.")
        self.system_wide_check = QCheckBox("These keys work in every app, not only here")
        self.system_wide_check.setObjectName("systemWideCheck")
        self.system_wide_check.setChecked(values.system_wide_keys)
        self.key_note = _note("keyNote")
        self.output_combo = _choices("outputCombo", "Where the text goes", OUTPUT_CHOICES,
                                     values.output_mode)
        self.output_note = _note("outputNote")

        self.failover_check = QCheckBox(
            "When Bahasakita cannot be reached, continue on the offline engine")
        self.failover_check.setObjectName("failoverCheck")
        self.failover_check.setChecked(values.failover)
        self.failover_check.setToolTip(
            "The take goes on without waiting for the network, and goes back to Bahasakita "
            "once it answers. A take in a language the offline engine does not know "
            "waits and reconnects instead. The history marks which engine heard "
            "which words.")

        self._microphones = values.microphones
        self.microphone_combo = _choices("microphoneCombo", "Microphone to record from",
                                         values.microphones, values.microphone)
        if not values.microphones:
            self.microphone_combo.addItem("No microphone found", "")
            self.microphone_combo.setEnabled(False)
        self._live_engine_choices = values.live_engines
        self._live_engines = {name: languages for name, _label, languages in values.live_engines}
        self.live_engine_combo = QComboBox()
        self.live_engine_combo.setObjectName("liveEngineCombo")
        self.live_engine_combo.setAccessibleName("Offline engine for live dictation")
        for name, label, _languages in values.live_engines:
            self.live_engine_combo.addItem(label, name)
        self.live_engine_combo.setCurrentIndex(
            max(0, self.live_engine_combo.findData(values.live_engine)))
        self.live_language_combo = QComboBox()
        self.live_language_combo.setObjectName("liveLanguageCombo")
        self.live_language_combo.setAccessibleName("Language of live dictation offline")
        self._fill_live_languages(values.live_language)
        self.live_engine_combo.currentIndexChanged.connect(
            lambda _index: self._fill_live_languages(self._live_language()))

        self.failover_note = QLabel()
        self.failover_note.setObjectName("failoverNote")
        self.failover_note.setWordWrap(True)
        self.failover_note.hide()
        failover_column = QVBoxLayout()
        failover_column.setContentsMargins(0, 0, 0, 0)
        failover_column.setSpacing(2)
        failover_column.addWidget(self.failover_check)
        failover_column.addWidget(self.failover_note)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Streaming URL:", _column(self.url_edit, self.url_error))
        form.addRow("Account address:", _column(self.account_url_edit, self.account_url_error))
        form.addRow("Token:", token_column)
        form.addRow("Protocol:", self.protocol_combo)
        form.addRow("Language:", self.language_edit)
        keyboard_form = QFormLayout()
        keyboard_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        keyboard_form.addRow("Hold to talk:", self.push_to_talk_edit)
        keyboard_form.addRow("Start and stop:", self.toggle_edit)
        keyboard_form.addRow(self.system_wide_check)
        output_form = QFormLayout()
        output_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        output_form.addRow("Text goes:", self.output_combo)

        self.keep_recordings_check = QCheckBox("Keep the recording of every take")
        self.keep_recordings_check.setChecked(values.keep_recordings)
        self.keep_recordings_check.setToolTip(
            "The audio of each take is saved beside the history, so it can be played, "
            "saved or transcribed again. The text is kept either way.")
        self.recordings_days_spin = QSpinBox()
        self.recordings_days_spin.setRange(0, 3650)
        self.recordings_days_spin.setSpecialValueText("for ever")
        self.recordings_days_spin.setSuffix(" days")
        self.recordings_days_spin.setValue(values.recordings_days)
        self.recordings_days_spin.setToolTip(
            "Older recordings are deleted when the app starts; their text stays in History.")
        self.keep_recordings_check.toggled.connect(self.recordings_days_spin.setEnabled)
        self.recordings_days_spin.setEnabled(values.keep_recordings)
        history_form = QFormLayout()
        history_form.addRow(self.keep_recordings_check)
        history_form.addRow("Keep recordings for:", self.recordings_days_spin)

        text_form = self._build_text_form(values)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        self.services_button = QPushButton("File transcription services…")
        self.services_button.setAutoDefault(False)
        self.services_button.setToolTip("Accounts for Botlhale, Nevisa and Bahasakita uploads")
        self.services_button.clicked.connect(self.services_requested)

        cloud = QVBoxLayout()
        cloud.addWidget(_heading("Bahasakita live recognition"))
        cloud.addLayout(form)
        cloud.addWidget(self.sign_in_group)
        cloud.addSpacing(8)
        cloud.addWidget(_heading("File transcription"))
        cloud.addWidget(_wrapped("Botlhale, Nevisa and Bahasakita uploads each have their "
                                 "own account."))
        cloud.addWidget(self.services_button, 0, Qt.AlignmentFlag.AlignLeft)
        recognition = QVBoxLayout()
        recognition.addWidget(_heading("Live dictation on this computer"))
        recognition.addWidget(_wrapped(
            "The offline engine needs no account and no network. Whisper writes "
            "punctuation and capitals (tiny.en for English, base for 98 other languages); "
            "PocketSphinx is smaller and English only. The Files panel picks the engine "
            "for each file."))
        engine_form = QFormLayout()
        engine_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        engine_form.addRow("Engine:", self.live_engine_combo)
        engine_form.addRow("Language:", self.live_language_combo)
        recognition.addLayout(engine_form)
        recognition.addSpacing(8)
        recognition.addWidget(_heading("When the cloud is away"))
        recognition.addLayout(failover_column)
        shortcuts = QVBoxLayout()
        shortcuts.addWidget(_heading("Keys"))
        shortcuts.addLayout(keyboard_form)
        shortcuts.addWidget(self.key_note)
        shortcuts.addSpacing(8)
        shortcuts.addWidget(_heading("Output"))
        shortcuts.addLayout(output_form)
        shortcuts.addWidget(self.output_note)
        privacy = QVBoxLayout()
        privacy.addWidget(_heading("Recordings"))
        privacy.addLayout(history_form)
        general = QVBoxLayout()
        general.addWidget(_heading("Text"))
        general.addLayout(text_form)
        general.addSpacing(8)
        general.addWidget(_heading("Start-up"))
        general.addLayout(self._build_start_up_form(values))

        self.sections = QListWidget()
        self.sections.setObjectName("preferenceSections")
        self.sections.setAccessibleName("Sections")
        self.sections.setSpacing(3)
        self.pages = QStackedWidget()
        self._page_scrolls: list[QScrollArea] = []
        microphone = QVBoxLayout()
        microphone.addWidget(_heading("Microphone"))
        microphone_form = QFormLayout()
        microphone_form.setFieldGrowthPolicy(
            QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        microphone_form.addRow("Record from:", self.microphone_combo)
        microphone.addLayout(microphone_form)
        microphone.addWidget(_wrapped(
            "The same list as in the window's bar, whose meter shows the level. The one "
            "marked default follows the system's default microphone as it changes; the "
            "others are kept by name when they are unplugged and used again when they "
            "come back. The app keeps the last fraction of a second before Record, so "
            "the first word is not clipped."))
        for title, column in ((GENERAL, general), (MICROPHONE, microphone),
                              (RECOGNITION, recognition),
                              (SHORTCUTS, shortcuts), (CLOUD, cloud), (PRIVACY, privacy)):
            self._add_page(title, column)
        self.sections.setFixedWidth(self.sections.sizeHintForColumn(0) + 24)
        self.sections.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.sections.setCurrentRow(0)

        body = QHBoxLayout()
        body.addWidget(self.sections)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        self.url_edit.textChanged.connect(self._validate)
        self.account_url_edit.textChanged.connect(self._validate)
        self.replacements_edit.textChanged.connect(self._validate)
        self._on_protocol_combo_changed()
        self._validate()

    def _add_page(self, title: str, column: QVBoxLayout) -> None:
        column.addStretch(1)
        page = QWidget()
        page.setLayout(column)
        # Scrolled, so a small screen or a large font never squashes the fields.
        scroll = QScrollArea()
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setAccessibleName(title)
        self.pages.addWidget(scroll)
        self._page_scrolls.append(scroll)
        self.sections.addItem(QListWidgetItem(title))

    def show_section(self, title: str) -> None:
        """Open the section named `title` (one of SECTIONS)."""
        self.sections.setCurrentRow(SECTIONS.index(title))

    @property
    def section(self) -> str:
        return SECTIONS[self.pages.currentIndex()]

    def _show_section_of(self, widget: QWidget) -> None:
        for index, scroll in enumerate(self._page_scrolls):
            if scroll.isAncestorOf(widget):
                self.sections.setCurrentRow(index)
                scroll.ensureWidgetVisible(widget)
                return

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
            keep_recordings=self.keep_recordings_check.isChecked(),
            recordings_days=self.recordings_days_spin.value(),
            failover=self.failover_check.isChecked(),
            spoken_commands=self.spoken_commands_check.isChecked(),
            mask_profanity=self.mask_profanity_check.isChecked(),
            word_replacements=self.replacements_edit.toPlainText().strip()
            + ("\n" if self.replacements_edit.toPlainText().strip() else ""),
            take_timestamps=self.timestamps_check.isChecked(),
            bahasakita_account_url=self.account_url_edit.text().strip(),
            system_wide_keys=self.system_wide_check.isChecked(),
            toggle_key=self.toggle_edit.keySequence().toString(
                QKeySequence.SequenceFormat.PortableText),
            output_mode=str(self.output_combo.currentData()),
            live_engines=self._live_engine_choices,
            live_engine=str(self.live_engine_combo.currentData() or ""),
            live_language=self._live_language(),
            start_at_login=self.start_at_login_check.isChecked(),
            close_to_tray=str(self.close_combo.currentData()),
            tray_available=self._tray_available,
            microphones=self._microphones,
            microphone=str(self.microphone_combo.currentData() or ""),
        )

    def _live_language(self) -> str:
        return str(self.live_language_combo.currentData() or "en")

    def _fill_live_languages(self, wanted: str) -> None:
        """The chosen engine's languages, English first, then by name; `wanted` kept
        when the engine knows it, else English."""
        languages = self._live_engines.get(str(self.live_engine_combo.currentData()), ("en",))
        labelled = sorted(((language_label(code), code) for code in languages),
                          key=lambda pair: (pair[1] != "en", pair[0].casefold()))
        combo = self.live_language_combo
        combo.blockSignals(True)
        combo.clear()
        for label, code in labelled:
            combo.addItem(label, code)
        index = combo.findData(wanted)
        combo.setCurrentIndex(index if index >= 0 else max(0, combo.findData("en")))
        combo.blockSignals(False)

    def import_replacements(self, path: str | Path) -> bool:
        """Add the replacements in a file (`spoken => written` lines or two-column CSV)
        to the editor; a file that cannot be read or parsed is named under the editor
        and changes nothing. True when something was added."""
        path = Path(path)
        try:
            with path.open("rb") as file:
                data = file.read(MAX_IMPORT_BYTES + 1)
            if len(data) > MAX_IMPORT_BYTES:
                raise ConfigurationError(
                    f"{path.name} is larger than {MAX_IMPORT_BYTES // 1024} KB: "
                    "pick a list of replacements, one per line")
            text = data.decode("utf-8-sig")
            pairs = parse_replacements(text, source=path.name)
        except OSError as exc:
            self._show_replacements_problem(
                f"{path.name} could not be read ({exc.strerror or exc}).")
            return False
        except UnicodeDecodeError:
            self._show_replacements_problem(
                f"{path.name} is not UTF-8 text: save it as UTF-8 and import it again.")
            return False
        except ConfigurationError as exc:
            self._show_replacements_problem(f"Not imported: {exc}.")
            return False
        if not pairs:
            self._show_replacements_problem(f"{path.name} holds no replacements.")
            return False
        current = self.replacements_edit.toPlainText().rstrip("\n")
        added = "".join(f"{spoken} => {written}\n" for spoken, written in pairs)
        self.replacements_edit.setPlainText((current + "\n" if current else "") + added)
        return True

    def show_sign_in_result(self, ok: bool, message: str) -> None:
        """Say how the sign-in went; the fields are usable again either way."""
        self.password_edit.clear()
        self.sign_in_button.setEnabled(True)
        self.email_edit.setEnabled(True)
        self.password_edit.setEnabled(True)
        self._show_sign_in_status(message, error=not ok)
        if not ok:
            self.password_edit.setFocus()

    def set_token(self, token: str) -> None:
        """Fill the token field, e.g. with the token a sign-in returned."""
        self.token_edit.setText(token)

    def focus_token(self) -> None:
        """Put the cursor in the token field, for a window that asked for a token."""
        self._show_section_of(self.token_edit)
        self.token_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.token_edit.selectAll()

    def focus_sign_in(self) -> None:
        """Put the cursor in the sign-in email field (the account tab's Sign in…)."""
        self._show_section_of(self.email_edit)
        self.email_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_failover_note(self, text: str) -> None:
        """Say under the failover choice why it would not act now ("" hides it)."""
        self.failover_note.setText(text)
        self.failover_note.setVisible(bool(text))
        self._grow_to_fit()

    def set_desktop_notes(self, keys: str, output: str) -> None:
        """Say under the keys and the output choice what works on this desktop, and why."""
        for label, text in ((self.key_note, keys), (self.output_note, output)):
            label.setText(text)
            label.setVisible(bool(text))

    def set_token_info(self, expires: str, quota: str) -> None:
        """Show what the service said about the token; hidden when it said nothing."""
        parts = []
        if quota:
            parts.append(f"Quota: {quota}")
        if expires:
            parts.append(f"Expires: {expires}")
        self.token_info.setText(" · ".join(parts))
        self.token_info.setVisible(bool(parts))
        self._grow_to_fit()

    def accept(self) -> None:
        if self._validate():
            self.settings_saved.emit(self.values())
            super().accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Enter in a sign-in field signs in (returnPressed, just before this event
        # reaches the dialog); left to QDialog, it would also press OK and close.
        if self._sign_in_return_pressed and event.key() in (Qt.Key.Key_Return,
                                                             Qt.Key.Key_Enter):
            self._sign_in_return_pressed = False
            event.accept()
            return
        super().keyPressEvent(event)

    def _on_sign_in_field_return_pressed(self) -> None:
        self._sign_in_return_pressed = True
        self._on_sign_in_button_clicked()

    def _build_sign_in_group(self) -> QGroupBox:
        self.email_edit = QLineEdit()
        self.email_edit.setPlaceholderText("you@example.com")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setAutoDefault(False)
        self.sign_in_button.clicked.connect(self._on_sign_in_button_clicked)
        self.email_edit.returnPressed.connect(self._on_sign_in_field_return_pressed)
        self.password_edit.returnPressed.connect(self._on_sign_in_field_return_pressed)
        self.sign_in_status = QLabel()
        self.sign_in_status.setObjectName("signInStatus")
        self.sign_in_status.setWordWrap(True)
        self.sign_in_status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.sign_in_status.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sign_in_status.hide()

        password_row = QHBoxLayout()
        password_row.setContentsMargins(0, 0, 0, 0)
        password_row.addWidget(self.password_edit, 1)
        password_row.addWidget(self.sign_in_button)
        group_form = QFormLayout()
        group_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        group_form.addRow("Email:", self.email_edit)
        group_form.addRow("Password:", password_row)
        hint = QLabel("Instead of pasting a token: the token is fetched for you and "
                      "stored in the system keyring. The password is not stored.")
        hint.setWordWrap(True)
        group = QGroupBox("Sign in with email and password")
        group.setObjectName("signInGroup")
        # A box layout, not form rows: word-wrapped labels in QFormLayout spanning rows
        # get too little height and are clipped.
        column = QVBoxLayout(group)
        column.addWidget(hint)
        column.addLayout(group_form)
        column.addWidget(self.sign_in_status)
        return group

    def _on_sign_in_button_clicked(self) -> None:
        if not self.sign_in_button.isEnabled():
            return  # a sign-in is already under way
        email, password = self.email_edit.text().strip(), self.password_edit.text()
        if not email or not password:
            self._show_sign_in_status("Enter both your email and your password.", error=True)
            (self.email_edit if not email else self.password_edit).setFocus()
            return
        self.password_edit.clear()
        self.sign_in_button.setEnabled(False)
        self.email_edit.setEnabled(False)
        self.password_edit.setEnabled(False)
        self._show_sign_in_status("Signing in…", error=False)
        self.sign_in_requested.emit(email, password)

    def _show_sign_in_status(self, message: str, *, error: bool) -> None:
        self.sign_in_status.setStyleSheet("color: #b3261e;" if error else "")
        self.sign_in_status.setText(message)
        self.sign_in_status.setVisible(bool(message))
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        # A shown dialog lays a longer word-wrapped label out at too small a height and
        # squashes the line edits: pin the label's height for the width it has, then
        # grow the dialog if the whole no longer fits.
        layout = self.layout()
        if layout is None or not self.isVisible():
            return
        group_layout = self.sign_in_group.layout()
        if group_layout is not None:
            margins = group_layout.contentsMargins()
            width = self.sign_in_group.contentsRect().width() - margins.left() - margins.right()
            label = self.sign_in_status
            metrics = label.fontMetrics()
            # Lines rounded up, plus one for the slack word wrapping leaves at line ends.
            lines = -(-metrics.horizontalAdvance(label.text()) // max(width, 1)) + 1
            label.setMinimumHeight(lines * metrics.lineSpacing() if label.text() else 0)
        layout.activate()
        needed = max(layout.totalMinimumSize().height(), layout.totalSizeHint().height())
        if needed > self.height():
            self.resize(self.width(), needed)

    def _build_start_up_form(self, values: SettingsValues) -> QFormLayout:
        self.start_at_login_check = QCheckBox("Start Dictation when I log in")
        self.start_at_login_check.setObjectName("startAtLoginCheck")
        self.start_at_login_check.setChecked(values.start_at_login)
        self._tray_available = values.tray_available
        self.close_combo = _choices("closeCombo", "Closing the window", CLOSE_CHOICES,
                                    values.close_to_tray)
        if not values.tray_available:
            self.close_combo.setEnabled(False)
            self.close_combo.setToolTip("This desktop shows no tray icons, so closing the "
                                        "window quits Dictation.")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.start_at_login_check)
        form.addRow("Closing the window:", self.close_combo)
        return form

    def _build_text_form(self, values: SettingsValues) -> QFormLayout:
        self.spoken_commands_check = QCheckBox("Spoken punctuation and commands")
        self.spoken_commands_check.setChecked(values.spoken_commands)
        self.spoken_commands_check.setToolTip(
            "Say “comma”, “period”, “new paragraph” or “scratch that” (Indonesian: "
            "“koma”, “titik”, “paragraf baru”, “hapus itu”) to punctuate and correct.")
        self.mask_profanity_check = QCheckBox("Mask profanity (f***)")
        self.mask_profanity_check.setChecked(values.mask_profanity)
        self.timestamps_check = QCheckBox("Head each take with the time it started")
        self.timestamps_check.setChecked(values.take_timestamps)
        self.timestamps_check.setToolTip("Applies to takes from now on.")
        self.replacements_edit = QPlainTextEdit(values.word_replacements)
        self.replacements_edit.setObjectName("replacementsEdit")
        self.replacements_edit.setPlaceholderText("dictation app => Dictation App\n"
                                                  "jakarta => Jakarta")
        self.replacements_edit.setTabChangesFocus(True)
        self.replacements_edit.setFixedHeight(
            self.replacements_edit.fontMetrics().lineSpacing() * 5 + 12)
        self.replacements_error = QLabel()
        self.replacements_error.setObjectName("replacementsError")
        self.replacements_error.setWordWrap(True)
        self.replacements_error.setStyleSheet("color: #b3261e;")
        self.replacements_error.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.replacements_error.hide()
        self.import_button = QPushButton("Import from file…")
        self.import_button.setAutoDefault(False)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        hint = QLabel("One per line: spoken => written.")
        import_row = QHBoxLayout()
        import_row.setContentsMargins(0, 0, 0, 0)
        import_row.addWidget(hint, 1)
        import_row.addWidget(self.import_button)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.replacements_edit)
        column.addLayout(import_row)
        column.addWidget(self.replacements_error)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.spoken_commands_check)
        form.addRow(self.mask_profanity_check)
        form.addRow(self.timestamps_check)
        form.addRow("Word replacements:", column)
        return form

    def _on_import_button_clicked(self) -> None:
        # open(), not a static getOpenFileName: that would run a nested event loop.
        dialog = QFileDialog(self, "Import word replacements")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(["Word lists (*.txt *.csv)", "All files (*)"])
        dialog.fileSelected.connect(self.import_replacements)
        dialog.open()

    def _show_replacements_problem(self, message: str) -> None:
        self.replacements_error.setText(message)
        self.replacements_error.setVisible(bool(message))

    def _validate(self) -> bool:
        problem = url_problem(self.url_edit.text())
        self.url_error.setText(problem or "")
        self.url_error.setVisible(problem is not None)
        account_problem = account_url_problem(self.account_url_edit.text())
        self.account_url_error.setText(account_problem or "")
        self.account_url_error.setVisible(account_problem is not None)
        _fit_wrapped(self.account_url_error, self.account_url_edit.width())
        try:
            parse_replacements(self.replacements_edit.toPlainText())
            replacements_ok = True
            self._show_replacements_problem("")
        except ConfigurationError as exc:
            replacements_ok = False
            self._show_replacements_problem(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        ok = problem is None and account_problem is None and replacements_ok
        self.ok_button.setEnabled(ok)
        return ok

    def _on_token_toggle_toggled(self, shown: bool) -> None:
        self.token_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.token_toggle.setText("Hide" if shown else "Show")

    def _on_protocol_combo_changed(self) -> None:
        self.language_edit.setEnabled(self.protocol_combo.currentData() == "v2")


def _fit_wrapped(label: QLabel, width: int) -> None:
    # A word-wrapped label in a form row gets one line's height and is clipped: pin
    # the height its text needs at the width of the field above it, and a line's slack.
    needed = label.heightForWidth(width) + label.fontMetrics().lineSpacing() // 2
    label.setMinimumHeight(needed if label.text() and width > 0 else 0)


def _choices(name: str, accessible: str, choices: Sequence[tuple[str, str]],
             current: str) -> QComboBox:
    """A combo of (value, label) choices with `current` chosen (else the first)."""
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setAccessibleName(accessible)
    for value, label in choices:
        combo.addItem(label, value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo


def _column(*widgets: QWidget) -> QVBoxLayout:
    """A field and the line under it that says what is wrong with it."""
    column = QVBoxLayout()
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(4)
    for widget in widgets:
        column.addWidget(widget)
    return column


def _note(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _wrapped(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label
