"""AboutDialog: name, version, engine, Qt, and a licence line for everything that ships.

The engines come from the engine registry through the composition root's
`about_engines()`, as the app passes them in.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, qVersion
from pytestqt.qtbot import QtBot

from dictation_app import __version__
from dictation_app.app import about_engines
from dictation_app.ui import about_dialog
from dictation_app.ui.about_dialog import (
    BUNDLED,
    NOT_INSTALLED,
    AboutDialog,
    Bundled,
    EngineCredit,
    distribution_version,
)

# What the issue asks to credit: (name as listed, licence).
EXPECTED_LICENCES = [
    ("Qt and Qt for Python (PySide6)", "LGPL-3.0"),
    ("PocketSphinx and its US English model", "BSD-2-Clause"),
    ("faster-whisper, CTranslate2 and OpenAI's Whisper tiny.en and base models", "MIT"),
    ("PortAudio", "MIT"),
    ("libsndfile", "LGPL-2.1+"),
    ("soxr", "LGPL-2.1+"),
    ("NumPy", "BSD-3-Clause"),
    ("websockets", "BSD-3-Clause"),
    ("httpx", "BSD-3-Clause"),
    ("qasync", "BSD-2-Clause"),
    ("keyring", "MIT"),
    ("platformdirs", "MIT"),
    ("sounddevice", "MIT"),
    ("soundfile", "BSD-3-Clause"),
]


def only(installed: dict[str, str]) -> about_dialog.VersionLookup:
    """A version lookup that knows only ``installed``."""

    def version_of(name: str) -> str:
        try:
            return installed[name]
        except KeyError:
            raise metadata.PackageNotFoundError(name) from None

    return version_of


def open_dialog(qtbot: QtBot, *, engines: list[EngineCredit] | None = None,
                **options: about_dialog.VersionLookup) -> AboutDialog:
    # components=(): the dialog's own table (what the fake versions apply to).
    dialog = AboutDialog(engines=about_engines() if engines is None else engines,
                         components=(), **options)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_shows_name_version_engine_and_qt(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot)

    assert dialog.windowTitle() == "About Dictation"
    assert dialog.name_label.text() == "Dictation"
    assert dialog.version_label.text() == f"Version {__version__}"
    assert dialog.engine_label.text() == (
        f"Offline engines: CMU PocketSphinx {metadata.version('pocketsphinx')} "
        "with its US English model; "
        f"faster-whisper {metadata.version('faster-whisper')} with Whisper tiny.en for "
        "English and base for 99 languages (int8, CPU)"
    )
    pyside = metadata.version("PySide6-Essentials")
    assert dialog.qt_label.text() == f"Qt {qVersion()}, PySide6 {pyside}"
    assert "MIT" in dialog.licence_label.text()
    assert not dialog.icon_label.isHidden()
    assert not dialog.icon_label.pixmap().isNull()


def test_lists_every_licence_with_its_installed_version(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot)
    text = dialog.credits_text()

    assert [(row.name, row.licence) for row in dialog.credits] == EXPECTED_LICENCES
    for row in dialog.credits:
        assert row.name in text
        assert row.licence in text
        assert row.version in text
    versions = {row.name: row.version for row in dialog.credits}
    assert versions["NumPy"] == metadata.version("numpy")
    assert versions["PortAudio"] == "via sounddevice"
    assert versions["libsndfile"] == "via soundfile"
    assert dialog.credits_view.isReadOnly()


def test_missing_distributions_read_not_installed(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, version_of=only({"numpy": "2.0.0"}))

    versions = {row.name: row.version for row in dialog.credits}
    assert versions.pop("NumPy") == "2.0.0"
    assert set(versions.values()) == {NOT_INSTALLED}
    assert len(versions) == len(BUNDLED) + len(about_engines()) - 1
    assert dialog.engine_label.text() == (
        f"Offline engines: CMU PocketSphinx ({NOT_INSTALLED}); faster-whisper ({NOT_INSTALLED})")
    assert dialog.qt_label.text() == f"Qt {qVersion()}, PySide6 {NOT_INSTALLED}"


def test_pyside6_essentials_falls_back_to_pyside6() -> None:
    assert (
        distribution_version("PySide6-Essentials", "PySide6", version_of=only({"PySide6": "6.9.1"}))
        == "6.9.1"
    )


def test_without_icon_files_no_icon_is_shown(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(about_dialog, "app_icon_files", lambda: [])
    dialog = open_dialog(qtbot)
    assert dialog.icon_label.isHidden()


def test_unreadable_icon_files_show_no_icon(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(about_dialog, "app_icon_files", lambda: [tmp_path / "missing-64.png"])
    dialog = open_dialog(qtbot)
    assert dialog.icon_label.isHidden()


def test_close_button_closes(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot)
    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(dialog.buttons.buttons()[0], Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def test_engines_come_from_what_is_passed_in(qtbot: QtBot) -> None:
    engines = [
        EngineCredit("CMU PocketSphinx", "with its US English model",
                     Bundled("PocketSphinx and its US English model", "BSD-2-Clause",
                             ("pocketsphinx",))),
        EngineCredit("Echo", "with no model", Bundled("Echo", "MIT", ("echo-engine",))),
    ]
    dialog = open_dialog(qtbot, engines=engines,
                         version_of=only({"pocketsphinx": "5.0.4", "echo-engine": "1.2"}))

    assert dialog.engine_label.text() == (
        "Offline engines: CMU PocketSphinx 5.0.4 with its US English model; Echo 1.2 with no model")
    names = [row.name for row in dialog.credits]
    assert names[:3] == ["Qt and Qt for Python (PySide6)",
                         "PocketSphinx and its US English model", "Echo"]
    assert {row.name: row.version for row in dialog.credits}["Echo"] == "1.2"


def test_without_engines_the_dialog_says_so(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, engines=[])

    assert dialog.engine_label.text() == "Offline engine: none"
    assert [row.name for row in dialog.credits] == [item.name for item in BUNDLED]


def test_the_licence_list_is_what_the_app_runs_on_native_libraries_included(
        qtbot: QtBot) -> None:
    dialog = AboutDialog(engines=about_engines())  # the generated list, from this install
    qtbot.addWidget(dialog)
    rows = {row.name: row for row in dialog.credits}
    # The case: FFmpeg ships inside PyAV and was missing from the list.
    assert rows["FFmpeg"].version == "in av" and "LGPL" in rows["FFmpeg"].licence
    for name in ("av", "faster-whisper", "ctranslate2", "tokenizers", "httpx", "qasync",
                 "libsndfile", "Qt 6"):
        assert name in rows, name
    assert rows["faster-whisper"].version == metadata.version("faster-whisper")
    assert all(row.licence for row in dialog.credits)
    assert "pytest" not in rows and "mypy" not in rows  # tools, not shipped
    assert dialog.credits[0].name in ("Qt 6", "PySide6_Essentials", "PySide6-Essentials")
    assert "FFmpeg" in dialog.credits_text()
