"""The server keys' daily budget: generations paid with the server's own OpenAI key share one daily token
budget over all users; a user's own key is not counted against it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import RegisterUser
from tests.fakes.upstream import FakeUpstream

PROMPT = "Write a Python function that reverses the words of a sentence"


@pytest.fixture
def settings_overrides(fake_upstream: FakeUpstream) -> dict[str, Any]:
    return {
        # The server's OpenAI key and "OpenAI" itself played by the fake upstream.
        "openai_api_key": "sk-server-key-0000",
        "openai_base_url": fake_upstream.base_url,
        "openai_models": ["fake-coder"],
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 0,
        "answer_reserve_tokens": 100,
        "server_key_tokens_per_day": 600,  # a request reserves ~410 tokens (prompt + 100) and takes ~350
    }


async def generate(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/conversations", json={"prompt": PROMPT}, headers=headers)


async def test_the_server_budget_is_shared_by_everyone_on_the_server_key(
    client: httpx.AsyncClient, register_user: RegisterUser, fake_upstream: FakeUpstream
) -> None:
    alice, bob = await register_user("alice@example.com"), await register_user("bob@example.com")
    first = await generate(client, alice.headers)
    assert first.status_code == 201, first.text
    assert first.json()["messages"][1]["status"] == "complete"
    refused = await generate(client, bob.headers)  # another user: the same server-wide budget
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "rate_limited"
    assert "server's shared daily token budget" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    assert len(fake_upstream.requests) == 1  # refused before any upstream call


async def test_a_users_own_key_is_not_counted_against_the_server_budget(
    client: httpx.AsyncClient, register_user: RegisterUser, fake_upstream: FakeUpstream
) -> None:
    alice = await register_user("alice@example.com")
    own = await register_user("own@example.com", openai_api_key="sk-own-key-1234567890")
    assert (await generate(client, alice.headers)).status_code == 201
    assert (await generate(client, alice.headers)).status_code == 429
    for _ in range(3):
        response = await generate(client, own.headers)
        assert response.status_code == 201, response.text
