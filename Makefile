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

# spark-submit distribution and a local Spark standalone cluster (docs/scale.md, docs/airflow.md)
DIST ?= dist
SPARK_CLUSTER_DIR ?= .spark-cluster
SPARK_MASTER_PORT ?= 7077
SPARK_MASTER_UI_PORT ?= 8091
SPARK_WORKERS ?= 2
SPARK_WORKER_CORES ?= 1
SPARK_WORKER_MEMORY ?= 2g
SPARK_MASTER ?= spark://127.0.0.1:$(SPARK_MASTER_PORT)
JOB ?= bronze_job
ARGS ?=
SPARK_DAEMON = SPARK_HOME=$$($(PY) -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))') \
  SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR=$(CURDIR)/$(SPARK_CLUSTER_DIR)/logs \
  SPARK_PID_DIR=$(CURDIR)/$(SPARK_CLUSTER_DIR)/pids SPARK_WORKER_DIR=$(CURDIR)/$(SPARK_CLUSTER_DIR)/work \
  bash -c '"$$SPARK_HOME"/sbin/spark-daemon.sh "$$@"' spark-daemon

.PHONY: install jars test test-fast lint format demo clean dist dist-venv spark-cluster-up \
  spark-cluster-down spark-submit chromium

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

# Wheel (package data included), the same files as a code archive for spark-submit, and
# dist/spark-submit.json (launch settings of the Airflow spark_submit runner).
dist: install
	$(PY) -m jobs.bootstrap dist --dir $(DIST)

# The jobs venv packed for nodes without it (EMR Serverless, YARN): finlake (the wheel) and
# every dependency in one archive, used as `spark.archives=dist/finlake_venv.tar.gz#environment`
# with `spark.pyspark.python=./environment/bin/python`. Build it on the nodes' OS (CD builds it on
# Amazon Linux 2023 for EMR); the interpreter itself is not in the archive.
dist-venv: dist
	rm -rf $(DIST)/pack-venv $(DIST)/finlake_venv.tar.gz
	$(PYTHON) -m venv $(DIST)/pack-venv
	$(DIST)/pack-venv/bin/pip install -q venv-pack==0.2.0 $(DIST)/finlake-*.whl
	$(DIST)/pack-venv/bin/venv-pack -q -p $(DIST)/pack-venv -o $(DIST)/finlake_venv.tar.gz
	rm -rf $(DIST)/pack-venv

# A Spark standalone cluster on loopback from the installed pyspark: master UI on
# http://127.0.0.1:$(SPARK_MASTER_UI_PORT), $(SPARK_WORKERS) workers; logs in $(SPARK_CLUSTER_DIR)/logs.
spark-cluster-up: install
	$(SPARK_DAEMON) start org.apache.spark.deploy.master.Master 1 --host 127.0.0.1 \
	  --port $(SPARK_MASTER_PORT) --webui-port $(SPARK_MASTER_UI_PORT)
	for i in $$(seq 1 $(SPARK_WORKERS)); do \
	  $(SPARK_DAEMON) start org.apache.spark.deploy.worker.Worker $$i --host 127.0.0.1 \
	    --webui-port 0 --cores $(SPARK_WORKER_CORES) --memory $(SPARK_WORKER_MEMORY) $(SPARK_MASTER); \
	done

spark-cluster-down:
	-for i in $$(seq 1 $(SPARK_WORKERS)); do \
	  $(SPARK_DAEMON) stop org.apache.spark.deploy.worker.Worker $$i; done
	-$(SPARK_DAEMON) stop org.apache.spark.deploy.master.Master 1

# One job on a cluster: make spark-submit JOB=gold_job ARGS="--full" [SPARK_MASTER=spark://...]
spark-submit: dist
	PYSPARK_PYTHON=$(abspath $(PY)) $(VENV)/bin/spark-submit --master $(SPARK_MASTER) \
	  $$($(PY) -m jobs.spark --app finlake-$(subst _job,,$(JOB)) --dist $(DIST)) jobs/$(JOB).py $(ARGS)

clean:
	rm -rf lakehouse .pytest_cache .mypy_cache .ruff_cache $(DIST) $(SPARK_CLUSTER_DIR)

include infra.mk
include airflow.mk
include bench.mk
