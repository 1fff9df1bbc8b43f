"""DELETE /users/me: a wrong password deletes nothing; the right one leaves no row, no Redis key and no
running generation of the user; the last administrator stays."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import String, func, select, text, update

from codesmith.admin.tables import AuditEvent, Invitation
from codesmith.auth.throttle import account_key
from codesmith.conversations.fanout import stream_key
from codesmith.conversations.tables import Message
from codesmith.db import Base, utcnow
from codesmith.users.tables import User
from tests.conftest import PASSWORD, LiveServer, RegisterUser, UserHandle
from tests.conversations.helpers import events_of, sessionmaker_of
from tests.fakes.upstream import FakeUpstream
from tests.yourdata.helpers import PROMPT, rich_conversation
from tests.yourdata.test_import import rows_of

REDIS_URL = os.environ.get("CODESMITH_TEST_REDIS_URL")


async def delete_account(client: httpx.AsyncClient, user: UserHandle, password: str = PASSWORD) -> httpx.Response:
    return await client.request("DELETE", "/users/me", json={"password": password}, headers=user.headers)


async def rows_naming(app: FastAPI, user_id: str, email: str) -> dict[str, int]:
    """Rows of any table with the user's id or email in any text column (user_id, owner_id, actor_id,
    target_id, created_by, id, email...), and on SQLite in the search indexes."""
    found: dict[str, int] = {}
    async with sessionmaker_of(app)() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String) or column.name.endswith("_id"):
                    query = select(func.count()).select_from(table).where(column.in_([user_id, email]))
                    count = int((await session.execute(query)).scalar_one())
                    if count:
                        found[f"{table.name}.{column.name}"] = count
        if session.get_bind().dialect.name == "sqlite":
            for index in ("conversation_search", "snippet_search"):
                query = text(f"SELECT count(*) FROM {index} WHERE user_id = :id")
                count = int((await session.execute(query, {"id": user_id})).scalar_one())
                if count:
                    found[index] = count
    return found


async def set_admin(app: FastAPI, user: UserHandle, *, is_admin: bool = True, disabled: bool = False) -> None:
    async with sessionmaker_of(app)() as session:
        await session.execute(update(User).where(User.id == user.id).values(is_admin=is_admin, disabled=disabled))
        await session.commit()


class TestWrongPassword:
    async def test_is_422_and_nothing_is_deleted(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_model: str
    ) -> None:
        await rich_conversation(client, user)
        before = await rows_naming(app, user.id, user.email)
        response = await delete_account(client, user, "not my password")
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "password"]
        assert "not my password" not in response.text
        assert await rows_naming(app, user.id, user.email) == before
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200

    async def test_guesses_are_throttled_like_a_password_change(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        answers = [(await delete_account(client, user, f"guess number {n}")).status_code for n in range(6)]
        assert answers == [422] * 5 + [429]
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200


class TestEverythingGoes:
    async def test_no_row_of_the_user_is_left_in_any_table(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        bob = await register_user("bob@example.com")
        await rich_conversation(client, user)
        bobs = (await client.post("/conversations", json={"prompt": PROMPT}, headers=bob.headers)).json()
        token = await client.post("/users/me/api-tokens", json={"name": "ci"}, headers=user.headers)
        lora = {"name": "Mine", "provider": "vllm", "model": "my-lora", "base_url": fake_upstream.base_url}
        model = await client.post("/models", json={**lora, "lora_adapter": "org/adapter"}, headers=user.headers)
        assert model.status_code == 201, model.text
        await client.patch("/users/me", json={"retention_days": 30}, headers=user.headers)
        async with sessionmaker_of(app)() as session:
            session.add_all(
                [
                    AuditEvent(actor_id=user.id, actor_email=user.email, action="user.update", target_id=bob.id),
                    AuditEvent(actor_id=bob.id, actor_email=bob.email, action="user.update", target_id=user.id),
                    Invitation(token_hash="h" * 64, created_by=user.id, expires_at=utcnow() + timedelta(days=1)),
                    # The invitation the user registered with (made for their address by another admin).
                    Invitation(
                        token_hash="i" * 64,
                        email=user.email,
                        created_by=bob.id,
                        used_at=utcnow(),
                        expires_at=utcnow() + timedelta(days=1),
                    ),
                ]
            )
            await session.commit()
        present = await rows_naming(app, user.id, user.email)
        for table in ("users.id", "conversations.user_id", "messages.user_id", "snippets.user_id", "models.owner_id"):
            assert table in present
        for table in ("api_tokens.user_id", "refresh_tokens.user_id", "usage_records.user_id", "audit_events.actor_id"):
            assert table in present
        assert "invitations.email" in present

        response = await delete_account(client, user)
        assert response.status_code == 204, response.text

        assert await rows_naming(app, user.id, user.email) == {}
        assert fake_upstream.lora_calls[-1] == ("unload", {"lora_name": "my-lora"})
        async with sessionmaker_of(app)() as session:
            events = list((await session.execute(select(AuditEvent).order_by(AuditEvent.actor_id))).scalars())
        assert len(events) == 2, "the administrative actions stay on record"
        assert all(user.email not in repr(vars(event)) for event in events)
        assert {(e.actor_id, e.target_id) for e in events} == {(None, bob.id), (bob.id, None)}
        assert (await client.get("/users/me", headers=user.headers)).status_code == 401
        api_token = {"Authorization": f"Bearer {token.json()['token']}"}
        assert (await client.get("/users/me", headers=api_token)).status_code == 401
        assert (await client.get(f"/conversations/{bobs['id']}", headers=bob.headers)).status_code == 200
        again = await client.post("/auth/register", json={"email": user.email, "password": PASSWORD})
        assert again.status_code == 201

    async def test_a_running_generation_is_stopped_first(
        self, app: FastAPI, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.hang = True
        async with live_server.client() as http:
            request = http.build_request(
                "POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers
            )
            response = await http.send(request, stream=True)
            events = events_of(response)
            start = await anext(events)
            assert start.event == "start"
            deleted = await asyncio.wait_for(delete_account(http, user), timeout=20)
            assert deleted.status_code == 204, deleted.text
            rest = [event.event async for event in events if event.event != "comment"]
            await response.aclose()
        assert rest and rest[-1] in ("done", "error")
        assert await rows_naming(app, user.id, user.email) == {}
        assert live_server.app.state.generations.running() == []


class TestLastAdministrator:
    async def test_cannot_leave_an_instance_with_users_without_an_administrator(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, register_user: RegisterUser
    ) -> None:
        bob = await register_user("bob@example.com")
        await set_admin(app, user)
        refused = await delete_account(client, user)
        assert refused.status_code == 409 and refused.json()["code"] == "last_admin"
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200
        await set_admin(app, bob, disabled=True)  # a disabled administrator administers nothing
        assert (await delete_account(client, user)).status_code == 409
        await set_admin(app, bob)
        assert (await delete_account(client, user)).status_code == 204

    async def test_the_only_account_may_leave(self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle) -> None:
        await set_admin(app, user)
        assert (await delete_account(client, user)).status_code == 204
        assert await rows_naming(app, user.id, user.email) == {}


@pytest.mark.skipif(not REDIS_URL, reason="no Redis server (scripts/test-services.sh starts one)")
class TestRedisKeys:
    @pytest.fixture
    def settings_overrides(self, settings_overrides: dict[str, Any]) -> dict[str, Any]:
        return {
            **settings_overrides,
            "redis_url": REDIS_URL,
            "rate_limit_requests_per_minute": 100,
            "rate_limit_tokens_per_day": 1_000_000,
        }

    async def test_no_key_of_the_user_is_left(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_model: str
    ) -> None:
        assert REDIS_URL
        redis = Redis.from_url(REDIS_URL.removeprefix("async+"))
        detail = await rich_conversation(client, user)
        answers = [m["id"] for m in detail["messages"] if m["role"] == "assistant"]
        await delete_account(client, user, "a wrong guess")  # a password-guess window of theirs
        markers = (user.id, account_key(user.email))

        async def keys_of_user() -> list[bytes]:
            keys = [key async for key in redis.scan_iter(match="*", count=1000)]
            streams = {stream_key(answer).encode() for answer in answers}
            return [key for key in keys if key in streams or any(marker.encode() in key for marker in markers)]

        try:
            before = await keys_of_user()
            assert any(user.id.encode() in key for key in before), before  # budgets and windows were there
            assert any(account_key(user.email).encode() in key for key in before), before
            assert (await delete_account(client, user)).status_code == 204
            assert await keys_of_user() == []
        finally:
            await redis.aclose()
        assert await rows_of(app, user) == (0, 0, 0)
        async with sessionmaker_of(app)() as session:
            assert await session.scalar(select(func.count()).select_from(Message)) == 0
