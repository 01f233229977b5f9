"""`dictation-app transcribe` as a script would run it: a real process, the real services,
loopback servers, credentials from the environment, the fixed output contract."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.servers.bahasakita_rest_server import GOOD_TOKEN
from tests.servers.bahasakita_upload_server import Behaviour as UploadBehaviour
from tests.servers.bahasakita_upload_server import FakeBahasakitaUpload
from tests.servers.botlhale_server import (
    BEARER_TOKEN,
    ORG_ID,
    SYNC_PATH,
    Behaviour,
    FakeBotlhale,
)
from tests.servers.loopback_http import Hostile
from tests.servers.nevisa_server import (
    API_KEY,
    PASSWORD,
    PROGRESS,
    TERMINATE,
    TEXT,
    USERNAME,
    FakeNevisa,
    NevisaState,
)
from tests.support.audio import SENTENCES, tone, write_audio

CONTRACT = {"provider", "file", "language", "duration", "text", "redacted_text", "translation",
            "extras", "segments"}
SEGMENT = {"start", "end", "speaker", "text", "redacted_text", "emotion", "translation", "extras",
           "words"}
WORD = {"word", "start", "end", "conf"}


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    return write_audio(tmp_path / "call.wav", tone(2.0, hz=300, amplitude=0.2))


def env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DICTATION_")}
    return dict(clean, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **extra)


def transcribe(*args: str, environ: dict[str, str], timeout: float = 60
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dictation_app", "transcribe", *args],
                          env=environ, capture_output=True, encoding="utf-8", timeout=timeout)


# The command as it runs on Windows, whose asyncio event loops take no signal handlers.
WINDOWS_LOOP = """
import asyncio, sys

def refuse(*args):
    raise NotImplementedError

asyncio.SelectorEventLoop.add_signal_handler = refuse
asyncio.SelectorEventLoop.remove_signal_handler = refuse
from dictation_app.cli.commands import main
sys.exit(main(sys.argv[1:]))
"""
ENTRY_POINTS = pytest.mark.parametrize(
    "entry", [["-m", "dictation_app"], ["-c", WINDOWS_LOOP]], ids=["unix", "windows"])


@contextlib.contextmanager
def start_nevisa_job(entry: list[str], audio: Path, server: FakeNevisa, *,
                     stdout: int = subprocess.PIPE) -> Iterator[subprocess.Popen[str]]:
    """The CLI transcribing `audio` with the loopback Nevisa; killed if a test leaves it."""
    with subprocess.Popen(
            [sys.executable, *entry, "transcribe", str(audio), "--provider", "nevisa",
             "--base-url", server.base_url, "--accounts-url", server.base_url],
            env=env(DICTATION_NEVISA_USERNAME=USERNAME, DICTATION_NEVISA_PASSWORD=PASSWORD),
            stdout=stdout, stderr=subprocess.PIPE, encoding="utf-8") as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def wait_for_request(state: NevisaState, path: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not state.requests_to(path):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)  # another process: nothing to wait on but its effects


@pytest.fixture
def botlhale() -> Iterator[FakeBotlhale]:
    with FakeBotlhale(Behaviour(api_version=2, running_polls=0)) as server:
        yield server


def test_botlhale_json_follows_the_contract_with_times_in_seconds(
        botlhale: FakeBotlhale, audio: Path) -> None:
    result = transcribe(str(audio), "--provider", "botlhale", "--base-url", botlhale.base_url,
                        "--mode", "async", "--format", "json",
                        environ=env(DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN,
                                    DICTATION_BOTLHALE_ORG_ID=ORG_ID))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == CONTRACT
    assert data["provider"] == "botlhale" and data["file"] == str(audio.resolve())
    assert data["segments"] and all(set(s) == SEGMENT for s in data["segments"])
    first = data["segments"][0]
    assert 0 <= first["start"] < first["end"] < 1000  # seconds, not the service's ms
    # What Botlhale gives beyond the common shape is kept, under the neutral names.
    assert "<PERSON>" in first["redacted_text"] and "<PERSON>" in data["redacted_text"]
    assert first["emotion"] == "neu" and first["extras"]["language"] == "English"
    # Progress went to stderr, a line per step when stderr is not a terminal.
    assert "uploading" in result.stderr and "processing" in result.stderr
    assert BEARER_TOKEN not in result.stderr + result.stdout


def test_redact_asks_botlhale_for_a_masked_copy_in_the_direct_request(
        botlhale: FakeBotlhale, audio: Path) -> None:
    result = transcribe(str(audio), "--provider", "botlhale", "--base-url", botlhale.base_url,
                        "--mode", "sync", "--redact", "--format", "json",
                        environ=env(DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN))
    assert result.returncode == 0, result.stderr
    (request,) = botlhale.requests
    assert request.form["redact"] == "True"  # a field of the multipart POST /asr


@pytest.mark.parametrize(("args", "said"), [
    (["--provider", "nevisa", "--language", "en"],
     "Nevisa does not know language 'en'; it knows: fa"),
    (["--provider", "local", "--engine", "pocketsphinx", "--language", "Automatic"],
     "cannot detect the language; give one of: en"),
    (["--provider", "local", "--engine", "whisper", "--language", "nso"],
     "does not know language 'nso'; it knows: af, am, ar"),
])
def test_a_language_the_service_does_not_take_is_refused_before_any_job(
        audio: Path, args: list[str], said: str) -> None:
    result = transcribe(str(audio), *args, environ=env())
    assert result.returncode == 1 and result.stdout == ""
    assert said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "uploading" not in result.stderr


def test_nevisa_words_keep_their_confidence_and_srt_goes_to_the_output_file(
        audio: Path, tmp_path: Path) -> None:
    out = tmp_path / "call.srt"
    state = NevisaState(pending_polls=0, percents=[])
    with FakeNevisa(state) as server:
        result = transcribe(str(audio), "--provider", "nevisa", "--base-url", server.base_url,
                            "--accounts-url", server.base_url, "--format", "srt", "-o", str(out),
                            environ=env(DICTATION_NEVISA_USERNAME=USERNAME,
                                        DICTATION_NEVISA_PASSWORD=PASSWORD))
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert "-->" in out.read_text(encoding="utf-8")
        assert TEXT.split()[0] in out.read_text(encoding="utf-8")

        as_json = transcribe(str(audio), "--provider", "nevisa", "--base-url", server.base_url,
                             "--accounts-url", server.base_url, "--format", "json",
                             environ=env(DICTATION_NEVISA_USERNAME=USERNAME,
                                         DICTATION_NEVISA_PASSWORD=PASSWORD))
    assert as_json.returncode == 0, as_json.stderr
    words = [w for s in json.loads(as_json.stdout)["segments"] for w in s["words"]]
    assert words and all(set(w) == WORD and w["conf"] is not None for w in words)
    for secret in (PASSWORD, API_KEY):
        assert secret not in result.stderr + as_json.stderr


def test_bahasakita_uploads_with_the_account_token(audio: Path) -> None:
    with FakeBahasakitaUpload(UploadBehaviour(queued_polls=0, progress=[])) as server:
        result = transcribe(str(audio), "--provider", "bahasakita", "--base-url",
                            server.base_url, "--diarization", "--format", "txt", "--speakers",
                            environ=env(DICTATION_BAHASAKITA_TOKEN=GOOD_TOKEN))
    assert result.returncode == 0, result.stderr
    assert "Speaker 1" in result.stdout
    assert GOOD_TOKEN not in result.stderr


def test_a_refused_token_exits_1_with_the_service_message(botlhale: FakeBotlhale,
                                                         audio: Path) -> None:
    result = transcribe(str(audio), "--provider", "botlhale", "--base-url", botlhale.base_url,
                        "--mode", "sync",
                        environ=env(DICTATION_BOTLHALE_TOKEN="wrong-token-0000",
                                    DICTATION_BOTLHALE_ORG_ID=ORG_ID))
    assert result.returncode == 1
    assert "Botlhale refused the credentials" in result.stderr
    assert "wrong-token-0000" not in result.stderr
    assert result.stdout == ""


def test_missing_credentials_name_the_environment_variables(audio: Path) -> None:
    result = transcribe(str(audio), "--provider", "nevisa", environ=env())
    assert result.returncode == 1
    assert "DICTATION_NEVISA_USERNAME" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_audio_exits_1_naming_it(tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp3"
    notes.write_text("shopping list")
    result = transcribe(str(notes), "--provider", "local", environ=env())
    assert result.returncode == 1
    assert "notes.mp3" in result.stderr and "Traceback" not in result.stderr


@ENTRY_POINTS
def test_ctrl_c_cancels_the_remote_task_and_exits_130(audio: Path, entry: list[str]) -> None:
    state = NevisaState(hold=True, percents=[30])
    with FakeNevisa(state) as server:
        with start_nevisa_job(entry, audio, server) as process:
            wait_for_request(state, PROGRESS, process)
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=30)
        terminations = state.requests_to(TERMINATE)
    assert process.returncode == 130, stderr
    assert len(terminations) == 1
    assert stdout == ""
    assert "cancelling" in stderr


@ENTRY_POINTS
def test_a_second_ctrl_c_stops_waiting_for_the_remote_cancel(audio: Path, entry: list[str]
                                                             ) -> None:
    state = NevisaState(hold=True, percents=[30])
    state.script.delays[TERMINATE] = 60  # longer than the CLI waits for it, and than this test
    with FakeNevisa(state) as server, start_nevisa_job(entry, audio, server) as process:
        wait_for_request(state, PROGRESS, process)
        process.send_signal(signal.SIGINT)
        wait_for_request(state, TERMINATE, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 130, stderr
    assert "interrupted again" in stderr and "Traceback" not in stderr
    assert stdout == ""


def test_the_result_is_utf8_whatever_the_locale_encoding(audio: Path) -> None:
    with FakeNevisa(NevisaState(pending_polls=0, percents=[])) as server:
        result = transcribe(str(audio), "--provider", "nevisa", "--base-url", server.base_url,
                            "--accounts-url", server.base_url,
                            environ=env(DICTATION_NEVISA_USERNAME=USERNAME,
                                        DICTATION_NEVISA_PASSWORD=PASSWORD,
                                        PYTHONIOENCODING="cp1252"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == TEXT + "\n"


def test_a_reader_that_stops_reading_gets_no_traceback(audio: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head -0` leaves it
    try:
        with FakeNevisa(NevisaState(pending_polls=0, percents=[])) as server, \
                start_nevisa_job(["-m", "dictation_app"], audio, server,
                                 stdout=write_end) as process:
            _, stderr = process.communicate(timeout=60)
    finally:
        os.close(write_end)
    assert process.returncode == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert "processing" in stderr  # the job itself ran to its end


@pytest.mark.engine
def test_the_offline_engine_transcribes_with_segment_times(tmp_path: Path) -> None:
    speech = tmp_path / "speech.wav"
    voice = subprocess.run(["espeak-ng", "-v", "en-us+klatt", "-s", "150", "--stdout",
                            SENTENCES[0]], capture_output=True, check=True).stdout
    (tmp_path / "raw.wav").write_bytes(voice)
    samples, rate = soundfile.read(tmp_path / "raw.wav", dtype="float32")
    pad = np.zeros(rate // 2, dtype=np.float32)
    soundfile.write(speech, np.concatenate([pad, samples, pad]), rate)

    result = transcribe(str(speech), "--provider", "local", "--format", "json", environ=env())
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["provider"] == "local" and data["language"] == "en"
    [segment] = data["segments"]
    assert 0 < segment["start"] < segment["end"] <= data["duration"]
    assert "nice today" in data["text"]  # the general model: most words, not all


@pytest.mark.engine
def test_engine_and_language_reach_the_offline_engine(tmp_path: Path) -> None:
    speech = tmp_path / "speech.wav"
    voice = subprocess.run(["espeak-ng", "-v", "en-us+klatt", "-s", "150", "--stdout",
                            SENTENCES[0]], capture_output=True, check=True).stdout
    speech.write_bytes(voice)
    result = transcribe(str(speech), "--provider", "local", "--engine", "pocketsphinx",
                        "--language", "en-US", environ=env(), timeout=120)
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    # pocketsphinx's words: lower case, no punctuation (Whisper's come capitalised).
    assert words and all(w.isalpha() and w.islower() for w in words), words
    refused = transcribe(str(speech), "--provider", "local", "--engine", "pocketsphinx",
                         "--language", "fa", environ=env(), timeout=120)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "'fa'" in refused.stderr and "knows: en" in refused.stderr, refused.stderr


def test_progress_lines_off_a_terminal_say_each_step_once() -> None:
    import io

    from dictation_app.cli.transcribe import ProgressDisplay
    from dictation_app.jobs.model import JobState

    stream = io.StringIO()
    display = ProgressDisplay(stream)
    for state, progress in [(JobState.UPLOADING, 0.0), (JobState.UPLOADING, 0.05),
                            (JobState.UPLOADING, 0.5), (JobState.UPLOADING, 1.0),
                            (JobState.PROCESSING, None), (JobState.PROCESSING, 0.35),
                            (JobState.PROCESSING, 0.998), (JobState.PROCESSING, 1.0)]:
        display.show(state, progress)
    display.done()
    assert stream.getvalue().splitlines() == [
        "uploading 0%", "uploading 50%", "uploading 100%", "processing",
        "processing 35%", "processing 100%"]


def test_a_run_killed_after_its_upload_resumes_the_remote_job_when_run_again(
        audio: Path) -> None:
    from tests.servers.botlhale_server import BUCKET_PATH, STATUS_PATH, UPLOAD_PATH

    args = [sys.executable, "-m", "dictation_app", "transcribe", str(audio), "--provider",
            "botlhale", "--mode", "async"]
    environ = env(DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN, DICTATION_BOTLHALE_ORG_ID=ORG_ID)
    with FakeBotlhale(Behaviour(api_version=2, running_polls=0)) as server:
        server.delays[STATUS_PATH] = 30  # the first run waits here until it is killed
        args += ["--base-url", server.base_url]
        with subprocess.Popen(args, env=environ, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, encoding="utf-8") as first:
            deadline = time.monotonic() + 30
            # The status poll comes after the upload and after its key was stored.
            while not server.to(STATUS_PATH):
                assert first.poll() is None, first.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)  # another process: nothing to wait on but its effects
            assert len(server.to(BUCKET_PATH)) == 1
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=10)
        assert first.returncode == -signal.SIGKILL
        del server.delays[STATUS_PATH]
        second = subprocess.run(args, env=environ, capture_output=True, encoding="utf-8",
                                timeout=60)
        assert second.returncode == 0, second.stderr
        assert len(server.to(UPLOAD_PATH)) == 1 and len(server.to(BUCKET_PATH)) == 1
        assert len(server.to(STATUS_PATH)) == 2
    assert "resuming" in second.stderr
    assert "Hello, good day." in second.stdout and "Thank you." in second.stdout
    # Finished: a third run is a new request, with its own upload.
    with FakeBotlhale(Behaviour(api_version=2, running_polls=0)) as server:
        third = subprocess.run([*args[:-1], server.base_url], env=environ,
                               capture_output=True, encoding="utf-8", timeout=60)
        assert third.returncode == 0, third.stderr
        assert len(server.to(BUCKET_PATH)) == 1
    assert third.stdout == second.stdout


def test_a_named_pipe_exits_1_saying_what_it_is_instead_of_waiting_on_it(
        tmp_path: Path) -> None:
    fifo = tmp_path / "live.wav"
    os.mkfifo(fifo)
    result = transcribe(str(fifo), "--provider", "botlhale", "--base-url", "http://127.0.0.1:9",
                        environ=env(DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN,
                                    DICTATION_BOTLHALE_ORG_ID=ORG_ID), timeout=30)
    assert result.returncode == 1
    assert "live.wav: is a named pipe (FIFO), not an audio file" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_a_wav_shorter_than_its_header_says_is_transcribed_with_a_warning(
        botlhale: FakeBotlhale, tmp_path: Path) -> None:
    whole = write_audio(tmp_path / "whole.wav", tone(4.0, hz=300, amplitude=0.2)).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:len(whole) // 2])
    result = transcribe(str(cut), "--provider", "botlhale", "--base-url", botlhale.base_url,
                        environ=env(DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN,
                                    DICTATION_BOTLHALE_ORG_ID=ORG_ID))
    assert result.returncode == 0, result.stderr
    assert "dictation-app: warning: cut.wav is shorter than its header says" in result.stderr
    assert result.stdout.strip()


def test_a_run_that_finds_its_job_held_by_another_waits_then_takes_it_over(
        audio: Path) -> None:
    from tests.servers.botlhale_server import BUCKET_PATH, STATUS_PATH

    environ = env(DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN, DICTATION_BOTLHALE_ORG_ID=ORG_ID)
    with FakeBotlhale(Behaviour(api_version=2, running_polls=0)) as server:
        server.delays[STATUS_PATH] = 30  # the first run polls here until it is killed
        args = [sys.executable, "-m", "dictation_app", "transcribe", str(audio),
                "--provider", "botlhale", "--mode", "async", "--base-url", server.base_url]
        with subprocess.Popen(args, env=environ, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, encoding="utf-8") as first:
            deadline = time.monotonic() + 30
            while not server.to(STATUS_PATH):
                assert first.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)  # another process: nothing to wait on but its effects
            second = subprocess.Popen(args, env=environ, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, encoding="utf-8")
            try:
                assert second.stderr is not None
                # The second run found the job the first holds, and waits for it.
                assert "another copy of the app is running this job" in second.stderr.readline()
                first.send_signal(signal.SIGKILL)
                first.communicate(timeout=10)
                del server.delays[STATUS_PATH]
                stdout, stderr = second.communicate(timeout=60)
            finally:
                for process in (first, second):
                    if process.poll() is None:
                        process.kill()
                        process.communicate()
        assert second.returncode == 0, stderr
        assert len(server.to(BUCKET_PATH)) == 1  # one upload for both runs
    assert "Hello, good day." in stdout


@pytest.mark.parametrize("how, fragment", [
    # 2 s, and the upload's 64 KB at the floor throughput of 16 KiB/s: 6 s.
    (Hostile.TRICKLE, "Botlhale: POST /asr did not finish within 6 s"),
    (Hostile.NEST, "nests deeper than 64 levels"),
    (Hostile.GARBAGE, "reply is not JSON"),
    ("<html><body>502 Bad Gateway</body></html>", "reply is not JSON: '<html><body>502"),
], ids=["trickle", "nest", "garbage", "not-json"])
def test_a_hostile_reply_exits_1_with_one_line_and_no_traceback(
        botlhale: FakeBotlhale, audio: Path, how: Hostile | str, fragment: str) -> None:
    if isinstance(how, Hostile):
        botlhale.hostile(SYNC_PATH, how)
    else:
        botlhale.reply(SYNC_PATH, 200, how)
    started = time.monotonic()
    result = transcribe(str(audio), "--provider", "botlhale", "--base-url", botlhale.base_url,
                        "--mode", "sync",
                        environ=env(DICTATION_BOTLHALE_TOKEN=BEARER_TOKEN,
                                    DICTATION_BOTLHALE_ORG_ID=ORG_ID,
                                    DICTATION_HTTP_DEADLINE="2"))
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 30
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("dictation-app: ")]
    assert fragment in line, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
