# Two commands on a fresh machine: `make run` (set up and serve) and `make test` (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# A Python >= 3.12: python3.13, python3.12, then pyenv's installations (pyenv shims that point nowhere fail the probe).
PYTHON_CANDIDATES := python3.13 python3.12 python3 $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.1[3-9]*/bin/python3) $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin/python3) $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3)
find_python = $(firstword $(foreach c,$(PYTHON_CANDIDATES),$(shell $(c) -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && command -v $(c))))

.PHONY: help setup run serve test lint format bench deps assets messages migrate seed worker clean backup restore

# Links in e-mails, letters and code sheets point where `make run` serves (unless PORTAL_URL is set).
run worker: export PORTAL_URL ?= http://$(HOST):$(PORT)

help:
	@echo "make run    set everything up and serve the portal on http://$(HOST):$(PORT)"
	@echo "make test   run the whole test suite (in parallel; one file alone: make test PYTEST_ARGS=\"-n 0 tests/...\")"
	@echo "make setup  set-up only (venv, dependencies, npm assets, translations, migrations, demo data)"
	@echo "make lint   ruff check, ruff format --check, import contracts, makemigrations --check"
	@echo "make bench  run the benchmarks and print their figures"
	@echo "make serve  serve with gunicorn as in production (gunicorn.conf.py; DJANGO_DEBUG=0)"
	@echo "make worker run a Celery worker with beat (needs REDIS_URL)"
	@echo "make format ruff --fix and ruff format"
	@echo "make backup  write one archive (database, media files, SHA-256 manifest) into backups/"
	@echo "make restore FILE=backups/vielfalt-....tar  restore an archive into an empty database and media folder"
	@echo "make clean  remove the virtual environment, node_modules and collected static files"

$(VENV)/.installed: requirements.lock requirements-dev.lock
	@PYBIN="$(call find_python)"; \
	if [ -z "$$PYBIN" ]; then echo "No Python >= 3.12 found (tried python3.13, python3.12, pyenv)." >&2; exit 1; fi; \
	echo "Using $$PYBIN"; \
	[ -x $(PY) ] || "$$PYBIN" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock -r requirements-dev.lock
	touch $@

deps: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: node_modules/.installed

messages: deps
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

migrate: deps
	$(PY) manage.py migrate --noinput -v 0

seed: migrate
	@if [ ! -s .demo-password ]; then $(PY) -c 'import secrets; print(secrets.token_urlsafe(12))' > .demo-password; fi
	$(PY) manage.py seed_demo --password="$$(cat .demo-password)"

setup: deps assets messages seed
	$(PY) manage.py collectstatic --noinput -v 0
	@echo
	@echo "Demo users: admin, ministerium, hr-duisburg, hr-oberhausen, schulung-oberhausen"
	@echo "Password:   $$(cat .demo-password)"

# With REDIS_URL set, a Celery worker (and beat) runs beside the development server.
run: setup
	@echo "Serving the portal on http://$(HOST):$(PORT)"
	@if [ -n "$$REDIS_URL" ]; then \
		trap 'kill 0' EXIT INT TERM; \
		$(VENV)/bin/celery -A vielfalt worker --beat --loglevel=INFO --concurrency=2 & \
		$(PY) manage.py runserver $(HOST):$(PORT); \
	else \
		$(PY) manage.py runserver $(HOST):$(PORT); \
	fi

# Production mode: gunicorn with gunicorn.conf.py (redacted access log); needs DJANGO_DEBUG=0 and its variables.
serve: deps
	$(VENV)/bin/gunicorn vielfalt.wsgi:application --bind $(HOST):$(PORT)

worker: deps
	$(VENV)/bin/celery -A vielfalt worker --beat --loglevel=INFO

# The suite runs in TEST_WORKERS processes (pytest-xdist): most tests wait on Chromium, PostgreSQL, a server or a
# Celery worker, so two overlap well even on two cores. One per core, at least 2 and at most 4 (each worker has its
# own test database and Redis database, tests/parallel.py). One file alone, in this process:
# `make test PYTEST_ARGS="-n 0 tests/vielfalt/test_seed.py"` (or TEST_WORKERS=0).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 2 ? 2 : n > 4 ? 4 : n )))

test: deps assets messages
	$(PY) manage.py collectstatic --noinput -v 0
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py makemigrations --check --dry-run

format: deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: deps assets messages
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) tests/bench/run.py

# One archive (database dump, media files, manifest with SHA-256 sums) into backups/ (BACKUP_DIR overrides).
BACKUP_DIR ?= backups
backup: deps
	$(PY) manage.py backup --output-dir "$(BACKUP_DIR)"

# Into an EMPTY database (DATABASE_URL) and media folder (MEDIA_ROOT) only; every sum and row count is checked.
restore: deps
	@if [ -z "$(FILE)" ]; then echo "usage: make restore FILE=backups/vielfalt-YYYYMMDD-HHMMSS.tar" >&2; exit 2; fi
	$(PY) manage.py restore "$(FILE)"

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache
