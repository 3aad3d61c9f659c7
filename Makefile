# hoso — two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-pg bench lint system-deps clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

# eark-validator pins lxml 5.1.0 while pyHanko needs >=5.4: it gets its own environment (tests call its CLI)
EARK := .venv-eark
$(EARK)/.installed:
	$(PYTHON) -m venv $(EARK)
	$(EARK)/bin/pip install --quiet --upgrade pip
	$(EARK)/bin/pip install --quiet "eark-validator==1.1.3"
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# npm packages the tests use, from the npm registry at the locked versions: axe-core for the browser
# tests' accessibility check, oidc-provider (and jose) for the single sign-on tests' OpenID provider
node_modules/.installed: package.json package-lock.json
	scripts/install-node-deps
	touch $@

## make run: install, migrate, serve the archive on the embedded default (SQLite + ./hoso-data)
run: export HOSO_TRUST_DEMO_ROOT ?= 1
run: $(BIN)/.installed
	scripts/install-system-deps deps/debian-run.txt
	$(BIN)/hoso db upgrade
	$(BIN)/hoso serve --host $(HOST) --port $(PORT)

## make test: install test dependencies and system packages, lint (ruff, mypy, the layout's shape), run the whole suite
test: $(BIN)/.installed-test $(EARK)/.installed system-deps node_modules/.installed lint
	$(BIN)/python -m pytest

## make test-pg: the same suite against PostgreSQL (HOSO_TEST_DATABASE_URL, default the local server)
test-pg: export HOSO_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test-pg: test

system-deps:
	scripts/install-system-deps deps/debian-run.txt
	scripts/install-system-deps deps/debian.txt

## make bench: throughput beside the raw library, printed as ratios
bench: $(BIN)/.installed-test
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/sign.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/retention.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/upload.py
	$(BIN)/python bench/ingest_api.py
	$(BIN)/python bench/video.py
	$(BIN)/python bench/copy_memory.py
	$(BIN)/python bench/ocr.py

## make lint: ruff (rules and format), mypy (config in pyproject.toml) and the layout's shape (scripts/check-shape)
lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/check-shape

clean:
	rm -rf $(VENV) $(EARK) node_modules .pytest_cache .ruff_cache
