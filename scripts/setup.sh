#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine to run, test and benchmark the app:
# the system packages (Qt, audio, virtual microphone, test speech), then .venv
# with the package installed editable with its dev extras. Safe to re-run: it
# installs only what is missing and skips pip while .venv/.setup-stamp is newer
# than pyproject.toml.
#
#   PYTHON=python3.12 scripts/setup.sh   # choose the interpreter for a new .venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.setup-stamp"
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
    # audio: PortAudio for sounddevice, libsndfile for soundfile
    libportaudio2 libsndfile1
    # the virtual microphone the tests use (PulseAudio + its ALSA plugin)
    pulseaudio pulseaudio-utils libasound2-plugins
    # test speech: synthesise and convert
    espeak-ng sox
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
    if [[ -f "$STAMP" && "$STAMP" -nt "$ROOT/pyproject.toml" && -x "$VENV/bin/dictation-app" ]]; then
        say "Python packages: up to date (delete $STAMP to force a reinstall)"
        return
    fi
    say "Installing dictation-app and its dev dependencies into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet -e '.[dev]')
    touch "$STAMP"
}

install_system_packages
make_venv
install_package
[[ -x "$VENV/bin/dictation-app" ]] || die "$VENV/bin/dictation-app is missing after pip install"
say "Ready: make run | make test | make bench"
