"""vLLM discovery: the server's models become unpriced system models, refreshed in the background."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.config import Settings
from codesmith.main import create_app
from codesmith.models import discovery
from codesmith.models.service import system_model_id
from tests.conftest import RegisterUser, UserHandle, free_port, register_and_login
from tests.fakes.upstream import FakeUpstream, running

VLLM_ID = system_model_id("vllm", "fake-coder")


async def models_of(client: httpx.AsyncClient, user: UserHandle) -> dict[str, dict[str, Any]]:
    response = await client.get("/models", headers=user.headers)
    assert response.status_code == 200
    return {item["id"]: item for item in response.json()["items"]}


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def default_of(models: dict[str, dict[str, Any]]) -> list[str]:
    return [model_id for model_id, item in models.items() if item["is_default"]]


class TestDiscovery:
    @pytest.fixture
    def settings_overrides(self, fake_upstream: FakeUpstream) -> dict[str, Any]:
        fake_upstream.behaviour.max_model_len = 16384
        return {
            "vllm_base_url": fake_upstream.base_url,
            "allow_private_model_hosts": True,
            "vllm_refresh_seconds": 3600,  # only the start-up refresh; tests call refresh() themselves
        }

    async def test_the_servers_models_become_unpriced_system_models(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        async def discovered() -> bool:
            return VLLM_ID in await models_of(client, user)

        await eventually(discovered, what="the start-up refresh")
        models = await models_of(client, user)
        vllm = models[VLLM_ID]
        assert vllm["provider"] == "vllm" and vllm["owner"] == "system" and vllm["model"] == "fake-coder"
        assert vllm["context_window"] == 16384, "max_model_len from the server"
        assert vllm["priced"] is False
        assert vllm["input_cost_per_mtok"] is None and vllm["output_cost_per_mtok"] is None
        assert vllm["status"] == "ok" and vllm["checked_at"] is not None
        assert vllm["base_url"] is None, "the internal vLLM address is not shown"
        assert default_of(models) == [VLLM_ID], "the first vLLM model is the default"
        assert next(iter(models)) == VLLM_ID, "the default is listed first"
        check = await client.post(f"/models/{VLLM_ID}/check", headers=user.headers)
        assert check.json()["status"] == "ok"

    async def test_a_model_that_disappears_is_kept_as_unreachable(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        refresh = discovery.refresh(app.state.sessionmaker, app.state.llm, app.state.settings)
        assert await refresh == [VLLM_ID]
        fake_upstream.behaviour.models = ["next-coder", "fake-coder-2"]
        listed = await discovery.refresh(app.state.sessionmaker, app.state.llm, app.state.settings)
        next_id = system_model_id("vllm", "next-coder")
        assert listed == [next_id, system_model_id("vllm", "fake-coder-2")]
        models = await models_of(client, user)
        assert models[VLLM_ID]["status"] == "unreachable", "kept, so history still points at it"
        assert models[next_id]["status"] == "ok"
        assert default_of(models) == [next_id]

        fake_upstream.behaviour.models = ["fake-coder"]
        await discovery.refresh(app.state.sessionmaker, app.state.llm, app.state.settings)
        models = await models_of(client, user)
        assert models[VLLM_ID]["status"] == "ok", "a model that comes back is the same model (stable id)"
        assert default_of(models) == [VLLM_ID]

    async def test_users_lora_adapters_do_not_become_system_models(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = {
            "name": "My adapter",
            "provider": "vllm",
            "model": "my-lora",
            "base_url": fake_upstream.base_url,
            "lora_adapter": "org/adapter",
        }
        created = await client.post("/models", json=body, headers=user.headers)
        assert created.status_code == 201
        assert "my-lora" in fake_upstream.behaviour.models
        await discovery.refresh(app.state.sessionmaker, app.state.llm, app.state.settings)
        models = await models_of(client, user)
        assert system_model_id("vllm", "my-lora") not in models
        assert models[created.json()["id"]]["owner"] == "user"


class TestAdaptersHideOnlyTheirOwnServersModels:
    """A LoRA adapter's name hides a listed model only when the adapter was loaded on the configured server."""

    @pytest.fixture
    def settings_overrides(self, fake_upstream: FakeUpstream) -> dict[str, Any]:
        return {
            "vllm_base_url": fake_upstream.base_url + "/",  # the same server as a base_url without the slash
            "allow_private_model_hosts": True,
            "vllm_refresh_seconds": 3600,
        }

    async def test_an_adapter_on_another_server_hides_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, register_user: RegisterUser
    ) -> None:
        mallory, alice = await register_user("mallory@example.com"), await register_user("alice@example.com")
        async with running(FakeUpstream()) as elsewhere:
            body = {
                "name": "Mine",
                "provider": "vllm",
                "model": "fake-coder",  # the name of the system model
                "base_url": elsewhere.base_url,
                "lora_adapter": "someone/adapter",
            }
            created = await client.post("/models", json=body, headers=mallory.headers)
            assert created.status_code == 201
        listed = await discovery.refresh(app.state.sessionmaker, app.state.llm, app.state.settings)
        assert listed == [VLLM_ID]
        for someone in (alice, mallory):
            models = await models_of(client, someone)
            assert models[VLLM_ID]["status"] == "ok"
            assert default_of(models) == [VLLM_ID]

    async def test_an_adapter_on_the_configured_server_is_still_its_owners_model(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = {
            "name": "My adapter",
            "provider": "vllm",
            "model": "my-lora",
            "base_url": fake_upstream.base_url,
            "lora_adapter": "org/adapter",
        }
        created = await client.post("/models", json=body, headers=user.headers)
        assert created.status_code == 201
        listed = await discovery.refresh(app.state.sessionmaker, app.state.llm, app.state.settings)
        assert listed == [VLLM_ID], "the adapter is listed by the server, and is not a system model"
        assert system_model_id("vllm", "my-lora") not in await models_of(client, user)


class HangingServer:
    """Accepts connections and never answers: a vLLM that is still loading its weights."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> HangingServer:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the client gives up
            writer.close()

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def hanging_server() -> AsyncIterator[HangingServer]:
    async with HangingServer() as server:
        yield server


class TestStartUpNeverBlocks:
    @pytest.fixture
    def settings_overrides(self, hanging_server: HangingServer) -> dict[str, Any]:
        return {
            "vllm_base_url": f"http://127.0.0.1:{hanging_server.port}/v1",
            "upstream_connect_timeout": 30.0,
            "openai_api_key": "sk-server-key-0123456789",  # the OpenAI models are usable: one is the default
        }

    async def test_a_hanging_vllm_does_not_delay_start_up_or_shutdown(self, settings: Settings) -> None:
        application = create_app(settings)
        started = time.monotonic()
        async with application.router.lifespan_context(application):
            assert time.monotonic() - started < 5
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
                user = await register_and_login(http, "early@example.com")
                models = await models_of(http, user)
            assert VLLM_ID not in models
            assert default_of(models) == [system_model_id("openai", "gpt-4o-mini")]
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 5, "shutdown cancels the pending refresh"


class TestLateVllm:
    @pytest.fixture
    def vllm_port(self) -> int:
        return free_port()

    @pytest.fixture
    def settings_overrides(self, vllm_port: int) -> dict[str, Any]:
        return {
            "vllm_base_url": f"http://127.0.0.1:{vllm_port}/v1",
            "allow_private_model_hosts": True,
            "vllm_refresh_seconds": 0.2,
            "openai_api_key": "sk-server-key-0123456789",  # the OpenAI models are usable: one is the default
        }

    async def test_a_later_refresh_picks_the_models_up_and_marks_them_when_gone(
        self, client: httpx.AsyncClient, user: UserHandle, vllm_port: int
    ) -> None:
        openai_default = system_model_id("openai", "gpt-4o-mini")
        models = await models_of(client, user)
        assert VLLM_ID not in models and default_of(models) == [openai_default]

        async with running(FakeUpstream(), port=vllm_port):

            async def up() -> bool:
                found = await models_of(client, user)
                return VLLM_ID in found and found[VLLM_ID]["status"] == "ok"

            await eventually(up, what="vLLM models after the server came up")
            assert default_of(await models_of(client, user)) == [VLLM_ID]

        async def gone() -> bool:
            return bool((await models_of(client, user))[VLLM_ID]["status"] == "unreachable")

        await eventually(gone, what="vLLM models marked unreachable")
        assert default_of(await models_of(client, user)) == [openai_default], "an answering model is the default"
