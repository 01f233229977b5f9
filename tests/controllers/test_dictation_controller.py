"""Live dictation end to end: the real window, controller and PortAudio microphone
(a PulseAudio virtual source), streaming to a Bahasakita-protocol server on loopback.

The Qt event loop is qasync's, driven explicitly: each scenario is a coroutine run
with `run_until_complete`, waiting on conditions, never sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.engine.process import EngineProcess
from dictation_app.services.live_providers import LIVE_PROVIDERS
from dictation_app.takes.journal import TakeJournal
from dictation_app.takes.model import TakeFinal, TakeState
from dictation_app.takes.store import TakeStore
from dictation_app.ui.main_window import MainWindow
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
from tests.support.audio import SENTENCES, Speech
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_async import run, until
from tests.support.streaming import stitch

pytestmark = pytest.mark.pulse

TOKEN = "fake-live-token"


def build(qtbot: QtBot, server: FakeBahasakita,
          journal: TakeJournal | None = None) -> tuple[MainWindow, DictationController]:
    settings = Settings()
    settings.set(Key.PROVIDER, "bahasakita")
    settings.set(Key.BAHASAKITA_URL, server.url)
    settings.set(Key.TAKE_TIMESTAMPS, False)  # the transcript is the words alone
    secrets = SecretStore()
    secrets.set(BAHASAKITA_TOKEN, TOKEN)
    window = MainWindow()
    qtbot.addWidget(window)
    return window, DictationController(window, settings, secrets, journal=journal)


def test_microphone_to_server_to_transcript(qtbot: QtBot, loop: asyncio.AbstractEventLoop,
                                            pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=48000, channels=2)
    rng = np.random.default_rng(5)
    stereo = (rng.uniform(-0.3, 0.3, (48000 * 4, 2)) * 32767).astype("<i2")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            assert controller.microphone is not None
            levels: list[float] = []
            original = window.set_level
            window.set_level = lambda peak, rms: (levels.append(peak), original(peak, rms))
            mic.write(stereo.tobytes())  # type: ignore[attr-defined]
            window.record_button.click()
            assert controller.phase is Phase.CONNECTING
            await until(lambda: len(server.sessions) == 1
                        and len(server.sessions[0].chunk_sizes) >= 25)
            assert controller.phase is Phase.RECORDING
            assert window.status_kind == "streaming"
            window.record_button.click()  # Stop
            await until(lambda: controller.phase is Phase.IDLE)
            assert max(levels) > 0.2  # the meter saw the audio

        run(loop, controller, scenario())
    [session] = server.sessions
    assert session.stopped and f"token={TOKEN}" in session.path
    assert set(session.chunk_sizes) == {3200}
    text = window.transcript.plain_text().lower()  # the take's first word gets a capital
    assert "final 20" in text and f"last {len(session.chunk_sizes)}" in text
    assert window.transcript.partial_text() == ""
    assert window.status_kind == "stopped"


def test_a_rejected_session_shows_the_server_message(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    pulse_mic(rate=16000, channels=1)
    with FakeBahasakita(Behaviour(reject_conn="Token kedaluwarsa")) as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            window.record_requested.emit()
            await until(lambda: controller.phase is Phase.IDLE and window.status_kind == "error")

        run(loop, controller, scenario())
    assert "Token kedaluwarsa" in window.status_label.text()
    assert "Record" in window.record_button.text()


def test_push_to_talk_records_while_held(qtbot: QtBot, loop: asyncio.AbstractEventLoop,
                                         pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            mic.write(bytes(16000 * 2 * 3))  # type: ignore[attr-defined]
            window.push_to_talk_pressed.emit()
            await until(lambda: bool(server.sessions)
                        and len(server.sessions[0].chunk_sizes) >= 5)
            window.push_to_talk_released.emit()
            await until(lambda: controller.phase is Phase.IDLE)

        run(loop, controller, scenario())
    assert server.sessions[0].stopped


def test_intents_any_source_can_call(qtbot: QtBot, loop: asyncio.AbstractEventLoop,
                                     pulse_mic: Callable[..., object]) -> None:
    """start/stop/toggle and hold, called directly as a global key or a command would."""
    mic = pulse_mic(rate=16000, channels=1)
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            mic.write(bytes(16000 * 2 * 6))  # type: ignore[attr-defined]
            controller.toggle_take()
            assert controller.phase is Phase.CONNECTING
            controller.start_take()  # already dictating: no second session
            await until(lambda: controller.phase is Phase.RECORDING)
            controller.hold_ended()  # no hold started this take: it goes on
            assert controller.phase is Phase.RECORDING
            controller.toggle_take()
            await until(lambda: controller.phase is Phase.IDLE)
            controller.hold_started()
            await until(lambda: len(server.sessions) == 2
                        and len(server.sessions[1].chunk_sizes) >= 3)
            controller.hold_ended()
            await until(lambda: controller.phase is Phase.IDLE)
            controller.stop_take()  # nothing to stop: nothing happens

        run(loop, controller, scenario())
    assert [s.stopped for s in server.sessions] == [True, True]
    assert window.status_kind == "stopped"


def test_no_microphone_still_opens_and_says_so(qtbot: QtBot, loop: asyncio.AbstractEventLoop,
                                               no_sound_server: list[str]) -> None:
    if no_sound_server:
        pytest.skip("this machine has a real sound card")
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            assert window.status_kind == "error"
            assert "No microphone found" in window.status_label.text()
            window.record_requested.emit()  # nothing to record from: a message, no crash
            assert controller.phase is Phase.IDLE

        run(loop, controller, scenario())
    assert server.sessions == []


@pytest.mark.engine
def test_local_engine_transcribes_the_microphone(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        speech: Speech, grammar_file: Path) -> None:
    """The default provider: the controller starts the engine child under qasync."""
    mic = pulse_mic(rate=16000, channels=1)
    settings = Settings()
    settings.set(Key.TAKE_TIMESTAMPS, False)
    window = MainWindow()
    qtbot.addWidget(window)
    controller = DictationController(
        window, settings, SecretStore(),
        engine_factory=lambda: EngineProcess(extra_args=["--grammar", str(grammar_file)]))

    async def scenario() -> None:
        controller.start()
        assert window.status_kind == "starting"
        await until(lambda: "Ready: Local (offline)" in window.status_label.text(), timeout=60)
        assert controller.engine is not None and controller.engine.running
        window.record_requested.emit()
        await until(lambda: controller.phase is Phase.RECORDING)
        mic.write(speech(0.3, SENTENCES[4], 1.2))  # type: ignore[attr-defined]
        await until(lambda: SENTENCES[4] in window.transcript.plain_text().lower(), timeout=30)
        window.stop_requested.emit()
        await until(lambda: controller.phase is Phase.IDLE)

    run(loop, controller, scenario())
    assert controller.engine is None
    assert window.transcript.plain_text().strip() == SENTENCES[4].capitalize()


@pytest.mark.engine
def test_closing_while_the_engine_starts_leaves_no_child(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, no_sound_server: list[str]) -> None:
    engines: list[EngineProcess] = []

    def engine() -> EngineProcess:
        engines.append(EngineProcess())
        return engines[-1]

    window = MainWindow()
    qtbot.addWidget(window)
    controller = DictationController(window, Settings(), SecretStore(), engine_factory=engine)

    async def scenario() -> None:
        controller.start()
        assert window.status_kind == "starting"
        await asyncio.sleep(0)  # the start is under way, not finished, when we close

    run(loop, controller, scenario())
    [started] = engines
    # The cut-short start killed and reaped its child before shutdown returned.
    assert started._process is None or started._process.returncode is not None


def test_every_take_is_journaled_with_the_persons_edit(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    with FakeBahasakita(Behaviour(final_every=10)) as server, TakeStore() as store:
        window, controller = build(qtbot, server, journal=TakeJournal(store))

        async def scenario() -> None:
            controller.start()
            window.transcript.setPlainText("Written before.")
            mic.write(bytes(16000 * 2 * 6))  # type: ignore[attr-defined]
            controller.start_take()
            await until(lambda: controller.journal is not None
                        and len(controller.journal.finals) >= 2)
            controller.stop_take()
            await until(lambda: controller.phase is Phase.IDLE)
            controller.start_take()
            await until(lambda: controller.journal is not None
                        and len(controller.journal.finals) >= 1)
            window.transcript.moveCursor(QTextCursor.MoveOperation.End)
            window.transcript.insertPlainText(" Typed by me.")
            controller.stop_take()
            await until(lambda: controller.phase is Phase.IDLE)

        run(loop, controller, scenario())
        second, first = store.list()
    assert first.state is second.state is TakeState.ENDED
    assert first.engine == "Bahasakita" and first.recording is not None
    assert first.edited_text is None  # shown as it was said
    assert first.text in window.transcript.plain_text()
    # The take's part of the transcript as it stood at the end: finals and typing.
    assert second.edited_text is not None and "Typed by me." in second.edited_text
    assert second.text == second.edited_text
    assert all(f.text in second.edited_text for f in second.finals)
    assert "Written before." not in second.edited_text


def test_a_take_left_recording_is_shown_and_said_to_be_recovered(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    pulse_mic(rate=16000, channels=1)
    with TakeStore() as store:
        take = store.begin("Bahasakita", None, started=1_700_000_000.0)
        store.add_final(take.id, TakeFinal("words before the crash", "Bahasakita", 0, 2),
                        duration=2)
    with FakeBahasakita() as server, TakeStore() as store:
        window, controller = build(qtbot, server, journal=TakeJournal(store))

        async def scenario() -> None:
            controller.start()

        run(loop, controller, scenario())
        [recovered] = store.list()
    assert recovered.recovered and [t.id for t in controller.recovered] == [take.id]
    assert "words before the crash" in window.transcript.plain_text()
    status = window.status_label.text()
    assert "recovered" in status and "Ready" in status
def test_a_connection_dropped_mid_take_is_reconnected_and_nothing_is_lost(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    rng = np.random.default_rng(9)
    pcm = rng.integers(-12000, 12000, 16000 * 5).astype("<i2").tobytes()
    statuses: list[str] = []
    with FakeBahasakita(Behaviour(drop_after=25)) as server:
        window, controller = build(qtbot, server)
        original = window.set_status
        window.set_status = lambda kind, text: (statuses.append(text),  # type: ignore[method-assign]
                                                original(kind, text))

        async def scenario() -> None:
            controller.start()
            window.record_button.click()
            await until(lambda: controller.phase is Phase.RECORDING)
            mic.write(pcm)  # type: ignore[attr-defined]
            # The first session drops after 2.5 s; the second gets the rest of the take.
            await until(lambda: len(server.sessions) == 2
                        and len(server.sessions[1].chunk_sizes) >= 40, timeout=30)
            await until(lambda: window.status_kind == "streaming")
            window.record_button.click()  # Stop
            await until(lambda: controller.phase is Phase.IDLE, timeout=30)

        run(loop, controller, scenario())
    _, second = server.sessions
    union, [overlap] = stitch(server.sessions)
    # Every 100 ms spoken reached a session, in order: the sound server filters the
    # samples a little, so each window is matched by correlation at one fixed offset,
    # which a lost or repeated chunk would shift.
    received = np.frombuffer(union, "<i2").astype(float)
    spoken = np.frombuffer(pcm, "<i2").astype(float)
    head = spoken[:4000]
    offset = int(np.argmax(np.correlate(received, head, "valid")))
    windows = spoken[:len(spoken) // 1600 * 1600].reshape(-1, 1600)
    for k, said in enumerate(windows):
        heard = received[offset + 1600 * k:offset + 1600 * (k + 1)]
        assert len(heard) == 1600, f"window {k} missing"
        assert np.corrcoef(heard, said)[0, 1] > 0.6, f"window {k} does not match"
    assert 0 < overlap <= 30 * 3200 and second.stopped
    assert any(s.startswith("Reconnecting (attempt 1)… ") for s in statuses)
    # Each final once, in the order the sessions sent them; no grey words left.
    finals = [t for s in server.sessions for t in s.finals]
    assert window.transcript.plain_text().lower().split() == " ".join(finals).split()
    assert window.transcript.partial_text() == ""
    assert window.status_kind == "stopped"


@pytest.mark.engine
def test_with_failover_an_outage_continues_on_the_offline_engine_and_comes_back(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        speech: Speech, grammar_file: Path) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    statuses: list[str] = []
    with FakeBahasakita() as server, TakeStore() as store:
        settings = Settings()
        settings.set(Key.PROVIDER, "bahasakita")
        settings.set(Key.BAHASAKITA_URL, server.url)
        settings.set(Key.LANGUAGE, "en")
        settings.set(Key.FAILOVER, True)
        secrets = SecretStore()
        secrets.set(BAHASAKITA_TOKEN, TOKEN)
        window = MainWindow()
        qtbot.addWidget(window)
        controller = DictationController(
            window, settings, secrets, journal=TakeJournal(store),
            engine_factory=lambda: EngineProcess(extra_args=["--grammar", str(grammar_file)]))
        original = window.set_status
        window.set_status = lambda kind, text, **kw: (  # type: ignore[method-assign]
            statuses.append(text), original(kind, text, **kw))

        async def scenario() -> None:
            controller.start()
            window.record_button.click()
            await until(lambda: controller.phase is Phase.RECORDING)
            mic.write(bytes(16000 * 2 * 2))  # type: ignore[attr-defined]
            await until(lambda: "final 20" in window.transcript.plain_text(), timeout=30)
            server.go_down()
            # The engine starts now (the cloud's take did not need it) and hears this.
            mic.write(speech(0.3, SENTENCES[4], 1.2))  # type: ignore[attr-defined]
            await until(lambda: SENTENCES[4] in window.transcript.plain_text(), timeout=60)
            server.come_back()
            await until(lambda: len([s for s in server.sessions if s.audio]) == 2, timeout=60)
            mic.write(bytes(16000 * 2 * 3))  # type: ignore[attr-defined]
            await until(lambda: window.status_kind == "streaming"
                        and "Listening — streaming to Bahasakita" in statuses[-1], timeout=30)
            window.record_button.click()  # Stop
            await until(lambda: controller.phase is Phase.IDLE, timeout=30)

        run(loop, controller, scenario())
        [take] = store.list()
    assert any("Bahasakita cannot be reached: continuing on the Local engine" in s
               for s in statuses)
    # The engine's words are marked as its own in the window, and in the history.
    view = window.transcript
    at = view.plain_text().index(SENTENCES[4])
    assert view.engine_note_at(at).startswith("Heard by the Local engine")
    assert view.engine_note_at(view.plain_text().index("final 20")) == ""
    engines = [f.engine for f in take.finals]
    assert engines[0] == "Bahasakita" and "Local engine" in engines
    assert engines[-1] == "Bahasakita"  # back on the cloud at the end
    assert take.engines == ("Bahasakita", "Local engine")
    assert any(f.text == SENTENCES[4] and f.engine == "Local engine" for f in take.finals)


def test_a_take_that_gives_up_offers_its_recording_as_a_file_job(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    wanted: list[Path] = []
    with FakeBahasakita(Behaviour(final_every=10)) as server, TakeStore() as store:
        window, controller = build(qtbot, server, journal=TakeJournal(store))
        controller.session.policy = replace(controller.session.policy, initial_delay=0.01,
                                            max_delay=0.02, max_attempts=3)
        controller.transcribe_recording_requested.connect(wanted.append)

        async def scenario() -> None:
            controller.start()
            mic.write(bytes(16000 * 2 * 4))  # type: ignore[attr-defined]
            controller.start_take()
            await until(lambda: controller.journal is not None
                        and len(controller.journal.finals) >= 1)
            server.go_down()  # for good: the take gives up after three attempts
            await until(lambda: controller.phase is Phase.IDLE, timeout=30)

        run(loop, controller, scenario())
        [take] = store.list()
    assert window.status_kind == "error"
    assert "recording of the take is kept" in window.status_label.text()
    button = window.status_action_button
    assert button.isVisibleTo(window) and button.text() == "Transcribe the recording"
    button.click()
    assert wanted == [take.recording] and take.recording is not None
    assert take.recording.is_file() and take.recording.stat().st_size > 44
    assert "added to the Files panel" in window.status_label.text()
    assert not button.isVisibleTo(window)


def test_closing_mid_take_finishes_the_take_first_then_closes(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    # As the app runs it (app.py): closing the window must not stop the event loop.
    QApplication.instance().setQuitOnLastWindowClosed(False)  # type: ignore[union-attr]
    mic = pulse_mic(rate=16000, channels=1)
    closing: list[bool] = []
    with FakeBahasakita(Behaviour(final_every=10)) as server:
        window, controller = build(qtbot, server)
        window.closing.connect(lambda: closing.append(True))

        async def scenario() -> None:
            controller.start()
            window.show()
            mic.write(bytes(16000 * 2 * 4))  # type: ignore[attr-defined]
            controller.start_take()
            await until(lambda: bool(server.sessions)
                        and len(server.sessions[0].chunk_sizes) >= 15)
            window.close()  # as the title bar's button or Ctrl+Q does
            # Still there, saying why, while the take sends what it has and ends.
            assert window.isVisible() and closing == []
            assert "close it again to quit now" in window.status_label.text()
            await until(lambda: not window.isVisible())

        run(loop, controller, scenario())
    assert closing == [True] and not window.finishing_skipped
    (session,) = server.sessions
    assert session.stopped  # audioStop sent and answered: the last final came in
    assert session.finals[-1].startswith("last ")
    assert session.finals[-1] in window.transcript.plain_text()


def test_closing_again_mid_take_quits_at_once_and_keeps_the_take(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    # As the app runs it (app.py): closing the window must not stop the event loop.
    QApplication.instance().setQuitOnLastWindowClosed(False)  # type: ignore[union-attr]
    mic = pulse_mic(rate=16000, channels=1)
    # A server that never confirms the end: only closing again gets the window shut.
    with FakeBahasakita(Behaviour(final_every=10, stall_after=12)) as server, \
            TakeStore() as store:
        window, controller = build(qtbot, server, journal=TakeJournal(store))

        async def scenario() -> None:
            controller.start()
            window.show()
            mic.write(bytes(16000 * 2 * 4))  # type: ignore[attr-defined]
            controller.start_take()
            await until(lambda: bool(server.sessions)
                        and len(server.sessions[0].chunk_sizes) >= 15)
            window.close()
            assert window.isVisible()
            # The take waits for an audioStop confirmation that will not come...
            await until(lambda: any(m["bk"]["type"] == "audioStop"
                                    for m in server.sessions[0].messages))
            window.close()  # ... so the person closes again
            assert not window.isVisible() and window.finishing_skipped

        run(loop, controller, scenario())
        (take,) = store.list()
    assert controller.phase is Phase.IDLE
    assert take.state is TakeState.ENDED and take.recording is not None
    assert [f.text for f in take.finals] == ["Final 10"]  # as shown: formatted


def test_the_cloud_without_a_token_says_so_at_once_with_a_button_to_settings(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, pulse_mic: Callable[..., object],
        memory_keyring: MemoryKeyring) -> None:
    pulse_mic(rate=16000, channels=1)
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)
        controller.secrets.set(BAHASAKITA_TOKEN, "")
        window.show()

        async def scenario() -> None:
            controller.start()
            # Before any Record: the line says what is missing and offers the fix.
            assert window.status_kind == "error"
            assert "Bahasakita needs a token" in window.status_label.text()
            assert window.status_action_button.isVisible()
            assert window.status_action_button.text() == "Add token…"
            window.status_action_button.click()
            dialog = window.settings_dialog
            assert dialog is not None
            await until(lambda: dialog.focusWidget() is dialog.token_edit)
            dialog.token_edit.setText(TOKEN)
            with qtbot.waitSignal(window.settings_saved):
                dialog.accept()
            assert window.status_kind == "idle"
            assert window.status_label.text().startswith("Ready: Bahasakita (cloud).")
            assert not window.status_action_button.isVisible()

        run(loop, controller, scenario())
    assert server.sessions == []


def test_a_provider_change_clears_the_last_providers_error(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    pulse_mic(rate=16000, channels=1)
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server)
        controller.settings.set(Key.PROVIDER, "local")
        controller.secrets.set(BAHASAKITA_TOKEN, "")

        async def scenario() -> None:
            window.set_status("error", "Local engine: cannot connect.")
            window.provider_selected.emit("bahasakita")
            assert "cannot connect" not in window.status_label.text()
            assert "Bahasakita needs a token" in window.status_label.text()
            controller.secrets.set(BAHASAKITA_TOKEN, TOKEN)
            window.provider_selected.emit("local")
            window.set_status("error", "Bahasakita: cannot connect.")
            window.provider_selected.emit("bahasakita")
            assert window.status_kind == "idle"
            assert window.status_label.text().startswith("Ready: Bahasakita (cloud).")

        controller.refresh_devices()
        run(loop, controller, scenario())


@pytest.mark.engine
def test_preferences_naming_another_live_engine_and_language_restart_the_child(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop, no_sound_server: list[str]) -> None:
    settings = Settings()
    settings.set(Key.LIVE_ENGINE, "pocketsphinx")
    window = MainWindow()
    qtbot.addWidget(window)
    controller = DictationController(window, settings, SecretStore())

    async def scenario() -> None:
        controller.start()
        await until(lambda: controller.engine is not None and controller.engine.running,
                    timeout=60)
        first = controller.engine
        assert first is not None and first.command[-4:] == [
            "--engine", "pocketsphinx", "--language", "en"]
        window.settings_requested.emit()
        dialog = window.settings_dialog
        assert dialog is not None
        dialog.live_engine_combo.setCurrentIndex(dialog.live_engine_combo.findData("whisper"))
        dialog.live_language_combo.setCurrentIndex(dialog.live_language_combo.findData("es"))
        dialog.accept()
        await until(lambda: controller.engine is not None and controller.engine is not first
                    and controller.engine.running, timeout=60)
        assert controller.engine.command[-4:] == ["--engine", "whisper", "--language", "es"]
        assert not first.running  # the old child is gone, not left beside the new one
        assert LIVE_PROVIDERS["local"].resolve(settings, SecretStore()).language == "es"

    run(loop, controller, scenario())
    assert settings.get_str(Key.LIVE_LANGUAGE) == "es"
