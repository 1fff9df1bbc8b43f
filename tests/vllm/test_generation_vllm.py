"""A whole generation through Codesmith's API against the real vLLM server (its text is random:
the assertions are about structure, usage and states, never the words)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.config import Settings
from codesmith.main import create_app
from tests.conftest import register_and_login
from tests.vllm.server import VllmServer


@pytest.fixture
async def vllm_app(settings: Settings, vllm_server: VllmServer) -> AsyncIterator[FastAPI]:
    configured = settings.model_copy(
        update={
            "vllm_base_url": vllm_server.base_url,
            # The tiny random model writes no code blocks: keep its answers instead of rejecting them.
            "require_code_in_answer": False,
            "openai_models": [],
        }
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(vllm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=vllm_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1", timeout=120) as client:
        yield client


async def _vllm_model(http: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    for _ in range(50):  # discovery runs in the background at start-up
        models = (await http.get("/models", headers=headers)).json()["items"]
        found = [m for m in models if m["provider"] == "vllm" and m["model"] == name]
        if found:
            return found[0]
        import asyncio

        await asyncio.sleep(0.1)
    raise AssertionError("the vLLM model was not discovered")


async def test_discovery_generation_feedback_and_usage(http: httpx.AsyncClient, vllm_server: VllmServer) -> None:
    user = await register_and_login(http, "vllm@example.com")
    model = await _vllm_model(http, user.headers, vllm_server.model)
    assert model["context_window"] == vllm_server.max_model_len
    assert model["is_default"] is True and model["priced"] is False

    created = await http.post("/conversations", json={"prompt": "Write a hello world in C"}, headers=user.headers)
    assert created.status_code == 201, created.text
    conversation = created.json()
    answer = next(m for m in conversation["messages"] if m["role"] == "assistant")
    assert answer["status"] in {"complete", "rejected"}, answer["error"]
    assert answer["model_id"] == model["id"]
    usage = answer["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["cost_usd"] is None  # a self-hosted model has no price

    # 512 tokens hold the system prompt, the request and an answer, not one more exchange: counted
    # exactly through vLLM's /tokenize, feedback is refused before any upstream call and nothing is stored.
    feedback = await http.post(
        f"/conversations/{conversation['id']}/messages", json={"content": "Add a comment"}, headers=user.headers
    )
    assert feedback.status_code == 422, feedback.text
    assert feedback.json()["code"] == "context_window_exceeded"
    detail = (await http.get(f"/conversations/{conversation['id']}", headers=user.headers)).json()
    assert len(detail["messages"]) == 2

    # A regeneration needs only the request: it fits, and both versions are kept as siblings.
    regenerated = await http.post(
        f"/conversations/{conversation['id']}/messages/{answer['id']}/regenerate", json={}, headers=user.headers
    )
    assert regenerated.status_code == 201, regenerated.text
    answers = [m for m in regenerated.json()["messages"] if m["role"] == "assistant"]
    assert len(answers) == 2 and answers[0]["parent_id"] == answers[1]["parent_id"]
    assert answers[1]["usage"]["prompt_tokens"] == usage["prompt_tokens"]  # the same exact prompt

    report = (await http.get("/usage", headers=user.headers)).json()
    assert report["totals"]["requests"] == 2
    assert report["totals"]["unpriced_requests"] == 2
    assert report["totals"]["estimated_requests"] == 0  # vLLM reports usage itself


async def test_streamed_generation_events(http: httpx.AsyncClient, vllm_server: VllmServer) -> None:
    user = await register_and_login(http, "vllm-stream@example.com")
    await _vllm_model(http, user.headers, vllm_server.model)
    body = {"prompt": "Write a Python function that adds two numbers", "stream": True}
    response = await http.post("/conversations", json=body, headers=user.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.split(": ", 1)[1] for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "start"
    assert events[-1] in {"done", "error"}
    assert "delta" in events
