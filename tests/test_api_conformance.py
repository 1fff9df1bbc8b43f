"""Schemathesis over every operation of the running app: no server errors, and every answer's status,
content type and body are the ones the OpenAPI schema describes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from codesmith.llm import ssrf
from tests.conftest import LiveServer, register_and_login

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES_PER_OPERATION = 25
RUN_SECONDS = 600


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"openai_models": ["gpt-4o-mini"], "rate_limit_requests_per_minute": 0}


@pytest.fixture
def no_outbound_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated bodies register model servers at any host: make every host a forbidden one, so the app
    refuses them with forbidden_model_host before resolving or connecting (no traffic leaves the machine)."""

    async def unresolvable(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(ssrf, "resolve_host", unresolvable)
    monkeypatch.setattr(ssrf, "is_forbidden_address", lambda address: True)


async def test_every_operation_answers_as_its_schema_says(
    live_server: LiveServer, no_outbound_connections: None, tmp_path: Path
) -> None:
    async with live_server.client() as http:
        user = await register_and_login(http, "schemathesis@example.com")
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{live_server.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261202",
        "--request-timeout",
        "30",
        "--header",
        f"Authorization: Bearer {user.token}",
        "--report-dir",
        str(tmp_path),
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_SECONDS)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-12_000:]
    assert "No issues found" in report or " passed" in report, report[-4000:]
