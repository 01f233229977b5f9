"""Python's cyclic garbage collector, run on the GUI thread only.

The collector normally runs on whichever thread happens to cross its allocation
threshold: in this app that can be PortAudio's callback thread, a decoding worker or
the keyring's. A collection there frees Qt objects caught in reference cycles (a
window and the closures its signals hold, qasync's timers) from the wrong thread, and
Qt crashes, sometimes much later and somewhere else. So while the window is up,
automatic collection is off and a timer on the GUI thread collects instead, with the
same thresholds the interpreter would have used.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Turns automatic collection off and collects from a GUI-thread timer instead."""

    def __init__(self, interval_ms: int = DEFAULT_INTERVAL_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect once more and hand collection back to the interpreter."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def check(self) -> int:
        """Collect the oldest generation whose count passed its threshold, if any.

        Returns the number of unreachable objects found (0 when nothing was due).
        """
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                found = gc.collect(generation)
                if found:
                    log.debug("collected generation %d: %d unreachable objects",
                              generation, found)
                return found
        return 0
