"""Whisper base, the multilingual model: joined from its two packages into the data
folder (checked against its sha256), chosen for languages other than English, and
Automatic: the language detected on real Spanish, Swedish and English speech, English
then decoded by tiny.en."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.engine.file_transcriber import transcribe_file
from dictation_app.engine.whisper_engine import BASE, TINY_EN, WhisperModel, models_dir
from tests.engine.test_whisper_engine import SPEECH, word_error_rate

pytestmark = pytest.mark.engine


def words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() or ch in "' " else " " for ch in text.lower()).split()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_the_split_model_is_joined_once_into_the_data_folder() -> None:
    folder = BASE.path()
    assert folder is not None and folder.parent == models_dir()
    assert sha256(folder / "model.bin") == BASE.sha256["model.bin"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(BASE.sha256)  # no leftovers
    written = (folder / "model.bin").stat().st_mtime_ns
    assert BASE.path() == folder and (folder / "model.bin").stat().st_mtime_ns == written


def test_pieces_that_do_not_make_the_recorded_file_are_refused() -> None:
    wrong = replace(BASE, sha256={**BASE.sha256, "model.bin": "0" * 64})
    with pytest.raises(ConfigurationError, match="pieces of the base model do not make the "
                                                 "file the app was built with"):
        wrong.path()
    target = models_dir() / f"whisper-base-{BASE.distribution}"
    assert not (target / "model.bin").exists()
    assert not list(target.glob("model.bin.*"))  # no half-written file is left


def test_another_language_gets_the_multilingual_model() -> None:
    assert WhisperModel(language="es").bundled is BASE
    assert WhisperModel(language="en-GB").bundled is TINY_EN
    assert WhisperModel().bundled is TINY_EN  # live, with no language: English


@pytest.mark.parametrize("clip, language, detected", [
    ("es_mfa_mls_13697_11991_000000", "es", "es"),
    ("es_mfa_mls_13697_11991_000000", None, "es"),  # Automatic
])
def test_spanish_speech_is_transcribed(clip: str, language: str | None, detected: str) -> None:
    transcript = transcribe_file(SPEECH / f"{clip}.flac", language=language)
    assert transcript.language == detected
    reference = words((SPEECH / f"{clip}.txt").read_text(encoding="utf-8"))
    assert word_error_rate(reference, words(transcript.text)) < 0.3, transcript.text
    assert transcript.text[0].isupper() and "," in transcript.text  # Whisper punctuates


def test_automatic_detects_swedish() -> None:
    transcript = transcribe_file(SPEECH / "sv_mfa_nst_u0016002.flac")
    assert transcript.language == "sv" and transcript.text.startswith("Testar")


def test_automatic_decodes_english_with_the_english_model() -> None:
    model = WhisperModel(language="auto", partials=False)
    transcript = transcribe_file(SPEECH / "en_ps_librivox_0890.flac", model=model)
    assert transcript.language == "en" and model.bundled is TINY_EN
    assert transcript.text.startswith("Unless to be rather cold-hearted")
