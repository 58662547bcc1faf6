# finlake — every target bootstraps what it needs (venv, packages, cached JARs).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export FINLAKE_CACHE_DIR ?= $(HOME)/.cache/finlake
export PIP_DISABLE_PIP_VERSION_CHECK := 1

DEMO_DAYS ?= 120
DEMO_CUSTOMERS ?= 300
PYTEST_ARGS ?=

.PHONY: install jars test test-fast lint format demo clean chromium

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m jobs.bootstrap
	@touch $(STAMP)

install: $(STAMP)

jars: install
	$(PY) -m jobs.bootstrap

# Everything the suite needs is built here (Airflow venv, Chromium); a skipped test fails it.
test: install airflow-venv chromium
	FINLAKE_FORBID_SKIPS=1 $(PY) -m pytest $(PYTEST_ARGS)

chromium:  # the dashboard's real-browser test: installed with apt-get when run as root
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (apt-get) for the dashboard browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "make test needs Chromium: run 'sudo apt-get update && sudo apt-get install -y chromium'" >&2; \
	  exit 1; \
	fi

test-fast: install
	$(PY) -m pytest -m "not integration and not slow" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: install
	$(VENV)/bin/finlake demo --days $(DEMO_DAYS) --customers $(DEMO_CUSTOMERS)

clean:
	rm -rf lakehouse .pytest_cache .mypy_cache .ruff_cache

include infra.mk
include airflow.mk
include bench.mk
