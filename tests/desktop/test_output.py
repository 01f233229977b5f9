"""Which way of typing into other apps is picked, and why; the program backends run as
the fake programs a PATH here offers (wtype and ydotool are external, so faked)."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from dictation_app.desktop.output import (
    InsertionFailed,
    InsertionUnavailable,
    NoInserter,
    TextInserter,
    detect_inserter,
    wtype_inserter,
)
from dictation_app.desktop.x11_paster import X11Paster
from dictation_app.desktop.x11_typer import X11Typer
from tests.support.x11 import PasteTargetWindow, TypedTextWindow, XvfbServer


def _program(folder: Path, name: str, body: str) -> Path:
    """A fake program: Python, recording its arguments in `<name>.json` beside it."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\n"
                    "import json, pathlib, sys, time\n"
                    f"pathlib.Path({str(folder / (name + '.json'))!r}).write_text("
                    "json.dumps(sys.argv[1:]))\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _recorded(folder: Path, name: str) -> list[str]:
    return list(json.loads((folder / f"{name}.json").read_text(encoding="utf-8")))


WAYLAND = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}


def test_wayland_with_wtype_types_through_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _program(bin_dir, "wtype", "")
    _program(bin_dir, "ydotool", "")
    inserter = detect_inserter({**WAYLAND, "DISPLAY": ":0", "PATH": str(bin_dir)})
    assert (inserter.name, inserter.available) == ("wtype", True)
    assert "virtual-keyboard" in inserter.reason
    inserter.insert("-n Halo, dunia! é 日本 🙂\nnext")
    assert _recorded(bin_dir, "wtype") == ["--", "-n Halo, dunia! é 日本 🙂\nnext"]


def test_wayland_without_wtype_falls_back_to_ydotool(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _program(bin_dir, "ydotool", "")
    inserter = detect_inserter({**WAYLAND, "PATH": str(bin_dir)})
    assert inserter.name == "ydotool"
    assert "wtype is not installed" in inserter.reason
    inserter.insert("hello")
    assert _recorded(bin_dir, "ydotool") == ["type", "--", "hello"]


def test_wayland_without_either_says_what_to_install(tmp_path: Path) -> None:
    inserter = detect_inserter({**WAYLAND, "PATH": str(tmp_path)})
    assert isinstance(inserter, NoInserter)
    assert inserter.available is False
    assert inserter.reason == ("no way to type into other apps on this Wayland "
                               "compositor: install wtype")
    with pytest.raises(InsertionUnavailable, match="install wtype"):
        inserter.insert("lost?")


def test_no_graphical_session_is_said(tmp_path: Path) -> None:
    _program(tmp_path / "bin", "wtype", "")
    inserter = detect_inserter({"PATH": str(tmp_path / "bin")})
    assert inserter.name == "none"
    assert "neither DISPLAY nor WAYLAND_DISPLAY is set" in inserter.reason


def test_an_unreachable_x_display_is_said(tmp_path: Path) -> None:
    inserter = detect_inserter({"DISPLAY": ":999", "XDG_SESSION_TYPE": "x11",
                                "PATH": str(tmp_path)})
    assert inserter.name == "none"
    assert "cannot reach the X display :999" in inserter.reason


def test_x11_is_picked_on_a_display_with_xtest(xvfb: XvfbServer, tmp_path: Path) -> None:
    _program(tmp_path / "bin", "wtype", "")
    inserter = detect_inserter({"DISPLAY": xvfb.display, "XDG_SESSION_TYPE": "x11",
                                "PATH": str(tmp_path / "bin")})
    try:
        assert isinstance(inserter, X11Typer)
        assert inserter.name == "x11-xtest"
        assert inserter.reason == f"XTest on the X11 display {xvfb.display}"
        window = TypedTextWindow(xvfb.display)
        try:
            inserter.insert("Halo ü")
            assert window.wait_for_text("Halo ü") == "Halo ü"
        finally:
            window.close()
    finally:
        if isinstance(inserter, X11Typer):
            inserter.close()


def test_a_failing_program_is_a_clear_error(tmp_path: Path) -> None:
    program = _program(tmp_path, "wtype", "sys.stderr.write('compositor does not support "
                                          "virtual keyboard protocol\\n'); sys.exit(1)\n")
    inserter: TextInserter = wtype_inserter(str(program), dict(os.environ))
    with pytest.raises(InsertionFailed, match=r"^wtype failed to type the text \(exit "
                                              r"status 1\): compositor does not support"):
        inserter.insert("words")


def test_a_hung_program_is_stopped_at_its_deadline(tmp_path: Path) -> None:
    program = _program(tmp_path, "wtype", "time.sleep(60)\n")
    inserter = wtype_inserter(str(program), dict(os.environ), deadline_s=0.5)
    began = time.monotonic()
    with pytest.raises(InsertionFailed, match="did not finish typing within 0.5 s"):
        inserter.insert("words")
    assert time.monotonic() - began < 5


def test_paste_mode_on_x11_pastes(xvfb: XvfbServer, tmp_path: Path) -> None:
    inserter = detect_inserter({"DISPLAY": xvfb.display, "XDG_SESSION_TYPE": "x11",
                                "PATH": str(tmp_path)}, mode="paste")
    try:
        assert isinstance(inserter, X11Paster)
        assert (inserter.name, inserter.available) == ("x11-paste", True)
        assert "Ctrl+Shift+V in terminals" in inserter.reason
        window = PasteTargetWindow(xvfb.display)
        try:
            inserter.insert("Halo ü")
            assert window.wait_for_text("Halo ü") == "Halo ü"
        finally:
            window.close()
    finally:
        if isinstance(inserter, X11Paster):
            inserter.close()


def test_type_mode_stays_the_default_on_x11(xvfb: XvfbServer, tmp_path: Path) -> None:
    inserter = detect_inserter({"DISPLAY": xvfb.display, "PATH": str(tmp_path)})
    try:
        assert inserter.name == "x11-xtest"
    finally:
        if isinstance(inserter, X11Typer):
            inserter.close()


def test_paste_mode_on_wayland_types_and_says_why(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _program(bin_dir, "wtype", "")
    inserter = detect_inserter({**WAYLAND, "PATH": str(bin_dir)}, mode="paste")
    assert inserter.name == "wtype"
    assert inserter.reason.startswith("pasting works on X11 only for now, so the text is "
                                      "typed: wtype types through")


def test_paste_mode_with_no_display_says_so(tmp_path: Path) -> None:
    inserter = detect_inserter({"DISPLAY": ":999", "XDG_SESSION_TYPE": "x11",
                                "PATH": str(tmp_path)}, mode="paste")
    assert inserter.name == "none"
    assert "cannot paste into other apps: cannot reach the X display :999" in inserter.reason
