"""Connects the Files panel, the result views and the services dialog to the job runner.

The widgets only ask (`cancel_requested`, `files_dropped`, ...) and show what they are
given; this controller turns those intents into runner calls and runner changes into
panel updates, remembers the person's job options in the settings, and writes exports.
It owns no thread: the runner's work happens on the qasync loop, file writes in
`asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from dictation_app.controllers.messages import window_message
from dictation_app.core.errors import DictationError
from dictation_app.core.redaction import redact, redacting_logger
from dictation_app.core.secrets import SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.jobs.exports import ExportFormat, export, write_export
from dictation_app.jobs.model import Job, JobOptions
from dictation_app.jobs.runner import JobRunner
from dictation_app.jobs.store import JobStore
from dictation_app.services import registry
from dictation_app.services.descriptor import Field, FieldKind, JobQueue, ServiceDescriptor
from dictation_app.services.factory import ServiceFactory
from dictation_app.ui.job_list import JobActions
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.monitoring_panel import MonitoringPanel
from dictation_app.ui.result_view import ResultView
from dictation_app.ui.services_dialog import (
    FieldSpec,
    SectionSpec,
    ServicesDialog,
    ServicesValues,
)

log = redacting_logger(__name__)

AUDIO_FILTER = ("Audio and video files (*.wav *.flac *.ogg *.oga *.opus *.mp3 *.m4a *.aac "
                "*.mp4 *.m4v *.mov *.webm *.mkv *.wma *.amr *.aif *.aiff);;All files (*)")


class JobsController(QObject):
    def __init__(self, window: MainWindow, runner: JobRunner, store: JobStore,
                 settings: Settings, secrets: SecretStore, factory: ServiceFactory, *,
                 descriptors: tuple[ServiceDescriptor, ...] = registry.DESCRIPTORS):
        super().__init__()
        self.descriptors = descriptors
        self._vendors = {d.id: d for d in descriptors}
        self.labels = {d.id: d.label for d in descriptors}
        self.window = window
        self.panel = window.jobs_panel
        self.runner = runner
        self.store = store
        self.settings = settings
        self.secrets = secrets
        self.factory = factory
        self._views: dict[int, ResultView] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._file_dialog: QFileDialog | None = None
        self.services_dialog: ServicesDialog | None = None
        self._services_opened_with: ServicesValues | None = None
        self._monitoring: MonitoringPanel | None = None
        self._refresh_monitoring: Callable[[], object] | None = None
        self._uploads: dict[str, Job] = {}  # a job's remote id (its vendor's) -> the job
        self.panel.set_providers(registry.choices(descriptors),
                                 registry.options_types(descriptors),
                                 registry.language_supports(descriptors),
                                 speakers=registry.speaker_services(descriptors))
        self._job_actions = vendor_job_actions(descriptors)
        self.panel.set_job_actions(self._job_actions)
        self._unsubscribe = [runner.add_listener(self.panel.update_job),
                             runner.add_removal_listener(self.panel.remove_job)]

        window.files_dropped.connect(self.add_files)
        window.open_files_requested.connect(self.choose_files)
        window.services_requested.connect(self.open_services_dialog)
        panel = self.panel
        panel.cancel_requested.connect(lambda job_id: self._spawn(runner.cancel(job_id)))
        panel.remove_requested.connect(self._on_panel_remove_requested)
        panel.retry_requested.connect(self._on_panel_retry_requested)
        panel.open_requested.connect(self.open_result)
        panel.copy_requested.connect(self._on_panel_copy_requested)
        panel.export_requested.connect(self._on_panel_export_requested)
        panel.priority_requested.connect(
            lambda job_id, priority: self._spawn(self._change_priority(job_id, priority)))
        panel.provider_changed.connect(
            lambda provider: self.settings.set(Key.JOB_PROVIDER, provider))

    def link_monitoring(self, panel: MonitoringPanel,
                        refresh: Callable[[], object] | None = None) -> None:
        """Jobs with a remote id (Bahasakita uploads) and the account's queue entries point
        at each other by that id; `refresh` is called when an upload reaches the service,
        so its queue entry shows."""
        self._monitoring = panel
        self._refresh_monitoring = refresh
        panel.job_activated.connect(self._on_monitoring_job_activated)
        self._unsubscribe.append(self.runner.add_listener(self._on_job_for_monitoring))
        self._unsubscribe.append(self.runner.add_removal_listener(
            lambda job_id: self._on_job_for_monitoring(None, removed=job_id)))

    def start(self) -> None:
        provider = self.settings.get_str(Key.JOB_PROVIDER)
        self.panel.set_provider(provider if provider in self.labels
                                else registry.DEFAULT_PROVIDER)
        self._show_remembered_options()
        self.panel.set_options(JobOptions(
            language=self.settings.get_str(Key.JOB_LANGUAGE) or None,
            diarization=self.settings.get_bool(Key.JOB_DIARIZATION)))
        jobs = self.store.list()
        self.panel.set_jobs(jobs)
        self._uploads = {uuid: job for job in jobs if (uuid := self._remote_id(job))}
        if self._monitoring is not None:
            self._monitoring.set_local_jobs(self._upload_names())
        if self.store.recovered_from is not None:
            self.panel.show_message(
                f"The job list was damaged and has been started afresh; the old one is kept "
                f"as {self.store.recovered_from}.", error=True)
        self._spawn(self.runner.resume())

    def add_files(self, paths: Sequence[Path]) -> list[Job]:
        """Each file becomes a job with the panel's service and options.

        The Files panel comes forward either way, so what happened to a drop is in view.
        """
        if not paths:
            return []
        self.window.side_panel.setCurrentWidget(self.panel)
        if not self.window.side_panel.isVisible():
            self.window.side_panel.show()
        try:
            options = self.panel.options()
        except DictationError as exc:
            self.panel.show_message(f"{_files(len(paths))} not added: {exc}", error=True)
            return []
        provider = self.panel.provider()
        self._remember_options(provider, options)
        jobs: list[Job] = []
        try:
            for path in paths:
                jobs.append(self.runner.submit(Path(path), provider, options))
        except (DictationError, sqlite3.Error, OSError) as exc:
            log.error("jobs: could not add %s: %s", Path(path).name, exc)
            self.panel.show_message(
                f"{_files(len(paths) - len(jobs))} not added: the job list could not be "
                f"saved ({exc}).", error=True)
        else:
            self.panel.show_message("")
        if jobs:
            self.panel.select_job(jobs[-1].id)
        return jobs

    def _remember_options(self, provider: str, options: JobOptions) -> None:
        try:
            self.settings.set(Key.JOB_PROVIDER, provider)
            self.settings.set(Key.JOB_LANGUAGE, options.language or "")
            # The box as ticked, though a service that cannot tell speakers apart is
            # not asked to: the next service that can finds the person's choice.
            self.settings.set(Key.JOB_DIARIZATION, self.panel.speakers_box.isChecked())
            values = self.panel.option_values()
            for d in self.descriptors:
                for spec in d.options:
                    if spec.setting is not None and spec.in_panel and d.id in values:
                        self.settings.set(spec.setting, values[d.id][spec.name])
        except OSError as exc:  # the jobs still run; only the next start's defaults suffer
            log.warning("jobs: could not remember the job options: %s", exc)

    def choose_files(self) -> None:
        if self._file_dialog is not None:
            self._file_dialog.raise_()
            return
        dialog = QFileDialog(self.window, "Transcribe files", "", AUDIO_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda files: self.add_files([Path(f) for f in files]))
        dialog.finished.connect(self._on_file_dialog_finished)
        self._file_dialog = dialog
        dialog.open()  # never exec(): a nested loop would stall qasync

    def open_result(self, job_id: int) -> ResultView | None:
        view = self._views.get(job_id)
        if view is not None:
            view.raise_()
            view.activateWindow()
            return view
        job = self.store.get(job_id)
        if job is None or job.result is None:
            self.panel.show_message("This job has no result to show.", error=True)
            return None
        view = ResultView.for_job(job, self.window,
                                  service_label=self.labels.get(job.provider))
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.export_directory = self._export_directory()
        view.export_requested.connect(
            lambda path, fmt, timestamps, speakers, v=view:
            self._spawn(self._export(v, path, fmt, timestamps, speakers)))
        view.subtitles_export_requested.connect(
            lambda path, v=view: self._spawn(self._save(v, Path(path), v.service_subtitles or "")))
        view.finished.connect(lambda _result, j=job_id: self._views.pop(j, None))
        self._views[job_id] = view
        view.show()
        return view

    def open_services_dialog(self) -> ServicesDialog:
        if self.services_dialog is not None:
            self.services_dialog.raise_()
            return self.services_dialog
        values = ServicesValues(
            {f.id: self._stored(f) for f in self._fields()},
            jobs_at_once=int(self.settings.get(Key.JOBS_AT_ONCE)),
            secrets=frozenset(f.id for f in self._fields() if f.secret is not None))
        self._services_opened_with = values
        dialog = ServicesDialog(service_sections(self.descriptors), values, self.window)
        dialog.services_saved.connect(self.save_services)
        dialog.finished.connect(self._on_services_dialog_finished)
        self.services_dialog = dialog
        dialog.open()
        return dialog

    def save_services(self, values: ServicesValues) -> None:
        secret_fields = []
        for f in self._fields():
            if f.id not in values.fields:
                continue
            if f.setting is not None:
                self.settings.set(f.setting, values.fields[f.id])
            else:
                secret_fields.append(f)
        self.settings.set(Key.JOBS_AT_ONCE, values.jobs_at_once)
        # Only what the person changed: a keyring that could not be read opened the dialog
        # with empty fields, and saving those would delete the stored secrets.
        before = self._services_opened_with
        kept = [
            self.secrets.set(f.secret, values.fields[f.id])
            for f in secret_fields
            if f.secret is not None
            and values.fields[f.id] != (before.fields.get(f.id) if before else None)
        ]
        self._services_opened_with = values
        self._show_remembered_options(set_elsewhere_only=True)  # the API version
        self.runner.set_at_once(values.jobs_at_once)
        # Jobs already running keep the service they started with; new ones see the change.
        self.factory.forget()
        if not self.secrets.persistent:
            self.panel.show_message(
                "No keyring is available: the service passwords and tokens are kept for "
                "this session only.", error=True)
        elif not all(kept):
            self.panel.show_message(
                "The keyring refused to store a password or token: it is kept for this "
                "session only.", error=True)

    def _show_remembered_options(self, *, set_elsewhere_only: bool = False) -> None:
        """Each vendor's options as the settings remember them, in the panel; an ill or
        unknown stored value shows the option's default."""
        for d in self.descriptors:
            values = {}
            for spec in d.options:
                if spec.setting is None or (set_elsewhere_only and spec.in_panel):
                    continue
                value = self.settings.get(spec.setting)
                try:
                    spec.check(value)
                except DictationError:
                    value = spec.default
                values[spec.name] = value
            self.panel.set_option_values(d.id, values)

    def _fields(self) -> list[Field]:
        """The fields the services dialog edits, in the registry's order."""
        return [f for d in self.descriptors for f in d.fields if f.shown]

    def _stored(self, f: Field) -> Any:
        if f.secret is not None:
            return self.secrets.get(f.secret) or ""
        assert f.setting is not None
        value = self.settings.get(f.setting)
        if f.kind is FieldKind.CHOICE:
            allowed = tuple(choice for choice, _label in f.choices)
            return value if value in allowed else f.setting.default
        return value

    def secret_changed(self, secret: str) -> None:
        """A keyring entry changed outside the services dialog (the account token, in
        Settings): new jobs of every vendor that reads it use the new value."""
        for d in self.descriptors:
            if any(f.secret == secret for f in d.fields):
                self.factory.forget(d.id)

    async def shutdown(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for view in list(self._views.values()):
            view.close()
        # Running jobs are left unfinished in the store: they resume at the next start.
        await self.runner.aclose()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # slots

    def _on_panel_remove_requested(self, job_id: int) -> None:
        view = self._views.pop(job_id, None)
        if view is not None:
            view.close()
        self._spawn(self.runner.remove(job_id))

    def _on_panel_retry_requested(self, job_id: int) -> None:
        try:
            self.runner.retry(job_id)
        except (KeyError, ValueError):
            # Removed, or no longer failed or cancelled, since the panel last heard.
            self.panel.show_message("That job can no longer be retried.", error=True)
        except sqlite3.Error as exc:
            self.panel.show_message(f"The job list could not be saved ({exc}), so the job "
                                    "was not retried. Free some disk space and try again.",
                                    error=True)

    def _on_panel_copy_requested(self, job_id: int) -> None:
        job = self.store.get(job_id)
        if job is None or job.result is None:
            return
        QApplication.clipboard().setText(export(job.result, ExportFormat.TXT))
        self.panel.show_message(f"Copied the transcript of {job.label}.")

    def _on_panel_export_requested(self, job_id: int) -> None:
        view = self.open_result(job_id)
        if view is not None:
            view.choose_export_file()

    def _on_job_for_monitoring(self, job: Job | None, *, removed: int | None = None) -> None:
        before = self._upload_names()
        if removed is not None:
            self._uploads = {u: j for u, j in self._uploads.items() if j.id != removed}
        elif job is not None and (uuid := self._remote_id(job)):
            self._uploads[uuid] = job.without_result()  # a completion notice carries it
        after = self._upload_names()
        if self._monitoring is not None and after != before:
            self._monitoring.set_local_jobs(after)
            if self._refresh_monitoring is not None and set(after) - set(before):
                self._refresh_monitoring()

    def _on_monitoring_job_activated(self, uuid: str) -> None:
        job = self._uploads.get(uuid)
        if job is None:
            return  # uploaded elsewhere: there is no job here to show
        self.window.side_panel.setCurrentWidget(self.panel)
        self.panel.select_job(job.id)

    def _remote_id(self, job: Job) -> str | None:
        return self._job_actions.remote_id(job)

    def _upload_names(self) -> dict[str, str]:
        return {uuid: job.file.name for uuid, job in self._uploads.items()}

    def _on_file_dialog_finished(self) -> None:
        if self._file_dialog is not None:
            self._file_dialog.deleteLater()
        self._file_dialog = None

    def _on_services_dialog_finished(self) -> None:
        if self.services_dialog is not None:
            self.services_dialog.deleteLater()
        self.services_dialog = None

    async def _change_priority(self, job_id: int, priority: str) -> None:
        job = self.store.get(job_id)
        vendor = self._vendors.get(job.provider) if job is not None else None
        remote_id = self._remote_id(job) if job is not None else None
        if job is None or vendor is None or vendor.queue is None or remote_id is None:
            return
        remembered = await vendor.queue.raise_priority(self.factory(job.provider), remote_id,
                                                       priority)
        try:
            changed = self.store.update(job_id, remote=dict(remembered))
        except KeyError:
            return  # removed meanwhile
        self.panel.update_job(changed)
        self.panel.show_message(f"{job.label} moved to {priority} priority.")

    async def _export(self, view: ResultView, path: Path, fmt: ExportFormat, timestamps: bool,
                      speakers: bool) -> None:
        text = export(view.transcript_for(fmt), fmt, timestamps=timestamps, speakers=speakers)
        await self._save(view, Path(path), text)

    async def _save(self, view: ResultView, path: Path, text: str) -> None:
        try:
            await asyncio.to_thread(write_export, Path(path), text)
        except DictationError as exc:  # says which file, why, and what to do
            self._tell(view, str(exc), error=True)
            return
        with contextlib.suppress(OSError):
            self.settings.set(Key.LAST_EXPORT_DIR, str(Path(path).parent))
        for open_view in self._views.values():
            open_view.export_directory = Path(path).parent
        self._tell(view, f"Saved {Path(path).name}")

    def _tell(self, view: ResultView, text: str, *, error: bool = False) -> None:
        # The view may have been closed (and deleted) while the file was written.
        if shiboken6.isValid(view):
            view.show_status(text)
        else:
            self.panel.show_message(text, error=error)

    def _export_directory(self) -> Path | None:
        folder = self.settings.get_str(Key.LAST_EXPORT_DIR)
        return Path(folder) if folder and Path(folder).is_dir() else None

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._on_task_done)

    def _on_task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, DictationError):
            self.panel.show_message(window_message(exc), error=True)
        elif exc is not None:
            log.error("jobs: internal error", exc_info=exc)
            self.panel.show_message(f"Internal error: {redact(str(exc))}", error=True)


def vendor_job_actions(descriptors: Sequence[ServiceDescriptor] = registry.DESCRIPTORS
                       ) -> JobActions:
    """What the Files panel asks a job's vendor, from its descriptor's hooks: an id
    worth showing (it matches the vendor's account lists), a queue whose order can
    change, and whether the job can move up in it now."""
    vendors = {d.id: d for d in descriptors}

    def remote_id(job: Job) -> str | None:
        vendor = vendors.get(job.provider)
        return vendor.remote_id_of(job) if vendor is not None else None

    def queue(job: Job) -> JobQueue | None:
        vendor = vendors.get(job.provider)
        return vendor.queue if vendor is not None else None

    return JobActions(
        remote_id=remote_id,
        offers_priority=lambda job: queue(job) is not None,
        can_prioritise=lambda job: (q := queue(job)) is not None and q.can_raise(job))


def service_sections(descriptors: Sequence[ServiceDescriptor]) -> list[SectionSpec]:
    """The services dialog's groups: one per vendor with fields to show."""
    return [SectionSpec(d.group_title, tuple(_spec(f) for f in d.fields if f.shown), d.note)
            for d in descriptors if any(f.shown for f in d.fields) or d.note]


def _spec(f: Field) -> FieldSpec:
    return FieldSpec(f.id, f.label, f.kind.value, f.placeholder, f.choices, f.strip)


def _files(count: int) -> str:
    return "1 file" if count == 1 else f"{count} files"
