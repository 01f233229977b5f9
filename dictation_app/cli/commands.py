"""Command line: no arguments opens the window; subcommands do the same work headless.

    dictation-app                      open the window
    dictation-app FILE...              open the window and transcribe the files
    dictation-app devices              list input devices
    dictation-app serve                run the embedded offline engine
    dictation-app stream AUDIO_FILE    stream a file as the microphone path would
    dictation-app monitor              show the Bahasakita account's job queues
    dictation-app transcribe FILE      transcribe a file with a service or the engine
    dictation-app history              list the dictated takes; show one, or its audio
    dictation-app record ACTION        start, stop or toggle the running window's take
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from dictation_app import __version__
from dictation_app.cli.history_parser import add_history_parser
from dictation_app.cli.messages import cli_message
from dictation_app.cli.monitor import add_monitor_parser, run_monitor
from dictation_app.cli.record import add_record_parser, run_record
from dictation_app.core.errors import LIVE_TOKEN, ConfigurationError, DictationError, Fix
from dictation_app.core.redaction import RedactingFilter
from dictation_app.core.secrets import BAHASAKITA_TOKEN_ENV, bahasakita_token
from dictation_app.engine.registry import default_engine, engine_names
from dictation_app.protocols.bahasakita_stream import (
    DEFAULT_URLS,
    FinalTranscript,
    PartialTranscript,
    ProtocolVersion,
)
from dictation_app.services.live_providers import (
    BAHASAKITA,
    DEFAULT_LIVE_PROVIDER,
    LIVE_PROVIDERS,
    LOCAL,
    live_provider,
)

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, as a shell reports a command its pipe ended
_COMMANDS = ("devices", "serve", "stream", "monitor", "transcribe", "engine-transcribe",
             "history", "record")


BAHASAKITA_LANGUAGE = "id"  # what `stream` sends with protocol v2 unless told
TRANSCRIBE_HELP = "transcribe an audio file with a service or the offline engine"


EXAMPLES = """\
examples:
  dictation-app                          open the window
  dictation-app talk.m4a memo.wav        open the window and transcribe the files
  dictation-app devices                  list audio input devices
  dictation-app stream talk.wav          stream a file as the microphone would
  dictation-app transcribe talk.m4a      transcribe a file (--provider to pick a service)
  dictation-app history                  list the dictated takes
  dictation-app record toggle            start or stop dictating in the running window
  dictation-app COMMAND --help           a command's own options
"""


def build_parser(*, full: bool = True) -> argparse.ArgumentParser:
    """The whole command line; with `full=False`, `transcribe` only as a name and its help.

    `transcribe`'s choices, flags and help come from the service registry, which imports
    every vendor's service (httpx among them): `main()` builds them only when that is
    the command being run, so `--version`, `stream` or the window do not pay for them.
    """
    parser = argparse.ArgumentParser(
        prog="dictation-app",
        description="Live dictation and transcription. With no command, opens the window; "
                    "given audio files (dictation-app FILE...), opens it and transcribes them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="check that Qt, audio, the engine model and settings load; no window")
    parser.add_argument("--output", choices=["window", "type", "paste"], default=None,
                        help="the window: where finals go for this run (type or paste: into "
                             "the app that has the focus; default: as in Preferences)")
    # -v also after the command; SUPPRESS keeps a subcommand from resetting a leading -v.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("devices", parents=[common], help="list audio input devices")

    serve = commands.add_parser("serve", parents=[common],
                                help="run the embedded offline engine (WebSocket)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    _add_engine_argument(serve)
    _add_model_argument(serve)
    serve.add_argument("--language", metavar="CODE",
                       help="the language spoken, as a BCP-47 code (default en)")
    serve.add_argument("--grammar", help=argparse.SUPPRESS)  # JSGF, for deterministic tests

    stream = commands.add_parser("stream", parents=[common],
                                 help="stream an audio file and print the transcript")
    stream.add_argument("audio_file")
    stream.add_argument("--provider", choices=list(LIVE_PROVIDERS), default=DEFAULT_LIVE_PROVIDER)
    stream.add_argument("--url", help="WebSocket URL (default: the provider's)")
    stream.add_argument("--token",
                        help="Bahasakita token; anyone running `ps` can read it here: "
                             f"${BAHASAKITA_TOKEN_ENV} or the keyring is the safe way")
    stream.add_argument("--protocol", choices=[v.value for v in ProtocolVersion], default="v1")
    stream.add_argument("--language", metavar="CODE",
                        help="the language spoken: sent with Bahasakita's protocol v2 "
                             "(default id); for the offline engine, picks its model "
                             "(default en)")
    _add_engine_argument(stream, note="; with --provider local")
    _add_model_argument(stream, note="; with --provider local")
    stream.add_argument("--pace", choices=["realtime", "fast"], default="realtime")
    stream.add_argument("--jsonl", action="store_true", help="every event as one JSON line")

    add_monitor_parser(commands, parents=[common])
    add_history_parser(commands, parents=[common])
    add_record_parser(commands, parents=[common])
    if full:
        from dictation_app.cli.transcribe import add_transcribe_parser

        add_transcribe_parser(commands, parents=[common], help=TRANSCRIBE_HELP)
    else:
        commands.add_parser("transcribe", parents=[common], help=TRANSCRIBE_HELP)
    # Internal: the offline engine's file-job child (services/local.py). No help=,
    # so it stays out of --help (help=SUPPRESS prints "==SUPPRESS==" on Python < 3.13).
    engine_transcribe = commands.add_parser("engine-transcribe", parents=[common])
    engine_transcribe.add_argument("audio_file")
    _add_engine_argument(engine_transcribe)
    engine_transcribe.add_argument("--language")
    engine_transcribe.add_argument("--grammar")
    return parser


def _add_engine_argument(parser: argparse.ArgumentParser, note: str = "") -> None:
    """`--engine NAME`, its choices and default from the engine registry."""
    # None, not the default's name: an engine-specific option (--grammar) then picks
    # the engine that takes it (engine/registry.py engine_for).
    default = default_engine().name
    parser.add_argument("--engine", choices=engine_names(), default=None,
                        help=f"offline engine (default {default}){note}")


def _engine_args(args: argparse.Namespace) -> list[str]:
    """The `serve` options of an engine child for `stream --provider local`."""
    extra: list[str] = []
    for flag, value in (("--engine", args.engine), ("--model", args.model),
                        ("--language", args.language)):
        if value:
            extra += [flag, value]
    return extra


def _add_model_argument(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument("--model", metavar="NAME|PATH",
                        help="the engine's model: for whisper, tiny.en or base (both "
                             "bundled; by default tiny.en for English, base for the other "
                             f"languages) or the folder of a CTranslate2 Whisper model{note}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    files = _files_to_open(argv)
    if files is not None:
        # `dictation-app a.wav b.m4a`, as a desktop's "Open with" runs it (%F).
        from dictation_app.app import run_gui

        return run_gui(files)
    args = build_parser(full=_command(argv) == "transcribe").parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())  # whatever logs a URL, its token is masked
    try:
        if args.self_test:
            from dictation_app.cli.selftest import run_self_test

            return run_self_test()
        if args.command is None:
            from dictation_app.app import run_gui

            return run_gui(output=args.output)
        if args.command == "devices":
            return _devices()
        if args.command == "serve":
            from dictation_app.engine.server import run_serve

            return run_serve(args.host, args.port, engine=args.engine, grammar=args.grammar,
                             model=args.model, language=args.language)
        if args.command == "stream":
            return asyncio.run(_stream(args))
        if args.command == "monitor":
            return asyncio.run(run_monitor(args))
        if args.command == "history":
            from dictation_app.cli.history import run_history

            return run_history(args)
        if args.command == "record":
            return run_record(args)
        if args.command == "transcribe":
            from dictation_app.cli.transcribe import run_transcribe

            return asyncio.run(run_transcribe(args))
        if args.command == "engine-transcribe":
            from dictation_app.engine.file_transcriber import run_engine_transcribe

            return run_engine_transcribe(args.audio_file, args.grammar, engine=args.engine,
                                         language=args.language)
    except DictationError as exc:
        print(f"dictation-app: {cli_message(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("dictation-app: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `dictation-app stream FILE | head -3`: the reader has what it wanted. Exit as
        # a command killed by SIGPIPE would, quietly.
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    raise AssertionError(f"unhandled command {args.command}")


def _command(argv: Sequence[str]) -> str | None:
    """The command `argv` names: its first argument that is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _files_to_open(argv: Sequence[str]) -> list[Path] | None:
    """The files to open in the window when every argument is an existing file."""
    if not argv or any(arg.startswith("-") for arg in argv) or argv[0] in _COMMANDS:
        return None
    paths = [Path(arg) for arg in argv]
    return paths if all(p.is_file() for p in paths) else None


def _devices() -> int:
    from dictation_app.audio.devices import find_input_devices

    listing = find_input_devices()
    devices = listing.devices
    if listing.fallback_reason is not None:
        print(f"Listing PortAudio's devices: {listing.fallback_reason}.", file=sys.stderr)
    if not devices:
        print("No audio input device found. Connect a microphone, or check that the "
              "sound server (PulseAudio/PipeWire) is running.", file=sys.stderr)
        return EXIT_FAILED
    if listing.fallback_reason is None:
        # The id is what Preferences and the settings file remember.
        width = max(len("microphone"), *(len(d.label) for d in devices))
        print(f"{'microphone':<{width}}  id")
        for d in devices:
            print(f"{d.label:<{width}}  {d.id}")
        return 0
    print(f"{'index':>5}  name")
    for d in devices:
        print(f"{d.index:>5}  {d.label}")
    return 0


async def _stream(args: argparse.Namespace) -> int:
    from dictation_app.audio.files import probe
    from dictation_app.cli.stream import Pace, stream_file
    from dictation_app.transport.stream_connection import StreamConnection, TranscriptListener

    version = ProtocolVersion(args.protocol)
    provider = live_provider(args.provider)
    # The engine picks its model by the language; Bahasakita's v2 sends it (id unless said).
    language = args.language or ("en" if provider is LOCAL else BAHASAKITA_LANGUAGE)
    probe(args.audio_file)  # a bad file fails before any engine starts or socket opens
    token = None
    engine = None
    url = args.url
    if provider is not LOCAL and (args.engine or args.model):
        raise ConfigurationError("--engine and --model choose the offline engine's model: "
                                 "they go with --provider local")
    if provider is BAHASAKITA:
        token = args.token or bahasakita_token()
        if not token:
            raise ConfigurationError("Bahasakita needs a token",
                                     fix=Fix(BAHASAKITA.id, (LIVE_TOKEN,)))
        url = url or DEFAULT_URLS[version]
    elif url is None:
        from dictation_app.engine.process import EngineProcess

        engine = EngineProcess(extra_args=_engine_args(args))
        url = await engine.start()
    elif args.token:
        token = args.token

    main = asyncio.current_task()
    assert main is not None
    pipe_closed = False

    def close_pipe() -> None:
        # The reader of our stdout has gone (`| head -3`): nothing more can be delivered.
        nonlocal pipe_closed
        if not pipe_closed:
            pipe_closed = True
            main.cancel()

    def emit(event: PartialTranscript | FinalTranscript) -> None:
        if pipe_closed:
            return
        try:
            if args.jsonl:
                kind = "final" if isinstance(event, FinalTranscript) else "partial"
                print(json.dumps({"type": kind, "text": event.text}, ensure_ascii=False),
                      flush=True)
            elif isinstance(event, FinalTranscript) and event.text:
                print(event.text, flush=True)
        except BrokenPipeError:
            close_pipe()

    def connect(on_transcript: TranscriptListener) -> StreamConnection:
        return StreamConnection(url, token=token, version=version, language=language,
                                on_transcript=on_transcript, service=provider.service)

    troubled = False  # routine statuses stay quiet; once a reconnect starts, all are shown

    def status(kind: str, message: str) -> None:
        nonlocal troubled
        troubled = troubled or message.startswith("Reconnecting")
        if troubled and kind != "stopped":
            print(f"dictation-app: {message}", file=sys.stderr, flush=True)

    watching = _watch_pipe(sys.stdout, close_pipe)
    try:
        await stream_file(args.audio_file, connect, pace=Pace(args.pace),
                          on_transcript=emit, on_status=status)
    except asyncio.CancelledError:
        if pipe_closed:
            raise BrokenPipeError("the reader of the transcript closed the pipe") from None
        raise
    finally:
        if watching:
            asyncio.get_running_loop().remove_reader(sys.stdout.fileno())
        if engine is not None:
            await engine.stop()
    return 0


def _watch_pipe(stream: TextIO, on_closed: Callable[[], None]) -> bool:
    """Call `on_closed` as soon as the reader of the pipe `stream` writes to goes away.

    The write end of a pipe polls as an error once its reader has closed it, and never
    as readable before, so a reader callback fires exactly then, between finals too.
    Only for a pipe: a terminal is readable when someone types.
    """
    try:
        fd = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        asyncio.get_running_loop().add_reader(fd, on_closed)
    except (OSError, ValueError, NotImplementedError):
        return False
    return True


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the exit's flush of a closed pipe says nothing."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
