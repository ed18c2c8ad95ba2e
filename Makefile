# The two commands a newcomer needs are `make run` and `make test`; the rest
# are their steps.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK := deploy/local/stack.sh
STAMP := $(VENV)/.installed

.PHONY: run test install stack stack-stop lint typecheck pytest unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: the demo on the local stack: receiver, sample events, `omniout run`.
run: install
	$(STACK) install
	$(STACK) run deploy/demo/run.sh

## test: everything the tests need, then lint, types and the whole suite.
test: install
	$(STACK) install
	$(STACK) run $(MAKE) --no-print-directory lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests benchmarks

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

## unit: only the tests that need no running service.
unit: install
	$(BIN)/pytest -m 'not integration'

stack:
	$(STACK) start

stack-stop:
	$(STACK) stop

bench: install
	$(STACK) run sh -c 'for b in benchmarks/bench_*.py; do $(BIN)/python $$b; done'

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache omniout-ledger.db*
