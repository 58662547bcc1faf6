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

.PHONY: install jars test test-fast lint format demo clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m jobs.bootstrap
	@touch $(STAMP)

install: $(STAMP)

jars: install
	$(PY) -m jobs.bootstrap

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

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
