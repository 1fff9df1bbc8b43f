"""Model status that stays true: checked on save, context window from the server, ok again after a
generation, unreachable models re-checked in the background; and who may use private model hosts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.models import health, service
from codesmith.models.tables import Model
from tests.conftest import RegisterUser, UserHandle, free_port
from tests.fakes.upstream import FakeUpstream, running
from tests.models.test_router import compatible, make_admin, register_model


async def set_status(app: FastAPI, model_id: str, status: str) -> None:
    async with app.state.sessionmaker() as session:
        model = await session.get(Model, model_id)
        assert model is not None
        model.status = status
        await session.commit()


async def status_of(client: httpx.AsyncClient, user: UserHandle, model_id: str) -> dict[str, Any]:
    response = await client.get(f"/models/{model_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestCheckOnSave:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"allow_private_model_hosts": True}

    async def test_a_new_model_is_checked_and_takes_the_servers_context_window(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.max_model_len = 4096
        body = await register_model(client, user, compatible(fake_upstream))
        assert body["status"] == "ok" and body["checked_at"] is not None
        assert body["context_window"] == 4096, "vLLM's max_model_len, not the 8192 default"
        assert fake_upstream.models_requests == 1

    async def test_a_given_context_window_wins(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream, context_window=2048))
        assert body["context_window"] == 2048 and body["status"] == "ok"

    async def test_a_server_that_is_down_is_saved_as_unreachable(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        body = {
            "name": "Down",
            "provider": "openai_compatible",
            "model": "m",
            "base_url": f"http://127.0.0.1:{free_port()}/v1",
        }
        created = await register_model(client, user, body)
        assert created["status"] == "unreachable" and created["checked_at"] is not None

    async def test_a_model_the_server_does_not_serve_is_saved_as_model_not_found(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream, model="not-there"))
        assert body["status"] == "model_not_found"

    async def test_moving_a_model_checks_it_again_at_the_new_server(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        down = {"name": "X", "provider": "openai_compatible", "model": "fake-coder"}
        body = await register_model(client, user, down | {"base_url": f"http://127.0.0.1:{free_port()}/v1"})
        assert body["status"] == "unreachable"
        fake_upstream.behaviour.max_model_len = 2048
        moved = await client.patch(
            f"/models/{body['id']}", json={"base_url": fake_upstream.base_url}, headers=user.headers
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "ok" and moved.json()["context_window"] == 2048


class TestMarkOk:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"allow_private_model_hosts": True}

    async def test_a_successful_generation_clears_unreachable(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        await set_status(app, body["id"], "unreachable")
        await service.mark_ok(app.state.sessionmaker, body["id"])
        after = await status_of(client, user, body["id"])
        assert after["status"] == "ok" and after["checked_at"] is not None

    async def test_a_system_models_unauthorized_stays(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await make_admin(app, user)
        body = await register_model(client, user, compatible(fake_upstream, system=True))
        await set_status(app, body["id"], "unauthorized")
        async with app.state.sessionmaker() as session:
            await service.mark_ok(session, body["id"])
            await session.commit()
        assert (await status_of(client, user, body["id"]))["status"] == "unauthorized"

    async def test_an_unknown_id_is_ignored(self, app: FastAPI) -> None:
        await service.mark_ok(app.state.sessionmaker, "00000000-0000-0000-0000-000000000000")


class TestBackgroundRecheck:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"allow_private_model_hosts": True}

    async def test_a_recovered_server_is_marked_ok_again(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        await set_status(app, body["id"], "unreachable")
        changed = await health.recheck_unreachable(
            app.state.sessionmaker, app.state.llm, app.state.settings, app.state.keyring
        )
        assert changed == {body["id"]: "ok"}
        assert (await status_of(client, user, body["id"]))["status"] == "ok"

    async def test_a_server_still_down_stays_unreachable(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        async with running() as upstream:
            body = await register_model(client, user, compatible(upstream))
        assert body["status"] == "ok"
        await set_status(app, body["id"], "unreachable")  # and the server is gone now
        changed = await health.recheck_unreachable(
            app.state.sessionmaker, app.state.llm, app.state.settings, app.state.keyring
        )
        assert changed == {}
        assert (await status_of(client, user, body["id"]))["status"] == "unreachable"

    async def test_the_periodic_task_rechecks(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = await register_model(client, user, compatible(fake_upstream))
        await set_status(app, body["id"], "unreachable")
        task = health.start(app.state.sessionmaker, app.state.llm, app.state.settings, app.state.keyring, interval=0.05)
        try:
            for _ in range(100):
                if (await status_of(client, user, body["id"]))["status"] == "ok":
                    break
                await asyncio.sleep(0.05)
            assert (await status_of(client, user, body["id"]))["status"] == "ok"
        finally:
            await health.stop(task)


class TestPrivateHosts:
    """Without CODESMITH_ALLOW_PRIVATE_MODEL_HOSTS: administrators' system models may use a local server,
    users' own endpoints may not."""

    async def test_an_admin_adds_a_system_model_on_loopback(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await make_admin(app, user)
        body = await register_model(client, user, compatible(fake_upstream, system=True))
        assert body["owner"] == "system" and body["status"] == "ok"
        check = await client.post(f"/models/{body['id']}/check", headers=user.headers)
        assert check.json()["status"] == "ok", "a system model is called without the guard"

    async def test_an_admin_moves_a_system_model_to_loopback(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await make_admin(app, user)
        body = await register_model(
            client, user, compatible(fake_upstream, system=True, base_url=f"http://127.0.0.1:{free_port()}/v1")
        )
        moved = await client.patch(
            f"/models/{body['id']}", json={"base_url": fake_upstream.base_url}, headers=user.headers
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "ok"

    async def test_an_admins_own_model_keeps_the_guard(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await make_admin(app, user)
        response = await client.post("/models", json=compatible(fake_upstream), headers=user.headers)
        assert response.status_code == 422 and response.json()["code"] == "forbidden_model_host"

    async def test_a_user_cannot_use_loopback(
        self, client: httpx.AsyncClient, register_user: RegisterUser, fake_upstream: FakeUpstream
    ) -> None:
        other = await register_user()
        response = await client.post("/models", json=compatible(fake_upstream), headers=other.headers)
        assert response.status_code == 422 and response.json()["code"] == "forbidden_model_host"
        assert fake_upstream.models_requests == 0

    async def test_the_policy_says_which_applies(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.get("/models/host-policy", headers=user.headers)
        assert response.status_code == 200
        assert response.json() == {"user_private_hosts": False, "system_private_hosts": True}


class TestPrivateHostsAllowed:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"allow_private_model_hosts": True}

    async def test_the_policy_says_users_may(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.get("/models/host-policy", headers=user.headers)
        assert response.json() == {"user_private_hosts": True, "system_private_hosts": True}

    async def test_the_policy_needs_authentication(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/models/host-policy")).status_code == 401
