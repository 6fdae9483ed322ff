# Trial EDC. The two commands: `make run` (demo at http://127.0.0.1:8000) and `make test`.
# Database: DATABASE_URL if set, else an embedded PostgreSQL under var/pg (trialedc/devdb.py).
# Broker: REDIS_URL if set (a Celery worker and beat run beside the server), else in-process.

SHELL := /bin/bash
VENV ?= .venv
# The machine's python3, as a newcomer has it (3.11 to 3.13; Django 5.2 LTS: decision 0004).
# `make test PYTHON=python3.13 VENV=.venv-3.13` tests another supported Python beside it.
PYTHON ?= python3
PY := $(VENV)/bin/python
WITH_DB := $(PY) trialedc/devdb.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Test processes: one per core (each with its own test database); files stay whole on a worker,
# so a module's shared fixture (the demo trial the crawls read) is built once.
TEST_WORKERS ?= auto

.PHONY: install run test lint format messages bench fuzz clean help

help:
	@echo "make run     - install, migrate, load the demo trial and serve http://$(HOST):$(PORT)"
	@echo "make test    - the whole test suite (browser tests need /usr/bin/chromium)"
	@echo "make install - create $(VENV) and install the project with its dev extras"
	@echo "make lint    - ruff, mypy, import contracts and the missing-migrations check"
	@echo "make messages - collect new interface strings into locale/fa/.../django.po, compile it"
	@echo "make bench   - the benchmarks (slow; 10,000 synthetic participants)"
	@echo "make fuzz    - hostile input to every form, 20,000 new examples each, and 500 new"
	@echo "               hostile posts to every form page through HTTP, and 300 generated calls"
	@echo "               to every REST API operation from its OpenAPI schema (slow)"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
		echo "Python 3.11 to 3.13 is needed; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
		"Set PYTHON=/path/to/python3.11 (docs/decisions/0004)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: install
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(WITH_DB) bash -euc '\
		$(PY) manage.py migrate --no-input; \
		$(PY) manage.py load_demo; \
		if [ -n "$${REDIS_URL:-}" ]; then \
			$(VENV)/bin/celery -A trialedc worker --loglevel=INFO & \
			$(VENV)/bin/celery -A trialedc beat --loglevel=INFO & \
			trap "kill 0" EXIT; \
		else \
			$(PY) manage.py run_schedules --loop 120 & \
			trap "kill 0" EXIT; \
		fi; \
		$(PY) manage.py runserver $(HOST):$(PORT)'

# The whole suite (no PYTEST_ARGS) leaves a record of its wall time, counts and commit in
# var/last-test-run.json, which `make bench` reports (tests/run_record.py).
test: install
	$(if $(PYTEST_ARGS),,TRIALEDC_TEST_RUN_RECORD=var/last-test-run.json) $(WITH_DB) \
		$(PY) -m pytest -m "not bench" -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		$(PYTEST_ARGS)

fuzz: install
	$(WITH_DB) env FUZZ_EXAMPLES=20000 FUZZ_HTTP_EXAMPLES=500 FUZZ_API_EXAMPLES=300 FUZZ_RANDOM=1 \
		$(PY) -m pytest -p no:randomly -n $(TEST_WORKERS) --dist loadfile \
		tests/test_fuzz_forms.py tests/test_fuzz_http.py tests/test_api_fuzz.py $(PYTEST_ARGS)

bench: install
	$(WITH_DB) bash -c '$(PY) -m pytest -m bench -p no:randomly $(PYTEST_ARGS); rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "no benchmarks yet"; exit 0; fi; exit $$rc'

# Static checks (decision 0018): style, types (mypy with django-stubs: pyproject.toml), import
# contracts (.importlinter), and models in step with their migrations. That last one needs no
# database server: the URL is a closed port, and makemigrations's warning that it cannot read the
# applied migrations is silenced (which ones a database has applied is not the question here).
LINT_DATABASE_URL := postgres://lint@127.0.0.1:1/lint
NO_HISTORY_WARNING := ignore:Got an error checking a consistent migration history:RuntimeWarning

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_DEBUG=true DATABASE_URL=$(LINT_DATABASE_URL) $(PY) -W "$(NO_HISTORY_WARNING)" \
		manage.py makemigrations --check --dry-run

# The Persian catalogue: new strings into django.po (translate them there: any PO editor), then
# compile django.mo. tests/test_i18n_catalogue.py fails on an untranslated or fuzzy entry.
messages: install
	DJANGO_DEBUG=true $(PY) manage.py makemessages -l fa --no-obsolete
	msgfmt --check -o locale/fa/LC_MESSAGES/django.mo locale/fa/LC_MESSAGES/django.po

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var/static .pytest_cache
