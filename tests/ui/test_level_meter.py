"""LevelMeter: dBFS scale, clamping, bar release and peak-hold ballistics."""

from __future__ import annotations

import math

import pytest
from pytestqt.qtbot import QtBot

from dictation_app.ui.level_meter import (
    BAR_RELEASE_DB_PER_S,
    FLOOR_DB,
    PEAK_HOLD_S,
    PEAK_RELEASE_DB_PER_S,
    LevelMeter,
    to_dbfs,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def meter(qtbot: QtBot, clock: FakeClock) -> LevelMeter:
    widget = LevelMeter(clock=clock)
    qtbot.addWidget(widget)
    widget.resize(240, 16)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.mark.parametrize(
    ("linear", "expected"),
    [(1.0, 0.0), (0.1, -20.0), (0.001, -60.0), (0.0, FLOOR_DB), (1e-9, FLOOR_DB)],
)
def test_to_dbfs(linear: float, expected: float) -> None:
    assert to_dbfs(linear) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("peak", "rms", "bar", "tick"),
    [
        (5.0, 2.0, 0.0, 0.0),  # above full scale
        (-1.0, -0.5, FLOOR_DB, FLOOR_DB),  # negative
        (math.nan, math.nan, FLOOR_DB, FLOOR_DB),
        (math.inf, 0.5, 20 * math.log10(0.5), 0.0),
    ],
)
def test_out_of_range_values_are_clamped(
    meter: LevelMeter, peak: float, rms: float, bar: float, tick: float
) -> None:
    meter.set_level(peak, rms)

    assert meter.bar_db == pytest.approx(bar)
    assert meter.peak_db == pytest.approx(max(tick, bar))
    meter.grab()  # paints without error at the extremes


def test_bar_rises_at_once_and_falls_at_a_limited_rate(meter: LevelMeter, clock: FakeClock) -> None:
    meter.set_level(0.5, 0.1)
    assert meter.bar_db == pytest.approx(-20.0)

    clock.now += 0.5
    meter.set_level(0.001, 0.001)
    assert meter.bar_db == pytest.approx(-20.0 - BAR_RELEASE_DB_PER_S * 0.5)


def test_peak_tick_holds_then_decays(meter: LevelMeter, clock: FakeClock) -> None:
    meter.set_level(1.0, 0.1)
    assert meter.peak_db == pytest.approx(0.0)

    clock.now += PEAK_HOLD_S * 0.5
    meter.set_level(0.01, 0.01)
    assert meter.peak_db == pytest.approx(0.0)  # still held

    clock.now += PEAK_HOLD_S * 0.5 + 1.0
    meter.set_level(0.01, 0.01)
    assert meter.peak_db == pytest.approx(-PEAK_RELEASE_DB_PER_S * 1.0)

    clock.now += 60
    meter.set_level(0.01, 0.01)
    assert meter.peak_db == pytest.approx(-40.0)  # never below the current peak


def test_reset_returns_to_silence(meter: LevelMeter) -> None:
    meter.set_level(0.9, 0.5)
    meter.reset()

    assert meter.bar_db == FLOOR_DB
    assert meter.peak_db == FLOOR_DB


def test_has_a_usable_minimum_size(meter: LevelMeter) -> None:
    hint = meter.minimumSizeHint()
    assert hint.width() >= 100
    assert hint.height() >= 10


def test_disabled_meter_paints(meter: LevelMeter) -> None:
    meter.set_level(0.8, 0.3)
    meter.setEnabled(False)
    image = meter.grab().toImage()
    assert not image.isNull()
