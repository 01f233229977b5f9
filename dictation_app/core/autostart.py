"""Starting Dictation when the person logs in: the one file (or registry value) each
desktop reads at login, written and removed here.

- Linux and other XDG desktops: `$XDG_CONFIG_HOME/autostart/dictation-app.desktop`
  (the XDG Autostart specification), tested.
- Windows: a value under `HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`,
  the per-user Run key (no shortcut file to build). Untested here.
- macOS: a LaunchAgent, `~/Library/LaunchAgents/<APP_ID>.plist`, with RunAtLoad.
  Untested here.

The command is the running app itself: the frozen executable in a PyInstaller bundle,
`python -m dictation_app` from a checkout or a pip install.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import plistlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.resources import APP_ID

DESKTOP_FILE = "dictation-app.desktop"
RUN_VALUE = "Dictation"  # the value's name under the Run key
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


class AutostartError(ConfigurationError):
    """The login item could not be written or removed; the message says where."""


def launch_command(*, executable: str | None = None, frozen: bool | None = None) -> list[str]:
    """The command that starts this app as it runs now."""
    executable = sys.executable if executable is None else executable
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    return [executable] if frozen else [executable, "-m", "dictation_app"]


def desktop_exec(command: Sequence[str]) -> str:
    """`command` quoted for a .desktop file's Exec key: arguments with reserved characters
    in double quotes, with `"`, `` ` ``, `$` and `\\` escaped inside; `%` doubled."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    parts = []
    for argument in command:
        argument = argument.replace("%", "%%")
        if argument and not reserved & set(argument):
            parts.append(argument)
            continue
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in argument)
        parts.append(f'"{escaped}"')
    return " ".join(parts)


def desktop_entry(command: Sequence[str]) -> str:
    """The autostart .desktop file's text for `command`."""
    # Exec values are read once more for the key file's own escapes (\\ -> \), so each
    # backslash the Exec quoting wrote is written twice.
    exec_line = desktop_exec(command).replace("\\", "\\\\")
    return "\n".join((
        "[Desktop Entry]",
        "Type=Application",
        "Name=Dictation",
        "Comment=Dictation, started at login",
        f"Exec={exec_line}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Hidden=false",
        "X-GNOME-Autostart-enabled=true",
        "",
    ))


def xdg_autostart_file(environ: Mapping[str, str] | None = None,
                       home: Path | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str((home or Path.home()) / ".config")
    return Path(base) / "autostart" / DESKTOP_FILE


def xdg_entry_enabled(path: Path) -> bool:
    """Whether the autostart entry at `path` runs at login: it exists and neither
    `Hidden` nor GNOME's own switch (Startup Applications) turns it off."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    if not path.is_file():
        return False
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return True  # there, but unreadable: the desktop may still run it
    entry = parser["Desktop Entry"] if parser.has_section("Desktop Entry") else {}
    return (entry.get("Hidden", "false").strip() != "true"
            and entry.get("X-GNOME-Autostart-enabled", "true").strip() != "false")


def launch_agent_file(home: Path | None = None) -> Path:
    return (home or Path.home()) / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


def launch_agent(command: Sequence[str]) -> bytes:
    return plistlib.dumps({"Label": APP_ID, "ProgramArguments": list(command),
                           "RunAtLoad": True, "ProcessType": "Interactive"})


class Autostart:
    """The login item on one platform. The defaults are this machine and this run;
    tests pass their own `platform`, `environ`, `home` and `command`."""

    def __init__(self, *, platform: str | None = None,
                 environ: Mapping[str, str] | None = None, home: Path | None = None,
                 command: Sequence[str] | None = None) -> None:
        self.platform = sys.platform if platform is None else platform
        self._environ = environ
        self._home = home
        self.command = list(launch_command() if command is None else command)

    @property
    def path(self) -> Path | None:
        """The file that makes the app start at login; None on Windows (a registry value)."""
        if self.platform == "win32":
            return None
        if self.platform == "darwin":
            return launch_agent_file(self._home)
        return xdg_autostart_file(self._environ, self._home)

    def is_enabled(self) -> bool:
        if self.platform == "win32":
            return _read_run_value() is not None
        path = self.path
        assert path is not None
        if self.platform == "darwin":
            return path.is_file()
        return xdg_entry_enabled(path)

    def enable(self) -> None:
        if self.platform == "win32":
            _write_run_value(subprocess_line(self.command))
            return
        path = self.path
        assert path is not None
        data = (launch_agent(self.command) if self.platform == "darwin"
                else desktop_entry(self.command).encode("utf-8"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise AutostartError(
                f"Could not set Dictation to start at login: writing {path} failed "
                f"({exc.strerror or exc}). Check that the folder is writable.") from exc

    def disable(self) -> None:
        if self.platform == "win32":
            _write_run_value(None)
            return
        path = self.path
        assert path is not None
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise AutostartError(
                f"Could not stop Dictation starting at login: removing {path} failed "
                f"({exc.strerror or exc}).") from exc

    def set_enabled(self, enabled: bool) -> None:
        if enabled:
            self.enable()
        else:
            self.disable()


def subprocess_line(command: Sequence[str]) -> str:
    """`command` as one Windows command line (the Run key holds a string)."""
    return subprocess.list2cmdline(list(command))


# --- Windows (untested: there is no Windows here) -------------------------------------

if sys.platform == "win32":
    import winreg

    def _read_run_value() -> str | None:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                value, _kind = winreg.QueryValueEx(key, RUN_VALUE)
        except OSError:
            return None
        return str(value)

    def _write_run_value(line: str | None) -> None:
        """`line` under the Run key; None removes the value."""
        try:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                if line is None:
                    with contextlib.suppress(FileNotFoundError):
                        winreg.DeleteValue(key, RUN_VALUE)
                else:
                    winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, line)
        except OSError as exc:
            raise AutostartError(
                f"Could not change the login item HKCU\\{RUN_KEY}\\{RUN_VALUE}: {exc}"
            ) from exc
else:
    def _read_run_value() -> str | None:
        raise AutostartError("The Windows Run key exists on Windows only.")

    def _write_run_value(line: str | None) -> None:
        raise AutostartError("The Windows Run key exists on Windows only.")
