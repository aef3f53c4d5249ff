# Two commands on a fresh machine: `make run` (the local stack) and `make test` (everything CI checks).
# Both build their own virtual environments from the pinned requirements.

SHELL := /bin/bash
# python3.13 (the Lambda runtime), found whatever the caller's pyenv state: `PYTHON=/path/to/python3.13` overrides.
ifndef PYTHON
PYTHON := $(shell for p in python3.13 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 \
  /usr/local/bin/python3.13 /usr/bin/python3.13; do \
  $$p -c 'import sys; assert sys.version_info[:2] == (3, 13); print(sys.executable)' 2>/dev/null && break; done)
endif
UV_VERSION := 0.13.9
UV_BIN := .uv/bin/uv
# uv's build locks go under .uv, not the system's temp directory (make run leaves nothing there).
UV := TMPDIR=$(CURDIR)/.uv/tmp $(UV_BIN)
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

.PHONY: python run test lint typecheck template unit functional e2e bench build clean sandbox-vendor browser screenshots

python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "python3.13 not found (the Lambda runtime): install it, or run make PYTHON=/path/to/python3.13" >&2; \
	  exit 1; fi
	@echo "python: $(PYTHON)"

# uv builds the virtual environments (seconds instead of minutes); it is itself pinned and bootstrapped with pip.
$(UV_BIN): | python
	$(PYTHON) -m venv .uv
	.uv/bin/pip install -q uv==$(UV_VERSION)
	mkdir -p .uv/tmp

# The layers are installed editable (layers/*/pyproject.toml): `.venv/bin/python -m sealing` works as printed.
LAYERS := layers/sealing layers/orders
EDITABLE := $(foreach layer,$(LAYERS),-e $(layer))
LAYER_FILES := $(foreach layer,$(LAYERS),$(layer)/pyproject.toml $(layer)/requirements.txt)

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

run: $(VENV)/.run-stamp
	$(VENV)/bin/python -m local

test: lint typecheck template unit security

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.stamp
	$(VENV)/bin/mypy

# sam build wants a python3.13 with pip on PATH: the one found above goes there, whatever pyenv's shims say.
template: $(TOOLS)/.stamp
	@if [ -f template.yaml ]; then \
	  $(TOOLS)/bin/cfn-lint template.yaml && \
	  $(TOOLS)/bin/sam validate --lint && \
	  $(TOOLS)/bin/sam validate --region $(AWS_DEFAULT_REGION) && \
	  PATH="$(CURDIR)/$(TOOLS)/bin:$(dir $(PYTHON)):$$PATH" $(TOOLS)/bin/sam build --cached --parallel; \
	fi

unit: $(VENV)/.stamp browser
	$(VENV)/bin/python -m pytest -n auto --dist loadfile

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
	$(SECURITY)/bin/bandit -q -c pyproject.toml -r layers functions local sandbox shop benchmarks -ll
	@# One run per environment: .tools pins its own boto3, which pip-audit would take for a conflict.
	for set in dev tools security; do \
	  $(SECURITY)/bin/pip-audit -r requirements/$$set.txt --no-deps --disable-pip --progress-spinner off \
	    -f json -o $(SECURITY)/audit-$$set.json || exit 1; done
	$(VENV)/bin/python -m tests.support.pip_audit_report $(SECURITY)/audit-*.json

# The cost figures (README, Evidence): exits non-zero when a goal is missed.
bench: $(VENV)/.stamp
	$(VENV)/bin/python benchmarks/bench.py

clean:
	rm -rf .uv $(VENV) $(TOOLS) $(SECURITY) .aws-sam .pytest_cache .mypy_cache .ruff_cache
