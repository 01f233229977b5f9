"""`dictation-app transcribe`: one file through one service, headless.

    dictation-app transcribe talk.m4a --provider botlhale --format srt -o talk.srt

Progress goes to stderr (a bar on a terminal, a line per step otherwise); the result
goes to stdout or to `-o`, in UTF-8, written only once complete. Ctrl+C cancels the
remote job where the service can (a second one stops waiting for that), then exits 130.

The job goes through the window's job list (jobs/store.py, in the app's data dir) and
runner: its remote ids are stored before it goes on, so a run killed after its upload
and started again for the same file, provider and options polls the stored remote job
instead of uploading again (see `_find_or_start`). The job shows in the window's Files
panel too; the window leaves it alone while this run holds it (jobs/claims.py).
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
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from dictation_app.core.errors import ConfigurationError, DictationError
from dictation_app.core.settings import Settings
from dictation_app.jobs.model import Job, JobOptions, JobState
from dictation_app.jobs.options import OptionKind, OptionSpec, VendorOptions
from dictation_app.jobs.runner import JobRunner
from dictation_app.jobs.store import JobStore
from dictation_app.protocols.transcript import Transcript
from dictation_app.services import registry

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
HELD_POLL = 1.0  # seconds between looks at a job another runner holds


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
    parser.add_argument("--language",
                        help="BCP-47 language code (default: automatic where the service "
                             "or engine detects it, else the one language it knows)")
    parser.add_argument("--diarization", action="store_true", help="label speakers")
    for spec in _flagged_options():
        _add_option_flag(parser, spec)
    parser.add_argument("--format", choices=["txt", "srt", "vtt", "json"], default="txt")
    parser.add_argument("--timestamps", action="store_true", help="TXT: time of each segment")
    parser.add_argument("--speakers", action="store_true", help="TXT: speaker labels")
    parser.add_argument("-o", "--output", help="write the result here instead of stdout")


async def run_transcribe(args: argparse.Namespace) -> int:
    from dictation_app.audio.files import check_file
    from dictation_app.cli.messages import cli_message
    from dictation_app.core.secrets import SecretStore
    from dictation_app.jobs.exports import ExportFormat, export, write_export
    from dictation_app.services.factory import Overrides, ServiceFactory

    path = Path(args.audio_file).resolve()
    settings = Settings()
    vendor = _vendor_options(args, settings)
    options = JobOptions(language=_language(args, vendor), diarization=args.diarization,
                         vendor=vendor)
    factory = ServiceFactory(settings, SecretStore(),
                             overrides=Overrides(args.base_url, args.accounts_url))
    service = factory(args.provider)  # a ConfigurationError says which fields are missing
    store = _open_store()
    failures: list[DictationError] = []

    def explain(exc: DictationError) -> str:
        failures.append(exc)  # raised again below, so the CLI words it like any other
        return cli_message(exc)

    runner = JobRunner(store, lambda _provider: service, at_once=1,
                       labels=registry.LABELS, explain=explain, check=check_file)
    progress = ProgressDisplay(sys.stderr)
    ours: list[int] = []  # the job this run drives, once known
    warned: set[str] = set()

    def on_job(job: Job) -> None:
        if job.id not in ours:
            return
        if job.warning and job.warning not in warned:
            warned.add(job.warning)
            progress.done()
            print(f"dictation-app: warning: {job.warning}", file=sys.stderr)
        _show(progress, job)

    runner.add_listener(on_job)
    interrupts = _Interrupts()
    interrupts.install()
    try:
        job = await _find_or_start(runner, store, path, args.provider, options, ours)
        if not job.state.finished:
            job = await runner.wait(job.id)
    except asyncio.CancelledError:
        if not interrupts.count:
            raise
        interrupts.handled()  # the timeouts of the remote cancel must work normally
        progress.done()
        if not ours:
            print("dictation-app: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        print("dictation-app: interrupted; cancelling the job", file=sys.stderr)
        try:
            await runner.cancel(ours[0])
        except asyncio.CancelledError:
            if interrupts.count < 2:
                raise
            interrupts.handled()
            print("dictation-app: interrupted again; the service may still finish the job",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        cancelled = store.get(ours[0], with_result=False)
        if cancelled is not None and cancelled.error:
            print(f"dictation-app: {cancelled.error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        interrupts.restore()
        progress.done()
        await runner.aclose()
        if not runner.used(service):
            await service.aclose()
        store.close()
    if job.state is not JobState.COMPLETED:
        if failures:
            raise failures[-1]
        raise DictationError(job.error or f"the job ended {job.state.value}")
    transcript = job.result
    if transcript is None:  # finished by another runner: the store has it
        stored = store_result(store, job.id)
        if stored is None:
            raise DictationError("the job completed but its transcript could not be read")
        transcript = stored
    text = export(transcript, ExportFormat(args.format), timestamps=args.timestamps,
                  speakers=args.speakers)
    if args.output:
        write_export(Path(args.output), text)
        return 0
    return _print_result(text if text.endswith("\n") or not text else text + "\n")


async def _find_or_start(runner: JobRunner, store: JobStore, path: Path, provider: str,
                         options: JobOptions, ours: list[int]) -> Job:
    """The job this run drives: an unfinished one an earlier run of the same file (path,
    size, modification time), provider and options left behind, resumed from its stored
    remote ids; else a new one. Only unfinished jobs are taken up: a completed one was
    printed by its run, and running the command again asks for a new transcript.

    A matching job that another runner holds (the window, or another `transcribe`) is
    waited for: its outcome is this run's, or it is taken over if that runner stops
    without finishing it."""
    told = False
    while True:
        # Its run starts once we wait, after `ours` names it: no report is missed.
        job, mine = runner.resume_or_submit(path, provider, options)
        if mine:
            ours[:] = [job.id]
            if job.remote:
                print("dictation-app: resuming the job an earlier run started",
                      file=sys.stderr)
            return job
        ours.clear()
        if not told:
            print("dictation-app: another copy of the app is running this job; waiting "
                  "for it", file=sys.stderr)
            told = True
        while True:
            await asyncio.sleep(HELD_POLL)
            current = store.get(job.id, with_result=False)
            if current is None:
                break  # removed there: look again
            if current.state.finished:
                return current
            ours[:] = [job.id]
            resumed = runner.resume_job(job.id)  # its runner stopped without finishing it
            if resumed is not None:
                return resumed
            ours.clear()


def _show(progress: ProgressDisplay, job: Job) -> None:
    if job.state in (JobState.UPLOADING, JobState.PROCESSING):
        progress.show(job.state, job.progress)


def store_result(store: JobStore, job_id: int) -> Transcript | None:
    job = store.get(job_id)
    return None if job is None else job.result


def _open_store() -> JobStore:
    """The app's job list; when it cannot be opened, one for this run alone (it then
    cannot be resumed), saying why on stderr."""
    types = registry.options_types()
    try:
        return JobStore(options_types=types)
    except ConfigurationError as exc:
        print(f"dictation-app: {exc} This run cannot be resumed if it is interrupted.",
              file=sys.stderr)
        folder = Path(tempfile.mkdtemp(prefix="dictation-jobs-"))
        return JobStore(folder / "jobs.sqlite3", options_types=types)


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


def _language(args: argparse.Namespace, vendor: VendorOptions | None) -> str | None:
    """--language as a code the chosen service (or offline engine) knows, else its
    default; a ConfigurationError naming the languages it knows, before any job."""
    support = registry.descriptor(args.provider).language_support(vendor)
    if args.language is None:
        return support.default
    return support.parse(args.language, how="give")


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
