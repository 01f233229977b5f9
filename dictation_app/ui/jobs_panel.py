"""The Files tab: options for new file jobs, the list of jobs, and what can be done to them.

Passive, like every widget: it emits intents (`open_files_requested`, `files_dropped`,
`cancel_requested`, ...) and exposes update methods (`set_jobs`, `update_job`,
`remove_job`, `show_message`). A controller owns the job runner and connects the two,
and tells the panel which services and vendor options to offer (`set_providers`).

The list itself, a model/view pair, is in ui/job_list.py; drops in ui/file_drops.py;
language codes in core/languages.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QListView,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.languages import (
    AUTOMATIC,
    LANGUAGES,
    LanguageSupport,
    parse_language,
)
from dictation_app.jobs.model import Job, JobOptions, JobState
from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
from dictation_app.ui.file_drops import accept_file_drag, take_file_drop
from dictation_app.ui.job_list import (
    JOB_ROLE,
    JobActions,
    JobDelegate,
    JobListModel,
    job_details,
)
from dictation_app.ui.language_label import language_label
from dictation_app.ui.message_line import show_message

DROP_HINT = "Drop audio files here or click Add files…"
LANGUAGE_TIP = "The language spoken in the files"
TYPE_TIP = ": pick one or type a code such as en or pt-BR"
# What a service offers when the controller gave no LanguageSupport for it.
_ANY_LANGUAGE = LanguageSupport("The service", tuple(code for code, _name in LANGUAGES),
                                any_code=True)

SPEAKERS_TIP = "Label who speaks when (diarization)"

LanguagesOf = Callable[[VendorOptions | None], LanguageSupport]

_RETRYABLE = (JobState.FAILED, JobState.CANCELLED)
_BUSY_TICK_MS = 80  # the moving bar of a job whose progress is unknown
_ELAPSED_TICK_MS = 1000



# --- the panel ------------------------------------------------------------------------


class JobsPanel(QWidget):
    provider_changed = Signal(str)
    open_files_requested = Signal()
    files_dropped = Signal(list)  # list[Path]: regular files only
    cancel_requested = Signal(int)  # job id, for each of these
    open_requested = Signal(int)
    retry_requested = Signal(int)
    remove_requested = Signal(int)
    copy_requested = Signal(int)
    export_requested = Signal(int)
    priority_requested = Signal(int, str)  # job id, "high": a Bahasakita upload still queued

    def __init__(self, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time):
        super().__init__(parent)
        self.setAcceptDrops(True)

        self._labels: dict[str, str] = {}  # provider -> name, shared with the list's rows
        self.provider_combo = QComboBox()
        self.provider_combo.setToolTip("The service that turns the files into text")
        self.provider_combo.currentIndexChanged.connect(self._on_provider_combo_changed)

        # Filled for the chosen service (and, offline, engine) by _offer_languages: its
        # languages, Automatic where it detects, typing where it takes any code.
        self.language_combo = QComboBox()
        self.language_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.language_combo.setAccessibleName("Language")
        self.language_combo.editTextChanged.connect(self._on_language_combo_text_changed)
        self._languages_of: dict[str, LanguagesOf] = {}
        self._offered: LanguageSupport = _ANY_LANGUAGE
        self._restoring = False  # set_options is at work: its own checks speak

        # The chosen vendor's own options: built by set_providers from their declarations.
        self.option_controls: dict[tuple[str, str], QComboBox | QCheckBox] = {}
        self._option_types: dict[str, type[VendorOptions]] = {}
        self._option_values: dict[str, dict[str, Any]] = {}  # provider -> name -> value
        self.speakers_box = QCheckBox("Tell speakers apart")
        self.speakers_box.setToolTip(SPEAKERS_TIP)
        self._speakers: frozenset[str] | None = None  # None: every service offers it

        self.add_button = QPushButton("Add files…")
        self.add_button.setToolTip("Choose audio or video files to transcribe (Ctrl+O)")
        self.add_button.clicked.connect(self.open_files_requested)

        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setVisible(False)

        self._vendor = JobActions()  # shared with the list's rows: set_job_actions fills it
        self.model = JobListModel(self, labels=self._labels, vendor=self._vendor)
        self.list_view = QListView()
        self.list_view.setModel(self.model)
        self.list_view.setItemDelegate(
            JobDelegate(clock, self._labels, self._vendor, self.list_view))
        self.list_view.setUniformItemSizes(True)  # thousands of rows lay out instantly
        self.list_view.setAlternatingRowColors(True)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list_view.setAccessibleName("File transcription jobs")
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(self._on_list_view_context_menu)
        self.list_view.activated.connect(self._on_list_view_activated)
        selection = self.list_view.selectionModel()
        selection.selectionChanged.connect(self._update_actions)
        selection.currentChanged.connect(self._update_actions)

        # The selected job in full, as text a person can select and copy (the error to
        # search for, the service's job ID): what the row's tooltip says, reachable by
        # keyboard (Tab from the list) and by a screen reader.
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setTabChangesFocus(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setAccessibleName("Details of the selected job")
        self.details.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        lines = self.details.fontMetrics().lineSpacing()
        self.details.setFixedHeight(6 * lines + 12)  # a reason of a few lines, scrolls on
        self.details.setVisible(False)

        self.drop_hint = QLabel(DROP_HINT)
        self.drop_hint.setWordWrap(True)
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setContentsMargins(16, 16, 16, 16)
        self.drop_hint.setStyleSheet("QLabel { color: palette(mid); border: 2px dashed "
                                     "palette(mid); border-radius: 8px; }")
        self._stack = QStackedWidget()
        self._stack.addWidget(self.drop_hint)
        self._stack.addWidget(self.list_view)

        self._build_actions()
        buttons = QGridLayout()
        buttons.setSpacing(4)
        for position, action in enumerate((self.open_action, self.copy_action,
                                           self.export_action, self.retry_action,
                                           self.cancel_action, self.remove_action)):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button, position // 3, position % 3)

        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.addRow("Transcribe with", self.provider_combo)
        self._form.addRow("Language", self.language_combo)
        self._form.addRow(self.speakers_box)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(self._form)
        layout.addWidget(self.add_button)
        layout.addWidget(self.message_label)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)

        self._tick = QTimer(self)
        self._tick.timeout.connect(self.list_view.viewport().update)

        self._show_provider_controls()
        self._offer_languages(announce=False)
        self._sync_view()
        self._update_actions()

    def _build_actions(self) -> None:
        def action(text: str, tip: str, slot: Callable[[], None],
                   shortcut: QKeySequence | None = None) -> QAction:
            made = QAction(text, self)
            made.setIconText(text)  # buttons would drop the "…" that says a dialog follows
            made.setToolTip(tip)
            made.triggered.connect(slot)
            if shortcut is not None:
                made.setShortcut(shortcut)
                # Only while the list has the focus: Delete in the language box edits text.
                made.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self.list_view.addAction(made)
            return made

        self.open_action = action("Open", "Show the transcript (Enter)", self._on_open_action)
        self.copy_action = action("Copy text", "Copy the transcript to the clipboard (Ctrl+C)",
                                  self._on_copy_action, QKeySequence(QKeySequence.StandardKey.Copy))
        self.export_action = action("Export…", "Save the transcript as text, subtitles or JSON "
                                    "(Ctrl+S)", self._on_export_action,
                                    QKeySequence(QKeySequence.StandardKey.Save))
        self.retry_action = action("Retry", "Run the selected failed or cancelled jobs again",
                                   self._on_retry_action)
        self.cancel_action = action("Cancel", "Stop the selected jobs (Esc)",
                                    self._on_cancel_action,
                                    QKeySequence(QKeySequence.StandardKey.Cancel))
        self.remove_action = action("Remove", "Remove the selected finished jobs from the list "
                                    "(Delete)", self._on_remove_action,
                                    QKeySequence(QKeySequence.StandardKey.Delete))
        self.priority_action = action("High priority",
                                      "Move the selected Bahasakita uploads ahead in the "
                                      "service's queue", self._on_priority_action)

    # --- update methods -------------------------------------------------------------

    def set_jobs(self, jobs: Sequence[Job]) -> None:
        """Show exactly these jobs (in any order; the list sorts them newest first)."""
        self.model.set_jobs(jobs)
        self._sync_view()
        self._update_actions()

    def update_job(self, job: Job) -> None:
        """Show a new or changed job: one row is inserted or repainted, nothing else."""
        row = self.model.upsert(job)
        self._sync_view()
        selection = self.list_view.selectionModel()
        if selection.isRowSelected(row, QModelIndex()):
            self._update_actions()

    def remove_job(self, job_id: int) -> None:
        if self.model.remove(job_id):
            self._sync_view()
            self._update_actions()

    def show_message(self, text: str, error: bool = False) -> None:
        """A status line above the list ("2 files were not audio and were skipped");
        an empty text hides it."""
        show_message(self.message_label, text, error=error)
        self.message_label.setToolTip(text)

    def set_providers(self, choices: Sequence[tuple[str, str]],
                      option_types: Mapping[str, type[VendorOptions]] | None = None,
                      languages: Mapping[str, LanguagesOf] | None = None, *,
                      speakers: Collection[str] | None = None) -> None:
        """The services to offer, as (id, label), in order; the list shows the labels.
        `option_types` gives each vendor's options: a control for each option its SPECS
        show in the panel, visible while that vendor is chosen. `languages` says, per
        service and given its options, which languages the Language list offers (a
        service without one offers any code); `speakers` are the services that can
        tell speakers apart (None: all). Emits nothing: the first service becomes
        the current one until set_provider()."""
        self._labels.clear()
        self._labels.update(choices)
        self.provider_combo.blockSignals(True)
        self.provider_combo.clear()
        for provider, label in choices:
            self.provider_combo.addItem(label, provider)
        self.provider_combo.blockSignals(False)
        for control in self.option_controls.values():
            self._form.removeRow(control)
        self.option_controls.clear()
        self._option_types = dict(option_types or {})
        self._option_values = {}
        row = 2  # after the service and the language
        for provider, kind in self._option_types.items():
            self._option_values[provider] = {spec.name: spec.default for spec in kind.SPECS}
            for spec in kind.SPECS:
                if not spec.in_panel:
                    continue
                control = _option_control(spec)
                self.option_controls[(provider, spec.name)] = control
                # An option may decide the languages (the offline engine chosen).
                if isinstance(control, QCheckBox):
                    control.toggled.connect(self._on_option_control_changed)
                else:
                    control.currentIndexChanged.connect(self._on_option_control_changed)
                if isinstance(control, QCheckBox):
                    self._form.insertRow(row, control)
                else:
                    self._form.insertRow(row, spec.label, control)
                row += 1
        self._languages_of = dict(languages or {})
        self._speakers = frozenset(speakers) if speakers is not None else None
        self._show_provider_controls()
        self._offer_languages(announce=False)
        self.list_view.viewport().update()

    def set_job_actions(self, actions: JobActions) -> None:
        """How to ask a job's vendor for its remote id and its queue priority."""
        self._vendor.remote_id = actions.remote_id
        self._vendor.offers_priority = actions.offers_priority
        self._vendor.can_prioritise = actions.can_prioritise
        self.list_view.viewport().update()
        self._update_actions()

    def set_provider(self, provider: str) -> None:
        """Select a service without emitting provider_changed."""
        position = self.provider_combo.findData(provider)
        if position < 0:
            raise ValueError(f"unknown provider {provider!r}; expected one of "
                             f"{', '.join(self._labels)}")
        self.provider_combo.blockSignals(True)
        self.provider_combo.setCurrentIndex(position)
        self.provider_combo.blockSignals(False)
        self._show_provider_controls()
        self._offer_languages()

    def provider(self) -> str:
        return str(self.provider_combo.currentData())

    def set_options(self, options: JobOptions) -> None:
        """Show these options; the vendor's go to the vendor whose type they have (or the
        current one), and values the panel has no control for are kept as given. A
        language the chosen service does not take gives way to its default, saying so."""
        self.speakers_box.setChecked(options.diarization)
        if options.vendor is not None:
            owner = next((p for p, kind in self._option_types.items()
                          if isinstance(options.vendor, kind)), self.provider())
            # The engine may change, and with it the languages: judged below, at once.
            self._restoring = True
            try:
                self.set_option_values(owner, options.vendor.to_dict())
            finally:
                self._restoring = False
        self._offer_languages(announce=False)
        self._choose_language(options.language, announce=True)

    def set_option_values(self, provider: str, values: Mapping[str, Any]) -> None:
        """Show (and keep) these values of `provider`'s options; unknown names are ignored."""
        kept = self._option_values.get(provider)
        if kept is None:
            return
        for name, value in values.items():
            if name not in kept:
                continue
            kept[name] = value
            control = self.option_controls.get((provider, name))
            if isinstance(control, QCheckBox):
                control.setChecked(bool(value))
            elif control is not None:
                control.setCurrentIndex(max(0, control.findData(value)))

    def option_values(self) -> dict[str, dict[str, Any]]:
        """Every vendor's options as the controls say: provider -> name -> value."""
        values = {provider: dict(kept) for provider, kept in self._option_values.items()}
        for (provider, name), control in self.option_controls.items():
            values[provider][name] = (control.isChecked() if isinstance(control, QCheckBox)
                                      else control.currentData())
        return values

    def options(self) -> JobOptions:
        """What the controls say, with the chosen vendor's options typed; raises
        ConfigurationError when the language is not a code the service takes."""
        vendor = self._vendor_options()
        language = self._offered.parse(self.language_combo.currentText())
        return JobOptions(language=language, diarization=(self.speakers_box.isChecked()
                                                          and self.speakers_box.isEnabled()),
                          vendor=vendor)

    def language_support(self) -> LanguageSupport:
        """What the Language list offers now: the chosen service's (or engine's)."""
        return self._offered

    def select_job(self, job_id: int) -> bool:
        """Select and scroll to a job (e.g. one just added); False when it is not listed."""
        row = self.model.row_of(job_id)
        if row is None:
            return False
        index = self.model.index(row, 0)
        self.list_view.setCurrentIndex(index)
        self.list_view.scrollTo(index)
        return True

    def selected_jobs(self) -> list[Job]:
        """The selected jobs, newest first."""
        rows = sorted(index.row() for index in self.list_view.selectionModel().selectedIndexes())
        return [self.model.job_at(row) for row in rows]

    # --- drops ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        accept_file_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        accept_file_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = take_file_drop(event, self.show_message)
        if files:
            self.files_dropped.emit(files)

    # --- slots ----------------------------------------------------------------------

    def _on_provider_combo_changed(self, _position: int) -> None:
        self._show_provider_controls()
        self._offer_languages()
        self.provider_changed.emit(self.provider())

    def _on_option_control_changed(self, *_args: object) -> None:
        self._offer_languages(announce=not self._restoring)

    def _on_language_combo_text_changed(self, text: str) -> None:
        try:
            self._offered.parse(text)
        except ConfigurationError as exc:
            self.language_combo.setStyleSheet("QComboBox { border: 1px solid #c5221f; }")
            self.language_combo.setToolTip(str(exc))
        else:
            self.language_combo.setStyleSheet("")
            self.language_combo.setToolTip(self._language_tip())

    def _on_list_view_activated(self, index: QModelIndex) -> None:
        job = index.data(JOB_ROLE)
        if isinstance(job, Job) and job.state is JobState.COMPLETED:
            self.open_requested.emit(job.id)

    def _on_list_view_context_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for action in self.context_actions():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.popup(self.list_view.viewport().mapToGlobal(position))

    def context_actions(self) -> list[QAction | None]:
        """The list's context menu, None for a separator."""
        return [self.open_action, self.copy_action, self.export_action, None,
                self.retry_action, self.cancel_action, self.priority_action, None,
                self.remove_action]

    def _on_open_action(self) -> None:
        job = self._single_completed()
        if job is not None:
            self.open_requested.emit(job.id)

    def _on_copy_action(self) -> None:
        job = self._single_completed()
        if job is not None:
            self.copy_requested.emit(job.id)

    def _on_export_action(self) -> None:
        job = self._single_completed()
        if job is not None:
            self.export_requested.emit(job.id)

    def _on_retry_action(self) -> None:
        for job in self.selected_jobs():
            if _retryable(job):
                self.retry_requested.emit(job.id)

    def _on_cancel_action(self) -> None:
        for job in self.selected_jobs():
            if not job.state.finished:
                self.cancel_requested.emit(job.id)

    def _on_priority_action(self) -> None:
        for job in self.selected_jobs():
            if self._vendor.can_prioritise(job):
                self.priority_requested.emit(job.id, "high")

    def _on_remove_action(self) -> None:
        for job in self.selected_jobs():
            if job.state.finished:
                self.remove_requested.emit(job.id)

    # --- internals ------------------------------------------------------------------

    def _single_completed(self) -> Job | None:
        jobs = self.selected_jobs()
        if len(jobs) == 1 and jobs[0].state is JobState.COMPLETED:
            return jobs[0]
        return None

    def _update_actions(self) -> None:
        jobs = self.selected_jobs()
        completed = self._single_completed() is not None
        self.open_action.setEnabled(completed)
        self.copy_action.setEnabled(completed)
        self.export_action.setEnabled(completed)
        self.retry_action.setEnabled(any(_retryable(job) for job in jobs))
        self.cancel_action.setEnabled(any(not job.state.finished for job in jobs))
        self.remove_action.setEnabled(any(job.state.finished for job in jobs))
        self.priority_action.setEnabled(any(self._vendor.can_prioritise(job) for job in jobs))
        self.priority_action.setVisible(any(self._vendor.offers_priority(job) for job in jobs))
        self._show_details(jobs)

    def _show_details(self, jobs: Sequence[Job]) -> None:
        """One selected job: its details under the list; none or several: hidden."""
        if len(jobs) != 1:
            self.details.setVisible(False)
            self.details.clear()
            return
        text = job_details(jobs[0], self._labels, self._vendor, reason_first=True)
        if text != self.details.toPlainText():  # a progress report keeps the selection
            self.details.setPlainText(text)
        self.details.setVisible(True)

    def _vendor_options(self) -> VendorOptions | None:
        kind = self._option_types.get(self.provider())
        return (kind.from_dict(self.option_values()[self.provider()])
                if kind is not None else None)

    def _offer_languages(self, *, announce: bool = True) -> None:
        """Fill the Language list with what the chosen service (or engine) takes. A
        choice it does not take gives way to its default; `announce` says so on the
        message line, since a silent change would transcribe in a language nobody chose."""
        languages_of = self._languages_of.get(self.provider())
        if self.provider_combo.count() and languages_of is not None:
            support = languages_of(self._vendor_options())
        else:
            support = _ANY_LANGUAGE
        combo = self.language_combo
        text = combo.currentText()
        before: str | None = None
        understood = combo.count() > 0
        if understood:
            try:
                before = parse_language(text)
            except ConfigurationError:
                understood = False  # half typed: kept where typing stays possible
        if support != self._offered or not combo.count():
            self._offered = support
            self._fill_languages(support)
            if not understood:
                if support.any_code and text:
                    combo.setEditText(text)
                else:
                    self._select_language(support.default)
                return
        elif not understood:
            return
        self._choose_language(before, announce=announce)

    def _fill_languages(self, support: LanguageSupport) -> None:
        combo = self.language_combo
        combo.blockSignals(True)
        combo.clear()
        combo.setEditable(support.any_code)
        line_edit = combo.lineEdit()
        if line_edit is not None:
            line_edit.setAcceptDrops(False)  # a dropped file is a job, not a language
        if support.detects:
            combo.addItem(AUTOMATIC, None)
            combo.setItemData(0, "Let the service detect the language",
                              Qt.ItemDataRole.ToolTipRole)
        entries = [(language_label(code), code) for code in support.codes]
        if not support.any_code:  # a closed list can be long (Whisper's 99): by name
            entries.sort(key=lambda entry: entry[0].casefold())
        for label, code in entries:
            combo.addItem(label, code)
        combo.blockSignals(False)
        combo.setStyleSheet("")
        combo.setToolTip(self._language_tip())

    def _choose_language(self, code: str | None, *, announce: bool) -> None:
        """Select `code` if the service takes it, else its default, saying so."""
        support = self._offered
        if support.accepts(code):
            self._select_language(code)
            return
        self._select_language(support.default)
        if announce:
            now = AUTOMATIC if support.default is None else language_label(support.default)
            why = ("cannot detect the language" if code is None
                   else f"does not know {language_label(code)}")
            self.show_message(f"{support.who} {why}: the language is now {now}.")

    def _select_language(self, code: str | None) -> None:
        combo = self.language_combo
        position = (combo.findData(code) if code is not None
                    else next((i for i in range(combo.count())
                               if combo.itemData(i) is None), -1))
        if code is not None and position < 0:
            # "pt-BR" where the list has Portuguese (pt): typed where typing is possible.
            if combo.isEditable():
                combo.setEditText(code)
                return
            position = combo.findData(code.split("-")[0].lower())
        if position < 0:
            position = 0
        combo.setCurrentIndex(position)
        if combo.isEditable():
            combo.setEditText(combo.itemText(position))

    def _language_tip(self) -> str:
        support = self._offered
        if support.any_code:
            return LANGUAGE_TIP + TYPE_TIP
        if len(support.codes) == 1 and not support.detects:
            return f"{LANGUAGE_TIP}: {support.who} knows {language_label(support.codes[0])} only"
        detects = "" if support.detects else ", and cannot detect the language"
        return f"{LANGUAGE_TIP}. {support.who} knows the languages listed{detects}"

    def _show_provider_controls(self) -> None:
        provider = self.provider()
        # Kept ticked while disabled: the person's choice waits for a service that can.
        offered = self._speakers is None or provider in self._speakers
        self.speakers_box.setEnabled(offered)
        label = self._labels.get(provider, provider)
        self.speakers_box.setToolTip(SPEAKERS_TIP if offered
                                     else f"{SPEAKERS_TIP}: {label} cannot tell speakers apart")
        for (owner, _name), control in self.option_controls.items():
            self._form.setRowVisible(control, owner == provider)

    def _sync_view(self) -> None:
        empty = self.model.rowCount() == 0
        self._stack.setCurrentWidget(self.drop_hint if empty else self.list_view)
        # Uniform rows lay out thousands of jobs at once; a failed job's row is taller
        # (its reason in full), and is laid out again as the list's width changes.
        uniform = self.model.tall_count == 0
        if self.list_view.uniformItemSizes() != uniform:
            self.list_view.setUniformItemSizes(uniform)
            self.list_view.setResizeMode(QListView.ResizeMode.Fixed if uniform
                                         else QListView.ResizeMode.Adjust)
        # Repaint only while something on screen moves: a busy bar, or elapsed time.
        if self.model.active_count == 0:
            self._tick.stop()
            return
        interval = _BUSY_TICK_MS if self.model.busy_count else _ELAPSED_TICK_MS
        if not self._tick.isActive() or self._tick.interval() != interval:
            self._tick.start(interval)


def _retryable(job: Job) -> bool:
    """Failed or cancelled, and not refused: a file that cannot be decoded is not retried."""
    return job.state in _RETRYABLE and not job.refused


def _option_control(spec: OptionSpec) -> QComboBox | QCheckBox:
    control: QComboBox | QCheckBox
    if spec.kind is OptionKind.BOOL:
        control = QCheckBox(spec.label)
        control.setChecked(bool(spec.default))
    else:
        control = QComboBox()
        for value, label in spec.choices:
            control.addItem(label, value)
        control.setCurrentIndex(max(0, control.findData(spec.default)))
    control.setToolTip(spec.tooltip)
    return control
