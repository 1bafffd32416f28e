# The two commands that do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
UV = $(shell scripts/ensure-uv.sh)
# Two pytest-xdist workers; each test file stays on one worker, the PC/SC tests share one (tests/conftest.py).
# `make test PYTEST_ARGS=-n0` runs everything in one process.
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: demo test setup setup-test bench bench-national bench-history bench-sharded lint clean

# --compile-bytecode: every installed module is compiled once, here (about 30 s on 2 cores, then nothing while the
# lock is unchanged). Python would otherwise compile them again in every process that imports them whenever it may
# not write its cache (PYTHONDONTWRITEBYTECODE, a read-only environment): Airflow, dbt and Great Expectations take
# about 28 s to import from source against 12 s from bytecode, in the demo's process and in every Airflow
# migration and CLI subprocess of the tests (tests/reports/test_monthly_dag.py: 40 s -> 20 s).
setup:
	@scripts/system-packages.sh demo
	@echo "syncing the locked environment (uv sync, .venv; its modules compiled once)..."
	@$(UV) sync --all-extras --frozen --quiet --compile-bytecode

setup-test:
	@scripts/system-packages.sh test
	@echo "syncing the locked environment (uv sync, .venv; its modules compiled once)..."
	@$(UV) sync --all-extras --frozen --quiet --compile-bytecode

demo: setup
	@$(UV) run --frozen seisan demo

test: setup-test
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

bench: setup
	@$(UV) run --frozen python -m seisan.bench

# The daily chain at growing sizes against a floor (docs/scaling.md); simulated worlds are cached, see --cache.
bench-national: setup
	@$(UV) run --frozen python -m seisan.bench_national

# Day 365 against day 2 of one world, the year between built by one ingest and one full-refresh marts build.
bench-history: setup
	@$(UV) run --frozen python -m seisan.bench_history

# One world run day by day on one warehouse and sharded (seisan run --shards), step by step; marts compared.
bench-sharded: setup
	@$(UV) run --frozen python -m seisan.bench_sharded

lint: setup
	@$(UV) run --frozen ruff check .

clean:
	rm -rf var .pytest_cache dbt/target dbt/logs
