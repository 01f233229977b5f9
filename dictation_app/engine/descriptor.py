"""What the app knows about an offline engine without loading it: its `EngineDescriptor`.

The menus, the CLI's `--engine` choices, About, `--self-test` and build.spec read
descriptors; only `load()` (and the bundling and self-test hooks) import the engine's
module, so reading the registry costs no start-up time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from dictation_app.core.errors import ConfigurationError

if TYPE_CHECKING:  # the CLI's parser reads descriptors; it never needs the interface
    from dictation_app.engine.recognizer import RecognizerModel

VersionLookup = Callable[[str], str]  # importlib.metadata.version's shape


class EngineImplementation(Protocol):
    """The three functions an engine's module defines beside its RecognizerModel."""

    def create(self, *, model: str | None, language: str | None,
               **options: Any) -> RecognizerModel:
        """The engine's model, configured but not loaded; ConfigurationError if it cannot be."""
        ...

    def data_files(self) -> list[tuple[str, str]]:
        """(source path, destination folder in the bundle) for every file it needs bundled."""
        ...

    def self_test(self) -> str:
        """Load what the engine needs, raise if something is missing; a line for the report."""
        ...


@dataclass(frozen=True)
class EngineDescriptor:
    """One offline engine: how it is named and credited, and where its code lives.

    `module` names the engine's module (an `EngineImplementation`), imported on first
    use. `options` are the keyword options its `create()` honours beyond model and
    language; others are refused with a ConfigurationError. `languages` are BCP-47
    primary subtags ("en"). For About: `product` and `model_note` make the engine line
    ("CMU PocketSphinx 5.0.4 with its US English model"); `credit`, `licence` and
    `distributions` its row in the licence list, whose version is the first installed
    distribution's. `detects_language`: given "auto" (files), it finds the language.
    """

    name: str
    label: str
    languages: tuple[str, ...]
    module: str
    product: str
    model_note: str
    credit: str
    licence: str
    distributions: tuple[str, ...]
    options: frozenset[str] = frozenset()
    # Files only: with no language given, it detects the one spoken (language "auto").
    detects_language: bool = False

    def implementation(self) -> EngineImplementation:
        # Imported by name on use: the registry is read by the CLI's parser and About,
        # which must not pay for an engine's libraries (pocketsphinx and numpy, or later
        # CTranslate2) at start-up.
        return cast(EngineImplementation, importlib.import_module(self.module))

    def create(self, model: str | None = None, language: str | None = None,
               **options: Any) -> RecognizerModel:
        """The engine's model for `model` (a name or path; None: its default) and
        `language`, configured but not loaded; ConfigurationError if it cannot be."""
        unknown = sorted(set(options) - self.options)
        if unknown:
            honoured = ", ".join(sorted(self.options)) or "none"
            raise ConfigurationError(
                f"Offline engine {self.name}: unknown option(s) {', '.join(unknown)} "
                f"(it takes: {honoured})")
        # A model named by its folder may know other languages: the engine checks it.
        if language is not None and model is None and not self.knows(language):
            known = (", ".join(self.languages) if len(self.languages) <= 8
                     else f"{len(self.languages)} languages, not that one")
            raise ConfigurationError(
                f"Offline engine {self.name} has no model for language {language!r}; "
                f"it knows: {known}")
        return self.implementation().create(model=model, language=language, **options)

    def load(self, model: str | None = None, language: str | None = None,
             **options: Any) -> RecognizerModel:
        """`create()` and `load()` in one: blocks for the model's load time."""
        recognizer_model = self.create(model, language, **options)
        recognizer_model.load()
        return recognizer_model

    def knows(self, language: str) -> bool:
        """Whether a BCP-47 code's primary subtag ("en" of "en-GB") is one of `languages`
        ("auto", for an engine that detects the language)."""
        code = language.replace("_", "-").split("-")[0].lower()
        return code in self.languages or (code == "auto" and self.detects_language)

    def version(self, *, version_of: VersionLookup | None = None) -> str | None:
        """The installed version of the first of `distributions` found, or None.

        `version_of` stands in for importlib.metadata.version (in tests).
        """
        # Imported on use: importlib.metadata costs the CLI's parser 15 ms at start-up.
        from importlib import metadata

        version_of = version_of or metadata.version
        for name in self.distributions:
            try:
                return version_of(name)
            except metadata.PackageNotFoundError:
                continue
        return None

    def data_files(self) -> list[tuple[str, str]]:
        """What build.spec must bundle for this engine, as PyInstaller `datas` entries."""
        return self.implementation().data_files()

    def self_test(self) -> str:
        """The engine's check for `--self-test`: raises if it cannot work; else a line."""
        return self.implementation().self_test()
