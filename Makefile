# Organisatrice: `make run` to try it, `make test` to check it. `make help` lists every target.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PICCOLO_CONF := organisatrice.piccolo_conf

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the app with its development tools

# Run inside frontend/: node_modules as the lock file says, installed again when the lock changed.
NPM_DEPS := (test -f node_modules/.package-lock.json -a ! package-lock.json -nt node_modules/.package-lock.json || npm ci --no-audit --no-fund)

frontend: ## Build the tablet UI into organisatrice/static (when frontend/ exists)
	@if [ -f frontend/package.json ]; then \
		cd frontend && $(NPM_DEPS) && npm run build; \
	fi

frontend-check: ## svelte-check: types and Svelte diagnostics of the tablet UI, warnings fail
	cd frontend && $(NPM_DEPS) && npm run check

frontend-test: ## The tablet UI's unit tests (vitest: catalogues, formats, routes, errors)
	cd frontend && $(NPM_DEPS) && npm test

api-client: install ## Regenerate the UI's typed API client (frontend/openapi.json, schema.d.ts)
	DATA_DIR=$$(mktemp -d) $(BIN)/organisatrice schema openapi --output frontend/openapi.json
	cd frontend && $(NPM_DEPS) && npm run api

api-client-check: install ## Fail when the committed API client no longer matches the API
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	DATA_DIR=$$tmp/data $(BIN)/organisatrice schema openapi --output $$tmp/openapi.json >/dev/null && \
	cd frontend && $(NPM_DEPS) >/dev/null && \
	API_SCHEMA=$$tmp/openapi.json API_TYPES=$$tmp/schema.d.ts npm run --silent api >/dev/null 2>&1 && \
	if cmp -s $$tmp/openapi.json openapi.json && cmp -s $$tmp/schema.d.ts src/lib/api/schema.d.ts; then \
		echo "API client is up to date"; \
	else \
		diff -u openapi.json $$tmp/openapi.json | head -60; \
		echo "The API changed: run 'make api-client' and commit frontend/openapi.json and frontend/src/lib/api/schema.d.ts"; \
		exit 1; \
	fi

migrate: install ## Apply database migrations (DATABASE_URL, default SQLite in ./data)
	$(BIN)/organisatrice migrate

migration: install ## New migration from table changes: make migration APP=mail DESC="why"
	@test -n "$(APP)" || (echo 'say which room: make migration APP=orders DESC="..."' && exit 2)
	DATA_DIR=$$(mktemp -d) $(BIN)/piccolo migrations new $(APP) --auto --desc="$(DESC)"

run: system-packages install frontend migrate ## Set everything up, load demo data on first start, serve
	$(BIN)/organisatrice demo-data --if-empty
	SMTP_CAPTURE=1 INBOUND_IN_APP=1 $(BIN)/organisatrice serve

# Debian packages the app needs at run time: WeasyPrint's text stack and the fonts the PDFs use.
RUNTIME_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
# Only for the suite: a PostgreSQL server to start and throw away, Chromium for the UI tests,
# and what the benchmarks' smoke test runs against (a few seconds to install): Postfix for its
# smtp-sink, and libvips. Postfix is installed with "No configuration": no mail server is set up
# or started, the package only brings smtp-sink.
TEST_DEBS := postgresql chromium postfix libvips42
# `make bench`: the throwaway PostgreSQL, smtp-sink, libvips; and in .venv only (never a
# dependency of the app) the libvips binding and a profiler.
BENCH_DEBS := postgresql postfix libvips42
BENCH_PIP := pyvips pyinstrument
POSTFIX_UNCONFIGURED := dpkg -s postfix >/dev/null 2>&1 || \
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

define apt_install_missing
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

system-packages: ## Install the Debian packages the app needs (PDF rendering)
	$(call apt_install_missing,$(RUNTIME_DEBS))

test-packages: system-packages
	@$(POSTFIX_UNCONFIGURED)
	$(call apt_install_missing,$(TEST_DEBS))

bench-packages: system-packages install
	@$(POSTFIX_UNCONFIGURED)
	$(call apt_install_missing,$(BENCH_DEBS))
	@$(BIN)/python -c "import pyvips, pyinstrument" 2>/dev/null || $(BIN)/pip install -q $(BENCH_PIP)

bench: bench-packages ## Benchmarks against their baselines, into bench/results.md (SIZE=tiny: a quick run)
	$(BIN)/python -m bench --size $(or $(SIZE),full)

lint: install ## ruff, ruff format --check, mypy --strict
	$(BIN)/ruff check organisatrice tests bench
	$(BIN)/ruff format --check organisatrice tests bench
	$(BIN)/mypy --strict organisatrice

test: test-packages bench-packages install lint frontend-check frontend-test api-client-check frontend ## Lint, then the whole suite on SQLite (blobs in a folder) and on PostgreSQL (blobs in SeaweedFS)
	@echo "=== the suite on SQLite, blobs in a folder ==="
	env -u DATABASE_URL -u BLOB_URL $(BIN)/pytest
	@echo "=== the suite on PostgreSQL, blobs in SeaweedFS ==="
	$(BIN)/python tests/postgres_server.py $(BIN)/python tests/object_store.py $(BIN)/pytest

.PHONY: help install frontend frontend-check frontend-test api-client api-client-check migrate migration run system-packages test-packages bench-packages bench lint test
