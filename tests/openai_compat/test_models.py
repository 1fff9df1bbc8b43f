"""`/v1/models` and `/v1/models/{id}` through the real openai SDK: readable ids, only what the user sees."""

from __future__ import annotations

import asyncio

import openai
import pytest
from sqlalchemy import update

from codesmith.models.tables import Model
from tests.conftest import LiveServer
from tests.conversations.helpers import add_model
from tests.fakes.upstream import FakeUpstream
from tests.openai_compat.conftest import ApiUser


async def add_own_model(user: ApiUser, upstream: FakeUpstream, name: str) -> str:
    async with user.app_client() as http:
        created = await http.post(
            "/models",
            json={"name": name, "provider": "openai_compatible", "model": "fake-coder", "base_url": upstream.base_url},
        )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


class TestListAndRetrieve:
    async def test_sync_client_lists_the_models_the_app_shows(self, alice: ApiUser, fake_model: str) -> None:
        listed = await asyncio.to_thread(lambda: alice.openai().models.list())
        ids = [model.id for model in listed.data]
        assert ids == ["fake-coder"]
        model = listed.data[0]
        assert model.object == "model"
        assert model.owned_by == "system"
        assert isinstance(model.created, int)
        async with alice.app_client() as http:
            app_ids = [m["id"] for m in (await http.get("/models")).json()["items"]]
        assert [m.model_extra["codesmith_id"] for m in listed.data] == app_ids  # type: ignore[index]

    async def test_async_client_retrieves_by_name_and_by_codesmith_id(self, alice: ApiUser, fake_model: str) -> None:
        client = alice.async_openai()
        by_name = await client.models.retrieve("fake-coder")
        by_id = await client.models.retrieve(fake_model)
        assert by_name.id == by_id.id == "fake-coder"

    async def test_a_name_with_a_slash_is_retrieved(self, alice: ApiUser, live_server: LiveServer) -> None:
        async with live_server.app.state.sessionmaker() as session:
            await session.execute(update(Model).values(model="Qwen/Qwen2.5-Coder-7B-Instruct"))
            await session.commit()
        model = await alice.async_openai().models.retrieve("Qwen/Qwen2.5-Coder-7B-Instruct")
        assert model.id == "Qwen/Qwen2.5-Coder-7B-Instruct"

    async def test_unknown_model_is_not_found(self, alice: ApiUser) -> None:
        with pytest.raises(openai.NotFoundError) as raised:
            await alice.async_openai().models.retrieve("no-such-model")
        assert raised.value.code == "model_not_found"


class TestNames:
    async def test_own_models_by_name_and_ambiguous_names_get_a_suffix(
        self, alice: ApiUser, live_server: LiveServer, fake_upstream: FakeUpstream
    ) -> None:
        own = await add_own_model(alice, fake_upstream, "my coder")
        clash = await add_own_model(alice, fake_upstream, "fake-coder")  # the system model's upstream name
        ids = [model.id for model in (await alice.async_openai().models.list()).data]
        suffixed = f"fake-coder@{clash.replace('-', '')[:8]}"
        assert set(ids) == {"fake-coder", "my coder", suffixed}
        # The system model keeps its name; the user's own answers to its suffixed id and to its Codesmith id.
        client = alice.async_openai()
        assert (await client.models.retrieve("fake-coder")).owned_by == "system"
        assert (await client.models.retrieve(suffixed)).model_extra["codesmith_id"] == clash  # type: ignore[index]
        assert (await client.models.retrieve(own)).id == "my coder"
        # A later system model with the same name does not take the name from the one that had it.
        await add_model(live_server.app, fake_upstream, name="Second", is_default=False)
        ids = [model.id for model in (await client.models.list()).data]
        assert ids.count("fake-coder") == 1

    async def test_another_users_model_is_invisible_and_unusable(
        self, alice: ApiUser, bob: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        secret = await add_own_model(alice, fake_upstream, "alice private")
        client = bob.async_openai()
        assert "alice private" not in [model.id for model in (await client.models.list()).data]
        for wanted in ("alice private", secret):
            with pytest.raises(openai.NotFoundError):
                await client.models.retrieve(wanted)
            with pytest.raises(openai.NotFoundError) as raised:
                await client.chat.completions.create(
                    model=wanted,
                    messages=[{"role": "user", "content": "Write a Python function that adds two numbers"}],
                )
            assert raised.value.code == "model_not_found"
        assert fake_upstream.requests == []
