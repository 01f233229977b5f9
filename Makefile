# Everything goes through scripts/setup.sh first, which is fast when nothing changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV := .venv
PYTHON := $(VENV)/bin/python
OFFSCREEN := QT_QPA_PLATFORM=offscreen

.PHONY: setup lock lock-upgrade run test lint typecheck bench bundle bundle-smoke clean

setup:
	bash scripts/setup.sh

# requirements/lock.txt: every package set-up and the bundle install, at one version,
# with the sha256 of each of its files. uv rather than pip-tools, because
# `uv pip compile --universal` writes one lock for every Python from 3.10 and every OS,
# forking a pin with a marker where a package dropped an old Python (numpy 2.2 on 3.10,
# 2.4 after), where pip-compile resolves for the interpreter running it only and would
# need a lock per Python; it is one wheel with no dependencies, and takes seconds.
# `make lock` keeps the versions already in the lock and only adds, drops or moves what
# pyproject.toml now asks for; `make lock-upgrade` moves everything to the newest allowed
# (`make lock LOCK_ARGS='-P numpy'` moves one package). The uv doing it is the locked
# one in .venv; the set-up after it installs the new lock. If set-up stops because the
# lock no longer meets pyproject.toml, uv is installed by then, so `make lock` works.
LOCK_ARGS :=
lock:
	[[ -x $(VENV)/bin/uv ]] || bash scripts/setup.sh || [[ -x $(VENV)/bin/uv ]]
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.10 --generate-hashes \
	    --custom-compile-command 'make lock' --extra dev $(LOCK_ARGS) \
	    --output-file requirements/lock.txt pyproject.toml requirements/build.in
	bash scripts/setup.sh

lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

run: setup
	$(VENV)/bin/dictation-app

# Lint and types first (seconds), then the tests; any failure fails the target.
test: setup lint typecheck
	$(OFFSCREEN) $(PYTHON) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy dictation_app

# Every bench runs even if one fails; the target fails at the end if any did.
bench: setup
	mkdir -p bench/results
	failed=(); \
	for script in bench/bench_*.py; do \
	    name=$$(basename "$$script" .py); \
	    printf '\n==> %s\n\n' "$$name"; \
	    $(OFFSCREEN) $(PYTHON) "$$script" > "bench/results/$$name.md" || failed+=("$$name"); \
	    cat "bench/results/$$name.md"; \
	done; \
	if (( $${#failed[@]} )); then echo "failed: $${failed[*]}" >&2; exit 1; fi

# A one-folder PyInstaller bundle in dist/dictation-app (the one-file variant: see
# packaging/README.md), and its smoke test: --self-test, a window, a transcription.
bundle: setup
	$(VENV)/bin/pyinstaller --noconfirm --clean build.spec

bundle-smoke: bundle
	bash scripts/bundle_smoke.sh dist/dictation-app

clean:
	rm -rf build dist bench/results .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
