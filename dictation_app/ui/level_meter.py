"""A microphone level meter: RMS bar and decaying peak-hold tick on a -60..0 dBFS scale.

Levels arrive as linear values (0..1 of full scale) whenever the audio layer has
measured a block. The bar rises at once and falls at a limited rate so that it reads
calmly instead of flickering; the peak tick holds for a moment, then sinks. Both
ballistics are computed from the time between calls, so the meter needs no timer of
its own and behaves the same at any block rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
AMBER_FROM_DB = -18.0  # speech normally peaks around -18..-6 dBFS
RED_FROM_DB = -6.0  # close to clipping
CLIP_DB = -0.1

BAR_RELEASE_DB_PER_S = 24.0
PEAK_HOLD_S = 1.2
PEAK_RELEASE_DB_PER_S = 18.0

_GREEN = QColor("#2e9d57")
_AMBER = QColor("#e0a019")
_RED = QColor("#d64032")


def to_dbfs(linear: float) -> float:
    """Linear amplitude (1.0 = full scale) to dBFS, clamped to the meter's range (NaN: floor)."""
    if math.isnan(linear) or linear <= 0.0:
        return FLOOR_DB
    return max(FLOOR_DB, min(0.0, 20.0 * math.log10(min(linear, 1.0))))


class LevelMeter(QWidget):
    """Shows input level; call ``set_level`` per audio block and ``reset`` when capture stops."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("levelMeter")
        self._clock = clock
        self._bar_db = FLOOR_DB
        self._peak_db = FLOOR_DB
        self._peak_set_at = 0.0
        self._last_update: float | None = None
        self.setMinimumSize(120, 14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Microphone level (dBFS). Aim for speech in the green, peaks in amber.")
        self.setAccessibleName("Microphone level")

    # ------------------------------------------------------------------ updates

    def set_level(self, peak: float, rms: float) -> None:
        """Feed one measurement (linear 0..1); out-of-range and NaN values are clamped."""
        now = self._clock()
        elapsed = 0.0 if self._last_update is None else max(0.0, now - self._last_update)
        self._last_update = now

        rms_db = to_dbfs(rms)
        peak_db = max(to_dbfs(peak), rms_db)

        self._bar_db = max(rms_db, self._bar_db - BAR_RELEASE_DB_PER_S * elapsed)
        if peak_db >= self._peak_db:
            self._peak_db = peak_db
            self._peak_set_at = now
        else:
            falling_for = now - self._peak_set_at - PEAK_HOLD_S
            if falling_for > 0:
                decayed = self._peak_db - PEAK_RELEASE_DB_PER_S * min(elapsed, falling_for)
                self._peak_db = max(peak_db, decayed)
        self.setAccessibleDescription(f"{self._bar_db:.0f} dBFS")
        self.update()

    def reset(self) -> None:
        """Back to silence, no peak tick (e.g. when recording stops)."""
        self._bar_db = FLOOR_DB
        self._peak_db = FLOOR_DB
        self._last_update = None
        self.update()

    @property
    def bar_db(self) -> float:
        """The level the bar shows, in dBFS."""
        return self._bar_db

    @property
    def peak_db(self) -> float:
        """Where the peak-hold tick sits, in dBFS."""
        return self._peak_db

    # ------------------------------------------------------------------ painting

    def sizeHint(self) -> QSize:
        return QSize(200, 16)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 14)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        enabled = self.isEnabled()

        # The zones stay faintly visible at silence so the target reads at a glance.
        zones = (
            (FLOOR_DB, AMBER_FROM_DB, _GREEN),
            (AMBER_FROM_DB, RED_FROM_DB, _AMBER),
            (RED_FROM_DB, 0.0, _RED),
        )
        base = self.palette().color(QPalette.ColorRole.Base)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(base)
        painter.drawRoundedRect(track, 3, 3)
        for low, high, colour in zones:
            faint = QColor(colour if enabled else self._disabled(colour))
            faint.setAlphaF(0.16)
            painter.fillRect(self._span(track, low, high), faint)
            if self._bar_db > low:
                solid = colour if enabled else self._disabled(colour)
                painter.fillRect(self._span(track, low, min(high, self._bar_db)), solid)

        if self._peak_db > FLOOR_DB:
            x = self._x(track, self._peak_db)
            tick = (
                _RED
                if self._peak_db >= CLIP_DB
                else self.palette().color(QPalette.ColorRole.WindowText)
            )
            painter.fillRect(
                QRectF(min(x, track.right() - 2), track.top(), 2, track.height()),
                tick if enabled else self._disabled(tick),
            )

        # Scale marks every 10 dB, small enough not to compete with the bar.
        mark = self.palette().color(QPalette.ColorRole.WindowText)
        mark.setAlphaF(0.25)
        for db in range(-50, 0, 10):
            x = round(self._x(track, db))
            painter.fillRect(QRectF(x, track.bottom() - 3, 1, 3), mark)

        outline = self.palette().color(QPalette.ColorRole.Mid)
        painter.setPen(outline)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(track, 3, 3)
        painter.end()

    @staticmethod
    def _x(track: QRectF, db: float) -> float:
        return track.left() + track.width() * (db - FLOOR_DB) / -FLOOR_DB

    def _span(self, track: QRectF, low_db: float, high_db: float) -> QRectF:
        left = self._x(track, low_db)
        return QRectF(left, track.top(), self._x(track, high_db) - left, track.height())

    @staticmethod
    def _disabled(colour: QColor) -> QColor:
        grey = round(colour.red() * 0.3 + colour.green() * 0.59 + colour.blue() * 0.11)
        return QColor(grey, grey, grey)
