"""The offline engines by name: the one list that `serve`, the file transcriber, the CLI,
`--self-test`, About and build.spec read.

Add an engine
-------------
1. One module implementing the interface in engine/recognizer.py: a `RecognizerModel`
   (name, description, language, load(), recognizer(), session()) whose recognizers
   take 16 kHz mono s16le through `feed()`/`finish()`/`close()` and return
   `PartialResult`/`FinalResult` events (with `WordTiming`s where the engine has
   them); a streaming engine can cut utterances with engine/endpointer.py. Beside it,
   the module defines the three functions of `descriptor.EngineImplementation`:
   `create(*, model, language, **options)` (configured, not loaded; refuse what it
   cannot do with a ConfigurationError), `data_files()` (what the bundle must carry)
   and `self_test()`. Import heavy libraries at the top of that module: nothing
   imports it until the engine is used. End it with the `TYPE_CHECKING` block that
   engine/pocketsphinx_engine.py (the example to copy) ends with, so mypy checks
   that the module implements the interface.
2. One registry line: its `EngineDescriptor` in `ENGINES` below. `serve --engine`,
   `engine-transcribe --engine`, About's licence list, `--self-test` and build.spec
   then know it; tests/engine/test_registry.py shows a fake engine served end to end.

`DEFAULT_ENGINE` is what runs when nobody names one.
"""

from __future__ import annotations

from collections.abc import Iterable

from dictation_app.core.errors import ConfigurationError
from dictation_app.engine.descriptor import EngineDescriptor
from dictation_app.engine.whisper_languages import WHISPER_LANGUAGES

ENGINES: tuple[EngineDescriptor, ...] = (
    EngineDescriptor(
        name="pocketsphinx", label="PocketSphinx (US English)", languages=("en",),
        module="dictation_app.engine.pocketsphinx_engine",
        product="CMU PocketSphinx", model_note="with its US English model",
        credit="PocketSphinx and its US English model", licence="BSD-2-Clause",
        distributions=("pocketsphinx",),
        options=frozenset({"grammar", "decoder_options", "endpointing", "tuned",
                           "vad_mode", "max_idle"})),
    EngineDescriptor(
        name="whisper", label="Whisper (punctuated; 99 languages)",
        languages=WHISPER_LANGUAGES, detects_language=True,
        module="dictation_app.engine.whisper_engine",
        product="faster-whisper",
        model_note="with Whisper tiny.en for English and base for 99 languages (int8, CPU)",
        credit="faster-whisper, CTranslate2 and OpenAI's Whisper tiny.en and base models",
        licence="MIT", distributions=("faster-whisper",),
        options=frozenset({"threads", "partials", "endpointing"})),
)
DEFAULT_ENGINE = "whisper"


class EngineRegistry:
    """Engines by name, in the order they were registered; one of them the default."""

    def __init__(self, engines: Iterable[EngineDescriptor], *, default: str):
        self._engines: dict[str, EngineDescriptor] = {}
        for descriptor in engines:
            self.register(descriptor)
        self._default = default
        self.get(default)  # a default that is not registered is a bug, found here

    def register(self, descriptor: EngineDescriptor) -> EngineDescriptor:
        if descriptor.name in self._engines:
            raise ValueError(f"an engine named {descriptor.name!r} is registered already")
        self._engines[descriptor.name] = descriptor
        return descriptor

    def unregister(self, name: str) -> None:
        if name == self._default:
            raise ValueError(f"the default engine {name!r} cannot be unregistered")
        del self._engines[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self._engines)

    def all(self) -> tuple[EngineDescriptor, ...]:
        return tuple(self._engines.values())

    def default(self) -> EngineDescriptor:
        return self._engines[self._default]

    def for_options(self, name: str | None, options: Iterable[str]) -> EngineDescriptor:
        """The engine called `name`; with None, the default, unless it does not take all
        of `options` and another engine does (`--grammar` alone picks pocketsphinx)."""
        if name is not None:
            return self.get(name)
        wanted = set(options)
        if wanted <= self.default().options:
            return self.default()
        return next((e for e in self._engines.values() if wanted <= e.options), self.default())

    def get(self, name: str | None = None) -> EngineDescriptor:
        """The engine called `name` (None: the default); ConfigurationError if unknown."""
        if name is None:
            return self.default()
        try:
            return self._engines[name]
        except KeyError:
            raise ConfigurationError(
                f"Offline engine: no engine named {name!r}; the known engines are "
                f"{', '.join(self._engines)}") from None


REGISTRY = EngineRegistry(ENGINES, default=DEFAULT_ENGINE)


def engines() -> tuple[EngineDescriptor, ...]:
    """Every registered engine, in the order they were registered."""
    return REGISTRY.all()


def engine_names() -> tuple[str, ...]:
    return REGISTRY.names()


def default_engine() -> EngineDescriptor:
    return REGISTRY.default()


def get_engine(name: str | None = None) -> EngineDescriptor:
    """The engine called `name` (None: the default); ConfigurationError if unknown."""
    return REGISTRY.get(name)


def engine_for(name: str | None, options: Iterable[str] = ()) -> EngineDescriptor:
    """The engine called `name`, or with None the one that runs with `options`."""
    return REGISTRY.for_options(name, options)
