"""What the app is made of, for Help ▸ About: every third-party distribution it runs
on and the native libraries inside them, each with its version and licence.

Generated, not written by hand: from the installed app's requirements, followed down
through each distribution's own (markers evaluated for this machine, extras left out),
with the licence each distribution declares (License-Expression, else a short License
field, else its licence classifiers). Wheels that carry a native library (FFmpeg inside
PyAV, libsndfile inside soundfile...) add a row for it from NATIVE. The bundle build
writes the list to COMPONENTS_FILE (build.spec), since a frozen app has no metadata to
walk; the frozen app reads that file.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

APP_DISTRIBUTION = "dictation-app"
COMPONENTS_FILE = "third-party-components.json"
UNKNOWN_LICENCE = "see its licence file"

# Native libraries inside a distribution's wheels: (distribution, library, licence).
# Only where the wheel ships the library itself (on Linux, sounddevice uses the
# system's PortAudio, which the bundle then carries from the build machine).
NATIVE: tuple[tuple[str, str, str], ...] = (
    ("av", "FFmpeg", "LGPL-2.1-or-later"),
    ("soundfile", "libsndfile", "LGPL-2.1-or-later"),
    ("sounddevice", "PortAudio", "MIT"),
    ("numpy", "OpenBLAS", "BSD-3-Clause"),
    ("ctranslate2", "oneDNN", "Apache-2.0"),
    ("pyside6-essentials", "Qt 6", "LGPL-3.0-only"),
    ("pocketsphinx", "CMU US English acoustic model", "BSD-2-Clause"),
)


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    licence: str
    inside: str = ""  # the distribution that carries it, for a native library


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _licence(dist: metadata.Distribution) -> str:
    meta = dist.metadata

    def field(name: str) -> str:
        return str(meta[name] or "").strip() if name in meta else ""

    expression = field("License-Expression")
    if expression:
        return expression
    text = field("License")
    if text and "\n" not in text and len(text) <= 60:
        return text
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::") and c != "License :: OSI Approved"]
    return ", ".join(classifiers) or UNKNOWN_LICENCE


def installed_components(root: str = APP_DISTRIBUTION) -> list[Component]:
    """Every distribution `root` needs to run here, and the native libraries in them,
    sorted by name; empty when `root` is not installed (a source checkout run bare)."""
    from packaging.requirements import Requirement

    try:
        metadata.distribution(root)
    except metadata.PackageNotFoundError:
        return []
    seen: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency not installed here
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(
                    {"extra": ""}):
                continue  # another platform's, or an extra's (tests, building)
            key = _canonical(requirement.name)
            if key not in seen and key != _canonical(root):
                try:
                    seen[key] = metadata.distribution(requirement.name)
                except metadata.PackageNotFoundError:
                    continue
                pending.append(requirement.name)
    rows = [Component(dist.metadata["Name"], dist.version, _licence(dist))
            for dist in seen.values()]
    for carrier, library, licence in NATIVE:
        found = seen.get(carrier)
        if found is not None:
            rows.append(Component(library, "", licence, inside=found.metadata["Name"]))
    return sorted(rows, key=lambda row: row.name.casefold())


def write_components(path: Path, components: list[Component]) -> None:
    path.write_text(json.dumps([asdict(c) for c in components], indent=1), encoding="utf-8")


def read_components(path: Path) -> list[Component]:
    """The list a bundle build wrote; empty (and logged) when it is missing or unreadable."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [Component(str(r["name"]), str(r["version"]), str(r["licence"]),
                          str(r.get("inside", ""))) for r in rows]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("no third-party component list in %s: %s", path, exc)
        return []


def shipped_components() -> list[Component]:
    """What this copy of the app runs on: the bundle's list when frozen, else what is
    installed. Empty when neither can be known (About then lists its own table)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return read_components(Path(bundle) / COMPONENTS_FILE)
    try:
        return installed_components()
    except Exception:  # metadata of an odd install must not take Help ▸ About down
        log.exception("could not list the installed components")
        return []
