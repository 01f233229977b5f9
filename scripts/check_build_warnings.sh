#!/bin/sh
# Builds the wheel as scripts/setup.sh's editable install would (no build isolation) and
# fails if setuptools warns about pyproject.toml (e.g. a deprecated license table).
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python=${PYTHON:-.venv/bin/python}
"$python" -m pip wheel --no-deps --no-build-isolation -w "$out" . >"$out/log" 2>&1 \
    || { cat "$out/log"; exit 1; }
if grep -q "SetuptoolsDeprecationWarning" "$out/log"; then
    grep -A8 "SetuptoolsDeprecationWarning" "$out/log"
    exit 1
fi
echo "build: no setuptools deprecation warnings"
