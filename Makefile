# tth-gateway: `make run` to try it, `make test` for the whole suite, `make bench` for figures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-more clean

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

# Realistic mail under the default policy (throughput, memory, cost curves), the relay core
# with the accept-all policy, and the cost of DKIM signing and sender verification: about
# 6 minutes on a quiet 2-CPU machine.
bench: $(STAMP)
	$(BIN)/python bench/realistic.py
	$(BIN)/python bench/curves.py
	$(BIN)/python bench/relay.py
	$(BIN)/python bench/auth.py

# The older detailed benchmarks: policy cost, analysis per case, signature validation.
bench-more: $(STAMP)
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/signatures.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
