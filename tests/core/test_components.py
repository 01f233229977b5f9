"""The third-party component list: generated from the install, kept in a file for the
bundle, read back; a missing or broken file is no list, not a crash."""

from __future__ import annotations

from pathlib import Path

from dictation_app.core.components import (
    Component,
    installed_components,
    read_components,
    write_components,
)


def test_the_list_round_trips_through_the_bundle_file(tmp_path: Path) -> None:
    rows = installed_components()
    assert rows and any(row.name == "FFmpeg" and row.inside == "av" for row in rows)
    path = tmp_path / "components.json"
    write_components(path, rows)
    assert read_components(path) == rows


def test_a_broken_or_missing_file_gives_no_list(tmp_path: Path) -> None:
    assert read_components(tmp_path / "none.json") == []
    broken = tmp_path / "broken.json"
    broken.write_text('[{"name": "x"}]', encoding="utf-8")
    assert read_components(broken) == []


def test_an_app_that_is_not_installed_lists_nothing() -> None:
    assert installed_components("no-such-distribution-here") == []
    assert Component("a", "1", "MIT").inside == ""
