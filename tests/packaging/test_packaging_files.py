"""The packaging files agree with each other and with the package, without building a bundle.

One app id everywhere (.desktop, AppStream metainfo, Info.plist, installer, icon names),
one version (`dictation_app.__version__`: bump it there and in pyproject.toml, add a
<release> to the metainfo, and these tests name any other file left behind), icons of
the right sizes in the right containers, and a build.spec whose inputs exist.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import plistlib
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

import dictation_app

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "io.github.dictation_app.DictationApp"
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / "linux" / "dictation-app.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
INSTALL_SH = PACKAGING / "linux" / "install.sh"
INFO_PLIST = PACKAGING / "macos" / "Info.plist"
INSTALLER_ISS = PACKAGING / "windows" / "installer.iss"
ENTRY = PACKAGING / "pyinstaller_entry.py"
SPEC = ROOT / "build.spec"
ICONS = ROOT / "resources" / "icons"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_icons = _load(ROOT / "scripts" / "render_icons.py", "render_icons")


def _tool_missing(tool: str, package: str) -> NoReturn:
    """A missing validator: a failure under CI, a skip on a developer's machine."""
    reason = f"{tool} not installed (Debian package {package})"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason}: CI must validate the packaging files")
    pytest.skip(reason)


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _semicolon_list(value: str) -> list[str]:
    return [item for item in value.split(";") if item]


# --- one app id --------------------------------------------------------------------


def test_the_desktop_file_uses_the_app_id_as_its_icon() -> None:
    assert _desktop_entry()["Icon"] == APP_ID


def test_the_metainfo_names_the_app_id_its_desktop_file_and_icon() -> None:
    component = ET.parse(METAINFO).getroot()
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable[@type='desktop-id']") == f"{APP_ID}.desktop"
    assert component.findtext("icon[@type='stock']") == APP_ID


def test_info_plist_installer_spec_and_install_script_use_the_app_id() -> None:
    with INFO_PLIST.open("rb") as file:
        assert plistlib.load(file)["CFBundleIdentifier"] == APP_ID
    assert f'#define MyAppId "{APP_ID}"' in INSTALLER_ISS.read_text(encoding="utf-8")
    assert f'APP_ID = "{APP_ID}"' in SPEC.read_text(encoding="utf-8")
    assert f'APP_ID="{APP_ID}"' in INSTALL_SH.read_text(encoding="utf-8")


# --- one version -------------------------------------------------------------------


def test_pyproject_has_the_package_version() -> None:
    tomllib = pytest.importorskip("tomllib")
    with (ROOT / "pyproject.toml").open("rb") as file:
        assert tomllib.load(file)["project"]["version"] == dictation_app.__version__


def test_the_newest_metainfo_release_is_the_package_version() -> None:
    releases = ET.parse(METAINFO).getroot().findall("releases/release")
    assert releases, "the metainfo lists no release"
    assert releases[0].get("version") == dictation_app.__version__, (
        "add a <release> for the new version at the top of <releases> in the metainfo"
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", releases[0].get("date", ""))


def test_info_plist_has_the_package_version() -> None:
    # build.spec overwrites both from __version__ when it builds the .app; the copies in
    # the file are checked so the file never shows a stale version.
    with INFO_PLIST.open("rb") as file:
        plist = plistlib.load(file)
    assert plist["CFBundleShortVersionString"] == dictation_app.__version__
    assert plist["CFBundleVersion"] == dictation_app.__version__


def test_the_installer_reads_the_version_from_the_bundle() -> None:
    # The .exe's version resource is written by build.spec from __version__.
    text = INSTALLER_ISS.read_text(encoding="utf-8")
    assert 'GetStringFileInfo(MyBundleDir + "\\" + MyAppExeName, "ProductVersion")' in text
    assert "AppVersion={#MyAppVersion}" in text
    assert not re.search(r'#define\s+MyAppVersion\s+"', text), "no hard-coded version"


def test_build_spec_reads_the_version_from_the_package() -> None:
    assert '(ROOT / "dictation_app" / "__init__.py").read_text()' in SPEC.read_text(
        encoding="utf-8")


# --- Linux ---------------------------------------------------------------------------


def test_the_desktop_file_starts_the_window_and_lists_the_categories() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    # Files opened with the app become transcription jobs (cli.main takes them as %F).
    assert entry["Exec"] == "dictation-app %F"
    mime = _semicolon_list(entry["MimeType"])
    assert {"audio/mpeg", "audio/x-wav", "audio/flac", "audio/mp4"} <= set(mime)
    assert entry["Terminal"] == "false"
    assert _semicolon_list(entry["Categories"]) == ["AudioVideo", "Audio"]
    assert "dictation" in _semicolon_list(entry["Keywords"])


def test_the_desktop_file_is_valid() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        _tool_missing("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, timeout=30)
    # Hints (more than one main category, as asked for) are advice, not errors.
    problems = [line for line in result.stdout.splitlines() if ": hint: " not in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_the_metainfo_is_valid() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        _tool_missing("appstreamcli", "appstream")
    result = subprocess.run([tool, "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_script_installs_and_removes_everything_under_the_app_id(
        tmp_path: Path) -> None:
    # A stand-in bundle: the script only copies it and takes the icons from inside it.
    bundle = tmp_path / "bundle"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    shutil.copytree(ICONS, bundle / "_internal" / "resources" / "icons")
    executable = bundle / "dictation-app"
    executable.write_text("#!/bin/sh\necho fake\n")
    executable.chmod(0o755)
    prefix = tmp_path / "prefix"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}

    subprocess.run(["bash", str(INSTALL_SH), "--prefix", str(prefix), str(bundle)],
                   check=True, capture_output=True, text=True, env=env, timeout=60)

    installed_exe = prefix / "opt" / "dictation-app" / "dictation-app"
    assert installed_exe.is_file()
    assert (prefix / "bin" / "dictation-app").resolve() == installed_exe.resolve()
    desktop = (prefix / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    assert f"Exec={installed_exe} %F" in desktop.splitlines()
    assert f"TryExec={installed_exe}" in desktop.splitlines()
    assert (prefix / "share" / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    hicolor = prefix / "share" / "icons" / "hicolor"
    for size in render_icons.PNG_SIZES:
        icon = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(icon.read_bytes()) == (size, size)
    assert (hicolor / "scalable" / "apps" / f"{APP_ID}.svg").is_file()

    subprocess.run(["bash", str(INSTALL_SH), "--prefix", str(prefix), "--uninstall"],
                   check=True, capture_output=True, text=True, env=env, timeout=60)
    left = [p for p in prefix.rglob("*") if p.is_file() and p.name != "mimeinfo.cache"]
    assert left == []


# --- macOS ---------------------------------------------------------------------------


def test_info_plist_explains_the_microphone_and_names_existing_files() -> None:
    with INFO_PLIST.open("rb") as file:
        plist = plistlib.load(file)
    reason = plist["NSMicrophoneUsageDescription"]
    assert "microphone" in reason.lower() and len(reason) > 40
    assert plist["CFBundleName"] == "Dictation"
    assert plist["CFBundleExecutable"] == "dictation-app"
    assert (ICONS / plist["CFBundleIconFile"]).is_file()
    assert plist["NSHighResolutionCapable"] is True
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", plist["LSMinimumSystemVersion"])


# --- icons ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", render_icons.PNG_SIZES)
def test_every_icon_size_is_a_png_of_that_size(size: int) -> None:
    assert _png_size(render_icons.png_path(size).read_bytes()) == (size, size)


def test_the_ico_holds_every_size_up_to_256_as_png() -> None:
    data = (ICONS / "dictation-app.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind, count) == (0, 1, len(render_icons.ICO_SIZES))
    sizes = []
    for index in range(count):
        width, height, _colours, _reserved, planes, bits, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index)
        assert (planes, bits) == (1, 32)
        assert offset + length <= len(data)
        image = data[offset:offset + length]
        expected = width or 256
        assert (width, height) == (expected % 256, expected % 256)
        assert _png_size(image) == (expected, expected)
        sizes.append(expected)
    assert sizes == list(render_icons.ICO_SIZES)


def test_the_icns_holds_the_retina_and_standard_sizes() -> None:
    data = (ICONS / "dictation-app.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found = {}
    offset = 8
    while offset < len(data):
        kind = data[offset:offset + 4]
        length = struct.unpack(">I", data[offset + 4:offset + 8])[0]
        found[kind] = _png_size(data[offset + 8:offset + length])
        offset += length
    assert offset == len(data)
    assert found == {kind: (size, size) for kind, size in render_icons.ICNS_TYPES}


def test_the_committed_pngs_are_renderings_of_the_current_svg(qapp: object) -> None:
    """Fails when the SVG changed and scripts/render_icons.py was not run again."""
    import numpy as np
    from PySide6.QtGui import QImage

    def pixels(png: bytes) -> np.ndarray:
        image = QImage.fromData(png).convertToFormat(QImage.Format.Format_RGBA8888)
        return np.frombuffer(bytes(image.constBits()), dtype=np.uint8).astype(int)

    for size in (16, 48, 256):
        committed = pixels(render_icons.png_path(size).read_bytes())
        fresh = pixels(render_icons.render_png(render_icons.SVG, size))
        # A small tolerance: another Qt version may antialias an edge pixel differently.
        assert np.abs(committed - fresh).mean() < 1.0, f"{size} px differs: re-render"


def test_build_ico_and_icns_write_what_the_readers_expect() -> None:
    png = render_icons.png_path(16).read_bytes()
    ico = render_icons.build_ico({16: png, 256: png})
    assert struct.unpack_from("<HHH", ico, 0) == (0, 1, 2)
    assert ico[6 + 16] == 0  # 256 px is stored as 0
    icns = render_icons.build_icns([(b"icp4", png)])
    assert icns == b"icns" + struct.pack(">I", 16 + len(png)) + b"icp4" + struct.pack(
        ">I", 8 + len(png)) + png
    with pytest.raises(ValueError):
        render_icons.build_ico({512: png})


# --- build.spec and the entry script ---------------------------------------------------


def _spec_paths() -> list[Path]:
    """Every `ROOT / "a" / "b"` path the spec builds, through names assigned from ROOT."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    known: dict[str, Path] = {"ROOT": ROOT}

    def evaluate(node: ast.expr) -> Path | None:
        if isinstance(node, ast.Name):
            return known.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            base = evaluate(node.left)
            if base is not None and isinstance(node.right, ast.Constant):
                return base / str(node.right.value)
        return None

    paths = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            value = evaluate(node.value)
            if isinstance(target, ast.Name) and value is not None:
                known[target.id] = value
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            path = evaluate(node)
            if path is not None:
                paths.append(path)
    return paths


def test_build_spec_compiles_and_every_file_it_names_exists() -> None:
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    paths = _spec_paths()
    names = {path.relative_to(ROOT).as_posix() for path in paths}
    assert {"packaging/pyinstaller_entry.py", "packaging/macos/Info.plist",
            "resources/icons/dictation-app.ico", "resources/icons/dictation-app.icns",
            "dictation_app/__init__.py"} <= names
    missing = [name for name in sorted(names) if not (ROOT / name).exists()]
    assert missing == []


def test_the_entry_script_makes_find_library_prefer_the_bundle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    entry = _load(ENTRY, "pyinstaller_entry")
    (tmp_path / "libportaudio.so.2").write_bytes(b"")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: f"system-{name}")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(sys, "platform", "linux")

    entry._prefer_bundled_libraries()

    assert ctypes.util.find_library("portaudio") == str(tmp_path / "libportaudio.so.2")
    assert ctypes.util.find_library("sndfile") == "system-sndfile"


def test_the_entry_script_gives_a_windowed_app_somewhere_to_write(
        monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _load(ENTRY, "pyinstaller_entry")
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    entry._give_windowed_app_streams()
    try:
        print("goes nowhere")
        assert sys.stdout is not None and sys.stdout.name == os.devnull
    finally:
        sys.stdout.close()
        sys.stderr.close()
