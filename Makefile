# tth-gateway: `make run` to try it, `make test` for the whole suite, `make bench` for figures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tth-gateway serve

lint: $(STAMP)
	$(BIN)/ruff check gateway tests $(wildcard bench)
	$(BIN)/mypy gateway

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/relay.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/signatures.py
	$(BIN)/python bench/auth.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
