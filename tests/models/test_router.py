"""The model registry API: system models, users' own models, checks, permissions, keys and LoRA adapters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from codesmith.llm.pricing import DEFAULT_CONTEXT_WINDOW, OPENAI_PRICES
from codesmith.models.service import system_model_id
from codesmith.models.tables import Model
from codesmith.users.tables import User
from tests.conftest import RegisterUser, UserHandle, free_port
from tests.fakes.upstream import FakeUpstream, running

MODEL_KEY = "sk-model-secret-Zq7Wx9Pl"
OPENAI_KEY = "sk-user-openai-Kk3Jj2Hh"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The fake upstream listens on 127.0.0.1: allowed here, guarded in test_ssrf.py.
    return {"allow_private_model_hosts": True}


def compatible(fake: FakeUpstream, **extra: Any) -> dict[str, Any]:
    return {
        "name": "My coder",
        "provider": "openai_compatible",
        "model": "fake-coder",
        "base_url": fake.base_url,
    } | extra


async def register_model(client: httpx.AsyncClient, user: UserHandle, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/models", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def make_admin(app: FastAPI, user: UserHandle) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(update(User).where(User.id == user.id).values(is_admin=True))
        await session.commit()


async def all_models(client: httpx.AsyncClient, user: UserHandle) -> list[dict[str, Any]]:
    response = await client.get("/models", headers=user.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


class TestSystemModels:
    async def test_openai_models_from_settings_are_listed_with_their_prices(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        response = await client.get("/models", headers=user.headers)
        assert response.status_code == 200
        page = response.json()
        assert page["next_cursor"] is None
        by_name = {item["model"]: item for item in page["items"]}
        assert set(by_name) == {"gpt-4o-mini", "gpt-4.1-mini"}
        for name, item in by_name.items():
            price = OPENAI_PRICES[name]
            assert item["owner"] == "system" and item["provider"] == "openai"
            assert item["input_cost_per_mtok"] == price.input_per_mtok
            assert item["output_cost_per_mtok"] == price.output_per_mtok
            assert item["context_window"] == price.context_window
            assert item["priced"] is True
            assert item["id"] == system_model_id("openai", name)
            assert item["has_api_key"] is False and item["status"] == "unknown"
        # No OpenAI key anywhere: neither is usable, so neither is the user's default.
        assert not any(item["is_default"] or item["usable"] for item in page["items"])
        assert page["items"][0]["model"] == "gpt-4o-mini", "the system default comes first"

    async def test_get_one_system_model(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        model_id = system_model_id("openai", "gpt-4.1-mini")
        response = await client.get(f"/models/{model_id}", headers=user.headers)
        assert response.status_code == 200
        assert response.json()["model"] == "gpt-4.1-mini"

    async def test_unknown_model_is_404(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.get("/models/00000000-0000-0000-0000-000000000000", headers=user.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    async def test_listing_needs_authentication(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/models")
        assert response.status_code == 401


class TestUnpricedSystemModel:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"openai_models": ["my-finetune", "gpt-4o-mini"], "openai_api_key": "sk-server-key-0000"}

    async def test_a_model_missing_from_the_price_table_is_flagged_unpriced(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        by_name = {item["model"]: item for item in await all_models(client, user)}
        unpriced = by_name["my-finetune"]
        assert unpriced["priced"] is False
        assert unpriced["input_cost_per_mtok"] is None and unpriced["output_cost_per_mtok"] is None
        assert unpriced["context_window"] == DEFAULT_CONTEXT_WINDOW
        assert unpriced["is_default"] is True, "the first OpenAI model is the default without vLLM"
        assert by_name["gpt-4o-mini"]["priced"] is True


class TestOwnModels:
    async def test_register_an_openai_compatible_model(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(
            client,
            user,
            compatible(
                fake_upstream, api_key=MODEL_KEY, context_window=4096, input_cost_per_mtok=0.5, output_cost_per_mtok=1.5
            ),
        )
        assert body["owner"] == "user" and body["provider"] == "openai_compatible"
        assert body["base_url"] == fake_upstream.base_url
        assert body["has_api_key"] is True and "api_key" not in body
        assert body["context_window"] == 4096
        assert (body["input_cost_per_mtok"], body["output_cost_per_mtok"], body["priced"]) == (0.5, 1.5, True)
        assert body["status"] == "ok" and body["checked_at"] is not None, "checked when saved"
        assert body["is_default"] is True, "the only model this user can use"
        fetched = await client.get(f"/models/{body['id']}", headers=user.headers)
        assert fetched.json() == body

    async def test_defaults_unpriced_with_a_safe_context_window(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream, base_url=fake_upstream.base_url + "/"))
        assert body["base_url"] == fake_upstream.base_url, "a trailing slash is dropped"
        assert body["priced"] is False and body["input_cost_per_mtok"] is None
        assert body["context_window"] == fake_upstream.behaviour.max_model_len, "the server's max_model_len"
        assert body["has_api_key"] is False

    async def test_system_models_first_then_own_newest_first(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        first = await register_model(client, user, compatible(fake_upstream, name="first"))
        second = await register_model(client, user, compatible(fake_upstream, name="second"))
        items = await all_models(client, user)
        assert [item["owner"] for item in items] == ["system", "system", "user", "user"]
        assert [item["id"] for item in items[2:]] == [second["id"], first["id"]]

    async def test_pages_follow_the_cursor(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        for index in range(3):
            await register_model(client, user, compatible(fake_upstream, name=f"m{index}"))
        expected = [item["id"] for item in await all_models(client, user)]
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/models", params=params, headers=user.headers)).json()
            assert len(page["items"]) <= 2
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected and len(seen) == 5

    async def test_a_bad_cursor_is_422(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.get("/models", params={"cursor": "not-a-cursor"}, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    async def test_update_fields_and_key(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        url = f"/models/{body['id']}"
        renamed = await client.patch(url, json={"name": "Renamed", "api_key": MODEL_KEY}, headers=user.headers)
        assert renamed.status_code == 200
        assert renamed.json()["name"] == "Renamed" and renamed.json()["has_api_key"] is True
        assert renamed.json()["model"] == "fake-coder", "fields left out stay as they are"
        cleared = await client.patch(url, json={"api_key": None}, headers=user.headers)
        assert cleared.json()["has_api_key"] is False
        priced = await client.patch(
            url, json={"input_cost_per_mtok": 1, "output_cost_per_mtok": 2}, headers=user.headers
        )
        assert priced.json()["priced"] is True

    async def test_changing_the_server_resets_the_status(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        await client.post(f"/models/{body['id']}/check", headers=user.headers)
        moved = await client.patch(
            f"/models/{body['id']}", json={"base_url": f"http://127.0.0.1:{free_port()}/v1"}, headers=user.headers
        )
        assert moved.status_code == 200
        assert moved.json()["status"] == "unreachable", "checked again at the new address"

    @pytest.mark.parametrize(
        ("patch", "field"),
        [
            ({"input_cost_per_mtok": 1.0}, "output_cost_per_mtok"),
            ({"name": None}, "name"),
            ({"context_window": 10}, "context_window"),
            ({"base_url": "ftp://example.com/v1"}, "base_url"),
            ({"base_url": None}, "base_url"),
        ],
    )
    async def test_invalid_update_is_422(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        fake_upstream: FakeUpstream,
        patch: dict[str, Any],
        field: str,
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        response = await client.patch(f"/models/{body['id']}", json=patch, headers=user.headers)
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert field in problem["errors"][0]["loc"]

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"base_url": None}, "base_url"),
            ({"base_url": "ftp://example.com/v1"}, "base_url"),
            ({"base_url": "http:///v1"}, "base_url"),
            ({"provider": "openai"}, "base_url"),
            ({"provider": "anthropic"}, "provider"),
            ({"input_cost_per_mtok": 1.0}, "output_cost_per_mtok"),
            ({"name": ""}, "name"),
        ],
    )
    async def test_invalid_registration_is_422_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        fake_upstream: FakeUpstream,
        extra: dict[str, Any],
        field: str,
    ) -> None:
        response = await client.post("/models", json=compatible(fake_upstream, **extra), headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert field in response.json()["errors"][0]["loc"]
        assert all(item["owner"] == "system" for item in await all_models(client, user))

    async def test_delete_own_model(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        deleted = await client.delete(f"/models/{body['id']}", headers=user.headers)
        assert deleted.status_code == 204
        assert (await client.get(f"/models/{body['id']}", headers=user.headers)).status_code == 404


class TestCheck:
    async def test_ok_when_the_server_lists_the_model(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        check = await client.post(f"/models/{body['id']}/check", headers=user.headers)
        assert check.status_code == 200
        result = check.json()
        assert result["status"] == "ok"
        assert isinstance(result["latency_ms"], int) and result["latency_ms"] >= 0
        assert "fake-coder" in result["detail"]
        stored = (await client.get(f"/models/{body['id']}", headers=user.headers)).json()
        assert stored["status"] == "ok" and stored["checked_at"] is not None

    async def test_model_not_found_when_the_server_does_not_list_it(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream, model="not-served"))
        result = (await client.post(f"/models/{body['id']}/check", headers=user.headers)).json()
        assert result["status"] == "model_not_found"
        assert "fake-coder" in result["detail"], "the detail names what the server does serve"
        stored = (await client.get(f"/models/{body['id']}", headers=user.headers)).json()
        assert stored["status"] == "model_not_found"

    async def test_unauthorized_with_a_wrong_key_and_ok_with_the_right_one(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.require_key = "the-right-key"
        body = await register_model(client, user, compatible(fake_upstream, api_key=MODEL_KEY))
        check = await client.post(f"/models/{body['id']}/check", headers=user.headers)
        assert check.json()["status"] == "unauthorized"
        assert MODEL_KEY[-4:] not in check.text and MODEL_KEY[:6] not in check.text
        await client.patch(f"/models/{body['id']}", json={"api_key": "the-right-key"}, headers=user.headers)
        again = await client.post(f"/models/{body['id']}/check", headers=user.headers)
        assert again.json()["status"] == "ok"

    async def test_unreachable_when_nothing_listens(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        closed = f"http://127.0.0.1:{free_port()}/v1"
        body = await register_model(
            client, user, {"name": "Gone", "provider": "vllm", "model": "m", "base_url": closed}
        )
        result = (await client.post(f"/models/{body['id']}/check", headers=user.headers)).json()
        assert result["status"] == "unreachable" and result["latency_ms"] is None
        stored = (await client.get(f"/models/{body['id']}", headers=user.headers)).json()
        assert stored["status"] == "unreachable"


class TestOpenAICredentials:
    @pytest.fixture
    def settings_overrides(self, fake_upstream: FakeUpstream) -> dict[str, Any]:
        fake_upstream.behaviour.models = ["gpt-4o-mini", "gpt-4.1-mini"]
        return {"openai_base_url": fake_upstream.base_url, "openai_api_key": None}

    async def test_no_key_anywhere_is_400_missing_provider_key(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        check = await client.post(f"/models/{system_model_id('openai', 'gpt-4o-mini')}/check", headers=user.headers)
        assert check.status_code == 400
        assert check.json()["code"] == "missing_provider_key"

    async def test_the_users_own_key_is_used(
        self, client: httpx.AsyncClient, register_user: RegisterUser, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.require_key = OPENAI_KEY
        owner = await register_user(openai_api_key=OPENAI_KEY)
        check = await client.post(f"/models/{system_model_id('openai', 'gpt-4o-mini')}/check", headers=owner.headers)
        assert check.json()["status"] == "ok"

    async def test_a_models_own_key_comes_before_the_users(
        self, client: httpx.AsyncClient, register_user: RegisterUser, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.require_key = MODEL_KEY
        owner = await register_user(openai_api_key=OPENAI_KEY)
        body = await register_model(
            client, owner, {"name": "Mine", "provider": "openai", "model": "gpt-4o", "api_key": MODEL_KEY}
        )
        assert body["priced"] is True and body["context_window"] == OPENAI_PRICES["gpt-4o"].context_window
        fake_upstream.behaviour.models.append("gpt-4o")
        check = await client.post(f"/models/{body['id']}/check", headers=owner.headers)
        assert check.json()["status"] == "ok"


class TestServerOpenAIKey:
    @pytest.fixture
    def settings_overrides(self, fake_upstream: FakeUpstream) -> dict[str, Any]:
        fake_upstream.behaviour.models = ["gpt-4o-mini"]
        fake_upstream.behaviour.require_key = "sk-server-key-0000"
        return {"openai_base_url": fake_upstream.base_url, "openai_api_key": "sk-server-key-0000"}

    async def test_the_servers_key_is_the_fallback(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        check = await client.post(f"/models/{system_model_id('openai', 'gpt-4o-mini')}/check", headers=user.headers)
        assert check.json()["status"] == "ok"
        assert "sk-server-key-0000" not in check.text


class TestIsolation:
    async def test_another_users_model_is_404_everywhere(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_upstream: FakeUpstream,
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        other = await register_user()
        url = f"/models/{body['id']}"
        attempts = [
            await client.get(url, headers=other.headers),
            await client.patch(url, json={"name": "mine now"}, headers=other.headers),
            await client.delete(url, headers=other.headers),
            await client.post(f"{url}/check", headers=other.headers),
        ]
        assert [a.status_code for a in attempts] == [404, 404, 404, 404]
        assert all(a.json()["code"] == "not_found" for a in attempts)
        assert body["id"] not in {item["id"] for item in await all_models(client, other)}
        still = (await client.get(url, headers=user.headers)).json()
        assert still["name"] == "My coder"

    async def test_a_user_cannot_change_or_delete_a_system_model(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        url = f"/models/{system_model_id('openai', 'gpt-4o-mini')}"
        patched = await client.patch(url, json={"name": "hijacked"}, headers=user.headers)
        deleted = await client.delete(url, headers=user.headers)
        assert (patched.status_code, deleted.status_code) == (403, 403)
        assert patched.json()["code"] == deleted.json()["code"] == "forbidden"
        assert (await client.get(url, headers=user.headers)).json()["name"] == "gpt-4o-mini"

    async def test_a_user_cannot_add_a_system_model(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        response = await client.post("/models", json=compatible(fake_upstream, system=True), headers=user.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert all(item["owner"] == "system" for item in await all_models(client, user))
        assert len(await all_models(client, user)) == 2


class TestAdmin:
    async def test_an_admin_adds_a_system_model_that_everyone_sees(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_upstream: FakeUpstream,
    ) -> None:
        await make_admin(app, user)
        body = await register_model(client, user, compatible(fake_upstream, name="Team coder", system=True))
        assert body["owner"] == "system"
        other = await register_user()
        seen = {item["id"]: item for item in await all_models(client, other)}
        assert seen[body["id"]]["name"] == "Team coder"
        assert body["status"] == "ok", "the admin's save checked it"
        fake_upstream.behaviour.models = ["another-model"]
        check = await client.post(f"/models/{body['id']}/check", headers=other.headers)
        assert check.json()["status"] == "model_not_found"
        after = (await client.get(f"/models/{body['id']}", headers=other.headers)).json()
        assert after["status"] == "ok", "a user's check does not change a shared status"

    async def test_an_admin_changes_and_deletes_system_models(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await make_admin(app, user)
        body = await register_model(client, user, compatible(fake_upstream, system=True))
        url = f"/models/{body['id']}"
        patched = await client.patch(url, json={"name": "Renamed by admin"}, headers=user.headers)
        assert patched.status_code == 200 and patched.json()["name"] == "Renamed by admin"
        checked = await client.post(f"{url}/check", headers=user.headers)
        assert checked.json()["status"] == "ok"
        assert (await client.get(url, headers=user.headers)).json()["status"] == "ok"
        assert (await client.delete(url, headers=user.headers)).status_code == 204
        assert (await client.get(url, headers=user.headers)).status_code == 404

    async def test_deleting_the_default_moves_the_default(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        await make_admin(app, user)
        key = await client.put("/users/me/openai-key", json={"api_key": OPENAI_KEY}, headers=user.headers)
        assert key.status_code == 204  # saved unverified: the test's OpenAI URL does not answer
        default = system_model_id("openai", "gpt-4o-mini")
        assert (await client.delete(f"/models/{default}", headers=user.headers)).status_code == 204
        items = await all_models(client, user)
        assert [item["model"] for item in items if item["is_default"]] == ["gpt-4.1-mini"]


class TestKeysNeverLeave:
    async def test_no_response_carries_a_models_key(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.require_key = "something-else"
        created = await client.post("/models", json=compatible(fake_upstream, api_key=MODEL_KEY), headers=user.headers)
        model_id = created.json()["id"]
        responses = [
            created,
            await client.get("/models", headers=user.headers),
            await client.get(f"/models/{model_id}", headers=user.headers),
            await client.patch(f"/models/{model_id}", json={"name": "x"}, headers=user.headers),
            await client.post(f"/models/{model_id}/check", headers=user.headers),
        ]
        for response in responses:
            assert response.status_code < 300
            assert MODEL_KEY not in response.text and MODEL_KEY[-4:] not in response.text
        async with app.state.sessionmaker() as session:
            row = await session.get(Model, model_id)
        assert row is not None and row.api_key_encrypted and MODEL_KEY not in row.api_key_encrypted
        assert app.state.keyring.decrypt(row.api_key_encrypted) == MODEL_KEY


class TestLora:
    async def test_registering_loads_the_adapter_and_deleting_unloads_it(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(
            client, user, compatible(fake_upstream, provider="vllm", model="sql-lora", lora_adapter="org/sql-adapter")
        )
        assert fake_upstream.lora_calls == [("load", {"lora_name": "sql-lora", "lora_path": "org/sql-adapter"})]
        assert body["lora_adapter"] == "org/sql-adapter" and body["model"] == "sql-lora"
        check = await client.post(f"/models/{body['id']}/check", headers=user.headers)
        assert check.json()["status"] == "ok", "the server now serves the adapter under the model's name"

        assert (await client.delete(f"/models/{body['id']}", headers=user.headers)).status_code == 204
        assert fake_upstream.lora_calls[-1] == ("unload", {"lora_name": "sql-lora"})
        assert "sql-lora" not in fake_upstream.behaviour.models

    @pytest.mark.parametrize(("status", "hint"), [(400, "refused"), (500, "refused"), (404, "runtime LoRA")])
    async def test_a_refused_load_is_502_and_stores_nothing(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream, status: int, hint: str
    ) -> None:
        fake_upstream.behaviour.lora_status = status
        response = await client.post(
            "/models",
            json=compatible(fake_upstream, model="bad-lora", lora_adapter="org/missing", api_key=MODEL_KEY),
            headers=user.headers,
        )
        assert response.status_code == 502
        problem = response.json()
        assert problem["code"] == "upstream_error" and hint in problem["detail"]
        assert MODEL_KEY not in response.text
        assert len(fake_upstream.lora_calls) == 1
        assert all(item["owner"] == "system" for item in await all_models(client, user))

    async def test_an_unreachable_server_is_503_and_stores_nothing(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        body = {
            "name": "Lora",
            "provider": "vllm",
            "model": "lora",
            "base_url": f"http://127.0.0.1:{free_port()}/v1",
            "lora_adapter": "org/adapter",
        }
        response = await client.post("/models", json=body, headers=user.headers)
        assert response.status_code == 503
        assert response.json()["code"] == "model_unavailable"
        assert all(item["owner"] == "system" for item in await all_models(client, user))

    async def test_an_openai_model_cannot_have_an_adapter(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        body = {"name": "x", "provider": "openai", "model": "gpt-4o", "lora_adapter": "org/adapter"}
        response = await client.post("/models", json=body, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "lora_adapter"]

    async def test_a_failing_unload_does_not_block_the_delete(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        async with running(FakeUpstream()) as server:
            body = await register_model(client, user, compatible(server, model="tmp-lora", lora_adapter="org/a"))
        # The server is gone now: the unload fails, the model goes anyway.
        assert (await client.delete(f"/models/{body['id']}", headers=user.headers)).status_code == 204
        assert (await client.get(f"/models/{body['id']}", headers=user.headers)).status_code == 404

    async def test_a_lora_models_server_cannot_change(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream, model="l1", lora_adapter="org/a"))
        response = await client.patch(f"/models/{body['id']}", json={"model": "l2"}, headers=user.headers)
        assert response.status_code == 422
        renamed = await client.patch(f"/models/{body['id']}", json={"name": "Nice name"}, headers=user.headers)
        assert renamed.status_code == 200
