# Scripts to rule them all: CI calls these same targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint fix bench openapi clean

install: $(STAMP)

# Reinstall only when the project definition changes.
$(STAMP): pyproject.toml
	@echo "Installing Heliograph and its dependencies into $(VENV) (about a minute the first time)..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev,clickhouse]'  # its lines are the progress
	touch $(STAMP)

# `make run PORT=8586` (or HELIOGRAPH_PORT=8586 make run) serves on another port.
run: install
	$(BIN)/heliograph serve --ready-key .heliograph/api-key --demo $(if $(PORT),--port $(PORT))

test: install
	$(BIN)/pytest --durations=40

# The fast lane (under 90 s): the domain tests, and the server-level suites in process: the app through
# httpx's ASGI transport on SQLite (tests/in_process.py). `make test` stays the whole truth.
FAST_SUITES := tests/domain tests/test_docs.py tests/ingest/test_spans.py \
	tests/api/test_sessions.py tests/api/test_session_feedback.py tests/api/test_session_ids.py \
	tests/api/test_property_keys.py tests/api/test_one_answer.py tests/api/test_queries.py \
	tests/api/test_requests.py tests/api/test_ingest.py tests/api/test_ingest_validation.py \
	tests/api/test_ingest_captured.py tests/api/test_custom_trace.py tests/api/test_deletes.py \
	tests/api/test_otlp.py tests/api/test_routing.py tests/api/test_admin.py tests/api/test_openapi.py \
	tests/dashboard/test_pages.py tests/dashboard/test_listing.py tests/dashboard/test_session_view.py \
	tests/dashboard/test_unknown_cost.py

test-fast: install
	HELIOGRAPH_TEST_IN_PROCESS=1 $(BIN)/pytest -p no:randomly $(FAST_SUITES)

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/mypy tests

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
