"""The pocketsphinx recognizer on espeak-ng speech: exact with a grammar, endpointed in general."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_app.core.errors import ConfigurationError
from dictation_app.engine.endpointer import Endpointing
from dictation_app.engine.pocketsphinx_engine import PocketsphinxModel
from dictation_app.engine.recognizer import (
    FinalResult,
    PartialResult,
    RecognizerEvent,
)
from tests.support.audio import SENTENCES, Speech

pytestmark = pytest.mark.engine

CHUNK = 3200


@pytest.fixture(scope="module")
def grammar_model(grammar_file: Path) -> PocketsphinxModel:
    model = PocketsphinxModel(grammar=grammar_file)
    model.load()
    return model


@pytest.fixture(scope="module")
def general_model() -> PocketsphinxModel:
    model = PocketsphinxModel()
    model.load()
    return model


def decode(model: PocketsphinxModel, pcm: bytes, chunk: int = CHUNK) -> list[list[RecognizerEvent]]:
    """Events per fed chunk; the last entry holds what finish() returned."""
    with model.session() as recognizer:
        per_chunk = [recognizer.feed(pcm[i:i + chunk]) for i in range(0, len(pcm), chunk)]
        per_chunk.append(recognizer.finish())
    return per_chunk


def flat(per_chunk: list[list[RecognizerEvent]]) -> list[RecognizerEvent]:
    return [event for events in per_chunk for event in events]


def finals(events: list[RecognizerEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, FinalResult)]


def utterances(events: list[RecognizerEvent]) -> Iterator[list[RecognizerEvent]]:
    current: list[RecognizerEvent] = []
    for event in events:
        current.append(event)
        if isinstance(event, FinalResult):
            yield current
            current = []
    assert not current, f"results after the last final: {current}"


def test_grammar_decodes_each_sentence_exactly_with_a_final_at_each_pause(
        grammar_model: PocketsphinxModel, speech: Speech) -> None:
    pcm = speech(0.5, SENTENCES[0], 1.0, SENTENCES[3], 1.0)
    per_chunk = decode(grammar_model, pcm)

    assert finals(flat(per_chunk)) == [SENTENCES[0], SENTENCES[3]]
    first_final_chunk = next(i for i, events in enumerate(per_chunk)
                             if any(isinstance(e, FinalResult) for e in events))
    second_sentence_chunk = len(speech(0.5, SENTENCES[0], 1.0)) // CHUNK
    assert first_final_chunk < second_sentence_chunk, "the pause must settle the first sentence"
    assert per_chunk[-1] == [], "nothing may be left for finish() after a long pause"


def test_partials_come_before_each_final_and_only_when_the_text_changes(
        grammar_model: PocketsphinxModel, speech: Speech) -> None:
    events = flat(decode(grammar_model, speech(0.3, SENTENCES[1], 1.0, SENTENCES[2], 1.0)))

    assert finals(events) == [SENTENCES[1], SENTENCES[2]]
    for utterance in utterances(events):
        partials = [e.text for e in utterance if isinstance(e, PartialResult)]
        assert len(partials) >= 3, utterance
        assert all(partials)
        assert all(a != b for a, b in itertools.pairwise(partials)), partials
        assert partials[-1] == utterance[-1].text


def test_results_do_not_depend_on_how_the_audio_is_cut(
        grammar_model: PocketsphinxModel, speech: Speech) -> None:
    pcm = speech(0.3, SENTENCES[4], 1.0, SENTENCES[1], 0.2)
    whole = finals(flat(decode(grammar_model, pcm, chunk=len(pcm))))
    odd = finals(flat(decode(grammar_model, pcm, chunk=1001)))

    assert whole == odd == [SENTENCES[4], SENTENCES[1]]


def test_finish_settles_speech_that_has_no_pause_after_it(
        grammar_model: PocketsphinxModel, speech: Speech) -> None:
    per_chunk = decode(grammar_model, speech(0.3, SENTENCES[3]))

    assert finals(flat(per_chunk[:-1])) == []
    assert finals(per_chunk[-1]) == [SENTENCES[3]]
    final = per_chunk[-1][-1]
    assert isinstance(final, FinalResult) and 0 < final.start < final.end


def test_finals_carry_each_words_times_and_confidence(
        grammar_model: PocketsphinxModel, speech: Speech) -> None:
    events = flat(decode(grammar_model, speech(0.5, SENTENCES[0], 1.0, SENTENCES[1], 1.0)))
    settled = [e for e in events if isinstance(e, FinalResult)]

    assert [e.text for e in settled] == [SENTENCES[0], SENTENCES[1]]
    for final in settled:
        assert " ".join(word.text for word in final.words) == final.text
        starts = [word.start for word in final.words]
        assert starts == sorted(starts)
        for word in final.words:
            assert final.start <= word.start < word.end <= final.end + 0.01, (final, word)
            assert word.confidence is not None and 0 <= word.confidence <= 1
    assert settled[1].words[0].start > settled[0].words[-1].end


def test_silence_gives_no_results_at_all(grammar_model: PocketsphinxModel) -> None:
    assert flat(decode(grammar_model, bytes(16000 * 2 * 3))) == []


def test_a_long_monologue_is_cut_by_max_utterance(speech: Speech) -> None:
    model = PocketsphinxModel(endpointing=Endpointing(max_utterance=1.0))

    events = flat(decode(model, speech(0.3, SENTENCES[2], 1.0)))

    assert len(finals(events)) >= 2


def test_an_utterance_without_words_takes_back_its_partial(
        grammar_file: Path, speech: Speech) -> None:
    # Cut mid-sentence, the audio has no path through the grammar: no final.
    model = PocketsphinxModel(grammar=grammar_file, endpointing=Endpointing(max_utterance=1.0))

    events = flat(decode(model, speech(0.3, SENTENCES[2], 1.0)))

    assert finals(events) == []
    assert PartialResult("") in events
    assert events[-1] == PartialResult("")


def test_a_reused_decoder_behaves_like_a_new_one(
        general_model: PocketsphinxModel, speech: Speech) -> None:
    pcm = speech(0.3, SENTENCES[0], 0.8)
    first = flat(decode(general_model, pcm))
    # A different session in between moves the decoder's cepstral mean.
    decode(general_model, speech(SENTENCES[3], 0.8, SENTENCES[4], 0.8))
    again = flat(decode(general_model, pcm))

    assert first == again


def test_general_model_gives_partials_then_a_final_at_each_pause(
        general_model: PocketsphinxModel, speech: Speech) -> None:
    pcm = speech(0.5, SENTENCES[0], 1.0, SENTENCES[3], 1.0)
    per_chunk = decode(general_model, pcm)
    events = flat(per_chunk)

    texts = finals(events)
    assert len(texts) == 2, events
    for utterance in utterances(events):
        assert isinstance(utterance[0], PartialResult), utterance
    # Weak on synthetic speech, but these two sentences come out nearly right.
    assert "weather" in texts[0]
    assert "thank you" in texts[1]
    first_final_chunk = next(i for i, events in enumerate(per_chunk)
                             if any(isinstance(e, FinalResult) for e in events))
    assert first_final_chunk < len(speech(0.5, SENTENCES[0], 1.0)) // CHUNK


def test_recognizer_refuses_audio_after_close(general_model: PocketsphinxModel) -> None:
    recognizer = general_model.recognizer()
    recognizer.close()
    recognizer.close()  # idempotent

    with pytest.raises(RuntimeError, match="after close"):
        recognizer.feed(bytes(CHUNK))


def test_missing_grammar_is_a_configuration_error_not_a_crash(tmp_path: Path) -> None:
    # pocketsphinx itself segfaults on a JSGF path it cannot open.
    with pytest.raises(ConfigurationError, match="cannot read the grammar"):
        PocketsphinxModel(grammar=tmp_path / "missing.gram").load()


def test_broken_grammar_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.gram"
    path.write_text("#JSGF V1.0;\ngrammar broken;\npublic <s> = hello zzqxjw;\n")

    with pytest.raises(ConfigurationError, match="could not load the grammar"):
        PocketsphinxModel(grammar=path).load()


def test_unknown_decoder_option_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="invalid decoder option"):
        PocketsphinxModel(decoder_options={"no_such_option": 1}).load()


def test_endpointing_rejects_nonsense() -> None:
    with pytest.raises(ConfigurationError, match="pause"):
        Endpointing(pause=0)
