"""`dictation-app transcribe`: one file through one service, headless.

    dictation-app transcribe talk.m4a --provider botlhale --format srt -o talk.srt

Progress goes to stderr (a bar on a terminal, a line per step otherwise); the result
goes to stdout or to `-o`, written only once complete. Ctrl+C cancels the remote job
where the service can, then exits 130. Credentials come from the environment
(`DICTATION_*`), the keyring or the settings; never from the command line, where
`ps` would show them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dictation_app.errors import DictationError
from dictation_app.jobs.model import PROVIDERS, JobOptions, JobState
from dictation_app.jobs.service import JobService
from dictation_app.secrets import (
    BAHASAKITA_TOKEN_ENV,
    BOTLHALE_ORG_ID_ENV,
    BOTLHALE_REFRESH_TOKEN_ENV,
    BOTLHALE_TOKEN_ENV,
    NEVISA_PASSWORD_ENV,
    NEVISA_USERNAME_ENV,
)

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
CANCEL_TIMEOUT = 15.0  # seconds to wait for the service to confirm a remote cancel


def add_transcribe_parser(commands: argparse._SubParsersAction) -> None:
    envs = ", ".join((BOTLHALE_TOKEN_ENV, BOTLHALE_REFRESH_TOKEN_ENV, BOTLHALE_ORG_ID_ENV,
                      NEVISA_USERNAME_ENV, NEVISA_PASSWORD_ENV, BAHASAKITA_TOKEN_ENV))
    parser = commands.add_parser(
        "transcribe", help="transcribe an audio file with a service or the offline engine",
        description="Transcribe AUDIO_FILE and print the result. Credentials come from the "
                    f"app's Settings and keyring, or from the environment: {envs}.")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log to stderr")
    parser.add_argument("audio_file")
    parser.add_argument("--provider", choices=PROVIDERS, default="local")
    parser.add_argument("--base-url", help="service API address (Nevisa: the API host)")
    parser.add_argument("--accounts-url", help="Nevisa login host")
    parser.add_argument("--language", help="BCP-47 language code (default: automatic)")
    parser.add_argument("--diarization", action="store_true", help="label speakers")
    parser.add_argument("--mode", choices=["auto", "sync", "async"], default="auto",
                        help="Botlhale: sync (up to 60 s) or async (default: by duration)")
    parser.add_argument("--api-version", type=int, choices=[1, 2], default=None,
                        help="Botlhale API generation (default: the app's setting)")
    parser.add_argument("--priority", choices=["reguler", "high"], default="reguler",
                        help="Bahasakita queue priority")
    parser.add_argument("--format", choices=["txt", "srt", "vtt", "json"], default="txt")
    parser.add_argument("--timestamps", action="store_true", help="TXT: time of each segment")
    parser.add_argument("--speakers", action="store_true", help="TXT: speaker labels")
    parser.add_argument("-o", "--output", help="write the result here instead of stdout")


async def run_transcribe(args: argparse.Namespace) -> int:
    from dictation_app.exports import ExportFormat, export, write_export
    from dictation_app.jobs.services import Overrides, ServiceFactory
    from dictation_app.secrets import SecretStore
    from dictation_app.settings import Key, Settings

    path = Path(args.audio_file)
    settings = Settings()
    api_version = args.api_version or int(settings.get(Key.BOTLHALE_API_VERSION))
    options = JobOptions(language=args.language or None, diarization=args.diarization,
                         mode=args.mode, api_version=api_version, priority=args.priority)
    factory = ServiceFactory(settings, SecretStore(),
                             overrides=Overrides(args.base_url, args.accounts_url))
    service = factory(args.provider)
    progress = ProgressDisplay(sys.stderr)
    context = CliContext(file=path.resolve(), options=options, display=progress)
    main = asyncio.current_task()
    interrupted = _on_interrupt(main)
    try:
        transcript = await service.run(context)
    except asyncio.CancelledError:
        if not interrupted():
            raise
        if main is not None and hasattr(main, "uncancel"):
            main.uncancel()  # handled: the timeouts of the remote cancel must work normally
        progress.done()
        print("dictation-app: interrupted; cancelling the job", file=sys.stderr)
        await _cancel_remote(service, context.remote)
        return EXIT_INTERRUPTED
    except DictationError:
        progress.done()
        raise
    finally:
        _restore_interrupt()
        await service.aclose()
    progress.done()
    text = export(transcript, ExportFormat(args.format), timestamps=args.timestamps,
                  speakers=args.speakers)
    if args.output:
        write_export(Path(args.output), text)
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        sys.stdout.flush()
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


def _on_interrupt(task: asyncio.Task[object] | None) -> Callable[[], bool]:
    """Ctrl+C cancels `task` (so the job can be cancelled remotely) instead of killing us."""
    state = {"interrupted": False}

    def handler() -> None:
        state["interrupted"] = True
        if task is not None:
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: default behaviour
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, handler)
    return lambda: state["interrupted"]


def _restore_interrupt() -> None:
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)


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
            if self._last == (state, tenth):
                return
            percent = "" if progress is None else f" {progress * 100:.0f}%"
            self._stream.write(f"{state.value}{percent}\n")
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
