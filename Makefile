# Scripts to rule them all: CI calls these same targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint fix bench openapi clean

install: $(STAMP)

# Reinstall only when the project definition changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,clickhouse]'
	touch $(STAMP)

run: install
	$(BIN)/heliograph serve --ready-key .heliograph/api-key --demo

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

fix: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

openapi: install
	$(BIN)/python -c 'import json; from heliograph.app import create_app; from heliograph.config import Settings; print(json.dumps(create_app(Settings()).openapi(), indent=2))' > docs/openapi.json

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/feedback.py
	$(BIN)/python bench/queries.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
