"""The engine-neutral endpointer, pure: scripted frames, a classifier that trusts loudness."""

from __future__ import annotations

import numpy as np
import pytest

from dictation_app.engine.endpointer import (
    Endpointer,
    EndpointEvent,
    Endpointing,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)

FRAME_BYTES = 960  # 30 ms of 16 kHz s16le, as pocketsphinx's VAD frames it
FRAME_SECONDS = 0.03


def frames(count: int, *, loud: bool) -> bytes:
    value = 3000 if loud else 0
    return np.full(count * FRAME_BYTES // 2, value, dtype="<i2").tobytes()


def endpointer(**options: float) -> Endpointer:
    # Every frame over the silence floor is speech: the energy gate alone decides.
    return Endpointer(Endpointing(**options), frame_bytes=FRAME_BYTES,
                      frame_seconds=FRAME_SECONDS, is_speech=lambda frame: True)


def audio_of(events: list[EndpointEvent]) -> bytes:
    return b"".join(e.pcm if isinstance(e, UtteranceAudio) else
                    e.tail if isinstance(e, UtteranceEnded) else b"" for e in events)


def test_silence_starts_nothing() -> None:
    ep = endpointer()

    assert ep.push(frames(100, loud=False)) == []
    assert ep.finish() == []


def test_speech_then_a_pause_is_one_utterance_with_its_preroll() -> None:
    ep = endpointer()
    pcm = frames(20, loud=False) + frames(30, loud=True) + frames(30, loud=False)

    events = ep.push(pcm)

    assert isinstance(events[0], UtteranceStarted)
    assert all(isinstance(e, UtteranceAudio) for e in events[1:-1])
    ended = events[-1]
    assert isinstance(ended, UtteranceEnded)
    # Pre-roll: 0.4 s before the onset (which needs 5 of 7 speech frames) is included.
    assert ended.start == pytest.approx((20 + 5 - 13) * FRAME_SECONDS)
    assert ended.end > (20 + 30) * FRAME_SECONDS
    assert not ep.in_utterance
    loud = frames(1, loud=True)
    heard = audio_of(events)
    assert heard.count(loud) == 30  # every speech frame reaches the engine once
    assert len(heard) == round((ended.end - ended.start) / FRAME_SECONDS) * FRAME_BYTES


def test_audio_comes_in_partial_interval_batches_and_at_the_end_of_each_push() -> None:
    ep = endpointer(partial_interval=0.09)  # 3 frames
    ep.push(frames(13, loud=False))
    started = ep.push(frames(5, loud=True))
    assert isinstance(started[0], UtteranceStarted)

    batches = [e for e in ep.push(frames(7, loud=True)) if isinstance(e, UtteranceAudio)]

    assert [len(b.pcm) // FRAME_BYTES for b in batches] == [3, 3, 1]


def test_finish_ends_the_utterance_in_progress_with_the_unframed_rest() -> None:
    ep = endpointer()
    ep.push(frames(10, loud=True) + b"\x01\x00" * 7)

    events = ep.finish()

    (ended,) = events
    assert isinstance(ended, UtteranceEnded)
    assert ended.tail.endswith(b"\x01\x00" * 7)
    assert ep.finish() == []


def test_max_utterance_cuts_a_monologue() -> None:
    ep = endpointer(max_utterance=0.3)

    events = ep.push(frames(60, loud=True))

    assert sum(isinstance(e, UtteranceEnded) for e in events) >= 4


def test_the_events_do_not_depend_on_how_the_audio_is_cut() -> None:
    pcm = frames(15, loud=False) + frames(40, loud=True) + frames(25, loud=False)
    whole = endpointer()
    cut = endpointer()

    at_once = whole.push(pcm) + whole.finish()
    pieces = [event for i in range(0, len(pcm), 1001) for event in cut.push(pcm[i:i + 1001])]
    pieces += cut.finish()

    def bounds(events: list[EndpointEvent]) -> list[object]:
        """The starts and ends, without the audio and its batching."""
        return [(e.start, e.end) if isinstance(e, UtteranceEnded) else type(e)
                for e in events if not isinstance(e, UtteranceAudio)]

    assert audio_of(at_once) == audio_of(pieces)
    assert bounds(at_once) == bounds(pieces)
    assert len(bounds(at_once)) == 2


def test_a_quiet_frame_is_never_speech_whatever_the_classifier_says() -> None:
    ep = Endpointer(Endpointing(), frame_bytes=FRAME_BYTES, frame_seconds=FRAME_SECONDS,
                    is_speech=lambda frame: True)
    quiet = np.full(50 * FRAME_BYTES // 2, 10, dtype="<i2").tobytes()  # RMS 10 < 20

    assert ep.push(quiet) == []


def test_abandon_forgets_the_utterance() -> None:
    ep = endpointer()
    ep.push(frames(10, loud=True))
    assert ep.in_utterance

    ep.abandon()

    assert not ep.in_utterance
    assert ep.finish() == []
