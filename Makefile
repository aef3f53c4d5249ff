# Two commands on a fresh machine: `make run` (the local stack) and `make test` (everything CI checks).
# Both build their own virtual environments from the pinned requirements.

SHELL := /bin/bash
export PYENV_VERSION ?= 3.13.0:3.11.7
PYTHON ?= python3.13
VENV := .venv
TOOLS := .tools
# sam validate needs a region and some credentials; these are fake on purpose, never real ones.
export AWS_DEFAULT_REGION ?= eu-west-3
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1
# The browser tests drive Debian's chromium (Playwright cannot download its own browser here).
export CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test lint typecheck template unit functional e2e bench build clean sandbox-vendor browser screenshots

$(VENV)/.stamp: requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements/dev.txt
	touch $@

$(TOOLS)/.stamp: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --upgrade pip
	$(TOOLS)/bin/pip install -q -r requirements/tools.txt
	touch $@

run: $(VENV)/.stamp
	$(VENV)/bin/python -m local

test: lint typecheck template unit

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.stamp
	$(VENV)/bin/mypy

template: $(TOOLS)/.stamp
	@if [ -f template.yaml ]; then \
	  $(TOOLS)/bin/cfn-lint template.yaml && \
	  $(TOOLS)/bin/sam validate --lint && \
	  $(TOOLS)/bin/sam validate --region $(AWS_DEFAULT_REGION) && \
	  PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" $(TOOLS)/bin/sam build --cached --parallel; \
	fi

unit: $(VENV)/.stamp browser
	$(VENV)/bin/python -m pytest

# Debian's chromium for the browser tests (tests/browser), installed when it is missing. The tests fail, never
# skip, without it.
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing chromium for the browser tests (apt-get)"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; \
	fi

# Run the browser journeys and refresh the README's screenshots from their artifacts.
screenshots: $(VENV)/.stamp browser
	$(VENV)/bin/python -m pytest tests/browser
	mkdir -p docs/screenshots
	cp test-artifacts/payment-page.png test-artifacts/receipt.png test-artifacts/shop-order-paid.png \
	  test-artifacts/payment-refused.png test-artifacts/dashboard-deferred.png test-artifacts/dashboard-refund.png \
	  docs/screenshots/

# `chalice deploy` (from sandbox/) packages sandbox/vendor/ at the function's root: put `sealing` there first.
sandbox-vendor:
	rm -rf sandbox/vendor
	mkdir -p sandbox/vendor
	cp -R layers/sealing/sealing sandbox/vendor/sealing
	find sandbox/vendor -name __pycache__ -prune -exec rm -rf {} +

bench: $(VENV)/.stamp
	$(VENV)/bin/python benchmarks/verify_confirmation.py

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
