"""Text that reads like writing, live: a take's finals from a Bahasakita-protocol server
on loopback go through the take formatter into the real window and the take journal.

The server's finals are scripted (`Behaviour.script`); the stop's final is "last N".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dictation_app.controllers.dictation_controller import DictationController, Phase
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.takes.journal import TakeJournal
from dictation_app.takes.model import TakeFinal
from dictation_app.takes.store import TakeStore
from dictation_app.ui.main_window import MainWindow
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
from tests.support.qt_async import run, until

pytestmark = pytest.mark.pulse

STARTED = datetime(2026, 3, 4, 9, 5, tzinfo=timezone.utc)


def build(qtbot: QtBot, server: FakeBahasakita, journal: TakeJournal | None = None,
          **values: object) -> tuple[MainWindow, DictationController]:
    settings = Settings()
    settings.set(Key.PROVIDER, "bahasakita")
    settings.set(Key.BAHASAKITA_URL, server.url)
    settings.set(Key.LANGUAGE, "en")
    for key, value in values.items():
        settings.set(Key(key), value)
    secrets = SecretStore()
    secrets.set(BAHASAKITA_TOKEN, "fake-live-token")
    window = MainWindow()
    qtbot.addWidget(window)
    return window, DictationController(window, settings, secrets, journal=journal,
                                       clock=lambda: STARTED)


async def dictate(controller: DictationController, server: FakeBahasakita, mic: object,
                  finals: int) -> None:
    """One take: until the server has sent `finals` scripted finals, then Stop."""
    sessions = len(server.sessions)
    mic.write(bytes(16000 * 2 * 4))  # type: ignore[attr-defined]
    controller.start_take()
    await until(lambda: len(server.sessions) > sessions
                and len(server.sessions[-1].finals) >= finals)
    controller.stop_take()
    await until(lambda: controller.phase is Phase.IDLE)


def test_spoken_commands_shape_the_take_as_shown_and_as_journaled(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    script = ("hello world", "comma", "new paragraph", "scratch that", "new paragraph",
              "second part", "damn it")
    behaviour = Behaviour(final_every=3, partial_every=1, script=script)
    with FakeBahasakita(behaviour) as server, TakeStore() as store:
        window, controller = build(qtbot, server, TakeJournal(store),
                                   take_timestamps=False, mask_profanity=True)

        async def scenario() -> None:
            controller.start()
            await dictate(controller, server, mic, len(script))

        run(loop, controller, scenario())
        [take] = store.list()
    text = window.transcript.plain_text()
    # "scratch that" took the first paragraph break back; grey partials came and went
    # between the finals without leaving a space twice.
    assert re.fullmatch(r"Hello world,\n\nSecond part d\*\*\* it last \d+", text), text
    assert window.transcript.partial_text() == ""
    # The journal keeps what the window showed, and not the words taken back.
    assert take.text == text and take.edited_text is None
    assert [f.text for f in take.finals][:5] == ["Hello world", ",", "\n\n", "Second part",
                                                 "d*** it"]


def test_with_the_text_settings_off_the_words_stay_as_said(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    script = ("hello world", "comma", "scratch that", "damn")
    with FakeBahasakita(Behaviour(final_every=3, script=script)) as server:
        window, controller = build(qtbot, server, take_timestamps=False,
                                   spoken_commands=False, mask_profanity=False)

        async def scenario() -> None:
            controller.start()
            await dictate(controller, server, mic, len(script))

        run(loop, controller, scenario())
    text = window.transcript.plain_text()
    assert re.fullmatch(r"Hello world comma scratch that damn last \d+", text), text


def test_word_replacements_apply_to_finals(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    script = ("open the dictation app", "period")
    with FakeBahasakita(Behaviour(final_every=3, script=script)) as server:
        window, controller = build(
            qtbot, server, take_timestamps=False,
            word_replacements="dictation app => Dictation App\nlast => LAST\n")

        async def scenario() -> None:
            controller.start()
            await dictate(controller, server, mic, len(script))

        run(loop, controller, scenario())
    text = window.transcript.plain_text()
    assert re.fullmatch(r"Open the Dictation App\. LAST \d+", text), text


def test_each_take_is_a_paragraph_under_its_start_time_and_copied_as_shown(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    mic = pulse_mic(rate=16000, channels=1)
    with FakeBahasakita(Behaviour(final_every=3, script=("one take",))) as server:
        window, controller = build(qtbot, server)

        async def scenario() -> None:
            controller.start()
            await dictate(controller, server, mic, 1)
            await dictate(controller, server, mic, 1)

        run(loop, controller, scenario())
    text = window.transcript.plain_text()
    assert re.fullmatch(r"09:05\nOne take last \d+\n\n09:05\nOne take last \d+", text), text
    window.transcript_pane.copy_all()
    assert QApplication.clipboard().text() == text


def test_the_settings_dialog_saves_the_text_settings_for_the_next_take(
        qtbot: QtBot) -> None:
    with FakeBahasakita() as server:
        window, controller = build(qtbot, server, word_replacements="a => b\n")
        window.settings_requested.emit()
        dialog = window.settings_dialog
        assert dialog is not None
        assert dialog.replacements_edit.toPlainText() == "a => b\n"
        dialog.spoken_commands_check.setChecked(False)
        dialog.mask_profanity_check.setChecked(True)
        dialog.timestamps_check.setChecked(False)
        dialog.replacements_edit.setPlainText("jakarta => Jakarta")
        dialog.accept()
        settings = controller.settings
        assert settings.get_bool(Key.SPOKEN_COMMANDS) is False
        assert settings.get_bool(Key.MASK_PROFANITY) is True
        assert settings.get_bool(Key.TAKE_TIMESTAMPS) is False
        assert settings.get_str(Key.WORD_REPLACEMENTS) == "jakarta => Jakarta\n"


def test_a_recovered_take_is_shown_as_stored_under_its_start_time(
        qtbot: QtBot, loop: asyncio.AbstractEventLoop,
        pulse_mic: Callable[..., object]) -> None:
    pulse_mic(rate=16000, channels=1)
    started = datetime(2026, 3, 4, 14, 30).timestamp()  # local time, as the heading is
    with TakeStore() as store:
        take = store.begin("Bahasakita", None, started=started)
        for i, text in enumerate(("Hello world", ",", "\n\n", "Next part")):
            store.add_final(take.id, TakeFinal(text, "Bahasakita", i, i + 1), duration=i + 1)
    with FakeBahasakita() as server, TakeStore() as store:
        window, controller = build(qtbot, server, TakeJournal(store))

        async def scenario() -> None:
            controller.start()

        run(loop, controller, scenario())
    assert window.transcript.plain_text() == "14:30\nHello world,\n\nNext part"
