"""The engine's WebSocket server on loopback, driven by a real websockets client."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from dictation_app.audio.convert import ChunkFramer
from dictation_app.engine.server import PARENT_PIPE_ENV
from dictation_app.protocols.bahasakita_stream import (
    Event,
    FinalTranscript,
    PartialTranscript,
    ProtocolVersion,
    SessionOpened,
    SessionStopped,
    StreamClient,
)
from tests.support.audio import SENTENCES, Speech, write_speech
from tests.support.engine_server import served_engine

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def engine_url(grammar_file: Path) -> Iterator[str]:
    """A server on its own loop in a thread, as in the app, loading the model once."""
    with served_engine(name="engine", start_timeout=60, grammar=str(grammar_file)) as url:
        yield url


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def transcribe(url: str, pcm: bytes,
                     version: ProtocolVersion = ProtocolVersion.V1) -> list[Event]:
    """One full session with the protocol's own client; all events until audioStop's reply."""
    client = StreamClient(version=version)
    events: list[Event] = []
    async with connect(url + "?token=ignored-by-the-engine") as ws:
        await ws.send(client.open())
        events += client.receive(await ws.recv())
        assert isinstance(events[0], SessionOpened), events

        async def send_audio() -> None:
            framer = ChunkFramer()
            chunks = framer.push(pcm)
            last = framer.flush()
            for chunk in [*chunks, *([last] if last else [])]:
                await ws.send(client.audio(chunk))
            await ws.send(client.stop())

        sender = asyncio.create_task(send_audio())
        async for frame in ws:
            events += client.receive(frame)
            if isinstance(events[-1], SessionStopped):
                break
        await sender
    return events


async def request(ws: ClientConnection, body: dict[str, Any] | str | bytes) -> dict[str, Any]:
    await ws.send(body if isinstance(body, (str, bytes)) else json.dumps({"bk": body}))
    reply = json.loads(await ws.recv())["bk"]
    assert isinstance(reply, dict)
    return reply


def audio_body(session_id: str | None, pcm: bytes = bytes(3200)) -> dict[str, Any]:
    return {"service": "stt", "type": "audioStream", "sess_id": session_id,
            "data": {"audio": base64.b64encode(pcm).decode()}}


def test_ready_url_names_the_real_port_and_the_v1_path(engine_url: str) -> None:
    assert engine_url.startswith("ws://127.0.0.1:")
    assert engine_url.endswith("/v1/prod/stream")
    assert not engine_url.startswith("ws://127.0.0.1:0/")


def test_a_full_session_gives_partials_then_a_final_per_sentence(
        engine_url: str, speech: Speech) -> None:
    events = run(transcribe(engine_url, speech(0.3, SENTENCES[0], 1.0, SENTENCES[3], 0.3)))

    finals = [e.text for e in events if isinstance(e, FinalTranscript)]
    assert finals == [SENTENCES[0], SENTENCES[3]]
    assert isinstance(events[0], SessionOpened) and len(events[0].session_id or "") == 32
    assert isinstance(events[-1], SessionStopped)
    # Each final is preceded by partials of its own utterance.
    results = [e for e in events if isinstance(e, (PartialTranscript, FinalTranscript))]
    assert isinstance(results[0], PartialTranscript)
    after_first = results.index(FinalTranscript(SENTENCES[0])) + 1
    assert isinstance(results[after_first], PartialTranscript)


def test_audio_stop_settles_the_sentence_still_being_spoken(
        engine_url: str, speech: Speech) -> None:
    events = run(transcribe(engine_url, speech(0.3, SENTENCES[4])))

    assert events[-2:] == [FinalTranscript(SENTENCES[4]), SessionStopped()]


def test_a_v2_client_without_session_ids_is_served_too(engine_url: str, speech: Speech) -> None:
    events = run(transcribe(engine_url, speech(0.3, SENTENCES[0], 0.8),
                            version=ProtocolVersion.V2))

    assert events[-2:] == [FinalTranscript(SENTENCES[0]), SessionStopped()]


def test_two_sessions_at_once_each_get_their_own_text(engine_url: str, speech: Speech) -> None:
    async def both() -> list[list[Event]]:
        return list(await asyncio.gather(
            transcribe(engine_url, speech(0.3, SENTENCES[1], 0.8)),
            transcribe(engine_url, speech(0.3, SENTENCES[2], 0.8))))

    first, second = run(both())

    assert [e for e in first if isinstance(e, FinalTranscript)] == [FinalTranscript(SENTENCES[1])]
    assert [e for e in second if isinstance(e, FinalTranscript)] == [FinalTranscript(SENTENCES[2])]


@pytest.mark.parametrize(("frame", "message"), [
    ("this is not json", "not JSON"),
    (b"\xff\xfe binary", "not JSON"),
    ('{"bk": {"service": "stt", "type": "audioDance"}}', "unknown message type"),
    ('{"hello": 1}', "no 'bk' object"),
    ("[" * 50_000, "nests deeper than 64 levels"),
    ('{"bk": ' * 100 + "1" + "}" * 100, "nests deeper than 64 levels"),
    (json.dumps({"bk": audio_body("0" * 32)}), "before audioConn"),
    ('{"bk": {"service": "stt", "type": "audioStop"}}', "before audioConn"),
])
def test_bad_requests_get_status_400_with_a_message(
        engine_url: str, frame: str | bytes, message: str) -> None:
    async def go() -> dict[str, Any]:
        async with connect(engine_url) as ws:
            return await request(ws, frame)

    reply = run(go())

    assert reply["status"] == 400
    assert message in reply["message"]


def test_a_nested_frame_leaves_the_connection_serving(engine_url: str) -> None:
    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        async with connect(engine_url) as ws:
            refused = await request(ws, "[" * 50_000)
            opened = await request(ws, {"service": "stt", "type": "audioConn"})
            return refused, opened

    refused, opened = run(go())

    assert refused["status"] == 400 and refused["type"] == "audioConn"
    assert opened["status"] == 200 and len(opened["data"]["sess_id"]) == 32


def test_wrong_session_id_is_refused_and_the_session_carries_on(
        engine_url: str, speech: Speech) -> None:
    async def go() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        async with connect(engine_url) as ws:
            opened = await request(ws, {"service": "stt", "type": "audioConn"})
            session_id = opened["data"]["sess_id"]
            refused = await request(ws, audio_body("f" * 32))
            await ws.send(json.dumps({"bk": audio_body(session_id, speech(0.3, SENTENCES[3]))}))
            await ws.send(json.dumps({"bk": {"service": "stt", "type": "audioStop",
                                             "sess_id": session_id}}))
            replies: list[dict[str, Any]] = []
            while not replies or replies[-1]["type"] != "audioStop":
                replies.append(json.loads(await ws.recv())["bk"])
            return opened, refused, replies

    opened, refused, replies = run(go())

    assert opened["status"] == 200
    assert refused["status"] == 400 and "unknown sess_id" in refused["message"]
    assert [r["status"] for r in replies] == [200] * len(replies)
    assert replies[-2]["data"] == {"final": SENTENCES[3]}


def test_second_audio_conn_on_an_open_session_is_refused(engine_url: str) -> None:
    async def go() -> dict[str, Any]:
        async with connect(engine_url) as ws:
            await request(ws, {"service": "stt", "type": "audioConn"})
            return await request(ws, {"service": "stt", "type": "audioConn"})

    reply = run(go())

    assert reply["status"] == 400 and "send audioStop first" in reply["message"]


def test_server_keeps_serving_after_a_client_vanishes_mid_session(
        engine_url: str, speech: Speech) -> None:
    async def vanish() -> None:
        async with connect(engine_url) as ws:
            opened = await request(ws, {"service": "stt", "type": "audioConn"})
            await ws.send(json.dumps({"bk": audio_body(opened["data"]["sess_id"],
                                                       speech(0.3, SENTENCES[0]))}))

    run(vanish())
    events = run(transcribe(engine_url, speech(0.3, SENTENCES[1], 0.8)))

    assert FinalTranscript(SENTENCES[1]) in events


# --- run_serve, as `dictation-app serve` runs it -------------------------------------


def serve_command(port: int = 0) -> list[str]:
    return [sys.executable, "-c",
            "import sys; from dictation_app.engine.server import run_serve; "
            f"sys.exit(run_serve('127.0.0.1', {port}))"]


@contextlib.contextmanager
def serving(env: dict[str, str] | None = None, port: int = 0) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(serve_command(port), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def test_run_serve_prints_ready_and_exits_cleanly_on_sigint() -> None:
    with serving() as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        child.send_signal(signal.SIGINT)
        code = child.wait(30)
        rest, errors = child.communicate()

    assert line.startswith("READY ws://127.0.0.1:") and line.endswith("/v1/prod/stream\n")
    assert code == 0, errors
    assert rest == ""  # exactly one line on stdout


def test_run_serve_stops_when_its_parent_closes_the_pipe() -> None:
    with serving(env={PARENT_PIPE_ENV: "1"}) as child:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().startswith("READY ")
        child.stdin.close()
        code = child.wait(30)

    assert code == 0


def test_run_serve_reports_a_port_it_cannot_bind() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with serving(port=taken.getsockname()[1]) as child:
            out, errors = child.communicate(timeout=60)

    assert child.returncode not in (0, None)
    assert out == ""
    assert "cannot listen on 127.0.0.1" in errors


# --- `dictation-app serve`, streamed to by `dictation-app stream` -------------------


def app(*args: str) -> list[str]:
    return [sys.executable, "-m", "dictation_app", *args]


@pytest.fixture
def served(grammar_file: Path) -> Iterator[str]:
    server = subprocess.Popen(app("serve", "--port", "0", "--grammar", str(grammar_file)),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith("READY ws://127.0.0.1:"), server.stderr.read() if server.stderr else ""
    yield line.split()[1]
    server.terminate()
    _, errors = server.communicate(timeout=20)  # closes the pipes too
    assert server.returncode == 0, errors


def test_two_sentences_come_back_as_two_finals(tmp_path: Path, speech: Speech,
                                                served: str) -> None:
    pcm = speech(0.5, SENTENCES[0], 1.5, SENTENCES[2], 1.0)
    path = write_speech(tmp_path / "speech.wav", pcm, 44100, 2)
    result = subprocess.run(app("stream", str(path), "--url", served, "--pace", "fast"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [SENTENCES[0], SENTENCES[2]]


def test_partials_come_before_each_final(tmp_path: Path, speech: Speech, served: str) -> None:
    path = write_speech(tmp_path / "speech.flac", speech(0.3, SENTENCES[1], 0.8), 16000, 1)
    result = subprocess.run(app("stream", str(path), "--url", served, "--pace", "fast",
                                "--jsonl"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1] == {"type": "final", "text": SENTENCES[1]}
    assert events[0]["type"] == "partial" and len(events) > 2
