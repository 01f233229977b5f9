"""The Files panel end to end: the real window, controller, runner, store and services on
a qasync loop, against the loopback Botlhale server and the real offline engine.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dictation_app.controllers.jobs_controller import JobsController
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.jobs.exports import ExportFormat
from dictation_app.jobs.model import Job, JobState
from dictation_app.jobs.runner import FileCheck, JobRunner
from dictation_app.jobs.store import JobStore
from dictation_app.services.descriptors import bahasakita_upload, botlhale
from dictation_app.services.descriptors.botlhale import BOTLHALE_TOKEN, BotlhaleOptions
from dictation_app.services.descriptors.nevisa import NEVISA_PASSWORD
from dictation_app.services.factory import ServiceFactory
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.services_dialog import ServicesValues
from tests.servers.botlhale_server import (
    BEARER_TOKEN,
    BUCKET_PATH,
    ORG_ID,
    SYNC_PATH,
    SYNC_TEXT,
    Behaviour,
    FakeBotlhale,
)
from tests.support.audio import tone, write_audio
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_async import until


@pytest.fixture
def server() -> Iterator[FakeBotlhale]:
    with FakeBotlhale(Behaviour(api_version=2)) as running:
        yield running


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    return write_audio(tmp_path / "memo.wav", tone(3.0, hz=300, amplitude=0.2))


class App:
    def __init__(self, qtbot: QtBot, loop: asyncio.AbstractEventLoop, server: FakeBotlhale,
                 *, check: FileCheck | None = None):
        self.loop = loop
        self.settings = Settings()
        self.settings.set(botlhale.URL, server.base_url)
        self.settings.set(botlhale.ORG_ID, ORG_ID)
        self.secrets = SecretStore()
        self.secrets.set(BOTLHALE_TOKEN, BEARER_TOKEN)
        self.window = MainWindow()
        qtbot.addWidget(self.window)
        self.store = JobStore()
        self.factory = ServiceFactory(self.settings, self.secrets, environ={})
        self.runner = JobRunner(self.store, self.factory, at_once=2, check=check)
        self.jobs = JobsController(self.window, self.runner, self.store, self.settings,
                                   self.secrets, self.factory)
        self.panel = self.window.jobs_panel

    def run(self, scenario: object) -> None:
        try:
            self.loop.run_until_complete(asyncio.wait_for(scenario, 60))  # type: ignore[arg-type]
        finally:
            self.loop.run_until_complete(self.jobs.shutdown())
            self.store.close()

    def state(self, job_id: int) -> JobState:
        job = self.store.get(job_id)
        assert job is not None
        return job.state


@pytest.fixture
def app(qtbot: QtBot, loop: asyncio.AbstractEventLoop, server: FakeBotlhale,
        memory_keyring: object) -> App:
    return App(qtbot, loop, server)


def test_dropped_files_become_botlhale_jobs_whose_results_open_copy_and_export(
        app: App, server: FakeBotlhale, audio: Path, tmp_path: Path) -> None:
    shown: list[tuple[JobState, float | None]] = []

    def on_job_changed(job: Job) -> None:  # beside the panel's own listener
        row = app.panel.model.job(job.id)
        assert row is not None and row.state is job.state  # the panel was told first
        shown.append((job.state, job.progress))

    app.runner.add_listener(on_job_changed)

    async def scenario() -> None:
        app.jobs.start()
        app.panel.set_provider("botlhale")
        app.window.files_dropped.emit([audio])
        [row] = app.panel.model.jobs()
        assert row.state in (JobState.QUEUED, JobState.UPLOADING, JobState.PROCESSING)
        await until(lambda: app.state(row.id) is JobState.COMPLETED)
        # The panel shows what the store holds, without a reload; it keeps the preview of
        # the transcript the completion notice carried, not the transcript.
        await until(lambda: app.panel.model.job(row.id).state is JobState.COMPLETED)
        shown_row = app.panel.model.job(row.id)
        assert shown_row is not None and shown_row.result is None
        assert shown_row.preview == " ".join(SYNC_TEXT.split())[:200]

        app.panel.copy_requested.emit(row.id)
        assert QApplication.clipboard().text().strip() == SYNC_TEXT.strip()

        view = app.jobs.open_result(row.id)
        assert view is not None and view.visible_rows() == 1
        target = tmp_path / "memo.srt"
        view.request_export(target, ExportFormat.SRT)
        await until(lambda: view.status_label.text() == "Saved memo.srt")
        assert "-->" in target.read_text() and SYNC_TEXT.strip() in target.read_text()
        assert app.settings.get_str(Key.LAST_EXPORT_DIR) == str(tmp_path)

    app.run(scenario())
    # The panel showed the upload's progress, then processing, then the result.
    states = [state for state, _ in shown]
    assert states.index(JobState.UPLOADING) < states.index(JobState.PROCESSING) \
        < states.index(JobState.COMPLETED)
    uploaded = [p for state, p in shown if state is JobState.UPLOADING and p is not None]
    assert uploaded == sorted(uploaded) and uploaded[-1] == 1.0
    [request] = server.to(SYNC_PATH)
    assert request.files[0].name == "speech_file"
    assert app.settings.get_str(Key.JOB_PROVIDER) == "botlhale"


def test_cancelling_a_processing_job_marks_it_cancelled_and_the_panel_follows(
        app: App, server: FakeBotlhale, audio: Path) -> None:
    server.behaviour.running_polls = 10**6

    async def scenario() -> None:
        app.jobs.start()
        app.panel.set_provider("botlhale")
        options = app.panel.options()
        app.panel.set_options(type(options)(vendor=BotlhaleOptions(mode="async")))
        [job] = app.jobs.add_files([audio])
        await until(lambda: app.state(job.id) is JobState.PROCESSING)
        app.panel.cancel_requested.emit(job.id)
        await until(lambda: app.panel.model.job(job.id).state is JobState.CANCELLED)
        assert app.state(job.id) is JobState.CANCELLED

    app.run(scenario())
    assert len(server.to(BUCKET_PATH)) == 1


def test_a_file_that_is_not_audio_fails_with_the_reason_and_the_next_job_still_runs(
        app: App, server: FakeBotlhale, audio: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio at all")

    async def scenario() -> None:
        app.jobs.start()
        app.panel.set_provider("botlhale")
        bad, good = app.jobs.add_files([notes, audio])
        await until(lambda: app.state(bad.id).finished and app.state(good.id).finished)
        failed = app.store.get(bad.id)
        assert failed is not None and failed.state is JobState.FAILED
        assert "notes.wav" in (failed.error or "")
        assert app.state(good.id) is JobState.COMPLETED

    app.run(scenario())
    assert len(server.to(SYNC_PATH)) == 1  # nothing was sent for the bad file


def test_a_bad_language_code_adds_no_job_and_says_why_in_view(app: App, audio: Path) -> None:
    async def scenario() -> None:
        app.jobs.start()
        app.window.side_panel.hide()
        app.panel.set_provider("botlhale")  # a service that takes typed codes
        app.panel.language_combo.setCurrentText("not a language!")
        assert app.jobs.add_files([audio]) == []
        assert app.store.list() == []
        # The drop's outcome is in view, not on a hidden tab.
        assert app.window.side_panel.isVisibleTo(app.window)
        assert app.window.side_panel.currentWidget() is app.panel
        assert app.panel.message_label.text().startswith("1 file not added:")

    app.run(scenario())


def test_the_services_dialog_keeps_secrets_in_the_keyring_and_the_rest_in_settings(
        app: App, server: FakeBotlhale) -> None:
    async def scenario() -> None:
        app.jobs.start()
        dialog = app.jobs.open_services_dialog()
        assert dialog.edits["botlhale_token"].text() == BEARER_TOKEN
        assert BEARER_TOKEN not in repr(dialog.values())
        app.jobs.save_services(ServicesValues(
            {"botlhale_url": server.base_url, "botlhale_token": "new-token-1234",
             "botlhale_refresh_token": "", "botlhale_org_id": "Org7",
             "botlhale_api_version": 1, "nevisa_api_url": "", "nevisa_accounts_url": "",
             "nevisa_username": "sara", "nevisa_password": "nevisa-pass-5678",
             "bahasakita_upload_url": ""},
            jobs_at_once=3, secrets=frozenset({"botlhale_token", "nevisa_password"})))
        dialog.close()

    app.run(scenario())
    assert app.secrets.get(BOTLHALE_TOKEN) == "new-token-1234"
    assert app.secrets.get(NEVISA_PASSWORD) == "nevisa-pass-5678"
    stored = app.settings.path.read_text()
    assert "new-token-1234" not in stored and "nevisa-pass-5678" not in stored
    assert json.loads(stored)["nevisa_username"] == "sara"
    assert app.runner.at_once == 3
    assert app.panel.option_values()["botlhale"]["api_version"] == 1


def test_a_bahasakita_upload_and_its_queue_entry_lead_to_each_other(app: App,
                                                                    audio: Path) -> None:
    from datetime import datetime

    from dictation_app.jobs.model import JobOptions
    from dictation_app.protocols.bahasakita_account import MonitoringSnapshot, QueueItem
    from dictation_app.ui.monitoring_panel import MonitoringPanel

    uuid = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
    job = app.store.add(audio, "bahasakita", JobOptions())
    app.store.update(job.id, state=JobState.COMPLETED, remote={"uuid": uuid})
    other = app.store.add(audio, "local", JobOptions())
    app.store.update(other.id, state=JobState.FAILED, error="no")
    monitoring = MonitoringPanel()
    app.jobs.link_monitoring(monitoring)

    async def scenario() -> None:
        app.jobs.start()
        item = QueueItem(uuid, "memo.wav", 3.0, None, 0.1)
        elsewhere = QueueItem("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "other.wav", 9.0, None, 1)
        monitoring.show_snapshot(MonitoringSnapshot(
            "ayu", {"inquery": [], "process": [], "failed": [], "success": [item, elsewhere]},
            1, 1, "success"), set(), datetime.now())
        [mine, theirs] = sorted(monitoring.job_rows("success"),
                                key=lambda row: row.text(0) != "memo.wav")
        assert "Uploaded from this app (memo.wav)" in mine.toolTip(0)
        assert "Uploaded from this app" not in theirs.toolTip(0)

        app.panel.select_job(other.id)
        monitoring.job_activated.emit(uuid)
        assert [j.id for j in app.panel.selected_jobs()] == [job.id]
        assert app.window.side_panel.currentWidget() is app.panel

    app.run(scenario())


def test_a_new_bahasakita_upload_refreshes_the_account_queues_once(app: App,
                                                                   audio: Path) -> None:
    from dictation_app.core.secrets import BAHASAKITA_TOKEN
    from dictation_app.ui.monitoring_panel import MonitoringPanel
    from tests.servers.bahasakita_rest_server import GOOD_TOKEN
    from tests.servers.bahasakita_upload_server import Behaviour as UploadBehaviour
    from tests.servers.bahasakita_upload_server import FakeBahasakitaUpload

    refreshes: list[int] = []
    app.jobs.link_monitoring(MonitoringPanel(), refresh=lambda: refreshes.append(1))
    app.secrets.set(BAHASAKITA_TOKEN, GOOD_TOKEN)
    with FakeBahasakitaUpload(UploadBehaviour(queued_polls=0, progress=[])) as server:
        app.settings.set(bahasakita_upload.UPLOAD_URL, server.base_url)

        async def scenario() -> None:
            app.jobs.start()
            assert refreshes == []
            app.panel.set_provider("bahasakita")
            [job] = app.jobs.add_files([audio])
            await until(lambda: app.state(job.id).finished)
            done = app.store.get(job.id)
            assert done is not None and done.state is JobState.COMPLETED, done.error
            assert done.remote.get("uuid")

        app.run(scenario())
    assert refreshes == [1]


def test_an_export_that_cannot_be_written_says_why_in_the_result_view(
        app: App, audio: Path, tmp_path: Path) -> None:
    from dictation_app.jobs.model import JobOptions
    from dictation_app.protocols.transcript import Segment, Transcript

    transcript = Transcript("bahasakita", str(audio), "id", 2.0, "halo", (
        Segment(0.0, 2.0, "1", "halo"),), extras=(("subtitle_cc", "1\n00:00:00,000 --> "
                                                   "00:00:02,000\nhalo\n"),))
    job = app.store.add(audio, "bahasakita", JobOptions())
    app.store.update(job.id, state=JobState.COMPLETED, result=transcript)

    async def scenario() -> None:
        app.jobs.start()
        view = app.jobs.open_result(job.id)
        assert view is not None and view.subtitles_button.isVisibleTo(view)
        target = tmp_path / "memo.service.srt"
        view.subtitles_export_requested.emit(target)
        await until(target.exists)
        assert target.read_text() == transcript.extra("subtitle_cc")

        view.request_export(tmp_path / "no-such-folder" / "memo.txt", ExportFormat.TXT)
        await until(lambda: "memo.txt" in view.status_label.text())
        assert not (tmp_path / "no-such-folder").exists()

    app.run(scenario())


def test_the_redacted_text_botlhale_returned_is_what_the_chosen_exports_write(
        app: App, server: FakeBotlhale, audio: Path, tmp_path: Path) -> None:
    server.behaviour.sync_body = dict(
        server.behaviour.sync_body, text="Call Nick in Kuru tomorrow.",
        redacted_transcription="Call <PERSON> in <LOCATION> tomorrow.")

    async def scenario() -> None:
        app.jobs.start()
        app.panel.set_provider("botlhale")
        app.window.files_dropped.emit([audio])
        [row] = app.panel.model.jobs()
        await until(lambda: app.state(row.id) is JobState.COMPLETED)
        view = app.jobs.open_result(row.id)
        assert view is not None and view.version_combo.isVisibleTo(view)
        view.show_redacted(True)
        view.request_export(tmp_path / "memo.txt", ExportFormat.TXT)
        await until(lambda: view.status_label.text() == "Saved memo.txt")
        view.request_export(tmp_path / "memo.json", ExportFormat.JSON)
        await until(lambda: view.status_label.text() == "Saved memo.json")
        view.show_redacted(False)
        view.request_export(tmp_path / "memo.srt", ExportFormat.SRT)
        await until(lambda: view.status_label.text() == "Saved memo.srt")

    app.run(scenario())
    assert (tmp_path / "memo.txt").read_text() == "Call <PERSON> in <LOCATION> tomorrow.\n"
    assert "Call Nick in Kuru tomorrow." in (tmp_path / "memo.srt").read_text()
    data = json.loads((tmp_path / "memo.json").read_text())  # both, whichever was shown
    assert data["text"] == "Call Nick in Kuru tomorrow."
    assert data["redacted_text"] == "Call <PERSON> in <LOCATION> tomorrow."


def test_the_chosen_service_and_options_are_there_at_the_next_start(
        app: App, qtbot: QtBot, audio: Path) -> None:
    from dictation_app.jobs.model import JobOptions
    from dictation_app.services.descriptors.bahasakita_upload import BahasakitaUploadOptions

    chosen = JobOptions(language="id", diarization=True,
                        vendor=BahasakitaUploadOptions(priority="high", subtitle=True))

    async def scenario() -> None:
        app.jobs.start()
        app.panel.set_provider("bahasakita")
        app.panel.set_options(chosen)
        app.jobs.add_files([audio])  # fails for want of a token; the choice is kept anyway

    app.run(scenario())
    window = MainWindow()
    qtbot.addWidget(window)
    with JobStore() as store:
        later = JobsController(window, JobRunner(store, app.factory), store, app.settings,
                               app.secrets, app.factory)
        window.jobs_panel.set_provider("local")
        app.loop.run_until_complete(asyncio.sleep(0))
        later.start()
        assert window.jobs_panel.provider() == "bahasakita"
        assert window.jobs_panel.options() == chosen
        app.loop.run_until_complete(later.shutdown())


def test_stored_transcripts_are_listed_by_their_preview_and_loaded_when_used(
        app: App, audio: Path) -> None:
    from dictation_app.jobs.model import JobOptions, text_preview
    from dictation_app.protocols.transcript import Segment, Transcript

    text = " ".join(f"word{i}" for i in range(20_000))
    transcript = Transcript("bahasakita", str(audio), "id", 7200.0, text,
                            tuple(Segment(i * 7.2, i * 7.2 + 7.2, "1",
                                          " ".join(f"word{j}" for j in range(i * 20, i * 20 + 20)))
                                  for i in range(1_000)))
    job = app.store.add(audio, "bahasakita", JobOptions())
    app.store.update(job.id, state=JobState.COMPLETED, result=transcript,
                     remote={"uuid": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"})

    async def scenario() -> None:
        app.jobs.start()
        listed = app.panel.model.job(job.id)
        assert listed is not None and listed.result is None
        assert listed.preview == text_preview(text)
        assert all(j.result is None for j in app.jobs._uploads.values())

        app.panel.copy_requested.emit(job.id)
        assert " ".join(QApplication.clipboard().text().split()) == text  # all of it
        view = app.jobs.open_result(job.id)
        assert view is not None and view.transcript == transcript

    app.run(scenario())


def test_a_keyring_that_cannot_be_read_does_not_lose_the_stored_secrets(
        app: App, memory_keyring: MemoryKeyring) -> None:
    async def scenario() -> None:
        app.jobs.start()
        memory_keyring.locked = True  # the unlock prompt was dismissed
        dialog = app.jobs.open_services_dialog()
        assert dialog.edits["botlhale_token"].text() == ""
        dialog.jobs_at_once.setValue(4)  # the one thing the person changed
        app.jobs.save_services(dialog.values())
        dialog.close()
        memory_keyring.locked = False

    app.run(scenario())
    assert app.secrets.get(BOTLHALE_TOKEN) == BEARER_TOKEN
    assert app.runner.at_once == 4


def test_a_token_the_keyring_refuses_to_store_is_reported(
        app: App, memory_keyring: MemoryKeyring) -> None:
    async def scenario() -> None:
        app.jobs.start()
        dialog = app.jobs.open_services_dialog()
        dialog.edits["botlhale_token"].setText("new-token-1234")
        memory_keyring.locked = True
        app.jobs.save_services(dialog.values())
        dialog.close()
        assert "kept for this session only" in app.panel.message_label.text()
        assert app.secrets.get(BOTLHALE_TOKEN) == "new-token-1234"  # for this run

    app.run(scenario())


def test_closed_result_views_are_freed_and_the_next_opens_in_the_last_export_folder(
        app: App, audio: Path, tmp_path: Path) -> None:
    from dictation_app.jobs.model import JobOptions
    from dictation_app.protocols.transcript import Segment, Transcript

    transcript = Transcript("local", str(audio), "en", 2.0, "hello", (
        Segment(0.0, 2.0, None, "hello"),))
    job = app.store.add(audio, "local", JobOptions())
    app.store.update(job.id, state=JobState.COMPLETED, result=transcript)
    exports = tmp_path / "exports"
    exports.mkdir()

    async def scenario() -> None:
        app.jobs.start()
        view = app.jobs.open_result(job.id)
        assert view is not None
        view.request_export(exports / "memo.txt", ExportFormat.TXT)
        view.close()  # before the file is written
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        assert not shiboken6.isValid(view)
        await until(lambda: app.panel.message_label.text() == "Saved memo.txt")
        assert (exports / "memo.txt").read_text().strip() == "hello"

        again = app.jobs.open_result(job.id)
        assert again is not None and again is not view
        assert again.export_directory == exports

    app.run(scenario())


def test_high_priority_is_asked_once_and_remembered(app: App, audio: Path) -> None:
    from dictation_app.core.secrets import BAHASAKITA_TOKEN
    from tests.servers.bahasakita_rest_server import GOOD_TOKEN
    from tests.servers.bahasakita_upload_server import CHANGE_PRIORITY, FakeBahasakitaUpload
    from tests.servers.bahasakita_upload_server import Behaviour as UploadBehaviour

    app.secrets.set(BAHASAKITA_TOKEN, GOOD_TOKEN)
    with FakeBahasakitaUpload(UploadBehaviour(queued_polls=10**6)) as server:
        app.settings.set(bahasakita_upload.UPLOAD_URL, server.base_url)

        async def scenario() -> None:
            app.jobs.start()
            app.panel.set_provider("bahasakita")
            [job] = app.jobs.add_files([audio])
            await until(lambda: "uuid" in app.panel.model.job(job.id).remote
                        and app.state(job.id) is JobState.PROCESSING)
            app.panel.select_job(job.id)
            assert app.panel.priority_action.isEnabled()
            app.panel.priority_action.trigger()
            await until(lambda: not app.panel.priority_action.isEnabled())
            [uuid] = server.jobs
            assert server.jobs[uuid].priority == "high"
            stored = app.store.get(job.id)
            assert stored is not None and stored.remote["priority"] == "high"
            assert "moved to high priority" in app.panel.message_label.text()

        app.run(scenario())
        assert server.paths("POST").count(CHANGE_PRIORITY) == 1


def test_a_changed_account_token_rebuilds_only_the_vendors_that_read_it(app: App) -> None:
    uploads, botlhale_service = app.factory("bahasakita"), app.factory("botlhale")
    app.jobs.secret_changed(BAHASAKITA_TOKEN)
    assert app.factory("bahasakita") is not uploads
    assert app.factory("botlhale") is botlhale_service
    app.run(asyncio.sleep(0))


def test_files_that_cannot_be_decoded_are_refused_as_they_are_added_without_a_retry(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, server: FakeBotlhale,
        memory_keyring: object, audio: Path, tmp_path: Path) -> None:
    import os

    from dictation_app.audio.files import check_file

    app = App(qtbot, loop, server, check=check_file)  # as app.py builds it
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio at all")
    fifo = tmp_path / "live.wav"
    os.mkfifo(fifo)
    whole = audio.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:len(whole) // 3])

    async def scenario() -> None:
        app.jobs.start()
        app.panel.set_provider("botlhale")
        good, bad, piped, device, short = app.jobs.add_files(
            [audio, notes, fifo, Path("/dev/zero"), cut])
        await until(lambda: all(app.panel.model.job(j.id).refused for j in (bad, piped, device)))
        for job, expected in ((bad, "notes.wav: cannot decode this file"),
                              (piped, "live.wav: is a named pipe (FIFO)"),
                              (device, "zero: is a device file")):
            shown = app.panel.model.job(job.id)
            assert shown is not None and shown.state is JobState.FAILED
            assert (shown.error or "").startswith(expected)
            app.panel.select_job(job.id)
            assert not app.panel.retry_action.isEnabled()
        await until(lambda: app.panel.model.job(short.id).warning is not None)
        assert "cut.wav is shorter than its header says" in (
            app.panel.model.job(short.id).warning or "")
        await until(lambda: app.state(good.id).finished and app.state(short.id).finished)
        assert app.state(good.id) is JobState.COMPLETED
        assert app.state(short.id) is JobState.COMPLETED  # transcribed all the same

    app.run(scenario())
    assert len(server.to(SYNC_PATH)) == 2  # nothing was sent for the refused files
