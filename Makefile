# opstrack: `make run` starts the embedded stack, `make test` runs every test.
# Both set up what they need on a fresh machine (virtualenv, packages, services).

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint format bench schemas clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create the virtualenv and install opstrack with its dev tools

run: $(STAMP) ## Start the embedded stack on :8000 with the seed department's Jan-Jul 2022, then live today
	$(BIN)/opstrack demo

test: $(STAMP) ## Run all tests (installs prometheus/promtool/amtool and starts PostgreSQL if needed)
	bash scripts/test-prereqs.sh
	$(BIN)/pytest

test-fast: $(STAMP) ## Run the pure unit tests only (no broker, no database)
	$(BIN)/pytest tests/unit -q

lint: $(STAMP) ## ruff and mypy --strict
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/mypy

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format services tests bench
	$(BIN)/ruff check --fix services tests bench

bench: $(STAMP) ## Run the benchmarks and print one table (BENCH_ARGS=--quick for small sizes)
	$(BIN)/python -m bench $(BENCH_ARGS)

schemas: $(STAMP) ## Regenerate schemas/*.json from the event models
	$(BIN)/opstrack schemas

clean: ## Remove the virtualenv, local database and state
	rm -rf $(VENV) .opstrack opstrack.db opstrack.db-wal opstrack.db-shm
