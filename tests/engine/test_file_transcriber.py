"""Files through the offline engine: segments with times, progress, any input format, cancel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from dictation_app.core.errors import ConfigurationError, UnsupportedInput
from dictation_app.engine.file_transcriber import (
    TranscriptionCancelled,
    run_engine_transcribe,
    transcribe_file,
)
from dictation_app.engine.pocketsphinx_engine import PocketsphinxModel
from dictation_app.engine.server import PARENT_PIPE_ENV
from dictation_app.protocols.transcript import from_store_dict
from tests.support.audio import SAMPLE_RATE, SENTENCES, Speech, minute_of_speech, write_pcm

pytestmark = pytest.mark.engine


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / SAMPLE_RATE


@pytest.fixture(scope="module")
def grammar_model(grammar_file: Path) -> PocketsphinxModel:
    model = PocketsphinxModel(grammar=grammar_file)
    model.load()
    return model


@pytest.fixture
def two_sentences(speech: Speech, tmp_path: Path) -> Path:
    return write_pcm(tmp_path / "two.wav", speech(0.5, SENTENCES[0], 1.0, SENTENCES[3], 0.5))


def test_two_sentences_give_two_segments_in_order_with_their_times(
        grammar_model: PocketsphinxModel, speech: Speech, two_sentences: Path) -> None:
    transcript = transcribe_file(two_sentences, model=grammar_model)

    first, second = transcript.segments
    assert (first.text, second.text) == (SENTENCES[0], SENTENCES[3])
    assert transcript.text == f"{SENTENCES[0]} {SENTENCES[3]}"
    assert (transcript.provider, transcript.file, transcript.language) == (
        "local", str(two_sentences), "en")
    duration = seconds(speech(0.5, SENTENCES[0], 1.0, SENTENCES[3], 0.5))
    assert transcript.duration == pytest.approx(duration, abs=0.001)
    # Each span covers its sentence's audio (give or take the VAD's pre-roll and
    # hangover) and the second starts in the pause after the first.
    first_ends = seconds(speech(0.5, SENTENCES[0]))
    second_starts = seconds(speech(0.5, SENTENCES[0], 1.0))
    assert 0.0 <= first.start <= 0.5 < first_ends <= first.end
    assert first.end < second.start <= second_starts < second.end <= duration
    assert first.speaker is None and second.speaker is None


def test_progress_rises_in_throttled_steps_to_one(speech: Speech, tmp_path: Path) -> None:
    # The general model decodes slowly enough to report on the way; a grammar would
    # finish this file before the first report is due.
    path = write_pcm(tmp_path / "two.wav", speech(0.3, SENTENCES[1], 0.7, SENTENCES[4], 0.3))
    reports: list[float] = []

    transcript = transcribe_file(path, on_progress=reports.append)

    assert len(transcript.segments) == 2
    assert reports[-1] == 1.0
    on_the_way = reports[:-1]
    assert on_the_way, "nothing reported before the end"
    # Only the end says 1.0; on the way, each report is at least 1% above the last.
    assert (np.diff([0.0, *on_the_way]) >= 0.01).all(), reports
    assert on_the_way[-1] < 1.0


def test_44k1_stereo_gives_what_16k_mono_gives(
        grammar_model: PocketsphinxModel, speech: Speech, two_sentences: Path,
        tmp_path: Path) -> None:
    mono = np.frombuffer(speech(0.5, SENTENCES[0], 1.0, SENTENCES[3], 0.5),
                         dtype="<i2").astype(np.float32) / 32768
    resampled = soxr.resample(mono, SAMPLE_RATE, 44_100)
    # Uneven channels: only their average is the original.
    stereo = np.stack([resampled * 0.5, resampled * 1.5], axis=1)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), stereo, 44_100, subtype="PCM_16")

    reference = transcribe_file(two_sentences, model=grammar_model)
    converted = transcribe_file(path, model=grammar_model)

    assert [s.text for s in converted.segments] == [s.text for s in reference.segments]
    for ours, theirs in zip(converted.segments, reference.segments, strict=True):
        assert ours.start == pytest.approx(theirs.start, abs=0.06)
        assert ours.end == pytest.approx(theirs.end, abs=0.06)
    assert converted.duration == pytest.approx(reference.duration, abs=0.001)


def test_a_corrupt_file_raises_unsupported_input(
        grammar_model: PocketsphinxModel, tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8)

    with pytest.raises(UnsupportedInput, match="broken.wav: cannot decode"):
        transcribe_file(path, model=grammar_model)


def test_a_missing_grammar_is_a_configuration_error(two_sentences: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the grammar"):
        transcribe_file(two_sentences, grammar=tmp_path / "none.gram")


def test_cancelled_stops_at_the_next_block(
        grammar_model: PocketsphinxModel, two_sentences: Path) -> None:
    asked = 0
    reports: list[float] = []

    def cancelled() -> bool:
        nonlocal asked
        asked += 1
        return asked == 3

    with pytest.raises(TranscriptionCancelled):
        transcribe_file(two_sentences, model=grammar_model, cancelled=cancelled,
                        on_progress=reports.append)

    assert asked == 3
    assert 1.0 not in reports
    # The decoder went back to the pool in a usable state.
    assert transcribe_file(two_sentences, model=grammar_model).text.startswith(SENTENCES[0])


def test_engine_transcribe_prints_progress_then_the_result(
        grammar_file: Path, two_sentences: Path, grammar_model: PocketsphinxModel,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = run_engine_transcribe(two_sentences, grammar_file)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert all(list(line) == ["progress"] for line in lines[:-1])
    assert lines[-2] == {"progress": 1.0}
    assert from_store_dict(lines[-1]["result"]) == transcribe_file(
        two_sentences, model=grammar_model)


def test_engine_transcribe_reports_an_error_by_kind(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not audio at all\n" * 20)

    code = run_engine_transcribe(path)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert len(lines) == 1
    assert lines[0]["kind"] == "UnsupportedInput"
    assert lines[0]["error"].startswith("notes.txt: cannot decode this file")


def test_engine_transcribe_stops_when_its_parent_closes_stdin(
        speech: Speech, tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "long.wav", minute_of_speech(speech))
    child = subprocess.Popen(
        [sys.executable, "-m", "dictation_app", "engine-transcribe", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, PARENT_PIPE_ENV: "1"})
    assert child.stdin is not None and child.stdout is not None
    try:
        first = json.loads(child.stdout.readline())
        child.stdin.close()  # what a parent's death does to the pipe
        code = child.wait(timeout=30)
        rest = child.stdout.read().decode()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        assert child.stderr is not None
        child.stderr.close()

    assert list(first) == ["progress"] and first["progress"] < 1.0
    assert code == 1
    assert '"result"' not in rest and '{"progress":1.0}' not in rest


def test_the_engine_transcribe_child_takes_an_engine(
        grammar_file: Path, two_sentences: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dictation_app", "engine-transcribe", str(two_sentences),
         "--engine", "pocketsphinx", "--grammar", str(grammar_file)],
        capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    transcript = from_store_dict(json.loads(result.stdout.splitlines()[-1])["result"])
    assert transcript.text == f"{SENTENCES[0]} {SENTENCES[3]}"
    assert transcript.language == "en"


def test_the_engine_transcribe_child_refuses_an_unknown_engine(two_sentences: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dictation_app", "engine-transcribe", str(two_sentences),
         "--engine", "kaldi"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "invalid choice: 'kaldi' (choose from 'pocketsphinx', 'whisper')" in result.stderr
