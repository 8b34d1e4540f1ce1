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
# In parallel (pytest-xdist): one worker per CPU, each test handed to whichever is free.
# TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= logical
test: $(STAMP)
	$(BIN)/pytest -q -m "not slow" -n $(TEST_WORKERS) --dist worksteal

# What CI runs: the slow tests too, afterwards and one at a time: they kill processes and
# measure real-time pacing, which other tests running beside them would disturb.
test-all: test
	$(BIN)/pytest -q -m slow

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
