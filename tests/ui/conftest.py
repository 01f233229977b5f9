"""Widget tests run offscreen: no display, no sound card, no network."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
