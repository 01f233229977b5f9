"""Help ▸ About: the app's name, version and engine, and the licences of what ships with it.

Versions are read with ``importlib.metadata`` when the dialog is built; a distribution
that is missing reads "not installed" rather than breaking the dialog. The offline
engines are passed in as ``EngineCredit``s (the composition root builds them from the
engine registry; this widget knows no engine). Show it with ``show()`` or ``open()``,
never ``exec()``: the app runs on a qasync loop.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata

from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dictation_app import __version__
from dictation_app.core.components import Component, shipped_components
from dictation_app.core.resources import app_icon_files

APP_NAME = "Dictation"
APP_LICENCE = "MIT"
DESCRIPTION = "Speak, and your words appear as text you can copy anywhere."
NOT_INSTALLED = "not installed"
ICON_SIZE = 64

VersionLookup = Callable[[str], str]  # importlib.metadata.version's shape


@dataclass(frozen=True)
class Bundled:
    """Something that ships with the app; ``distributions`` are tried in order.

    PortAudio and libsndfile are C libraries with no distribution of their own: they are
    marked ``library`` and listed with the Python package that loads them.
    """

    name: str
    licence: str
    distributions: tuple[str, ...]
    library: bool = False


@dataclass(frozen=True)
class EngineCredit:
    """An offline engine as About shows it: ``product`` and ``model_note`` make its line
    ("CMU PocketSphinx 5.0.4 with its US English model"), ``component`` its licence row,
    whose first distribution's version the line shows."""

    product: str
    model_note: str
    component: Bundled


# The licence list: Qt first, then the engines passed in, then the rest.
QT = Bundled("Qt and Qt for Python (PySide6)", "LGPL-3.0", ("PySide6-Essentials", "PySide6"))
BUNDLED = (
    QT,
    Bundled("PortAudio", "MIT", ("sounddevice",), library=True),
    Bundled("libsndfile", "LGPL-2.1+", ("soundfile",), library=True),
    Bundled("soxr", "LGPL-2.1+", ("soxr",)),
    Bundled("NumPy", "BSD-3-Clause", ("numpy",)),
    Bundled("websockets", "BSD-3-Clause", ("websockets",)),
    Bundled("httpx", "BSD-3-Clause", ("httpx",)),
    Bundled("qasync", "BSD-2-Clause", ("qasync",)),
    Bundled("keyring", "MIT", ("keyring",)),
    Bundled("platformdirs", "MIT", ("platformdirs",)),
    Bundled("sounddevice", "MIT", ("sounddevice",)),
    Bundled("soundfile", "BSD-3-Clause", ("soundfile",)),
)


@dataclass(frozen=True)
class Credit:
    """One row of the licence list, as shown."""

    name: str
    version: str
    licence: str


def distribution_version(*names: str, version_of: VersionLookup = metadata.version) -> str | None:
    """The version of the first of ``names`` that is installed, or None."""
    for name in names:
        try:
            return version_of(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def licence_credits(engines: Sequence[EngineCredit] = (), *,
                    version_of: VersionLookup = metadata.version) -> list[Credit]:
    """The licence list, with `engines` after Qt, and the versions installed right now."""
    components = [QT, *(engine.component for engine in engines), *BUNDLED[1:]]
    rows = []
    for item in components:
        found = distribution_version(*item.distributions, version_of=version_of)
        if found is None:
            shown = NOT_INSTALLED
        elif item.library:
            shown = f"via {item.distributions[0]}"
        else:
            shown = found
        rows.append(Credit(item.name, shown, item.licence))
    return rows


def component_credits(components: Sequence[Component],
                      engines: Sequence[EngineCredit] = ()) -> list[Credit]:
    """The generated list as rows: Qt first, then the engines' own, then the rest by
    name; a native library names the package that carries it."""
    qt = {d.lower() for d in QT.distributions} | {"qt 6", "shiboken6"}
    engine = {d.lower() for e in engines for d in e.component.distributions}

    def order(c: Component) -> tuple[int, str]:
        name = c.name.lower().replace("_", "-")
        return (0 if name in qt else 1 if name in engine else 2, c.name.casefold())

    rows = [Credit(c.name, f"in {c.inside}" if c.inside else c.version, c.licence)
            for c in sorted(components, key=order)]
    # What each engine credits (its models' origin and licence) heads the engine rows.
    credits = [Credit(e.component.name, "", e.component.licence) for e in engines]
    qt_rows = sum(1 for c in components if order(c)[0] == 0)
    return [*rows[:qt_rows], *credits, *rows[qt_rows:]]


class AboutDialog(QDialog):
    """Shows what the app is and what it is made of; it only has a Close button."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        engines: Sequence[EngineCredit] = (),
        version_of: VersionLookup = metadata.version,
        components: Sequence[Component] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self.setMinimumWidth(560)

        self.icon_label = QLabel()
        self.icon_label.setObjectName("aboutIcon")
        icon = QIcon()
        for path in app_icon_files():
            icon.addFile(str(path))
        if icon.isNull():
            self.icon_label.hide()
        else:
            self.icon_label.setPixmap(icon.pixmap(ICON_SIZE, ICON_SIZE))
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignTop)

        self.name_label = QLabel(APP_NAME)
        self.name_label.setObjectName("aboutName")
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.name_label.setFont(font)
        self.version_label = _selectable(f"Version {__version__}")
        self.version_label.setObjectName("aboutVersion")
        self.description_label = QLabel(DESCRIPTION)
        self.description_label.setWordWrap(True)

        pyside = distribution_version("PySide6-Essentials", "PySide6", version_of=version_of)
        lines = [_engine_line(engine, version_of) for engine in engines]
        title = "Offline engines" if len(lines) > 1 else "Offline engine"
        self.engine_label = _selectable(f"{title}: {'; '.join(lines) or 'none'}")
        self.engine_label.setObjectName("aboutEngine")
        self.engine_label.setWordWrap(True)  # two engines with their models run long
        self.qt_label = _selectable(f"Qt {qVersion()}, PySide6 {pyside or NOT_INSTALLED}")
        self.qt_label.setObjectName("aboutQt")
        self.licence_label = QLabel(f"{APP_NAME} is free software under the {APP_LICENCE} licence.")
        self.licence_label.setObjectName("aboutLicence")
        self.licence_label.setWordWrap(True)

        # What this copy runs on, generated (core/components.py); the table above when
        # that cannot be known.
        shipped = shipped_components() if components is None else list(components)
        self.credits = (component_credits(shipped, engines) if shipped
                        else licence_credits(engines, version_of=version_of))
        self.credits_view = QTextBrowser()
        self.credits_view.setObjectName("aboutCredits")
        self.credits_view.setOpenLinks(False)
        self.credits_view.setHtml(_credits_html(self.credits))
        # Tall enough for the whole list in the default font; it scrolls if not.
        self.credits_view.setMinimumHeight(self.fontMetrics().lineSpacing() * 19)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)

        header_text = QVBoxLayout()
        header_text.setSpacing(2)
        header_text.addWidget(self.name_label)
        header_text.addWidget(self.version_label)
        header_text.addSpacing(6)
        header_text.addWidget(self.description_label)
        header = QHBoxLayout()
        header.setSpacing(16)
        header.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(header_text, 1)

        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addSpacing(10)
        layout.addWidget(self.engine_label)
        layout.addWidget(self.qt_label)
        layout.addWidget(self.licence_label)
        layout.addSpacing(10)
        layout.addWidget(QLabel("Included software and its licences:"))
        layout.addWidget(self.credits_view, 1)
        layout.addWidget(self.buttons)

    def credits_text(self) -> str:
        """The licence list as plain text."""
        return self.credits_view.toPlainText()


def _engine_line(engine: EngineCredit, version_of: VersionLookup) -> str:
    version = distribution_version(*engine.component.distributions, version_of=version_of)
    if version is None:
        return f"{engine.product} ({NOT_INSTALLED})"
    return f"{engine.product} {version} {engine.model_note}"


def _credits_html(rows: list[Credit]) -> str:
    cells = "".join(
        "<tr>"
        f"<td>{html.escape(row.name)}</td>"
        f"<td>{html.escape(row.version)}</td>"
        f"<td>{html.escape(row.licence)}</td>"
        "</tr>"
        for row in rows
    )
    return (
        '<table cellspacing="0" cellpadding="2" width="100%">'
        '<tr><th align="left">Component</th><th align="left">Version</th>'
        '<th align="left">Licence</th></tr>'
        f"{cells}</table>"
    )


def _selectable(text: str) -> QLabel:
    """A label whose text can be selected, so versions can be pasted into a bug report."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
