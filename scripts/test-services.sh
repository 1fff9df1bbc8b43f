#!/usr/bin/env bash
# Runs its arguments as a command with a throwaway PostgreSQL and Redis for the tests
# (CODESMITH_TEST_POSTGRES_URL, CODESMITH_TEST_REDIS_URL); both are stopped however the command ends.
# Usage: scripts/test-services.sh .venv/bin/pytest -m "not vllm"      (see scripts/test_services.py)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON_BIN="${PYTHON:-python3}"
exec "${PYTHON_BIN}" "${REPO_ROOT}/scripts/test_services.py" "$@"
