"""Imports point down the layers only, including imports inside functions.

Every module of the package is parsed with `ast`; each `import dictation_app.X...` or
`from dictation_app.X... import` it holds, at any depth, must name a package its own
package may use. The table, from the bottom up (a package may import itself and what
its row lists, nothing else):

    core         (nothing)             errors, settings, secrets, redaction, languages
    protocols    core, audio.format    pure: build requests, parse replies
    audio        core                  the PCM format, devices, files, conversion
    engine       core, audio, protocols           the offline recognizer and its child
    transport    core, protocols                  bytes over sockets, nothing else
    jobs         core, protocols                  job model, store, runner, exports; its
                                                  services are injected, never imported
    takes        core, protocols                  the take journal: store, recordings
    services     core, audio, protocols, engine, transport, jobs, takes
                                                  one module per vendor: the job contract
    desktop      core                             the desktop integration: a key grabbed
                                                  system-wide, text typed into other
                                                  apps; Qt-free, on threads of its own
    ui           core, audio, protocols, jobs (model and exports only), takes (model
                 only), ui
                                                  passive widgets: no transport, services,
                                                  engine, runner or store
    controllers  everything below, ui, desktop    Qt controllers
    app          everything but cli               the composition root
    cli          everything but ui, controllers,  command-line front ends (the GUI
                 desktop                          only through app)

`audio/format.py` (constants only: the 16 kHz mono s16le format and its 100 ms chunk)
is a foundation any layer may import, the pure protocols included.

Lazy imports (for start-up cost) are fine, but they obey the same table. `desktop`
imports no Qt either: it runs its own threads and calls back, and the controllers
marshal onto the loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dictation_app

PACKAGE = Path(dictation_app.__file__).parent

BELOW_SERVICES = {"core", "audio", "protocols", "engine", "transport", "jobs", "takes"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "protocols": {"core"},
    "audio": {"core"},
    "engine": {"core", "audio", "protocols"},
    "transport": {"core", "protocols"},
    "jobs": {"core", "protocols"},
    "takes": {"core", "protocols"},
    "services": BELOW_SERVICES,
    "ui": {"core", "audio", "protocols", "jobs", "takes"},
    "desktop": {"core"},
    "controllers": BELOW_SERVICES | {"services", "ui", "desktop"},
    "app": BELOW_SERVICES | {"services", "ui", "controllers", "desktop"},
    "cli": BELOW_SERVICES | {"services", "app"},
    "__main__": {"cli"},
    "__init__": set(),
}
# Modules every layer may import: they hold constants and import nothing.
FOUNDATION_MODULES = {"dictation_app.audio.format"}
# Within jobs/, the widgets may take the data (model) and the text exports, nothing
# that runs jobs or opens the store.
UI_ALLOWED_JOBS = {"dictation_app.jobs.model", "dictation_app.jobs.exports",
                   "dictation_app.jobs.options"}
# Within takes/, the widgets may take the data only: the store and journal are the
# controllers'.
UI_ALLOWED_TAKES = {"dictation_app.takes.model"}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(relative.parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """Every dictation_app module `path` (named `module`) imports, with its line, at
    any depth: module level, functions, methods, `if TYPE_CHECKING:` blocks."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from dictation_app import services` names a subpackage; `__version__`
            # is the package's own (bottom) namespace.
            if target == "dictation_app":
                found += [(node.lineno, f"dictation_app.{a.name}") for a in node.names
                          if (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").exists()]
    return [(line, name) for line, name in found
            if name == "dictation_app" or name.startswith("dictation_app.")]


def _violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        layer = _layer(module)
        allowed = ALLOWED.get(layer)
        if allowed is None:
            problems.append(f"{module}: package {layer!r} is not in the layer table")
            continue
        for line, target in _imports(path, module):
            if target == "dictation_app":
                continue
            target_layer = _layer(target)
            if target_layer == layer or target in FOUNDATION_MODULES:
                continue
            if target_layer not in allowed:
                problems.append(f"{module}:{line} imports {target} ({layer} -> {target_layer})")
            elif layer == "ui" and target_layer == "jobs" and not any(
                    target == ok or target.startswith(ok + ".") for ok in UI_ALLOWED_JOBS):
                problems.append(f"{module}:{line} imports {target} (ui may take jobs' data "
                                f"and exports only)")
            elif layer == "ui" and target_layer == "takes" and target not in UI_ALLOWED_TAKES:
                problems.append(f"{module}:{line} imports {target} (ui may take takes' data "
                                f"only)")
    return problems


def test_imports_point_down_the_layers() -> None:
    assert _violations() == []


QT_MODULES = ("PySide6", "shiboken6", "qasync")


def test_the_desktop_layer_imports_no_qt() -> None:
    found = []
    for path in sorted((PACKAGE / "desktop").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}:{node.lineno} imports {name}" for name in names
                      if name.split(".")[0] in QT_MODULES]
    assert found == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text("import json\n"
                      "def f():\n    from dictation_app.services import factory\n"
                      "class C:\n    def m(self):\n        import dictation_app.ui.jobs_panel\n"
                      "        from . import store\n", encoding="utf-8")
    assert _imports(source, "dictation_app.jobs.sample") == [
        (3, "dictation_app.services"), (6, "dictation_app.ui.jobs_panel"),
        (7, "dictation_app.jobs")]


def test_every_package_is_in_the_table() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages <= set(ALLOWED)
