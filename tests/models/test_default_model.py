"""The first run can generate: the first account administers, and the default model is one the user can use
(the last used one while usable, else the system default when usable, else the first usable one)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.models.service import system_model_id
from codesmith.users.tables import User
from tests.conftest import PASSWORD, RegisterUser, UserHandle
from tests.fakes.upstream import FakeUpstream

PROMPT = "Write a Python function that reverses the words of a sentence"
MINI, MINI_41 = system_model_id("openai", "gpt-4o-mini"), system_model_id("openai", "gpt-4.1-mini")


@pytest.fixture
def settings_overrides(fake_upstream: FakeUpstream) -> dict[str, Any]:
    fake_upstream.behaviour.models = ["gpt-4o-mini", "gpt-4.1-mini", "fake-coder"]
    return {
        "allow_private_model_hosts": True,
        "openai_base_url": fake_upstream.base_url,
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 0,
    }


async def models_of(client: httpx.AsyncClient, user: UserHandle) -> dict[str, dict[str, Any]]:
    response = await client.get("/models", headers=user.headers)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


def default_of(models: dict[str, dict[str, Any]]) -> str | None:
    defaults = [model_id for model_id, item in models.items() if item["is_default"]]
    assert len(defaults) <= 1
    return defaults[0] if defaults else None


async def own_model(client: httpx.AsyncClient, user: UserHandle, fake: FakeUpstream) -> str:
    body = {"name": "Mine", "provider": "openai_compatible", "model": "fake-coder", "base_url": fake.base_url}
    response = await client.post("/models", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def generate(client: httpx.AsyncClient, user: UserHandle, model_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": PROMPT} | ({"model_id": model_id} if model_id else {})
    response = await client.post("/conversations", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestFirstAccount:
    async def test_the_first_account_is_the_administrator_and_only_the_first(self, client: httpx.AsyncClient) -> None:
        first = await client.post("/auth/register", json={"email": "first@example.com", "password": PASSWORD})
        second = await client.post("/auth/register", json={"email": "second@example.com", "password": PASSWORD})
        assert first.json()["is_admin"] is True
        assert second.json()["is_admin"] is False


class TestUsable:
    async def test_without_any_key_no_model_is_usable_or_the_default(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        models = await models_of(client, user)
        assert {item["usable"] for item in models.values()} == {False}
        assert default_of(models) is None
        one = (await client.get(f"/models/{MINI}", headers=user.headers)).json()
        assert one["usable"] is False and one["is_default"] is False

    async def test_the_users_own_openai_key_makes_openai_models_usable(
        self, client: httpx.AsyncClient, register_user: RegisterUser
    ) -> None:
        owner = await register_user(openai_api_key="sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz-1234")
        models = await models_of(client, owner)
        assert models[MINI]["usable"] is True and models[MINI_41]["usable"] is True
        assert default_of(models) == MINI, "the system default, usable now"

    async def test_an_own_model_is_the_default_when_no_system_model_is_usable(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        mine = await own_model(client, user, fake_upstream)
        models = await models_of(client, user)
        assert models[mine]["usable"] is True and models[MINI]["usable"] is False
        assert default_of(models) == mine
        # A generation without a model_id uses it, instead of failing on the OpenAI model.
        assert (await generate(client, user))["model_id"] == mine


class TestServerKey:
    @pytest.fixture
    def settings_overrides(self, fake_upstream: FakeUpstream) -> dict[str, Any]:
        fake_upstream.behaviour.models = ["gpt-4o-mini", "gpt-4.1-mini", "fake-coder"]
        return {
            "allow_private_model_hosts": True,
            "openai_base_url": fake_upstream.base_url,
            "openai_api_key": "sk-server-key-0000",
            "rate_limit_requests_per_minute": 0,
            "rate_limit_tokens_per_day": 0,
        }

    async def test_the_server_key_makes_the_system_default_the_default(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await own_model(client, user, fake_upstream)
        assert default_of(await models_of(client, user)) == MINI

    async def test_the_last_used_model_is_remembered_per_user(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_upstream: FakeUpstream,
    ) -> None:
        other = await register_user()
        mine = await own_model(client, user, fake_upstream)
        await generate(client, user, mine)
        async with app.state.sessionmaker() as session:
            assert (await session.get(User, user.id)).last_model_id == mine  # type: ignore[union-attr]
        assert default_of(await models_of(client, user)) == mine
        assert default_of(await models_of(client, other)) == MINI, "another user's choice is their own"

        await generate(client, user, MINI_41)
        assert default_of(await models_of(client, user)) == MINI_41
        # Feedback and regenerations remember their model too.
        conversation = await generate(client, user, MINI)
        assert default_of(await models_of(client, user)) == MINI
        feedback = await client.post(
            f"/conversations/{conversation['id']}/messages",
            json={"content": "Now add type hints to the function", "model_id": mine},
            headers=user.headers,
        )
        assert feedback.status_code == 201, feedback.text
        assert default_of(await models_of(client, user)) == mine

    async def test_a_deleted_last_model_falls_back_to_the_system_default(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        mine = await own_model(client, user, fake_upstream)
        await generate(client, user, mine)
        assert (await client.delete(f"/models/{mine}", headers=user.headers)).status_code == 204
        assert default_of(await models_of(client, user)) == MINI
        assert (await generate(client, user))["model_id"] == MINI


class TestLastUsedNoLongerUsable:
    async def test_an_unusable_last_model_is_not_the_default(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        key = await client.put(
            "/users/me/openai-key", json={"api_key": "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz-1234"}, headers=user.headers
        )
        assert key.status_code == 204
        await generate(client, user, MINI_41)
        assert default_of(await models_of(client, user)) == MINI_41
        mine = await own_model(client, user, fake_upstream)
        await client.delete("/users/me/openai-key", headers=user.headers)
        models = await models_of(client, user)
        assert models[MINI_41]["usable"] is False
        assert default_of(models) == mine
