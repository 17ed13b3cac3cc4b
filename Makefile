# Lead Engine — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run test install install-test services bench contracts clean help

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

run: install
	@mkdir -p .data
	DJANGO_SETTINGS_MODULE=config.settings.embedded $(PY) manage.py migrate --noinput -v 0
	DJANGO_SETTINGS_MODULE=config.settings.embedded $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=config.settings.embedded $(PY) manage.py seed_demo_leads
	@echo "Lead Engine is starting at http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	DJANGO_SETTINGS_MODULE=config.settings.embedded exec $(VENV)/bin/daphne -b $(HOST) -p $(PORT) config.asgi:application

services:
	scripts/services.sh

test: install-test services
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest $(PYTEST_ARGS)

bench: install-test services
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m bench

clean:
	rm -rf .data $(VENV)
