"""Fixtures for the OpenAI-compatible API: a live server, the fake upstream as the default model, a user
with a personal API token, and the real `openai` SDK's clients (sync and async) pointed at `/v1`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import update

from codesmith.users.tables import User
from tests.conftest import LiveServer, register_and_login
from tests.conversations.helpers import add_model
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "allow_private_model_hosts": True,  # the fake upstream listens on 127.0.0.1
        "openai_models": [],
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 0,
    }


@dataclass
class ApiUser:
    id: str
    access_token: str  # a JWT, for the app's own API
    api_token: str  # a personal API token (csk_...), for /v1
    api_token_id: str
    server: LiveServer

    def app_client(self) -> httpx.AsyncClient:
        return self.server.client(headers={"Authorization": f"Bearer {self.access_token}"})

    def openai(self, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.server.url}/v1", api_key=self.api_token, max_retries=0, **kwargs)

    def async_openai(self, **kwargs: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.server.url}/v1", api_key=self.api_token, max_retries=0, **kwargs)

    async def set_requests_per_minute(self, limit: int) -> None:
        async with self.server.app.state.sessionmaker() as session:
            await session.execute(update(User).where(User.id == self.id).values(requests_per_minute=limit))
            await session.commit()


async def api_user(server: LiveServer, email: str) -> ApiUser:
    async with server.client() as http:
        handle = await register_and_login(http, email)
        created = await http.post("/users/me/api-tokens", json={"name": "editor"}, headers=handle.headers)
        assert created.status_code == 201, created.text
    async with server.app.state.sessionmaker() as session:  # the first account is an administrator: not here
        await session.execute(update(User).where(User.id == handle.id).values(is_admin=False))
        await session.commit()
    return ApiUser(handle.id, handle.token, created.json()["token"], created.json()["id"], server)


@pytest.fixture
async def fake_model(live_server: LiveServer, fake_upstream: FakeUpstream) -> str:
    """The default model, a system model served by the fake upstream (OpenAI id: `fake-coder`)."""
    return await add_model(live_server.app, fake_upstream)


@pytest.fixture
async def alice(live_server: LiveServer, fake_model: str) -> AsyncIterator[ApiUser]:
    yield await api_user(live_server, "alice@example.com")


@pytest.fixture
async def bob(live_server: LiveServer, fake_model: str) -> AsyncIterator[ApiUser]:
    yield await api_user(live_server, "bob@example.com")
