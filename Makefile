# Lead Engine — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
# The dev chain: anvil from npm `@foundry-rs/anvil` (package.json) on 127.0.0.1:$(ANVIL_PORT).
NODE_STAMP := node_modules/.installed
ANVIL_PORT ?= 8545
export ANVIL_PORT
export CHAIN_RPC_URL ?= http://127.0.0.1:$(ANVIL_PORT)
# `make run` keeps the chain next to its database so both survive restarts together.
ANVIL_STATE ?= $(if $(SQLITE_PATH),$(dir $(SQLITE_PATH))anvil-state.json,.data/anvil-state.json)

.PHONY: run test install install-test install-node install-promtool services bench contracts clean help

help:
	@echo "make run   - set up and serve the marketplace at http://$(HOST):$(PORT) (embedded profile)"
	@echo "make test  - set up and run the whole suite against PostgreSQL (+ replica), Redis, Celery, Chromium"
	@echo "make bench - run the benchmarks under bench/ and print their figures"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(TEST_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-test: $(TEST_STAMP)

# node_modules (anvil, solc) at the lock file's versions, only when missing or out of date.
# `npm install`, not `npm ci`: npm 11 writes only this platform's optional anvil binary into the
# lock and `npm ci` then refuses the lock as out of sync; `npm install` follows it unchanged.
$(NODE_STAMP): package.json $(wildcard package-lock.json)
	npm install --no-audit --no-fund
	@touch $@
install-node: $(NODE_STAMP)

run: install
	@mkdir -p .data
	@$(MAKE) -s install-node || echo "WARNING: npm could not install node_modules: no dev chain (the marketplace runs without it)"
	DJANGO_SETTINGS_MODULE=config.settings.embedded $(PY) manage.py migrate --noinput -v 0
	DJANGO_SETTINGS_MODULE=config.settings.embedded $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=config.settings.embedded $(PY) manage.py seed_demo_leads
	@# Without anvil the marketplace still runs; sales then stay in the ledger (no settlement).
	@export DJANGO_SETTINGS_MODULE=config.settings.embedded; \
	anvil_pid=$$(scripts/anvil.sh up --state "$(ANVIL_STATE)" --log .data/anvil.log); anvil_ok=$$?; \
	trap 'scripts/anvil.sh down "$$anvil_pid"' EXIT; trap 'exit 130' INT TERM; \
	if [ $$anvil_ok -eq 0 ]; then \
	  $(PY) manage.py chain_deploy && $(PY) manage.py seed_demo_chain \
	    || echo "WARNING: chain_deploy failed: contracts are not deployed (sales stay in the ledger)"; \
	else echo "WARNING: no dev chain on $(CHAIN_RPC_URL) (see .data/anvil.log): serving the marketplace without it"; fi; \
	echo "Lead Engine is starting at http://$(HOST):$(PORT)/ (Ctrl-C stops it)"; \
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) config.asgi:application

services:
	scripts/services.sh

# promtool checks and unit-tests the alert rules (tests/analytics/test_alert_rules.py); it comes
# with Debian's `prometheus` package, installed only when missing. The package's own server is
# not wanted here: where apt's policy lets it start (a host with systemd), it is stopped and
# disabled again (it was not installed before, so it is nobody's).
PROMETHEUS_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
install-promtool:
	@command -v promtool >/dev/null || { \
	  { $(PROMETHEUS_INSTALL) || { apt-get update -qq >/dev/null && $(PROMETHEUS_INSTALL); }; } \
	    || { echo "could not install promtool (Debian package prometheus)"; exit 1; }; \
	  { systemctl disable --now prometheus || service prometheus stop; } >/dev/null 2>&1 || true; \
	}

test: install-test $(NODE_STAMP) services install-promtool
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest $(PYTEST_ARGS)

bench: install-test $(NODE_STAMP) services
	@command -v wrk >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; } || { echo "could not install wrk"; exit 1; }
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m bench

# Solidity (chain/contracts/*.sol) -> chain/artifacts/*.json with the pinned solc-js; commit the result.
contracts: $(NODE_STAMP)
	node chain/build.mjs

clean:
	rm -rf .data $(VENV)
