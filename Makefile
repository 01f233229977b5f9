# Everything goes through scripts/setup.sh first, which is fast when nothing changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV := .venv
PYTHON := $(VENV)/bin/python
OFFSCREEN := QT_QPA_PLATFORM=offscreen

.PHONY: setup run test lint typecheck bench bundle bundle-smoke clean

setup:
	bash scripts/setup.sh

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
