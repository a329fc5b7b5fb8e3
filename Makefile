# The front door for humans and CI: `make run` serves the local system, `make test` checks it all.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# What each command installs, from lock files with hashes (`make locks` writes them from the
# requirements*.txt beside them). Every lock lists its set's whole closure, so pip installs them
# with --no-deps: the optimiser's set leaves out, on purpose, what it never imports (pandas,
# matplotlib, tqdm; see infra/stacks/optimiser_bundle.py), as its Lambda package does.
RUN_LOCKS := requirements.lock requirements-optimiser.lock requirements-local.lock
TEST_LOCKS := $(RUN_LOCKS) requirements-dev.lock
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
PIP_INSTALL := $(PY) -m pip install -qq --disable-pip-version-check

.PHONY: run demo test lint types unit infra bench locks coldstart clean browser

# The venv on Python 3.12 (the Lambda runtime's), made anew if it is missing or on another Python.
define python312_venv
	@py=$$(scripts/find-python312) && \
	  { [ -x $(PY) ] && $(PY) -c 'import sys; assert sys.version_info[:2]==(3,12)' 2>/dev/null || { rm -rf $(VENV) && $$py -m venv $(VENV); }; }
endef

# Running needs the API, the optimiser's engines, Chalice's local server and moto.
$(RUN_STAMP): pyproject.toml $(RUN_LOCKS)
	$(python312_venv)
	$(PIP_INSTALL) --require-hashes --no-deps $(addprefix -r ,$(RUN_LOCKS))
	$(PIP_INSTALL) --no-deps -e .
	touch $@

# Testing adds the toolchain: pytest, ruff, mypy, the CDK library, cfn-lint, Playwright...
$(TEST_STAMP): $(RUN_STAMP) requirements-dev.lock
	$(PIP_INSTALL) --require-hashes --no-deps $(addprefix -r ,$(TEST_LOCKS))
	touch $@

# Debian's Chromium for the browser tests (driven by Playwright's Python package; no download of
# Playwright's own browsers). Installed only when missing.
$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  -o Dpkg::Use-Pty=0 chromium >/dev/null

browser: $(CHROMIUM)

run: $(RUN_STAMP)
	PORT=$(PORT) $(VENV)/bin/python -m chalicelib.local

# One parcel from webhook to doorstep against the `make run` in another shell (paste its
# export block there first: API, ADMIN_KEY, MERCHANT_KEY, ...).
demo: $(RUN_STAMP)
	$(VENV)/bin/lastmile demo

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(TEST_STAMP)
	$(VENV)/bin/mypy

unit: $(TEST_STAMP)
	$(VENV)/bin/pytest tests/unit -q

infra: $(TEST_STAMP)
	scripts/synth

test: lint types infra $(TEST_STAMP) $(CHROMIUM)
	$(VENV)/bin/pytest -q

bench: $(TEST_STAMP)
	$(VENV)/bin/lastmile bench

# The API package as deployed: its cold-start import time and unzipped size (README).
coldstart: $(RUN_STAMP)
	$(VENV)/bin/lastmile coldstart

# Rewrite the locks from requirements*.txt (uv, run from PyPI): Python 3.12 on x86_64 Linux,
# the Lambda runtime's and this project's machines'. Each set after the first is constrained by
# the ones it is installed beside, so the same package has the same pin everywhere.
UV := $(VENV)/bin/uv
LOCK := $(UV) pip compile --quiet --generate-hashes --no-header --python-version 3.12 \
	  --python-platform x86_64-manylinux_2_28
locks: $(TEST_STAMP)
	$(LOCK) requirements.txt -o requirements.lock
	$(LOCK) --no-deps requirements-optimiser.txt -c requirements.lock -o requirements-optimiser.lock
	$(LOCK) requirements-local.txt -c requirements.lock -c requirements-optimiser.lock \
	  -o requirements-local.lock
	$(LOCK) requirements-dev.txt -c requirements.lock -c requirements-optimiser.lock \
	  -c requirements-local.lock -o requirements-dev.lock
	$(LOCK) requirements-lake.txt -c requirements.lock -o requirements-lake.lock

clean:
	rm -rf $(VENV) infra/cdk.out infra/chalice.out infra/node_modules .pytest_cache .mypy_cache .ruff_cache
