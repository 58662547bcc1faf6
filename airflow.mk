# finlake — Airflow 3 in its own virtual environment (included from the Makefile, or run alone:
# `make -f airflow.mk airflow-venv`).
#
# Airflow never shares .venv with the jobs: apache-airflow-providers-apache-spark pulls
# `pyspark-client`, which installs a second `pyspark` package over the real one. The DAGs in
# dags/ therefore import nothing of ours and run the jobs through $(VENV)/bin/python (see
# docs/airflow.md).
#
#   make airflow-venv          build .venv-airflow once (stamp file; pip's wheel cache reused)
#   make airflow-db            AIRFLOW_HOME=.airflow, SQLite metadata DB, `airflow db migrate`
#   make airflow-standalone    scheduler + API server + DAG processor + triggerer on loopback
#   make airflow-dags-check    import every DAG (DagBag) and list import errors
#   make airflow-test          the Airflow tests (tests/dags, run from the jobs venv)
#   make airflow-clean         remove .venv-airflow and .airflow

SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
export PIP_DISABLE_PIP_VERSION_CHECK := 1

AIRFLOW_VERSION ?= 3.3.2
AIRFLOW_SPARK_PROVIDER_VERSION ?= 6.3.4
AIRFLOW_AMAZON_PROVIDER_VERSION ?= 9.39.0
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_PY := $(AIRFLOW_VENV)/bin/python
AIRFLOW_BIN := $(AIRFLOW_VENV)/bin/airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-airflow$(AIRFLOW_VERSION)-spark$(AIRFLOW_SPARK_PROVIDER_VERSION)-amazon$(AIRFLOW_AMAZON_PROVIDER_VERSION)
AIRFLOW_HOME_DIR ?= $(CURDIR)/.airflow
AIRFLOW_PORT ?= 8080
# Optional pip constraints file (for example Airflow's published constraints for this version,
# vendored): AIRFLOW_CONSTRAINTS=path/to/constraints-3.11.txt make airflow-venv
AIRFLOW_CONSTRAINTS ?=

# Environment for every Airflow command: local home, SQLite, our dags/ folder, no examples,
# and the jobs environment the DAG tasks call (dags/_common.py reads FINLAKE_HOME/FINLAKE_PYTHON).
AIRFLOW_ENV := AIRFLOW_HOME=$(AIRFLOW_HOME_DIR) \
  AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
  AIRFLOW__CORE__LOAD_EXAMPLES=False \
  AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(AIRFLOW_HOME_DIR)/airflow.db \
  AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
  FINLAKE_HOME=$(CURDIR) \
  FINLAKE_PYTHON=$(CURDIR)/$(VENV)/bin/python

.PHONY: airflow-venv airflow-db airflow-standalone airflow-dags-check airflow-test airflow-clean

$(AIRFLOW_STAMP):
	@test -x $(AIRFLOW_PY) || $(PYTHON) -m venv $(AIRFLOW_VENV)
	@start=$$(date +%s); \
	nice -n 10 $(AIRFLOW_PY) -m pip install -q --upgrade pip && \
	nice -n 10 $(AIRFLOW_PY) -m pip install -q \
	  $(if $(AIRFLOW_CONSTRAINTS),--constraint $(AIRFLOW_CONSTRAINTS)) \
	  apache-airflow==$(AIRFLOW_VERSION) \
	  apache-airflow-providers-apache-spark==$(AIRFLOW_SPARK_PROVIDER_VERSION) \
	  apache-airflow-providers-amazon==$(AIRFLOW_AMAZON_PROVIDER_VERSION) && \
	echo "airflow-venv: installed in $$(( $$(date +%s) - start )) s"
	@$(AIRFLOW_PY) -c 'import airflow.sdk, airflow.providers.standard, airflow.providers.apache.spark, airflow.providers.amazon.aws.operators.emr'
	@touch $@

airflow-venv: $(AIRFLOW_STAMP)

$(AIRFLOW_HOME_DIR)/airflow.db: $(AIRFLOW_STAMP)
	@mkdir -p $(AIRFLOW_HOME_DIR)
	$(AIRFLOW_ENV) $(AIRFLOW_BIN) db migrate

airflow-db: $(AIRFLOW_HOME_DIR)/airflow.db

# Local all-in-one Airflow. The login is printed on start (simple auth manager); the password
# file lives in .airflow/. Backfills (`airflow backfill create`) need this scheduler running.
airflow-standalone: airflow-db
	$(AIRFLOW_ENV) $(AIRFLOW_BIN) standalone

airflow-dags-check: airflow-db
	$(AIRFLOW_ENV) $(AIRFLOW_BIN) dags list-import-errors
	$(AIRFLOW_ENV) $(AIRFLOW_BIN) dags list

airflow-test: airflow-venv
	$(VENV)/bin/python -m pytest -m airflow tests/dags

airflow-clean:
	rm -rf $(AIRFLOW_VENV) $(AIRFLOW_HOME_DIR)
