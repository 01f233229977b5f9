"""`dictation-app transcribe`: one file through one service, headless.

    dictation-app transcribe talk.m4a --provider botlhale --format srt -o talk.srt

Progress goes to stderr (a bar on a terminal, a line per step otherwise); the result
goes to stdout or to `-o`, in UTF-8, written only once complete. Ctrl+C cancels the
remote job where the service can (a second one stops waiting for that), then exits 130.
Credentials come from the environment (`DICTATION_*`), the keyring or the settings;
never from the command line, where `ps` would show them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from dictation_app.core.errors import DictationError
from dictation_app.core.settings import Settings
from dictation_app.jobs.model import JobOptions, JobState
from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
from dictation_app.jobs.service import JobService
from dictation_app.services import registry

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
CANCEL_TIMEOUT = 15.0  # seconds to wait for the service to confirm a remote cancel


def add_transcribe_parser(commands: argparse._SubParsersAction,
                          parents: Sequence[argparse.ArgumentParser] = (), *,
                          help: str) -> None:
    """The `transcribe` command; `parents` bring the options every command has (-v)."""
    envs = ", ".join(registry.environment_variables())
    parser = commands.add_parser(
        "transcribe", parents=list(parents), help=help,
        description="Transcribe AUDIO_FILE and print the result. Credentials come from the "
                    f"app's settings file and keyring, or from the environment: {envs}.")
    parser.add_argument("audio_file")
    parser.add_argument("--provider", choices=registry.PROVIDERS,
                        default=registry.DEFAULT_PROVIDER)
    parser.add_argument("--base-url", help="service API address (Nevisa: the API host)")
    parser.add_argument("--accounts-url", help="Nevisa login host")
    parser.add_argument("--language", help="BCP-47 language code (default: automatic)")
    parser.add_argument("--diarization", action="store_true", help="label speakers")
    for spec in _flagged_options():
        _add_option_flag(parser, spec)
    parser.add_argument("--format", choices=["txt", "srt", "vtt", "json"], default="txt")
    parser.add_argument("--timestamps", action="store_true", help="TXT: time of each segment")
    parser.add_argument("--speakers", action="store_true", help="TXT: speaker labels")
    parser.add_argument("-o", "--output", help="write the result here instead of stdout")


async def run_transcribe(args: argparse.Namespace) -> int:
    from dictation_app.core.secrets import SecretStore
    from dictation_app.jobs.exports import ExportFormat, export, write_export
    from dictation_app.services.factory import Overrides, ServiceFactory

    path = Path(args.audio_file)
    settings = Settings()
    options = JobOptions(language=args.language or None, diarization=args.diarization,
                         vendor=_vendor_options(args, settings))
    factory = ServiceFactory(settings, SecretStore(),
                             overrides=Overrides(args.base_url, args.accounts_url))
    service = factory(args.provider)  # a ConfigurationError says which fields are missing
    progress = ProgressDisplay(sys.stderr)
    context = CliContext(file=path.resolve(), options=options, display=progress)
    interrupts = _Interrupts()
    interrupts.install()
    try:
        transcript = await service.run(context)
    except asyncio.CancelledError:
        if not interrupts.count:
            raise
        interrupts.handled()  # the timeouts of the remote cancel must work normally
        progress.done()
        print("dictation-app: interrupted; cancelling the job", file=sys.stderr)
        try:
            await _cancel_remote(service, context.remote)
        except asyncio.CancelledError:
            if interrupts.count < 2:
                raise
            interrupts.handled()
            print("dictation-app: interrupted again; the service may still finish the job",
                  file=sys.stderr)
        return EXIT_INTERRUPTED
    except DictationError:
        progress.done()
        raise
    finally:
        interrupts.restore()
        await service.aclose()
    progress.done()
    text = export(transcript, ExportFormat(args.format), timestamps=args.timestamps,
                  speakers=args.speakers)
    if args.output:
        write_export(Path(args.output), text)
        return 0
    return _print_result(text if text.endswith("\n") or not text else text + "\n")


def _flagged_options() -> list[OptionSpec]:
    """Every vendor option with a flag, once per flag, in the registry's order."""
    seen: dict[str, OptionSpec] = {}
    for descriptor in registry.DESCRIPTORS:
        for spec in descriptor.options:
            if spec.flag and spec.flag not in seen:
                seen[spec.flag] = spec
    return list(seen.values())


def _add_option_flag(parser: argparse.ArgumentParser, spec: OptionSpec) -> None:
    assert spec.flag is not None
    if spec.kind is OptionKind.BOOL:
        parser.add_argument(spec.flag, dest=spec.name, action="store_true", help=spec.help)
        return
    values = [value for value, _label in spec.choices]
    # A flag whose default is the app's setting defaults to None here, read at run time.
    parser.add_argument(spec.flag, dest=spec.name, type=type(spec.default), choices=values,
                        default=None if spec.cli_default_from_setting else spec.default,
                        help=spec.help)


def _vendor_options(args: argparse.Namespace, settings: Settings) -> VendorOptions | None:
    """The chosen vendor's options from its flags; the others' flags are ignored."""
    kind = registry.descriptor(args.provider).options_type
    if kind is None:
        return None
    values: dict[str, Any] = {}
    for spec in kind.SPECS:
        value = getattr(args, spec.name, None) if spec.flag else None
        if value is None and spec.cli_default_from_setting and spec.setting is not None:
            value = settings.get(spec.setting)
        if value is not None:
            values[spec.name] = value
    return kind.from_dict(values)


def _print_result(text: str) -> int:
    """Write `text` to stdout as UTF-8, as `-o` writes its file, whatever the locale's
    encoding: a transcript is seldom ASCII. A reader gone away (`| head`) ends us quietly."""
    try:
        sys.stdout.flush()  # whatever went through the text layer comes first
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # Nobody reads our output any more; keep the interpreter's last flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return 0


async def _cancel_remote(service: JobService, remote: Mapping[str, str]) -> None:
    if not remote:
        return  # nothing was started remotely yet
    try:
        await asyncio.wait_for(service.cancel(remote), CANCEL_TIMEOUT)
    except DictationError as exc:
        print(f"dictation-app: the service did not confirm the cancel: {exc}", file=sys.stderr)
    except asyncio.TimeoutError:
        print("dictation-app: the service did not answer the cancel in time", file=sys.stderr)


class _Interrupts:
    """Ctrl+C cancels the running task (so the job can be cancelled remotely) instead of
    killing us; `count` says how many times it was pressed."""

    def __init__(self) -> None:
        self.count = 0
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        # The SIGINT handler we stand in for, where the loop cannot take the signal.
        self._replaced: Callable[[int, FrameType | None], Any] | int | None = None

    def install(self) -> None:
        try:
            self._loop.add_signal_handler(signal.SIGINT, self._interrupted)
        except NotImplementedError:  # a RuntimeError too: first
            # Windows' loops take no signal handlers. asyncio.run's own would cancel the
            # task too, but then nothing would tell that cancel from any other.
            previous = signal.signal(signal.SIGINT, self._on_signal)
            self._replaced = signal.default_int_handler if previous is None else previous
        except RuntimeError:
            pass  # not the main thread: the signal is not ours to take

    def restore(self) -> None:
        if self._replaced is not None:
            signal.signal(signal.SIGINT, self._replaced)
            self._replaced = None
        else:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._loop.remove_signal_handler(signal.SIGINT)

    def handled(self) -> None:
        """The cancel was caught: what runs next may wait, with timeouts, as usual."""
        if self._task is not None and hasattr(self._task, "uncancel"):
            self._task.uncancel()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Python runs this between two bytecodes of the loop's thread: leave the work
        # to the loop itself.
        self._loop.call_soon_threadsafe(self._interrupted)

    def _interrupted(self) -> None:
        self.count += 1
        if self._task is not None:
            self._task.cancel()


@dataclass
class CliContext:
    """The JobContext of a one-off job: remote ids live in memory for this run."""

    file: Path
    options: JobOptions
    display: ProgressDisplay
    job_id: int = 0
    remote: dict[str, str] = field(default_factory=dict)

    def report(self, state: JobState, progress: float | None = None) -> None:
        self.display.show(state, progress)

    async def remember(self, **values: str) -> None:
        self.remote.update(values)


class ProgressDisplay:
    """A one-line bar on a terminal; otherwise a line per state and per tenth of progress."""

    WIDTH = 30

    def __init__(self, stream: TextIO, *, interval: float = 0.1):
        self._stream = stream
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._interval = interval
        self._last: tuple[JobState, int] | None = None
        self._shown_at = 0.0
        self._open_line = False
        self._last_line = ""

    def show(self, state: JobState, progress: float | None) -> None:
        tenth = -1 if progress is None else int(min(max(progress, 0.0), 1.0) * 10)
        if self._tty:
            now = time.monotonic()
            if self._last and self._last[0] == state and now - self._shown_at < self._interval \
                    and progress not in (None, 1.0):
                return
            self._shown_at = now
            self._stream.write("\r\033[K" + self._bar(state, progress))
            self._open_line = True
        else:
            percent = "" if progress is None else f" {progress * 100:.0f}%"
            line = f"{state.value}{percent}\n"
            # 99.7% and 100% are both "100%": one line is enough.
            if self._last == (state, tenth) or line == self._last_line:
                return
            self._stream.write(line)
            self._last_line = line
        self._last = (state, tenth)
        self._stream.flush()

    def done(self) -> None:
        if self._open_line:
            self._stream.write("\n")
            self._stream.flush()
            self._open_line = False

    def _bar(self, state: JobState, progress: float | None) -> str:
        if progress is None:
            return f"{state.label}…"
        filled = round(min(max(progress, 0.0), 1.0) * self.WIDTH)
        return f"{state.label:<11} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {progress:4.0%}"
