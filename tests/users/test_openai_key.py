"""Saving an OpenAI key: its shape is checked, then OpenAI is asked whether it works."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.users import service as users
from tests.conftest import UserHandle
from tests.fakes.upstream import FakeUpstream

GOOD_KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz-1234"


async def put_key(client: httpx.AsyncClient, user: UserHandle, key: str) -> httpx.Response:
    return await client.put("/users/me/openai-key", json={"api_key": key}, headers=user.headers)


async def me(client: httpx.AsyncClient, user: UserHandle) -> dict[str, Any]:
    return dict((await client.get("/users/me", headers=user.headers)).json())


class TestShape:
    @pytest.mark.parametrize(
        "key",
        ["not-a-key", "sk-short", "sk-" + "a" * 298, "sk-abcdefgh ijklmnopqrstuvw", "pk-abcdefghijklmnopqrstuvwxyz"],
    )
    async def test_a_malformed_key_is_422_and_not_stored(
        self, client: httpx.AsyncClient, user: UserHandle, key: str
    ) -> None:
        response = await put_key(client, user, key)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["loc"][-1] == "api_key"
        assert key not in response.text
        assert (await me(client, user))["has_openai_key"] is False

    async def test_surrounding_white_space_is_trimmed(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        assert (await put_key(client, user, f"  {GOOD_KEY}\n")).status_code == 204
        assert (await me(client, user))["openai_key_hint"] == "sk-…1234"


class TestLiveCheck:
    @pytest.fixture
    def settings_overrides(self, fake_upstream: FakeUpstream) -> dict[str, Any]:
        fake_upstream.behaviour.require_key = GOOD_KEY
        return {"openai_base_url": fake_upstream.base_url}

    async def test_a_key_openai_accepts_is_saved_verified(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        assert (await put_key(client, user, GOOD_KEY)).status_code == 204
        body = await me(client, user)
        assert body["has_openai_key"] is True and body["openai_key_verified"] is True
        assert fake_upstream.models_requests == 1

    async def test_a_key_openai_rejects_is_422_and_not_stored(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        wrong = "sk-proj-ZzZzZzZzZzZzZzZzZzZzZzZz-9999"
        response = await put_key(client, user, wrong)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert response.json()["detail"] == "OpenAI rejected this key."
        assert wrong not in response.text and "9999" not in response.text
        assert (await me(client, user))["has_openai_key"] is False

    async def test_a_rejected_key_keeps_the_previous_one(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        await put_key(client, user, GOOD_KEY)
        assert (await put_key(client, user, "sk-proj-ZzZzZzZzZzZzZzZzZzZzZzZz-9999")).status_code == 422
        body = await me(client, user)
        assert body["openai_key_hint"] == "sk-…1234" and body["openai_key_verified"] is True

    async def test_removing_the_key_clears_verified(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        await put_key(client, user, GOOD_KEY)
        assert (await client.delete("/users/me/openai-key", headers=user.headers)).status_code == 204
        body = await me(client, user)
        assert body["has_openai_key"] is False and body["openai_key_verified"] is False


class TestUnverified:
    async def test_an_unreachable_openai_saves_the_key_unverified(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        # The tests' OpenAI URL is a closed loopback port.
        assert (await put_key(client, user, GOOD_KEY)).status_code == 204
        body = await me(client, user)
        assert body["has_openai_key"] is True and body["openai_key_verified"] is False

    async def test_a_slow_openai_saves_the_key_unverified(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        async def hanging(*_: Any, **__: Any) -> list[dict[str, Any]]:
            await asyncio.sleep(60)
            return []

        monkeypatch.setattr(users, "KEY_CHECK_SECONDS", 0.05)
        monkeypatch.setattr(app.state.llm, "list_models", hanging)
        assert (await put_key(client, user, GOOD_KEY)).status_code == 204
        assert (await me(client, user))["openai_key_verified"] is False


class TestErrorTexts:
    async def test_a_missing_key_names_settings_not_an_api_path(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        response = await client.post(
            "/conversations", json={"prompt": "Write a Python function that reverses a string"}, headers=user.headers
        )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "missing_provider_key"
        assert "Settings" in response.json()["detail"] and "/api/" not in response.json()["detail"]
