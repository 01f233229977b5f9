#!/usr/bin/env bash
# Smoke-test a built one-folder bundle (this script builds nothing):
#
#   scripts/bundle_smoke.sh [BUNDLE_DIR]      # default: dist/dictation-app
#
# Every run of the bundle gets an empty environment (env -i, PATH=/usr/bin:/bin, a fresh
# HOME), so nothing can come from the venv or the developer's settings. Checks:
#   version      --version prints the package version
#   self-test    --self-test (Qt, audio backend, codecs, engine model, settings, keyring)
#   window       the window opens offscreen and saves a screenshot within 60 s, then quits
#                (DICTATION_APP_SCREENSHOT, DICTATION_APP_EXIT_AFTER_SHOWN)
#   serve        `serve --port 0` prints its READY line
#   stream       `stream` of a generated 16 kHz WAV: the engine starts as a child of the
#                bundle's executable and decodes; exit status 0
#   transcribe   `transcribe --provider local --format json` of the same speech as M4A/AAC:
#                FFmpeg (PyAV) decodes it in the bundle, the engine's file-job child runs
#                as the bundle's executable, and the JSON has timed segments
#   build-paths  no path of the build machine (repo, venv) in the bundle's files, its
#                Python archives or any RUNPATH
# Needs sox (test audio); espeak-ng makes the audio speech instead of a tone. The archive
# part of build-paths needs the venv's Python with PyInstaller (skipped without it).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="${1:-$ROOT/dist/dictation-app}"
EXE="$BUNDLE/dictation-app"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WINDOW_TIMEOUT=60

if [ ! -x "$EXE" ]; then
    echo "bundle_smoke: no executable at $EXE; build the bundle first" >&2
    exit 2
fi
BUNDLE="$(cd "$BUNDLE" && pwd)"
EXE="$BUNDLE/dictation-app"

WORK="$(mktemp -d)"
CHILDREN=()
cleanup() {
    for pid in "${CHILDREN[@]}"; do kill "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $1${2:+ - $2}"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+ - $2}"; }

# A clean environment per run: an empty HOME also gives each run its own settings and
# its own single-instance socket, so a Dictation the developer has open is not raised.
run_clean() {
    local home
    home="$(mktemp -d "$WORK/home.XXXX")"
    env -i PATH=/usr/bin:/bin HOME="$home" XDG_RUNTIME_DIR="$home" LANG=C.UTF-8 \
        QT_QPA_PLATFORM=offscreen "$@"
}

# --- version -------------------------------------------------------------------
expected_version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/dictation_app/__init__.py")"
version_out="$(run_clean "$EXE" --version 2>&1)"
if [ "$version_out" = "dictation-app $expected_version" ]; then
    pass version "$version_out"
else
    fail version "expected 'dictation-app $expected_version', got '$version_out'"
fi

# --- self-test -----------------------------------------------------------------
if run_clean timeout 120 "$EXE" --self-test >"$WORK/self-test.log" 2>&1; then
    pass self-test "$(tail -n 1 "$WORK/self-test.log")"
else
    fail self-test "exit $?"
fi
sed 's/^/     | /' "$WORK/self-test.log"

# --- window --------------------------------------------------------------------
shot="$WORK/window.png"
run_clean env DICTATION_APP_SCREENSHOT="$shot" DICTATION_APP_EXIT_AFTER_SHOWN=1 \
    "$EXE" >"$WORK/window.log" 2>&1 &
window_pid=$!
CHILDREN+=("$window_pid")
started=$SECONDS
while [ $((SECONDS - started)) -lt "$WINDOW_TIMEOUT" ]; do
    # A PNG starts with \x89PNG; test the magic so a half-written file does not count.
    if [ -s "$shot" ] && [ "$(head -c 4 "$shot" | tail -c 3)" = "PNG" ]; then
        break
    fi
    if ! kill -0 "$window_pid" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
if [ -s "$shot" ]; then
    # It was asked to quit once shown: give it time to shut the engine down cleanly.
    for _ in $(seq 1 150); do
        kill -0 "$window_pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$window_pid" 2>/dev/null; then
        kill "$window_pid"
        fail window "screenshot saved, but the app did not quit within 30 s after it"
    else
        wait "$window_pid"
        window_status=$?
        if [ "$window_status" = 0 ]; then
            pass window "screenshot after $((SECONDS - started)) s or less, $(stat -c %s "$shot") bytes"
        else
            fail window "screenshot saved, but the app exited with status $window_status"
        fi
    fi
    if [ -n "${SMOKE_KEEP_SCREENSHOT:-}" ]; then
        cp "$shot" "$SMOKE_KEEP_SCREENSHOT"
    fi
elif kill -0 "$window_pid" 2>/dev/null; then
    kill "$window_pid"
    fail window "no screenshot within ${WINDOW_TIMEOUT} s"
    tail -n 15 "$WORK/window.log" | sed 's/^/     | /'
else
    wait "$window_pid"
    fail window "the app exited with status $? before its window was shown"
    tail -n 15 "$WORK/window.log" | sed 's/^/     | /'
fi

# --- serve ---------------------------------------------------------------------
run_clean "$EXE" serve --port 0 >"$WORK/serve.log" 2>&1 &
serve_pid=$!
CHILDREN+=("$serve_pid")
ready=""
for _ in $(seq 1 150); do
    if grep -q "READY" "$WORK/serve.log"; then
        ready="$(grep -m 1 "READY" "$WORK/serve.log")"
        break
    fi
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.2
done
kill "$serve_pid" 2>/dev/null
wait "$serve_pid" 2>/dev/null
if [ -n "$ready" ]; then
    pass serve "$ready"
else
    fail serve "no READY line within 30 s"
    tail -n 15 "$WORK/serve.log" | sed 's/^/     | /'
fi

# --- stream --------------------------------------------------------------------
wav="$WORK/speech-16k.wav"
if command -v espeak-ng >/dev/null 2>&1 && command -v sox >/dev/null 2>&1; then
    espeak-ng -w "$WORK/speech.wav" "the weather is nice today. please open the window." &&
        sox "$WORK/speech.wav" -r 16000 -c 1 -b 16 "$wav"
elif command -v sox >/dev/null 2>&1; then
    sox -n -r 16000 -c 1 -b 16 "$wav" synth 3 sine 300:900 vol 0.3
fi
if [ ! -s "$wav" ]; then
    fail stream "could not generate test audio (needs sox; apt-get install sox espeak-ng)"
elif run_clean timeout 120 "$EXE" stream --pace fast "$wav" >"$WORK/stream.log" 2>&1; then
    pass stream "transcript: $(tr '\n' ' ' <"$WORK/stream.log" | cut -c 1-100)"
else
    status=$?
    fail stream "exit $status"
    tail -n 15 "$WORK/stream.log" | sed 's/^/     | /'
fi

# --- transcribe ----------------------------------------------------------------
m4a="$WORK/speech.m4a"
if [ -s "$wav" ] && [ -x "$PYTHON" ]; then
    "$PYTHON" - "$wav" "$m4a" <<'PY' || true
import sys

import av
import soundfile

samples, rate = soundfile.read(sys.argv[1], dtype="int16")
with av.open(sys.argv[2], "w") as out:
    stream = out.add_stream("aac", rate=rate, layout="mono")
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    for packet in [*stream.encode(frame), *stream.encode(None)]:
        out.mux(packet)
PY
fi
if [ ! -s "$m4a" ]; then
    fail transcribe "could not make the M4A test file (needs the venv's Python with PyAV)"
elif run_clean timeout 120 "$EXE" transcribe --provider local --format json "$m4a" \
        >"$WORK/transcribe.json" 2>"$WORK/transcribe.log" &&
        "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert d["provider"] == "local" and d["segments"], d
assert all(s["end"] > s["start"] >= 0 for s in d["segments"]), d' "$WORK/transcribe.json"; then
    pass transcribe "text: $("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["text"][:90])' "$WORK/transcribe.json")"
else
    fail transcribe "exit $?"
    tail -n 15 "$WORK/transcribe.log" | sed 's/^/     | /'
fi

# --- build-paths ---------------------------------------------------------------
# The repo path and the venv path must appear nowhere. (The base interpreter's prefix
# may remain as inert text inside libpython and _sysconfigdata; RUNPATHs are checked.)
needles=("$ROOT")
if [ -x "$PYTHON" ]; then
    needles+=("$("$PYTHON" -c 'import sys; print(sys.prefix)')")
fi
problems=()
for needle in "${needles[@]}"; do
    hits="$(grep -r -l -a -F "$needle" "$BUNDLE" 2>/dev/null | head -n 5)"
    [ -n "$hits" ] && problems+=("'$needle' in: $(echo "$hits" | tr '\n' ' ')")
done
if command -v readelf >/dev/null 2>&1; then
    while IFS= read -r -d '' file; do
        runpath="$(readelf -d "$file" 2>/dev/null | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p')"
        for entry in ${runpath//:/ }; do
            case "$entry" in
                '$ORIGIN'*) ;;
                *) problems+=("RUNPATH $entry in ${file#"$BUNDLE"/}") ;;
            esac
        done
    done < <(find "$BUNDLE" -type f \( -name '*.so*' -o -perm -u+x \) -print0)
fi
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import PyInstaller' 2>/dev/null; then
    archive_hits="$("$PYTHON" - "$EXE" "$BUNDLE/_internal/base_library.zip" "${needles[@]}" <<'PY'
import sys
import zipfile
from PyInstaller.archive.readers import CArchiveReader

exe, base_library, *needles = sys.argv[1:]
wanted = [n.encode() for n in needles]
hits = []
archive = CArchiveReader(exe)
for name in archive.toc:
    data = archive.extract(name)
    if isinstance(data, bytes) and any(n in data for n in wanted):
        hits.append(f"PKG:{name}")
pyz = archive.open_embedded_archive("PYZ.pyz")
for name in pyz.toc:
    data = pyz.extract(name, raw=True)
    if isinstance(data, bytes) and any(n in data for n in wanted):
        hits.append(f"PYZ:{name}")
with zipfile.ZipFile(base_library) as zf:
    hits += [f"base_library:{i.filename}" for i in zf.infolist()
             if any(n in zf.read(i) for n in wanted)]
print(" ".join(hits[:10]))
PY
)"
    [ -n "$archive_hits" ] && problems+=("in the Python archives: $archive_hits")
    archives_note="archives checked"
else
    archives_note="archives not checked (no $PYTHON with PyInstaller)"
fi
if [ ${#problems[@]} -eq 0 ]; then
    pass build-paths "none of ${needles[*]}; no absolute RUNPATH; $archives_note"
else
    fail build-paths "${problems[*]}"
fi

echo "bundle-smoke: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
