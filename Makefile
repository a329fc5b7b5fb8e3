# The front door for humans and CI: `make run` serves the local system, `make test` checks it all.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test lint types unit infra bench clean browser

$(STAMP): pyproject.toml requirements.txt requirements-optimiser.txt requirements-dev.txt
	@py=$$(scripts/find-python312) && \
	  { [ -x $(PY) ] && $(PY) -c 'import sys; assert sys.version_info[:2]==(3,12)' 2>/dev/null || { rm -rf $(VENV) && $$py -m venv $(VENV); }; }
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -e '.[routing,dev]'
	touch $(STAMP)

# Debian's Chromium for the browser tests (driven by Playwright's Python package; no download of
# Playwright's own browsers). Installed only when missing.
$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  -o Dpkg::Use-Pty=0 chromium >/dev/null

browser: $(CHROMIUM)

run: $(STAMP)
	PORT=$(PORT) $(VENV)/bin/python -m chalicelib.local

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit -q

infra: $(STAMP)
	scripts/synth

test: lint types infra $(STAMP) $(CHROMIUM)
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(VENV)/bin/lastmile bench

clean:
	rm -rf $(VENV) infra/cdk.out infra/chalice.out infra/node_modules .pytest_cache .mypy_cache .ruff_cache
