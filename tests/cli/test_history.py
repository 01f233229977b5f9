"""`dictation-app history`: the fixed contract, run as a person runs it (a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from datetime import datetime
from pathlib import Path

import pytest

from dictation_app.cli.history_parser import FORMATS
from dictation_app.jobs.exports import ExportFormat
from dictation_app.takes.model import TakeFinal
from dictation_app.takes.recording import wav_header
from dictation_app.takes.store import TakeStore, default_path

CONTRACT = {"id", "started", "duration", "engine", "recovered", "finals", "audio", "text"}


def history(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dictation_app", "history", *args],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


@pytest.fixture
def takes() -> dict[str, int]:
    """Three takes: an ended one with a recording, a recovered one without, an edited one."""
    with TakeStore() as store:
        store.recordings.mkdir(parents=True)
        wav = store.recordings / "take-a.wav"
        wav.write_bytes(wav_header(0) + b"\x10\x00" * 16000 * 2)  # header lags: 2 s
        a = store.begin("Bahasakita", wav, started=1_700_000_000.0)
        store.add_final(a.id, TakeFinal("selamat pagi", "Bahasakita", 0.0, 1.2), duration=1.2)
        store.add_final(a.id, TakeFinal("apa kabar", "Bahasakita", 1.2, 2.0), duration=2.0)
        store.end(a.id, duration=2.0)
        b = store.begin("Local engine", None, started=1_700_000_100.0)
        store.add_final(b.id, TakeFinal("interrupted words", "Local engine", 0, 3.5),
                        duration=3.5)
        store.recover()
        c = store.begin("Local engine", None, started=1_700_000_200.0)
        store.add_final(c.id, TakeFinal("teh", "Local engine", 0, 1), duration=1)
        store.end(c.id, duration=1.0, edited_text="The edited text.")
    return {"recorded": a.id, "recovered": b.id, "edited": c.id}


def test_json_lists_takes_newest_first_with_exactly_the_contract_fields(
        takes: dict[str, int]) -> None:
    result = history("--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [t["id"] for t in listed] == [takes["edited"], takes["recovered"], takes["recorded"]]
    assert all(set(t) == CONTRACT for t in listed)
    edited, recovered, recorded = listed
    assert recorded["engine"] == "Bahasakita" and recorded["recovered"] is False
    assert recorded["finals"] == 2 and recorded["duration"] == 2.0
    assert recorded["text"] == "selamat pagi apa kabar"
    assert recorded["audio"] is not None and Path(recorded["audio"]).is_file()
    assert datetime.fromisoformat(recorded["started"]).timestamp() == 1_700_000_000.0
    assert recovered["recovered"] is True and recovered["audio"] is None
    assert recovered["duration"] == 3.5 and recovered["finals"] == 1
    assert edited["text"] == "The edited text." and edited["finals"] == 1


def test_the_table_marks_recovered_takes(takes: dict[str, int]) -> None:
    result = history()
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["id", "started", "length", "engine", "text"]
    assert len(rows) == 3 and "(recovered)" in rows[1] and "interrupted words" in rows[1]
    assert "0:02" in rows[2]


def test_an_empty_history_is_an_empty_list_and_creates_nothing() -> None:
    result = history("--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []
    assert not default_path().exists()  # listing opened no store


@pytest.mark.parametrize("fmt", FORMATS)
def test_show_prints_one_take_in_each_format(takes: dict[str, int], fmt: str) -> None:
    result = history("show", str(takes["recorded"]), "--format", fmt)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    if fmt == "txt":
        assert out == "selamat pagi apa kabar\n"
    elif fmt == "srt":
        assert "00:00:00,000 --> 00:00:01,200" in out and "apa kabar" in out
    elif fmt == "vtt":
        assert out.startswith("WEBVTT") and "00:00:01.200 --> 00:00:02.000" in out
    else:
        data = json.loads(out)
        assert [s["text"] for s in data["segments"]] == ["selamat pagi", "apa kabar"]
        assert data["duration"] == 2.0 and data["provider"] == "Bahasakita"


def test_the_formats_are_the_exporters() -> None:
    assert tuple(f.value for f in ExportFormat) == FORMATS


def test_audio_writes_the_recording_as_a_whole_wav(takes: dict[str, int],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    result = history("audio", str(takes["recorded"]), "-o", str(out))
    assert result.returncode == 0, result.stderr
    with wave.open(str(out), "rb") as w:
        assert w.getframerate() == 16000 and w.getnframes() == 32000


def test_clear_errors_for_an_unknown_id_no_recording_and_an_unwritable_output(
        takes: dict[str, int], tmp_path: Path) -> None:
    unknown = history("show", "999")
    assert unknown.returncode == 1
    assert "There is no take 999" in unknown.stderr and "Traceback" not in unknown.stderr
    none = history("audio", str(takes["recovered"]), "-o", str(tmp_path / "x.wav"))
    assert none.returncode == 1 and f"Take {takes['recovered']} has no recording" in none.stderr
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unwritable = history("audio", str(takes["recorded"]), "-o", str(blocked / "x.wav"))
    assert unwritable.returncode == 1
    assert "Cannot write the recording" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


def test_building_the_command_line_imports_no_store_or_exporters() -> None:
    # `--version` and `stream` build the whole parser: `history` must cost them nothing.
    code = ("import sys; from dictation_app.cli.commands import build_parser; "
            "build_parser(full=False); print(sorted(m for m in ('sqlite3', "
            "'dictation_app.takes.store', 'dictation_app.jobs.exports') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
