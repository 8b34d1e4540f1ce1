# Two commands from a fresh clone: `make run` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all lint typecheck check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/workshop-bot run

# Everything but the slow crash/fault tests; SQLite and PostgreSQL (skipped if none answers).
test: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

# What CI runs: the slow tests too.
test-all: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test-all

# Latency, scaling, fan-out, restore and memory (about 7 minutes on 2 cores; see bench/RESULTS.md).
# BENCH_ARGS=--quick for a 2-minute run while developing.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
