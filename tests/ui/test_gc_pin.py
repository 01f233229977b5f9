"""The GUI-thread collector: cycles are freed on the GUI thread, never on a worker."""

from __future__ import annotations

import gc
import threading

from pytestqt.qtbot import QtBot

from dictation_app.ui.gc_pin import GuiThreadCollector


class Cycle:
    """Refers to itself, so only the cyclic collector frees it; says on which thread."""

    def __init__(self, freed_on: list[threading.Thread]) -> None:
        self.freed_on = freed_on
        self.me = self

    def __del__(self) -> None:
        self.freed_on.append(threading.current_thread())


def allocate_containers(count: int, keep: list[object]) -> None:
    # Tracked objects that stay alive, so the collector's counts stay past the threshold.
    keep.extend([] for _ in range(count))


def test_a_cycle_dropped_while_a_worker_allocates_is_freed_on_the_gui_thread(
        qtbot: QtBot) -> None:
    collector = GuiThreadCollector(interval_ms=20)
    collector.start()
    try:
        assert not gc.isenabled()
        freed_on: list[threading.Thread] = []
        Cycle(freed_on)
        kept: list[object] = []
        worker = threading.Thread(target=allocate_containers, args=(300_000, kept))
        worker.start()
        worker.join()
        assert freed_on == []  # the worker's allocations did not collect it
        qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
        assert freed_on == [threading.main_thread()]
    finally:
        collector.stop()


def test_nothing_is_collected_until_a_threshold_is_passed(qtbot: QtBot) -> None:
    collector = GuiThreadCollector(interval_ms=60_000)
    collector.start()
    try:
        gc.collect()
        freed_on: list[threading.Thread] = []
        Cycle(freed_on)
        assert collector.check() == 0
        assert freed_on == []
        kept: list[object] = []
        allocate_containers(gc.get_threshold()[0] * 2, kept)
        assert collector.check() >= 1
        assert freed_on == [threading.main_thread()]
    finally:
        collector.stop()


def test_stopping_collects_what_is_left_and_restores_automatic_collection(
        qtbot: QtBot) -> None:
    gc.enable()  # as outside the app (the test fixture runs a collector of its own)
    collector = GuiThreadCollector(interval_ms=60_000)
    collector.start()
    assert not gc.isenabled()
    freed_on: list[threading.Thread] = []
    Cycle(freed_on)
    collector.stop()
    assert freed_on == [threading.main_thread()]
    assert gc.isenabled()
