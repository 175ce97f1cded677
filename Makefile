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

migration: install ## New migration from table changes: make migration APP=mail DESC="why"
	@test -n "$(APP)" || (echo 'say which room: make migration APP=orders DESC="..."' && exit 2)
	DATA_DIR=$$(mktemp -d) $(BIN)/piccolo migrations new $(APP) --auto --desc "$(DESC)"

run: system-packages install frontend migrate ## Set everything up, load demo data on first start, serve
	$(BIN)/organisatrice demo-data --if-empty
	SMTP_CAPTURE=1 INBOUND_IN_APP=1 $(BIN)/organisatrice serve

# Debian packages the app needs at run time: WeasyPrint's text stack and the fonts the PDFs use.
RUNTIME_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
# Only for the suite: a PostgreSQL server to start and throw away.
TEST_DEBS := postgresql

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
	$(call apt_install_missing,$(TEST_DEBS))

lint: install ## ruff, ruff format --check, mypy --strict
	$(BIN)/ruff check organisatrice tests
	$(BIN)/ruff format --check organisatrice tests
	$(BIN)/mypy --strict organisatrice

test: test-packages install lint ## Lint, then the whole suite on SQLite and on PostgreSQL
	@echo "=== the suite on SQLite ==="
	env -u DATABASE_URL $(BIN)/pytest
	@echo "=== the suite on PostgreSQL ==="
	$(BIN)/python tests/postgres_server.py $(BIN)/pytest

.PHONY: help install frontend migrate migration run system-packages test-packages lint test
