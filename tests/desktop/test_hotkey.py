"""KeySpec parsing and its canonical form: pure."""

from __future__ import annotations

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.desktop.hotkey import HotkeyTaken, KeySpec, Modifier


@pytest.mark.parametrize(("text", "canonical"), [
    ("F9", "F9"),
    ("f9", "F9"),
    ("Ctrl+Alt+D", "Ctrl+Alt+D"),
    ("alt+ctrl+d", "Ctrl+Alt+D"),
    ("Super+Space", "Super+Space"),
    ("win + space", "Super+Space"),
    ("Ctrl+Shift+F12", "Ctrl+Shift+F12"),
    ("shift+control+f12", "Ctrl+Shift+F12"),
    ("Control+Return", "Ctrl+Enter"),
    ("Meta+PgDn", "Super+PageDown"),
    ("F35", "F35"),
    ("Alt+7", "Alt+7"),
])
def test_parse_gives_the_canonical_form(text: str, canonical: str) -> None:
    spec = KeySpec.parse(text)
    assert str(spec) == canonical
    assert KeySpec.parse(str(spec)) == spec


def test_modifiers_and_key_are_kept_apart() -> None:
    spec = KeySpec.parse("Ctrl+Alt+D")
    assert spec.key == "D"
    assert spec.modifiers == {Modifier.CTRL, Modifier.ALT}


@pytest.mark.parametrize(("text", "says"), [
    ("", "is not a key"),
    ("Ctrl+", "is not a key"),
    ("Hyper+D", "'Hyper' is not a modifier"),
    ("Ctrl+Ctrl+D", "Ctrl is named twice"),
    ("Ctrl+Alt", "a modifier alone cannot be grabbed"),
    ("F36", "'F36' is not a key name"),
    ("Ctrl+é", "'é' is not a key name"),
    ("Banana", "'Banana' is not a key name"),
])
def test_a_bad_key_is_refused_by_name(text: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        KeySpec.parse(text)
    assert says in str(caught.value)
    assert repr(text) in str(caught.value)


def test_a_taken_key_says_what_to_do() -> None:
    error = HotkeyTaken(KeySpec.parse("f9"))
    assert str(error) == ("F9 is already taken by another application; choose another "
                          "key in Preferences")
    assert isinstance(error, ConfigurationError)
