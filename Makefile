# Two commands on a fresh machine: `make demo` and `make test`. Both set everything up first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup system system-deps test test-pythons test-newest-python lint typecheck pytest demo lab screenshots bench clean

setup: system $(STAMP)

system:
	@{ command -v ffprobe && command -v chromium; } >/dev/null 2>&1 || $(MAKE) --no-print-directory system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# Debian's ffmpeg gives the ffprobe backend and the cross-check tests their binary; Debian's
# chromium is the browser the browser tests drive through Playwright (never `playwright install`).
# Without root or apt the package still works: PyAV needs no ffmpeg, fix falls back to
# imageio-ffmpeg, and the browser tests skip saying why.
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			ffmpeg chromium fonts-dejavu-core >/dev/null; \
	else \
		echo "note: no root apt-get: install ffmpeg and chromium for the ffprobe and browser tests"; \
	fi

lint: setup
	$(VENV)/bin/ruff check realavatar_nb tests bench
	$(VENV)/bin/ruff format --check realavatar_nb tests bench

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The suite again on the other versions requires-python claims, each in its own .venv-3.x. pip takes
# other releases there (PyAV 19 has no wheel for 3.11), so this is where their changes show first.
OTHER_PYTHONS ?= 3.12 3.13
# A version not on the machine fails the target; MISSING_PYTHON=note says it was not tested and goes on.
MISSING_PYTHON ?= fail
test-pythons: system
	@for v in $(OTHER_PYTHONS); do \
		py=; for c in $$(command -v python$$v) $$(ls -d $$HOME/.pyenv/versions/$$v.*/bin/python$$v 2>/dev/null | sort -V); do \
			$$c -c pass 2>/dev/null && py=$$c; \
		done; \
		if [ -z "$$py" ]; then \
			echo "python$$v: not found, so NOT TESTED; install it and run make test-pythons again"; \
			[ "$(MISSING_PYTHON)" = note ] && continue; exit 1; \
		fi; \
		echo "== Python $$v ($$py)"; \
		$(MAKE) --no-print-directory pytest VENV=.venv-$$v PYTHON=$$py PYTEST_ARGS="$(PYTEST_ARGS)" || exit 1; \
	done

# CI's share of that on the newest Python claimed: the tests of what pip installs differently there
# (PyAV 19, the sqlite3 module under threads): media, the ledger, uploads, the emulator's videos and
# downloads, the claim itself. About 3 minutes after the install; make test-pythons runs everything.
NEWEST_PYTHON_TESTS := tests/media tests/test_ledger.py tests/test_ledger_schema.py tests/test_uploads.py \
	tests/test_uploads_processes.py tests/simulator/test_render.py tests/simulator/test_downloads.py \
	tests/test_environment.py
test-newest-python:
	$(MAKE) --no-print-directory test-pythons OTHER_PYTHONS=3.13 MISSING_PYTHON=note PYTEST_ARGS="$(NEWEST_PYTHON_TESTS)"

# The three notebooks, executed on the emulator into build/demo (notebooks, HTML exports, report, videos).
demo: setup
	$(VENV)/bin/realavatar-nb demo --out build/demo --notebooks notebooks

# JupyterLab on this folder, opening the tutorial (build/demo holds the executed copies).
lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/01_tutorial.ipynb \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# Retake the README's screenshots: the browser tests save them into docs/screenshots.
screenshots: setup
	REALAVATAR_SCREENSHOTS=docs/screenshots $(PY) -m pytest -m browser -q

bench: setup
	$(PY) bench/probe.py
	$(PY) bench/emulator.py
	$(PY) bench/pipeline.py
	$(PY) bench/faces.py

clean:
	rm -rf $(VENV) .venv-3.* build .pytest_cache .mypy_cache .ruff_cache
