# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make demo   offline nightly run over the demo archive in demo/ (into ./data)
#   make test   the test suite
# `make nightly` runs the live nightly job against the real portals.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo nightly serve test lint bench install clean-data

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tenderwatch needs Python 3.11 or newer: set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo archive holds ccgp column pages: the source and its mode are named, whatever tenderwatch.toml enables.
demo: $(STAMP)
	$(BIN)/python flows.py nightly --replay demo --sources ccgp --spider-arg mode=columns

nightly: $(STAMP)
	$(BIN)/python flows.py nightly

# Runs the nightly job on its schedule (tenderwatch.toml [schedule]) until stopped, with its own Prefect server
# (database in data/prefect/) unless PREFECT_API_URL names one.
serve: $(STAMP)
	$(BIN)/python flows.py serve

# One worker per core (pytest-xdist); --dist loadfile keeps a file's tests on one worker, so a module-scoped crawl
# or flow run is paid once, not once per worker. Each worker starts its own temporary Prefect server.
# --no-loadscope-reorder keeps the order tests/conftest.py gives (longest files first) instead of xdist's (most tests
# first), so the run does not end on one long file while the other core idles.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean-data:
	rm -rf data
