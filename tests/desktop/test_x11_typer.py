"""Typing into a real X client window on Xvfb: any character, the keyboard put back."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from Xlib import X
from Xlib.display import Display

from dictation_app.desktop.hotkey import KeySpec
from dictation_app.desktop.output import InsertionFailed, InsertionUnavailable
from dictation_app.desktop.x11_hotkey import X11Hotkey
from dictation_app.desktop.x11_typer import (
    UNICODE_KEYSYM_BASE,
    X11Typer,
    char_to_keysym,
    keysym_to_char,
)
from tests.support.x11 import KeySender, TypedTextWindow, XvfbServer

TEXT = "Hello, world! é ß € 日本 🙂\nnext"


@pytest.fixture
def typer(xvfb: XvfbServer) -> Iterator[X11Typer]:
    x11_typer = X11Typer(xvfb.display)
    yield x11_typer
    x11_typer.close()


def _keyboard_mapping(display_name: str) -> list[tuple[int, ...]]:
    display = Display(display_name)
    try:
        info = display.display.info
        rows = display.get_keyboard_mapping(info.min_keycode,
                                            info.max_keycode - info.min_keycode + 1)
        return [tuple(row) for row in rows]
    finally:
        display.close()


def test_any_text_arrives_exactly_and_the_keyboard_is_put_back(
        xvfb: XvfbServer, focused_app: TypedTextWindow, typer: X11Typer) -> None:
    before = _keyboard_mapping(xvfb.display)
    empty = [index for index, row in enumerate(before) if not any(row)]
    assert empty  # the layout leaves keys to lend, or this test proves nothing
    typer.insert(TEXT)
    assert focused_app.wait_for_text(TEXT) == TEXT
    after = _keyboard_mapping(xvfb.display)
    assert after == before
    assert all(not any(after[index]) for index in empty)


def test_more_missing_characters_than_spare_keys_still_arrive(
        xvfb: XvfbServer, focused_app: TypedTextWindow) -> None:
    spare = sum(1 for row in _keyboard_mapping(xvfb.display) if not any(row))
    # Indonesian words, Persian and more distinct CJK characters than keys to lend.
    text = "Selamat pagi, Bapak. سلام " + "".join(chr(0x4E00 + n) for n in range(spare + 3))
    typer = X11Typer(xvfb.display, settle_s=0.05)
    try:
        typer.insert(text)
    finally:
        typer.close()
    assert focused_app.wait_for_text(text) == text


def test_a_held_modifier_does_not_turn_the_text_into_shortcuts(
        xvfb: XvfbServer, focused_app: TypedTextWindow, typer: X11Typer, keys: KeySender) -> None:
    keys.press("Control_L")  # the push-to-talk chord, still held
    keys.press("Shift_L")
    keys.sync()
    typer.insert("abc")
    assert focused_app.wait_for_text("abc") == "abc"
    assert keys.lock_mask() == 0  # released, and not left pressed


def test_capslock_does_not_change_the_case(
        xvfb: XvfbServer, focused_app: TypedTextWindow, typer: X11Typer, keys: KeySender) -> None:
    keys.tap("Caps_Lock")
    try:
        typer.insert("aB é")
        assert focused_app.wait_for_text("aB é") == "aB é"
    finally:
        assert keys.lock_mask() & 2  # put back on
        keys.tap("Caps_Lock")


def test_text_typed_while_a_grabbed_key_is_held_arrives_when_it_is_let_go(
        xvfb: XvfbServer, focused_app: TypedTextWindow, typer: X11Typer, keys: KeySender) -> None:
    pressed = threading.Event()
    hotkey = X11Hotkey(KeySpec.parse("F9"), pressed.set, lambda: None, xvfb.display)
    hotkey.start()
    try:
        keys.press("F9")
        keys.sync()
        assert pressed.wait(5)  # the grab now holds the whole keyboard
        keys.release("F9", delay_ms=500)  # the server lets go in half a second
        keys.display.flush()
        typer.insert("abc")  # would vanish into the grab if typed at once
        assert focused_app.wait_for_text("abc") == "abc"
    finally:
        hotkey.stop()


def test_a_keyboard_held_too_long_is_a_clear_error(
        xvfb: XvfbServer, focused_app: TypedTextWindow, keys: KeySender) -> None:
    other = Display(xvfb.display)  # another app holding the keyboard: a menu, say
    try:
        assert other.screen().root.grab_keyboard(
            False, X.GrabModeAsync, X.GrabModeAsync, X.CurrentTime) == X.GrabSuccess
        typer = X11Typer(xvfb.display, grab_wait_s=0.2)
        try:
            with pytest.raises(InsertionFailed, match="another application .* has held the "
                                                      "keyboard for 0.2 s"):
                typer.insert("lost")
        finally:
            typer.close()
    finally:
        other.close()


def test_no_display_is_a_clear_error() -> None:
    with pytest.raises(InsertionUnavailable, match="cannot reach the X display :999"):
        X11Typer(":999")


@pytest.mark.parametrize(("char", "keysym"), [
    ("a", 0x61), ("é", 0xE9), ("\n", 0xFF0D), ("\t", 0xFF09),
    ("€", UNICODE_KEYSYM_BASE + 0x20AC), ("🙂", UNICODE_KEYSYM_BASE + 0x1F642),
])
def test_keysyms_follow_the_x_encoding(char: str, keysym: int) -> None:
    assert char_to_keysym(char) == keysym
    assert keysym_to_char(keysym) == char


def test_a_layouts_euro_sign_is_the_euro() -> None:
    assert keysym_to_char(0x20AC) == "€"
    assert keysym_to_char(0xFFE1) is None  # Shift_L types nothing
