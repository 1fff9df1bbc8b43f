"""Generation requests go through the per-user limits before anything is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from codesmith.conversations.tables import Message
from tests.conftest import UserHandle
from tests.conversations.helpers import sessionmaker_of
from tests.fakes.upstream import FakeUpstream

PROMPT = "Write a Python function that reverses the words of a sentence"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "allow_private_model_hosts": True,
        "openai_models": [],
        "rate_limit_requests_per_minute": 2,
        "rate_limit_tokens_per_day": 0,
    }


async def stored_messages(app: FastAPI) -> int:
    async with sessionmaker_of(app)() as session:
        return int((await session.execute(select(func.count()).select_from(Message))).scalar_one())


async def test_requests_over_the_minutes_limit_are_429_and_not_stored(
    app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
) -> None:
    first = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
    cid, answer = first.json()["id"], first.json()["messages"][1]["id"]
    second = await client.post(f"/conversations/{cid}/messages/{answer}/regenerate", json={}, headers=user.headers)
    assert (first.status_code, second.status_code) == (201, 201)
    third = await client.post(
        f"/conversations/{cid}/messages", json={"content": "Add tests", "stream": True}, headers=user.headers
    )
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"
    assert int(third.headers["Retry-After"]) >= 1
    assert await stored_messages(app) == 3
    assert len(fake_upstream.requests) == 2


class TestDailyTokens:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"allow_private_model_hosts": True, "openai_models": [], "rate_limit_tokens_per_day": 500}

    async def test_a_request_whose_reservation_does_not_fit_today_is_429(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        # The prompt's tokens plus the room kept for the answer exceed the day's 500 tokens.
        response = await client.post("/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers)
        assert response.status_code == 429
        assert response.json()["code"] == "rate_limited"
        assert await stored_messages(app) == 0
        assert fake_upstream.requests == []
