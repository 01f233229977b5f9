"""Start at login: the XDG autostart entry written, read back as a desktop reads it, and
removed; the macOS LaunchAgent as a plist. (The Windows Run key needs Windows.)"""

from __future__ import annotations

import configparser
import os
import plistlib
import sys
from pathlib import Path

import pytest

from dictation_app.core.autostart import (
    Autostart,
    AutostartError,
    desktop_exec,
    launch_command,
    subprocess_line,
)
from dictation_app.core.resources import APP_ID


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def exec_arguments(value: str) -> list[str]:
    """An Exec value split as the XDG Desktop Entry spec says, written here from the
    spec: the key file's `\\\\` first, then arguments split at spaces, a double-quoted
    one with `\\"`, `` \\` ``, `\\$` and `\\\\` unescaped; `%%` is a `%`."""
    value = value.replace("\\\\", "\\")
    arguments: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == " ":
            i += 1
            continue
        current = []
        if value[i] == '"':
            i += 1
            while value[i] != '"':
                if value[i] == "\\" and value[i + 1] in '"`$\\':
                    i += 1
                current.append(value[i])
                i += 1
            i += 1
        else:
            while i < len(value) and value[i] != " ":
                current.append(value[i])
                i += 1
        arguments.append("".join(current).replace("%%", "%"))
    return arguments


def test_enable_writes_a_desktop_entry_that_runs_this_app(tmp_path: Path) -> None:
    config = tmp_path / "config home"
    command = ["/opt/my python/bin/python3", "-m", "dictation_app"]
    autostart = Autostart(platform="linux", environ={"XDG_CONFIG_HOME": str(config)},
                          command=command)
    assert not autostart.is_enabled()
    autostart.enable()
    path = config / "autostart" / "dictation-app.desktop"
    assert autostart.path == path and autostart.is_enabled()
    entry = read_entry(path)
    assert entry["Type"] == "Application" and entry["Name"] == "Dictation"
    assert exec_arguments(entry["Exec"]) == command
    assert entry["Exec"].startswith('"/opt/my python/bin/python3" -m dictation_app')
    assert entry["Hidden"] == "false" and entry["X-GNOME-Autostart-enabled"] == "true"
    assert entry["Icon"] == APP_ID and entry["Terminal"] == "false"
    autostart.enable()  # again: the same one file
    assert sorted(p.name for p in path.parent.iterdir()) == ["dictation-app.desktop"]

    autostart.disable()
    assert not path.exists() and not autostart.is_enabled()
    autostart.disable()  # already off: nothing to do, no error


def test_the_exec_line_quotes_what_a_desktop_would_misread(tmp_path: Path) -> None:
    awkward = ['/home/a "b"/$HOME/py`x`', "100%", "back\\slash"]
    line = desktop_exec(awkward)
    assert line == '"/home/a \\"b\\"/\\$HOME/py\\`x\\`" 100%% "back\\\\slash"'
    autostart = Autostart(platform="linux", environ={"XDG_CONFIG_HOME": str(tmp_path)},
                          command=awkward)
    autostart.enable()
    assert autostart.path is not None
    assert exec_arguments(read_entry(autostart.path)["Exec"]) == awkward


def test_without_xdg_config_home_the_entry_goes_under_dot_config(tmp_path: Path) -> None:
    autostart = Autostart(platform="linux", environ={}, home=tmp_path, command=["app"])
    autostart.enable()
    assert (tmp_path / ".config" / "autostart" / "dictation-app.desktop").is_file()


def test_the_default_is_this_users_config_home(tmp_path: Path) -> None:
    # The tests' XDG_CONFIG_HOME is a temporary folder (conftest).
    autostart = Autostart(platform="linux")
    assert autostart.path == Path(os.environ["XDG_CONFIG_HOME"]) / "autostart" / (
        "dictation-app.desktop")
    assert autostart.command == [sys.executable, "-m", "dictation_app"]


def test_an_entry_the_desktop_switched_off_is_not_enabled(tmp_path: Path) -> None:
    autostart = Autostart(platform="linux", environ={"XDG_CONFIG_HOME": str(tmp_path)},
                          command=["app"])
    autostart.enable()
    path = autostart.path
    assert path is not None
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("X-GNOME-Autostart-enabled=true",
                                 "X-GNOME-Autostart-enabled=false"), encoding="utf-8")
    assert not autostart.is_enabled()  # GNOME's Startup Applications turned it off
    path.write_text(text.replace("Hidden=false", "Hidden=true"), encoding="utf-8")
    assert not autostart.is_enabled()
    autostart.enable()  # turning it on again writes our own entry over it
    assert autostart.is_enabled() and read_entry(path)["Hidden"] == "false"


def test_a_folder_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "autostart").write_text("a file where the folder should be")
    autostart = Autostart(platform="linux", environ={"XDG_CONFIG_HOME": str(tmp_path)},
                          command=["app"])
    with pytest.raises(AutostartError, match=r"start at login: writing .*autostart"):
        autostart.enable()


def test_the_launch_command_of_a_bundle_is_the_bundle() -> None:
    assert launch_command(executable="/opt/Dictation/dictation-app", frozen=True) == [
        "/opt/Dictation/dictation-app"]
    assert launch_command(executable="/usr/bin/python3", frozen=False) == [
        "/usr/bin/python3", "-m", "dictation_app"]


def test_macos_gets_a_launch_agent_that_runs_at_load(tmp_path: Path) -> None:
    command = ["/Applications/Dictation.app/Contents/MacOS/Dictation"]
    autostart = Autostart(platform="darwin", home=tmp_path, command=command)
    autostart.enable()
    path = tmp_path / "Library" / "LaunchAgents" / f"{APP_ID}.plist"
    assert autostart.is_enabled()
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == APP_ID and agent["ProgramArguments"] == command
    assert agent["RunAtLoad"] is True
    autostart.disable()
    assert not path.exists()


def test_windows_gets_one_command_line() -> None:
    assert subprocess_line([r"C:\Program Files\Dictation\dictation-app.exe"]) == (
        r'"C:\Program Files\Dictation\dictation-app.exe"')
