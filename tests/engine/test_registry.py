"""The engine registry: names, the default, refusals, and a second engine through the
whole seam (server, WebSocket, StreamConnection, file transcriber) without pocketsphinx."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_app.app import about_engines
from dictation_app.audio.format import CHUNK_BYTES
from dictation_app.cli import selftest
from dictation_app.cli.commands import build_parser
from dictation_app.core.errors import ConfigurationError
from dictation_app.engine.descriptor import EngineDescriptor
from dictation_app.engine.file_transcriber import transcribe_file
from dictation_app.engine.recognizer import FinalResult, WordTiming
from dictation_app.engine.registry import (
    REGISTRY,
    default_engine,
    engine_for,
    engine_names,
    engines,
    get_engine,
)
from dictation_app.engine.server import run_serve
from dictation_app.engine.whisper_languages import WHISPER_LANGUAGES
from dictation_app.protocols.bahasakita_stream import (
    FinalTranscript,
    PartialTranscript,
)
from dictation_app.transport.stream_connection import StreamConnection
from tests.support import echo_engine
from tests.support.audio import silence, write_pcm
from tests.support.engine_server import served_engine


@pytest.fixture
def echo() -> Iterator[EngineDescriptor]:
    """The echo engine registered for one test, as its one registry line would."""
    REGISTRY.register(echo_engine.DESCRIPTOR)
    try:
        yield echo_engine.DESCRIPTOR
    finally:
        REGISTRY.unregister(echo_engine.NAME)


def engine_choices(command: str) -> tuple[list[str], str]:
    """`--engine`'s choices and default for one subcommand of a freshly built parser."""
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    (engine,) = (a for a in commands.choices[command]._actions if a.dest == "engine")
    assert engine.choices is not None
    return list(engine.choices), engine.default


def test_the_default_engine_is_whisper_with_pocketsphinx_beside_it() -> None:
    assert default_engine().name == "whisper"
    assert get_engine() is default_engine() is get_engine("whisper")
    assert engine_names() == ("pocketsphinx", "whisper")
    assert [e.name for e in engines()] == ["pocketsphinx", "whisper"]
    assert default_engine().languages == WHISPER_LANGUAGES and len(WHISPER_LANGUAGES) == 99
    assert default_engine().knows("id") and default_engine().knows("fa-IR")
    assert default_engine().knows("auto") and not get_engine("pocketsphinx").knows("auto")
    assert not default_engine().knows("zu")  # isiZulu is not one of Whisper's


def test_the_declared_languages_are_the_tokenizers() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(WHISPER_LANGUAGES) == set(_LANGUAGE_CODES) - {"yue"}  # yue: large-v3 only


def test_an_option_only_another_engine_takes_picks_that_engine() -> None:
    assert engine_for(None, ["grammar"]).name == "pocketsphinx"
    assert engine_for(None, ["partials"]).name == "whisper"
    assert engine_for(None).name == "whisper"
    assert engine_for("whisper", ["grammar"]).name == "whisper"  # refused later, by create()
    # Nobody takes it: the default, whose create() then names what it does take.
    assert engine_for(None, ["colour"]).name == "whisper"


def test_an_unknown_engine_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        get_engine("kaldi")

    assert str(caught.value) == (
        "Offline engine: no engine named 'kaldi'; the known engines are pocketsphinx, whisper")


def test_an_engine_is_registered_once_and_the_default_stays(echo: EngineDescriptor) -> None:
    with pytest.raises(ValueError, match="registered already"):
        REGISTRY.register(echo)
    with pytest.raises(ValueError, match="cannot be unregistered"):
        REGISTRY.unregister("whisper")
    assert engine_names() == ("pocketsphinx", "whisper", "echo")
    assert default_engine().name == "whisper"


@pytest.mark.parametrize("command", ["serve", "engine-transcribe"])
def test_engine_choices_are_the_registry(command: str, echo: EngineDescriptor) -> None:
    choices, default = engine_choices(command)

    assert choices == list(engine_names()) == ["pocketsphinx", "whisper", "echo"]
    assert default is None  # so --grammar alone can pick the engine that takes it
    assert build_parser().parse_args([command, *(["x.wav"] if "transcribe" in command else []),
                                      "--engine", "echo"]).engine == "echo"


def test_without_engine_the_commands_run_the_default() -> None:
    parser = build_parser()

    assert engine_for(parser.parse_args(["serve"]).engine).name == "whisper"
    # services/local.py starts `engine-transcribe FILE [--grammar G]`, no --engine.
    args = parser.parse_args(["engine-transcribe", "a.wav", "--grammar", "g"])
    assert engine_for(args.engine, ["grammar"]).name == "pocketsphinx"


def test_run_serve_refuses_an_unknown_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_serve("127.0.0.1", 0, engine="kaldi") == 2

    out, errors = capsys.readouterr()
    assert out == ""
    assert "no engine named 'kaldi'; the known engines are pocketsphinx, whisper" in errors


def test_an_engine_refuses_options_languages_and_models_it_does_not_have(
        echo: EngineDescriptor) -> None:
    with pytest.raises(ConfigurationError,
                       match=r"echo: unknown option\(s\) grammar \(it takes: bytes_per_final\)"):
        echo.create(grammar="sentences.gram")
    pocketsphinx = get_engine("pocketsphinx")
    with pytest.raises(ConfigurationError, match="no model for language 'fa'; it knows: en"):
        pocketsphinx.create(language="fa")
    with pytest.raises(ConfigurationError, match="unknown model 'large'; it has one: en-us"):
        pocketsphinx.create(model="large")
    assert pocketsphinx.create(language="en-US").language == "en"


def test_load_returns_a_loaded_model(echo: EngineDescriptor) -> None:
    model = echo.load(bytes_per_final=10)

    assert isinstance(model, echo_engine.EchoModel)
    assert model.loads == 1 and model.bytes_per_final == 10


def test_versions_come_from_the_first_installed_distribution() -> None:
    def version_of(name: str) -> str:
        from importlib import metadata

        if name != "pocketsphinx":
            raise metadata.PackageNotFoundError(name)
        return "5.0.4"

    assert get_engine("pocketsphinx").version(version_of=version_of) == "5.0.4"
    assert get_engine("whisper").version(version_of=version_of) is None
    assert echo_engine.DESCRIPTOR.version() is None  # not installed


def test_pocketsphinx_bundles_its_model_where_it_looks_for_it() -> None:
    datas = get_engine("pocketsphinx").data_files()

    assert datas and all(Path(source).is_file() for source, _ in datas)
    found = {Path(source).name: dest.replace("\\", "/") for source, dest in datas}
    assert found["en-us.lm.bin"] == "pocketsphinx/model/en-us"
    assert found["cmudict-en-us.dict"] == "pocketsphinx/model/en-us"
    assert "CMakeLists.txt" not in found


def test_self_test_checks_each_registered_engine(echo: EngineDescriptor) -> None:
    names = [name for name, _ in selftest.checks()]
    engine_checks = [check for name, check in selftest.checks() if name == "engine"]

    assert names == ["qt", "audio", "codecs", "engine", "engine", "engine", "settings",
                     "keyring", "licences"]
    assert len(engine_checks) == len(engine_names()) == 3
    assert engine_checks[2]() == "echo needs no model"


def test_a_failing_engine_check_names_the_engine(
        echo: EngineDescriptor, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise OSError("model.bin: no such file")

    monkeypatch.setattr(echo_engine, "self_test", broken)
    check = [check for name, check in selftest.checks() if name == "engine"][2]

    with pytest.raises(RuntimeError, match=r"^echo: model.bin: no such file$"):
        check()


def test_about_lists_each_registered_engine(echo: EngineDescriptor) -> None:
    credits = about_engines()

    assert [c.product for c in credits] == ["CMU PocketSphinx", "faster-whisper", "Echo"]
    assert credits[0].component.name == "PocketSphinx and its US English model"
    assert credits[0].component.licence == "BSD-2-Clause"
    assert credits[1].component.licence == "MIT"
    assert credits[2].component.distributions == ("echo-engine-for-tests",)


def test_a_final_has_no_words_unless_the_engine_gives_them() -> None:
    assert FinalResult("hello", 0.0, 1.0).words == ()


# --- the echo engine through the whole seam --------------------------------------------


@pytest.fixture
def echo_url(echo: EngineDescriptor) -> Iterator[str]:
    """engine/server.py serving the echo engine on its own loop in a thread, as in the app."""
    with served_engine(name="echo engine", engine="echo",
                       bytes_per_final=3 * CHUNK_BYTES) as url:
        yield url


def test_a_second_engine_is_served_and_streamed_to_end_to_end(echo_url: str) -> None:
    transcripts: list[PartialTranscript | FinalTranscript] = []

    async def stream() -> None:
        connection = StreamConnection(echo_url, on_transcript=transcripts.append,
                                      service="Local engine")
        await connection.open()
        for _ in range(10):
            await connection.send_audio(bytes(CHUNK_BYTES))
        await connection.stop()

    asyncio.run(asyncio.wait_for(stream(), 30))

    finals = [t.text for t in transcripts if isinstance(t, FinalTranscript)]
    assert finals == ["utterance 1", "utterance 2", "utterance 3", "utterance 4"]
    partials = [t.text for t in transcripts if isinstance(t, PartialTranscript)]
    assert partials[:2] == [f"heard {CHUNK_BYTES} bytes", f"heard {2 * CHUNK_BYTES} bytes"]
    assert isinstance(transcripts[0], PartialTranscript)
    assert transcripts[2] == FinalTranscript("utterance 1")


def test_the_file_transcriber_runs_a_second_engine(echo: EngineDescriptor,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "two-and-a-half-seconds.wav"
    write_pcm(path, silence(2.5))

    transcript = transcribe_file(path, engine="echo")

    assert transcript.language == "zu"
    assert transcript.text == "utterance 1 utterance 2 utterance 3"
    assert [(s.start, s.end) for s in transcript.segments] == [(0.0, 1.0), (1.0, 2.0),
                                                                (2.0, 2.5)]


def test_the_file_transcriber_refuses_an_unknown_engine(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    write_pcm(path, silence(0.1))

    with pytest.raises(ConfigurationError, match="no engine named 'kaldi'"):
        transcribe_file(path, engine="kaldi")


def test_the_echo_words_fit_the_word_shape() -> None:
    events = echo_engine.EchoModel(bytes_per_final=4).recognizer().feed(bytes(4))
    (final,) = events
    assert isinstance(final, FinalResult)
    assert final.words[0] == WordTiming("utterance", 0.0, final.end / 2, 1.0)


@pytest.mark.parametrize("options, message", [
    ({"model": "/no/such/folder"}, "whisper: no model '/no/such/folder': give a bundled model "
                                   "(tiny.en, base) or the folder of a CTranslate2 Whisper"),
    ({"language": "zu"}, "whisper has no model for language 'zu'; it knows: 99 languages, "
                         "not that one"),
    ({"engine": "pocketsphinx", "model": "large"}, "unknown model 'large'; it has one: en-us"),
])
def test_run_serve_refuses_a_model_or_language_the_engine_lacks(
        options: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_serve("127.0.0.1", 0, **options) == 2

    out, errors = capsys.readouterr()
    assert out == "" and message in errors


def test_serve_takes_model_and_language() -> None:
    args = build_parser().parse_args(["serve", "--model", "tiny.en", "--language", "en-GB"])

    assert (args.model, args.language) == ("tiny.en", "en-GB")
