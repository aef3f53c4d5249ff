# Two commands on a fresh machine: `make run` (the local stack) and `make test` (everything CI checks).
# Both build their own virtual environments from the pinned requirements.

SHELL := /bin/bash
# This Makefile's directory: `sam build` runs the build-<LogicalId> targets below from a scratch copy of the code.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
# python3.13 (the Lambda runtime), found whatever the caller's pyenv state: `PYTHON=/path/to/python3.13` overrides.
ifndef PYTHON
PYTHON := $(shell for p in python3.13 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 \
  /usr/local/bin/python3.13 /usr/bin/python3.13; do \
  $$p -c 'import sys; assert sys.version_info[:2] == (3, 13); print(sys.executable)' 2>/dev/null && break; done)
endif
UV_VERSION := 0.13.9
UV_BIN := $(ROOT)/.uv/bin/uv
# uv's build locks go under .uv, not the system's temp directory (make run leaves nothing there).
UV := TMPDIR=$(ROOT)/.uv/tmp $(UV_BIN)
VENV := .venv
TOOLS := .tools
CHECKOV := .checkov
# The local stack's region (local/config.py), which `sam local` is given too.
LOCAL_REGION := eu-west-3
# sam validate needs a region and some credentials: fake ones, on purpose, given to the template's checks alone.
# Nothing here sets AWS credentials for anything else: `make deploy` and `make publish` run with the caller's own.
FAKE_AWS := AWS_DEFAULT_REGION=$(LOCAL_REGION) AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1
# The browser tests drive Debian's chromium (Playwright cannot download its own browser here).
export CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# The template's layers and functions, built by the build-<LogicalId> targets at the end.
LAYER_IDS := SealingLayer OrdersLayer ConsoleLayer
FUNCTIONS := Cgi1Function CheckoutFunction Cgi2Function ConfirmationConsumerFunction BackofficeFunction \
  DeferredSweeperFunction GiveBackFunction OrderEventsFunction OrderMailFunction ReconciliationFunction \
  ReconciliationPartsFunction GoLiveFunction ShopKeyAuthorizerFunction ConsoleFunction

.PHONY: python run test test-kit test-fast docs lint typecheck dist template policy pytest sam-local functional e2e \
  bench build deploy publish clean sandbox-vendor browser toolchains screenshots \
  $(addprefix build-,$(LAYER_IDS) $(FUNCTIONS))

python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "python3.13 not found (the Lambda runtime): install it, or run make PYTHON=/path/to/python3.13" >&2; \
	  exit 1; fi
	@echo "python: $(PYTHON)"

# uv builds the virtual environments (seconds instead of minutes); it is itself pinned and bootstrapped with pip.
$(UV_BIN): | python
	$(PYTHON) -m venv $(ROOT)/.uv
	$(ROOT)/.uv/bin/pip install -q uv==$(UV_VERSION)
	mkdir -p $(ROOT)/.uv/tmp

# The layers, the kit's own tools (stacktools, pyproject.toml) and the simulator (simulator/pyproject.toml) are
# installed editable: `.venv/bin/python -m sealing` and `.venv/bin/python -m local` work as printed, from anywhere.
LAYER_DIRS := layers/sealing layers/orders layers/console
EDITABLE := $(foreach layer,$(LAYER_DIRS),-e $(layer)) -e . -e simulator
LAYER_FILES := $(foreach layer,$(LAYER_DIRS),$(layer)/pyproject.toml $(wildcard $(layer)/requirements.txt)) pyproject.toml \
  simulator/pyproject.toml

# `make run` installs the runtime set only (requirements/run.txt); `make test` adds the dev toolchain to the same
# venv, at the same pins.
$(VENV)/.run-stamp: requirements/run.txt $(LAYER_FILES) | $(UV_BIN)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install -q --python $(VENV)/bin/python -r requirements/run.txt $(EDITABLE)
	touch $@

$(VENV)/.stamp: requirements/dev.txt $(VENV)/.run-stamp
	$(UV) pip install -q --python $(VENV)/bin/python -r requirements/dev.txt $(EDITABLE)
	touch $@

$(TOOLS)/.stamp: requirements/tools.txt | $(UV_BIN)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(TOOLS)
	$(UV) pip install -q --python $(TOOLS)/bin/python -r requirements/tools.txt
	touch $@

# The documentation site's MkDocs and Material theme: their own environment (requirements/docs.txt).
DOCS := .docs
$(DOCS)/.stamp: requirements/docs.txt | $(UV_BIN)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(DOCS)
	$(UV) pip install -q --python $(DOCS)/bin/python -r requirements/docs.txt
	touch $@

# checkov pins a boto3 the SAM CLI cannot share: its own environment.
$(CHECKOV)/.stamp: requirements/checkov.txt | $(UV_BIN)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(CHECKOV)
	$(UV) pip install -q --python $(CHECKOV)/bin/python -r requirements/checkov.txt
	touch $@

run: $(VENV)/.run-stamp
	$(VENV)/bin/python -m local

test: lint typecheck template policy docs pytest security

# The edit-test loop: ruff and the unit tier (tests/unit: in process, no network, no subprocess, no moto server,
# nothing built), in about 20 s. `make test` runs it again with every other tier.
test-fast: $(VENV)/.stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest tests/unit

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# `sealing` is also a wheel for Python 3.10 and later (make dist): checked as 3.10 sees it, so that no newer syntax
# or standard library slips in.
typecheck: $(VENV)/.stamp
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --python-version 3.10 layers/sealing/sealing

# `sealing` as a wheel and an sdist in dist/, for a shop that uses it on its own (layers/sealing/README.md).
dist: | $(UV_BIN)
	$(UV) build -q --python $(PYTHON) --out-dir dist layers/sealing

# The documentation site (mkdocs.yml, docs/) into site/: --strict, so a broken link, a missing anchor or a page
# left out of the navigation fails the build (never --quiet: it hides the warnings strict counts).
docs: $(DOCS)/.stamp
	NO_MKDOCS_2_WARNING=1 $(DOCS)/bin/mkdocs build --strict

# sam build wants a python3.13 with pip on PATH: the one found above goes there, whatever pyenv's shims say.
SAM_BUILD = PATH="$(abspath $(TOOLS))/bin:$(dir $(PYTHON)):$$PATH" $(TOOLS)/bin/sam build --cached --parallel
template: $(TOOLS)/.stamp
	@if [ -f template.yaml ]; then \
	  $(FAKE_AWS) $(TOOLS)/bin/cfn-lint template.yaml && \
	  $(FAKE_AWS) $(TOOLS)/bin/sam validate --lint && \
	  $(FAKE_AWS) $(TOOLS)/bin/sam validate --region $(LOCAL_REGION) && \
	  $(SAM_BUILD); \
	fi

# The deployed template's tests read it through samtranslator, which lives in the tools environment.
# checkov on the template and on what the SAM transform makes of it; skipped checks and why: .checkov.yaml.
policy: $(TOOLS)/.stamp $(CHECKOV)/.stamp
	mkdir -p .aws-sam
	$(TOOLS)/bin/python tests/support/translate.py template.yaml > .aws-sam/transformed.json
	$(CHECKOV)/bin/checkov --config-file .checkov.yaml -f template.yaml -f .aws-sam/transformed.json

# Every tier: the kit's (tests/: unit, functional, integration) and the simulator's (simulator/tests: unit,
# integration, sandbox, e2e, browser), pyproject's testpaths.
pytest: $(VENV)/.stamp $(TOOLS)/.stamp $(DOCS)/.stamp browser toolchains
	$(VENV)/bin/python -m pytest -n auto --dist loadfile

# The kit's tiers alone: no browser, no simulator on the path (tests/unit/test_test_layout.py keeps it so).
KIT_PYTHONPATH := layers/sealing layers/orders layers/console .
test-kit: $(VENV)/.stamp $(TOOLS)/.stamp $(DOCS)/.stamp
	$(VENV)/bin/python -m pytest tests -n auto --dist loadfile -o pythonpath="$(KIT_PYTHONPATH)"

# `sam local` against make run's embedded AWS (needs Docker): the exact commands. The functions get
# simulator/local/sam-env.json (the local table, secret and queue, at an address containers reach).
SAM_LOCAL = --env-vars simulator/local/sam-env.json --region $(LOCAL_REGION) \
  --add-host host.docker.internal:host-gateway
sam-local:
	@echo "# 1. the embedded AWS where containers reach it (0.0.0.0: your network too; on Linux the docker0"
	@echo "#    address, from 'ip -4 addr show docker0', keeps it off the network: give that instead)"
	@echo "LOCAL_AWS_HOST=0.0.0.0 LOCAL_AWS_PORT=4566 make run"
	@echo "# 2. in another terminal: build, then invoke one function with a sample event, or serve the API"
	@echo "make build"
	@echo "$(TOOLS)/bin/sam local invoke Cgi1Function -e events/create_order.json $(SAM_LOCAL)"
	@echo "$(TOOLS)/bin/sam local invoke Cgi1Function -e events/get_order.json $(SAM_LOCAL)"
	@echo "$(TOOLS)/bin/sam local invoke CheckoutFunction -e events/checkout.json $(SAM_LOCAL)"
	@echo "$(TOOLS)/bin/sam local invoke Cgi2Function -e events/confirmation_accepted.json $(SAM_LOCAL)"
	@echo "$(TOOLS)/bin/sam local start-api --port 3100 $(SAM_LOCAL)"

# Debian's chromium for the browser tests (tests/browser), installed when it is missing. The tests fail, never
# skip, without it.
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing chromium for the browser tests (apt-get)"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; \
	fi

# The shop examples' toolchains (examples/: simulator/tests/e2e/test_examples.py runs each), from Debian's packages
# when one is missing: PHP with curl, Node.js 18+, a JDK 17 (the source launcher needs javac's module), jq. The
# tests fail, never skip, naming what is missing.
toolchains:
	@missing=""; \
	  php -r 'exit(function_exists("curl_init") ? 0 : 1);' 2>/dev/null || missing="$$missing php-cli php-curl"; \
	  node -e 'process.exit(typeof fetch === "function" ? 0 : 1)' 2>/dev/null || missing="$$missing nodejs"; \
	  command -v javac >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	  command -v jq >/dev/null || missing="$$missing jq"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing the examples' toolchains (apt-get):$$missing"; \
	    $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	  fi

# Run the browser journeys and refresh the README's screenshots from their artifacts.
screenshots: $(VENV)/.stamp browser
	$(VENV)/bin/python -m pytest simulator/tests/browser
	mkdir -p docs/screenshots
	cp test-artifacts/payment-page.png test-artifacts/receipt.png test-artifacts/shop-order-paid.png \
	  test-artifacts/payment-refused.png test-artifacts/dashboard-deferred.png test-artifacts/dashboard-refund.png \
	  test-artifacts/checkout-de.png test-artifacts/payment-page-it.png test-artifacts/payment-refused-en.png \
	  test-artifacts/receipt-es.png docs/screenshots/
	cp test-artifacts/console-orders-fr.png test-artifacts/console-order-fr.png \
	  test-artifacts/console-capture-confirm-fr.png test-artifacts/console-attention-en.png \
	  test-artifacts/console-books-en.png test-artifacts/console-terminals-en.png \
	  test-artifacts/console-sign-in-en.png test-artifacts/console-order-viewer-en.png docs/screenshots/

# `chalice deploy` (from simulator/sandbox/) packages its vendor/ at the function's root: put `sealing` there first.
SANDBOX_VENDOR := simulator/sandbox/vendor
sandbox-vendor:
	rm -rf $(SANDBOX_VENDOR)
	mkdir -p $(SANDBOX_VENDOR)
	cp -R layers/sealing/sealing $(SANDBOX_VENDOR)/sealing
	find $(SANDBOX_VENDOR) -name __pycache__ -prune -exec rm -rf {} +

# bandit on the code (medium severity and up; the checks ruff's S rules already enforce line by line are skipped
# in pyproject.toml) and pip-audit on the pinned requirements: a known vulnerability fails; a package its database
# cannot vouch for is named in a WARNING, never passed over in silence.
SECURITY := .security
.PHONY: security
$(SECURITY)/.stamp: requirements/security.txt | $(UV_BIN)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(SECURITY)
	$(UV) pip install -q --python $(SECURITY)/bin/python -r requirements/security.txt
	touch $@

security: $(SECURITY)/.stamp $(VENV)/.stamp
	$(SECURITY)/bin/bandit -q -c pyproject.toml -r layers functions stacktools simulator benchmarks -ll
	@# One run per environment: .tools pins its own boto3, which pip-audit would take for a conflict.
	for set in dev tools security docs; do \
	  $(SECURITY)/bin/pip-audit -r requirements/$$set.txt --no-deps --disable-pip --progress-spinner off \
	    -f json -o $(SECURITY)/audit-$$set.json || exit 1; done
	$(VENV)/bin/python -m tests.support.pip_audit_report $(SECURITY)/audit-*.json

build: $(TOOLS)/.stamp | python
	$(SAM_BUILD)

# `make deploy`: build, then deploy the stack of ENV (samconfig.toml's environments: test, the default, or prod)
# with the caller's own AWS credentials and region (environment, profile, SSO). GUIDED=1 asks every parameter and
# saves the answers in samconfig.toml: the first deployment of each environment needs it. ENV is taken from the
# command line only (`make deploy ENV=prod`): the shell's own $$ENV is something else.
ENV = test
deploy: $(TOOLS)/.stamp | python
	@grep -q '^\[$(ENV)\.deploy\.parameters\]' samconfig.toml || \
	  { echo "ENV=$(ENV): samconfig.toml deploys ENV=test or ENV=prod" >&2; exit 2; }
	$(SAM_BUILD)
	$(TOOLS)/bin/sam deploy --config-env $(ENV)$(if $(GUIDED), --guided)

# `make publish BUCKET=<bucket>`: build, upload the code, README.md and LICENSE into the bucket (which the
# Serverless Application Repository must be allowed to read: docs/publish.md), and publish the application
# at template.yaml's SemanticVersion to the Serverless Application Repository of the caller's region, private
# until shared. The caller's own credentials, as for a deploy.
SAR_NAME := monetico-merchant-kit
publish: $(TOOLS)/.stamp | python
	@test -n "$(BUCKET)" || \
	  { echo "make publish BUCKET=<bucket>: the S3 bucket the application's code goes to" >&2; exit 2; }
	$(SAM_BUILD)
	$(TOOLS)/bin/sam package --s3-bucket $(BUCKET) --s3-prefix $(SAR_NAME) --output-template-file .aws-sam/packaged.yaml
	$(TOOLS)/bin/sam publish --template .aws-sam/packaged.yaml

# The cost figures (README, Evidence): each exits non-zero when a goal is missed. The cold-start ratio measures
# the built artifacts (as Lambda imports them), so it builds them first.
bench: $(VENV)/.stamp build
	$(VENV)/bin/python benchmarks/bench.py
	$(VENV)/bin/python benchmarks/cold_start.py

# -- sam build (BuildMethod: makefile): build-<LogicalId> runs in a scratch copy of the resource's code, and puts
# what Lambda gets in $(ARTIFACTS_DIR). Lambda's code directories are read-only, so a .pyc not shipped is compiled
# again on every cold start: compile everything now, hash-based and unchecked (the zip keeps no timestamps, and
# the code never changes under a version).
COMPILE = $(PYTHON) -m compileall -q -f -j 0 --invalidation-mode unchecked-hash
NO_PYCACHE = find $(ARTIFACTS_DIR) -name __pycache__ -prune -exec rm -rf {} +

build-SealingLayer: | python
	mkdir -p $(ARTIFACTS_DIR)/python
	cp -R sealing $(ARTIFACTS_DIR)/python/
	$(NO_PYCACHE)
	$(COMPILE) $(ARTIFACTS_DIR)/python

# The layer's dependencies (Powertools, tzdata, Jinja2) for Lambda's platform, whatever this machine is; the X-Ray
# SDK without its own (its botocore is the runtime's).
LAYER_INSTALL = $(UV) pip install -q --target $(ARTIFACTS_DIR)/python --python-platform aarch64-manylinux2014 \
  --python-version 3.13 --only-binary :all:
build-OrdersLayer: | python $(UV_BIN)
	mkdir -p $(ARTIFACTS_DIR)/python
	$(LAYER_INSTALL) -r requirements.txt
	$(LAYER_INSTALL) --no-deps -r requirements-no-deps.txt
	rm -rf $(ARTIFACTS_DIR)/python/bin $(ARTIFACTS_DIR)/python/.lock
	cp -R orders $(ARTIFACTS_DIR)/python/
	$(NO_PYCACHE)
	$(COMPILE) $(ARTIFACTS_DIR)/python

# The console's package with its templates, texts and stylesheet; its dependencies (Jinja2, Powertools) are the
# orders layer's.
build-ConsoleLayer: | python
	mkdir -p $(ARTIFACTS_DIR)/python
	cp -R console $(ARTIFACTS_DIR)/python/
	$(NO_PYCACHE)
	$(COMPILE) $(ARTIFACTS_DIR)/python

$(addprefix build-,$(FUNCTIONS)): | python
	mkdir -p $(ARTIFACTS_DIR)
	cp *.py $(ARTIFACTS_DIR)/
	$(NO_PYCACHE)
	$(COMPILE) $(ARTIFACTS_DIR)

clean:
	rm -rf .uv $(VENV) $(TOOLS) $(CHECKOV) $(SECURITY) $(DOCS) site .aws-sam .pytest_cache .mypy_cache .ruff_cache dist
