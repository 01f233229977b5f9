#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine to run, test and benchmark the app:
# the system packages (Qt, audio, virtual microphone, test speech), then .venv
# with exactly the versions in requirements/lock.txt (every file checked against
# its sha256) and the package itself installed editable on top, with nothing left
# for pip to resolve. Safe to re-run: it installs only what is missing and skips
# pip while .venv/.setup-stamp is newer than both pyproject.toml and the lock.
# `make lock` refreshes the lock from pyproject.toml.
#
#   PYTHON=python3.12 scripts/setup.sh   # choose the interpreter for a new .venv
#
# The lock is universal (CPython 3.10 and newer, any OS) and tested on 3.11, the
# Python of CI (Debian 12) and of the developers' venvs. On 3.10 and 3.12 pip builds
# pocketsphinx from its locked source (it has wheels for 3.11 and 3.13 only), which
# needs a C compiler (build-essential).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.setup-stamp"
LOCK="$ROOT/requirements/lock.txt"
PYTHON="${PYTHON:-python3}"

PACKAGES=(
    # Python itself, and venv/ensurepip (a separate package on Debian)
    python3 python3-venv
    # Qt with QT_QPA_PLATFORM=offscreen
    libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
    # Qt's xcb platform, for a real window under Xvfb, and tools to drive it
    libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
    libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1
    xvfb xauth xdotool
    # a real X11 terminal the end-to-end dictation test types into
    xterm
    # audio: PortAudio for sounddevice, libsndfile for soundfile
    libportaudio2 libsndfile1
    # the virtual microphone the tests use (PulseAudio + its ALSA plugin)
    pulseaudio pulseaudio-utils libasound2-plugins
    # test speech: synthesise and convert
    espeak-ng sox
    # a private session bus for the desktop-portal shortcut tests
    dbus-daemon
    # packaging: validators for the .desktop and AppStream files; patchelf and
    # binutils for PyInstaller's Linux build
    desktop-file-utils appstream patchelf binutils
)

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

installed() {
    # Ubuntu 24.04 renamed some libraries with a t64 suffix (libglib2.0-0t64).
    local name
    for name in "$1" "${1}t64"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$name" 2>/dev/null)" == "install ok installed" ]]; then
            return 0
        fi
    done
    return 1
}

install_system_packages() {
    command -v dpkg-query >/dev/null || die "this script needs Debian or Ubuntu (dpkg/apt-get)"
    local missing=() package
    for package in "${PACKAGES[@]}"; do
        installed "$package" || missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        say "Debian packages: all ${#PACKAGES[@]} present"
        return
    fi
    say "Debian packages missing: ${missing[*]}"
    local sudo=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            printf '\nsetup.sh: cannot install system packages without root. Run:\n\n' >&2
            printf '    sudo apt-get update && sudo apt-get install -y --no-install-recommends %s\n\n' \
                "${missing[*]}" >&2
            printf 'then run %s again.\n' "$0" >&2
            exit 1
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

python_ok() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null
}

make_venv() {
    if [[ -x "$VENV/bin/python" ]] && python_ok "$VENV/bin/python"; then
        say "Reusing $VENV ($("$VENV/bin/python" --version))"
        return
    fi
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3.10+)"
    python_ok "$PYTHON" ||
        die "$PYTHON is $("$PYTHON" --version 2>&1); the app needs Python 3.10 or newer"
    say "Creating $VENV with $("$PYTHON" --version)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
}

install_package() {
    [[ -f "$LOCK" ]] || die "$LOCK is missing (make lock writes it from pyproject.toml)"
    if [[ -f "$STAMP" && "$STAMP" -nt "$ROOT/pyproject.toml" && "$STAMP" -nt "$LOCK" &&
          -x "$VENV/bin/dictation-app" ]]; then
        say "Python packages: up to date (delete $STAMP to force a reinstall)"
        return
    fi
    rm -f "$STAMP"
    local python="$VENV/bin/python" version hint
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    say "Installing the locked Python packages into $VENV"
    # The lock holds pip, setuptools and wheel too: this brings the venv's pip to the
    # locked one on the way, and the project below is built with the locked setuptools
    # rather than the newest one fetched into an isolated build environment.
    if ! "$python" -m pip install --quiet --require-hashes -r "$LOCK"; then
        hint="see pip's message above"
        if [[ "$version" != 3.11 ]]; then
            hint="on Python $version pip may have to build a package from its locked source"
            hint+=" (pocketsphinx on 3.10 and 3.12): install build-essential, or use"
            hint+=" PYTHON=python3.11"
        fi
        die "pip could not install requirements/lock.txt: $hint"
    fi
    (cd "$ROOT" && "$python" -m pip install --quiet --no-deps --no-build-isolation -e .)
    check_lock_covers_pyproject "$python"
    touch "$STAMP"
}

# The project went in with --no-deps, so nothing has yet checked that the lock meets
# pyproject.toml: a dependency added or tightened there without `make lock` would be
# missing or stale without a word. Check every requirement, the dev extras included.
check_lock_covers_pyproject() {
    "$1" - <<'PY' || die "requirements/lock.txt does not meet pyproject.toml: run make lock"
import sys
from importlib.metadata import PackageNotFoundError, requires, version

try:
    from packaging.requirements import Requirement
except ImportError:  # packaging comes with pytest; pip carries its own copy
    from pip._vendor.packaging.requirements import Requirement

problems = []
for line in requires("dictation-app") or []:
    requirement = Requirement(line)
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": "dev"}):
        continue
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        problems.append(f"{requirement.name} is not installed (pyproject.toml: {requirement})")
        continue
    if not requirement.specifier.contains(installed, prereleases=True):
        problems.append(f"{requirement.name} {installed} is installed (pyproject.toml: {requirement})")
for problem in problems:
    print(f"setup.sh: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

install_system_packages
make_venv
install_package
[[ -x "$VENV/bin/dictation-app" ]] || die "$VENV/bin/dictation-app is missing after pip install"
say "Ready: make run | make test | make bench"
