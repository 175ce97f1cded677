# Organisatrice: `make run` to try it, `make test` to check it. `make help` lists every target.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PICCOLO_CONF := organisatrice.piccolo_conf

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the app with its development tools

frontend: ## Build the tablet UI into organisatrice/static (when frontend/ exists)
	@if [ -f frontend/package.json ]; then \
		cd frontend && (test -d node_modules || npm ci --no-audit --no-fund) && npm run build; \
	fi

migrate: install ## Apply database migrations (DATABASE_URL, default SQLite in ./data)
	$(BIN)/organisatrice migrate

run: install frontend migrate ## Set everything up, load demo data on first start, serve
	$(BIN)/organisatrice demo-data --if-empty
	$(BIN)/organisatrice serve

postgres-binaries:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

lint: install ## ruff, ruff format --check, mypy --strict
	$(BIN)/ruff check organisatrice tests
	$(BIN)/ruff format --check organisatrice tests
	$(BIN)/mypy --strict organisatrice

test: install postgres-binaries lint ## Lint, then the whole suite on SQLite and on PostgreSQL
	@echo "=== the suite on SQLite ==="
	env -u DATABASE_URL $(BIN)/pytest
	@echo "=== the suite on PostgreSQL ==="
	$(BIN)/python tests/postgres_server.py $(BIN)/pytest

.PHONY: help install frontend migrate run postgres-binaries lint test
