"""The status line panels show above their content: plain for news, red for a problem."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

_ERROR = ("QLabel { color: #8c1d18; background: #fce8e6; border: 1px solid #f4c7c3;"
          " border-radius: 4px; padding: 6px; }")
_INFO = "QLabel { background: palette(alternate-base); border-radius: 4px; padding: 6px; }"


def show_message(label: QLabel, text: str, *, error: bool) -> None:
    """Show `text` in `label` styled as a problem or as news; an empty text hides it."""
    label.setText(text)
    label.setStyleSheet(_ERROR if error else _INFO)
    label.setVisible(bool(text))
