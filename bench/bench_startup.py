"""Cold start to a shown window: the frozen bundle against the venv, offscreen.

Run: .venv/bin/python bench/bench_startup.py [--runs 5] [--mode window|version]

Each run starts the app as a fresh process with an empty HOME (so no settings, no
single-instance server of another run) and `QT_QPA_PLATFORM=offscreen`, asks it to save
a screenshot once its window is shown and then quit (`DICTATION_APP_SCREENSHOT`,
`DICTATION_APP_EXIT_AFTER_SHOWN=1`), and times, from just before the process is
spawned, until the screenshot file appears, or until the app prints
`WINDOW_SHOWN <ms>` on stderr if it does so first. The engine model loads in the
background, so the window must not wait for it: target under 1.5 s (median).

`--mode version` times `<exe> --version` to exit instead: the interpreter, bootloader
and import cost without Qt, useful to compare the bundle with the venv on any build.

Targets measured, when present: dist/dictation-app/dictation-app (one folder),
dist/dictation-app-onefile (one file, unpacks itself on every start), and the venv
(.venv/bin/dictation-app, or `.venv/bin/python -m dictation_app`). The page cache is
warm after the first run; `--drop-caches` (root, Linux) empties it before every run
for a truly cold start. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.5
WINDOW_TIMEOUT = 60.0
EXIT_TIMEOUT = 30.0
SHOWN_LINE = re.compile(r"^WINDOW_SHOWN\s+(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Target:
    name: str
    command: tuple[str, ...]


@dataclass
class Run:
    to_window: float | None = None  # seconds, measured outside the process
    reported_ms: float | None = None  # the app's own WINDOW_SHOWN figure, if it printed one
    to_exit: float | None = None
    error: str = ""


@dataclass
class Summary:
    target: Target
    runs: list[Run] = field(default_factory=list)

    def times(self) -> list[float]:
        return [r.to_window for r in self.runs if r.to_window is not None]

    def exits(self) -> list[float]:
        return [r.to_exit for r in self.runs if r.to_exit is not None]


def find_targets(include: Sequence[str]) -> list[Target]:
    targets = []
    onefolder = ROOT / "dist" / "dictation-app" / "dictation-app"
    onefile = ROOT / "dist" / "dictation-app-onefile"
    venv_script = ROOT / ".venv" / "bin" / "dictation-app"
    venv_python = ROOT / ".venv" / "bin" / "python"
    if "bundle" in include and onefolder.is_file():
        targets.append(Target("bundle (one folder)", (str(onefolder),)))
    if "onefile" in include and onefile.is_file():
        targets.append(Target("bundle (one file)", (str(onefile),)))
    if "venv" in include:
        if venv_script.is_file():
            targets.append(Target("venv", (str(venv_script),)))
        elif venv_python.is_file():
            targets.append(Target("venv", (str(venv_python), "-m", "dictation_app")))
    return targets


def clean_env(home: Path) -> dict[str, str]:
    """A minimal environment: nothing from the developer's shell or the venv leaks in."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
    }
    if sys.platform != "linux":  # elsewhere keep the system's variables the OS needs
        env = {**os.environ, **env, "PATH": os.environ.get("PATH", "")}
    return env


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def run_window_once(target: Target) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        home = Path(tmp)
        shot = home / "window.png"
        env = clean_env(home)
        env["DICTATION_APP_SCREENSHOT"] = str(shot)
        env["DICTATION_APP_EXIT_AFTER_SHOWN"] = "1"
        result = Run()
        shown_at: list[float] = []
        stderr_tail: list[str] = []

        started = time.monotonic()
        process = subprocess.Popen(target.command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, errors="replace")

        def read_stderr() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                match = SHOWN_LINE.match(line)
                if match and not shown_at:
                    shown_at.append(time.monotonic())
                    result.reported_ms = float(match.group(1))
                stderr_tail[:] = [*stderr_tail[-9:], line.rstrip()]

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        deadline = started + WINDOW_TIMEOUT
        while time.monotonic() < deadline:
            if shown_at:
                result.to_window = shown_at[0] - started
                break
            if shot.exists():
                result.to_window = time.monotonic() - started
                break
            if process.poll() is not None:
                break
            time.sleep(0.002)
        try:
            process.wait(timeout=EXIT_TIMEOUT)
            result.to_exit = time.monotonic() - started
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            result.error = "did not quit after its window was shown"
        reader.join(timeout=5)
        if result.to_window is None:
            # The bootloader's own "[PYI-...] Failed to execute script" line says less
            # than the exception just before it.
            useful = [line for line in stderr_tail if line and not line.startswith("[PYI-")]
            last = useful[-1] if useful else ""
            result.error = (f"exited with status {process.returncode} before its window "
                            f"was shown: {last}" if process.returncode is not None
                            else "no window within the time limit")
        elif process.returncode not in (0, None) and not result.error:
            result.error = f"exited with status {process.returncode}"
        return result


def run_version_once(target: Target) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        started = time.monotonic()
        completed = subprocess.run([*target.command, "--version"], env=clean_env(Path(tmp)),
                                   capture_output=True, text=True, timeout=EXIT_TIMEOUT)
        elapsed = time.monotonic() - started
        if completed.returncode != 0:
            return Run(error=f"exit {completed.returncode}: {completed.stderr.strip()[-200:]}")
        return Run(to_window=elapsed, to_exit=elapsed)


def seconds(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def table(summaries: Sequence[Summary], mode: str) -> str:
    measured = "to window (s)" if mode == "window" else "`--version` to exit (s)"
    lines = [
        f"| target | runs ok | median {measured} | min | max | median to exit (s) | "
        f"under {TARGET_SECONDS} s |",
        "|---|---|---|---|---|---|---|",
    ]
    for summary in summaries:
        times = summary.times()
        ok = f"{len(times)}/{len(summary.runs)}"
        low = f"{min(times):.2f}" if times else "-"
        high = f"{max(times):.2f}" if times else "-"
        met = ("yes" if statistics.median(times) < TARGET_SECONDS else "no") if times else "-"
        lines.append(f"| {summary.target.name} | {ok} | {seconds(times)} | {low} | {high} | "
                     f"{seconds(summary.exits())} | {met} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=["window", "version"], default="window")
    parser.add_argument("--targets", nargs="+", choices=["bundle", "onefile", "venv"],
                        default=["bundle", "onefile", "venv"])
    parser.add_argument("--drop-caches", action="store_true",
                        help="empty the page cache before every run (root, Linux)")
    args = parser.parse_args(argv)

    targets = find_targets(args.targets)
    if not targets:
        print("bench_startup: nothing to run; build the bundle or create the venv",
              file=sys.stderr)
        return 1
    once = run_window_once if args.mode == "window" else run_version_once
    summaries = []
    for target in targets:
        summary = Summary(target)
        for index in range(args.runs):
            if args.drop_caches and not drop_caches():
                print("bench_startup: could not drop caches (needs root on Linux)",
                      file=sys.stderr)
                args.drop_caches = False
            run = once(target)
            summary.runs.append(run)
            shown = f"{run.to_window:.3f} s" if run.to_window is not None else "-"
            own = f" (app says {run.reported_ms:.0f} ms)" if run.reported_ms is not None else ""
            print(f"{target.name} run {index + 1}: {shown}{own} {run.error}".rstrip(),
                  file=sys.stderr)
        summaries.append(summary)

    cache = "page cache dropped before each run" if args.drop_caches else "page cache warm"
    print(f"\nStart-up, {args.mode} mode, {args.runs} runs per target, offscreen, {cache}; "
          f"{os.cpu_count()} CPUs, {platform.machine()}\n")
    print(table(summaries, args.mode))
    errors = [r.error for s in summaries for r in s.runs if r.error]
    if errors:
        print(f"\n{len(errors)} run(s) failed; first: {errors[0]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
