# leadrelay developer tasks. `make` lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-k routing -x'
PYTEST_ARGS ?=

.PHONY: help venv demo test lint bench clean

help: ## List the targets
	@echo "leadrelay: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-7s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

venv: $(STAMP) ## Create .venv and install leadrelay with its dev tools (again when pyproject.toml changes)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

demo: $(STAMP) ## Build the demo sales org, route a batch into SQLite, print counts and traces
	$(BIN)/leadrelay demo

# One shell: the trap stops the throwaway server whatever pytest does, and the recipe
# exits with pytest's status. Each run gets its own server (state file named by the PID).
test: $(STAMP) ## Run the whole suite on SQLite and a throwaway PostgreSQL
	@state="$(CURDIR)/.pg/make-test-$$$$.env"; \
	export PG_TEST_SERVER_STATE="$$state"; \
	trap 'scripts/pg-test-server stop' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	LEADRELAY_TEST_PG_URL="$$(scripts/pg-test-server start)"; \
	export LEADRELAY_TEST_PG_URL; \
	xdist=(); \
	if $(BIN)/python -c 'import xdist' 2>/dev/null; then xdist=(-p xdist -n 2); fi; \
	$(BIN)/pytest "$${xdist[@]}" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check, ruff format --check and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP) ## Run the benchmarks (python -m bench)
	$(BIN)/python -m bench

clean: ## Stop leftover test servers; remove caches, build and demo output (keeps .venv)
	@shopt -s nullglob; for state in .pg/*.env; do \
		PG_TEST_SERVER_STATE="$$state" scripts/pg-test-server stop; \
	done
	rm -rf .pg build dist out demo .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
