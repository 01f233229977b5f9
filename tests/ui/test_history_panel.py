"""The History tab: rows say when, how long, who and what; search; intents with ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from dictation_app.takes.model import Take, TakeFinal, TakeState
from dictation_app.ui.history_panel import HistoryPanel, take_summary


def take(take_id: int, started: float, text: str, *, state: TakeState = TakeState.ENDED,
         recording: Path | None = None, engine: str = "Bahasakita") -> Take:
    return Take(id=take_id, started=started, ended=started + 65, duration=65.4,
                engine=engine, state=state, recording=recording,
                finals=(TakeFinal(text, engine, 0, 65.4),))


@pytest.fixture
def panel(qtbot: QtBot) -> HistoryPanel:
    widget = HistoryPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


TAKES = [
    take(1, 1_700_000_000, "rapat pagi dengan tim", recording=Path("/tmp/a.wav")),
    take(2, 1_700_001_000, "interrupted by a crash", state=TakeState.RECOVERED,
         engine="Local engine"),
    take(3, 1_700_002_000, "notes for the interview", recording=Path("/tmp/c.wav")),
]


def test_rows_are_newest_first_with_date_duration_engine_words_and_badge(
        panel: HistoryPanel) -> None:
    panel.set_takes(TAKES)
    assert [t.id for t in panel.visible_takes()] == [3, 2, 1]
    first, recovered, _ = (panel.proxy.index(r, 0).data() for r in range(3))
    assert "1:05" in first and "Bahasakita" in first and "notes for the interview" in first
    assert "recovered" in recovered and "Local engine" in recovered
    assert "recovered" not in first
    assert take_summary(TAKES[0]).splitlines()[1] == "rapat pagi dengan tim"
    assert "recovered" in str(panel.proxy.index(1, 0).data(Qt.ItemDataRole.ToolTipRole))


def test_search_filters_on_text_and_engine(panel: HistoryPanel) -> None:
    panel.set_takes(TAKES)
    panel.search_edit.setText("INTERVIEW")
    assert [t.id for t in panel.visible_takes()] == [3]
    panel.search_edit.setText("local engine")
    assert [t.id for t in panel.visible_takes()] == [2]
    panel.search_edit.clear()
    assert len(panel.visible_takes()) == 3


def test_buttons_follow_the_selection_and_emit_its_id(qtbot: QtBot,
                                                      panel: HistoryPanel) -> None:
    panel.set_takes(TAKES)
    assert not panel.open_button.isEnabled()  # nothing selected
    assert panel.select_take(2)
    assert panel.open_button.isEnabled() and panel.copy_button.isEnabled()
    assert not panel.save_recording_button.isEnabled()  # no recording kept
    assert not panel.transcribe_button.isEnabled()
    for button, signal in ((panel.open_button, panel.open_requested),
                           (panel.copy_button, panel.copy_requested),
                           (panel.export_button, panel.export_requested)):
        with qtbot.waitSignal(signal) as emitted:
            button.click()
        assert emitted.args == [2]
    panel.select_take(1)
    with qtbot.waitSignal(panel.save_recording_requested) as saved:
        panel.save_recording_button.click()
    with qtbot.waitSignal(panel.transcribe_requested) as again:
        panel.transcribe_button.click()
    assert saved.args == again.args == [1]


def test_delete_asks_first(qtbot: QtBot, panel: HistoryPanel) -> None:
    panel.set_takes(TAKES)
    panel.select_take(3)
    deleted: list[int] = []
    panel.delete_requested.connect(deleted.append)
    panel.delete_button.click()
    box = panel.confirm_dialog
    assert box is not None and "recording" in box.text()
    box.done(QMessageBox.StandardButton.Cancel)
    assert deleted == []
    panel.delete_button.click()
    box = panel.confirm_dialog
    assert box is not None
    box.done(QMessageBox.StandardButton.Yes)
    assert deleted == [3]
    panel.remove_take(3)
    assert [t.id for t in panel.visible_takes()] == [2, 1]


def test_an_empty_history_says_what_it_is_for(panel: HistoryPanel) -> None:
    panel.set_takes([])
    assert panel.empty_label.isVisible() and not panel.list_view.isVisible()
    panel.set_takes(TAKES[:1])
    assert not panel.empty_label.isVisible()
