"""Retention: PATCH /users/me sets the user's period; the job deletes conversations not updated for longer
than the smaller of the user's and the server's periods, never one that is generating."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from codesmith.config import Settings
from codesmith.conversations.tables import Conversation, Message
from codesmith.db import utcnow
from codesmith.main import create_app
from codesmith.usage.tables import UsageRecord
from codesmith.yourdata.retention import delete_expired, effective_days
from tests.conftest import RegisterUser, UserHandle
from tests.conversations.helpers import sessionmaker_of
from tests.yourdata.helpers import PROMPT


async def conversation_aged(client: httpx.AsyncClient, app: FastAPI, user: UserHandle, days: float) -> str:
    response = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
    assert response.status_code == 201, response.text
    cid = str(response.json()["id"])
    async with sessionmaker_of(app)() as session:
        stamp = utcnow() - timedelta(days=days)
        await session.execute(update(Conversation).where(Conversation.id == cid).values(updated_at=stamp))
        await session.commit()
    return cid


async def remaining(app: FastAPI, ids: list[str]) -> set[str]:
    async with sessionmaker_of(app)() as session:
        return set((await session.execute(select(Conversation.id).where(Conversation.id.in_(ids)))).scalars())


async def set_retention(client: httpx.AsyncClient, user: UserHandle, days: int | None) -> httpx.Response:
    return await client.patch("/users/me", json={"retention_days": days}, headers=user.headers)


def test_the_effective_period_is_the_smaller_one_set() -> None:
    assert effective_days(None, None) is None
    assert effective_days(30, None) == 30
    assert effective_days(None, 90) == 90
    assert (effective_days(30, 90), effective_days(120, 90)) == (30, 90)


class TestSetting:
    async def test_patch_sets_and_clears_the_users_period(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await set_retention(client, user, 30)
        assert response.status_code == 200
        assert (response.json()["retention_days"], response.json()["retention_limit_days"]) == (30, None)
        assert (await client.get("/users/me", headers=user.headers)).json()["retention_days"] == 30
        untouched = await client.patch("/users/me", json={}, headers=user.headers)
        assert untouched.json()["retention_days"] == 30
        assert (await set_retention(client, user, None)).json()["retention_days"] is None

    @pytest.mark.parametrize("days", [0, -1, 3651, "forever"])
    async def test_out_of_range_is_422(self, client: httpx.AsyncClient, user: UserHandle, days: Any) -> None:
        response = await set_retention(client, user, days)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "retention_days"]


class TestJob:
    @pytest.fixture
    def settings_overrides(self, settings_overrides: dict[str, Any]) -> dict[str, Any]:
        return {**settings_overrides, "retention_days": 90}

    async def test_deletes_what_is_older_than_the_period_and_keeps_the_rest(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_model: str,
        settings: Settings,
    ) -> None:
        assert (await client.get("/users/me", headers=user.headers)).json()["retention_limit_days"] == 90
        await set_retention(client, user, 7)
        old = await conversation_aged(client, app, user, 8)
        recent = await conversation_aged(client, app, user, 6)
        generating = await conversation_aged(client, app, user, 30)
        async with sessionmaker_of(app)() as session:
            # A generation running on another, live replica (its row says so, with its lease): never deleted
            # under it. (Without the lease this app's own reaper could mark it interrupted first.)
            await session.execute(
                update(Message)
                .where(Message.conversation_id == generating, Message.role == "assistant")
                .values(
                    status="streaming",
                    completed_at=None,
                    owner="replica-b:2:bb",
                    lease_until=utcnow() + timedelta(minutes=10),
                )
            )
            await session.commit()
        bob = await register_user("bob@example.com")  # no setting of his own: the server's 90 days
        bobs_old = await conversation_aged(client, app, bob, 80)
        bobs_older = await conversation_aged(client, app, bob, 91)
        await set_retention(client, bob, 365)  # longer than the server allows: 90 still holds
        bobs_oldest = await conversation_aged(client, app, bob, 100)
        async with sessionmaker_of(app)() as session:
            usage_before = await session.scalar(select(func.count()).select_from(UsageRecord))

        deleted = await delete_expired(sessionmaker_of(app), settings)

        assert deleted == 3
        ids = [old, recent, generating, bobs_old, bobs_older, bobs_oldest]
        assert await remaining(app, ids) == {recent, generating, bobs_old}
        async with sessionmaker_of(app)() as session:
            assert await session.scalar(select(func.count()).select_from(UsageRecord)) == usage_before  # ledger stays
            gone = select(func.count()).select_from(Message).where(Message.conversation_id.in_([old, bobs_older]))
            assert await session.scalar(gone) == 0
        listed = (await client.get("/conversations", headers=user.headers)).json()["items"]
        assert {c["id"] for c in listed} == {recent, generating}

    async def test_runs_at_start_up(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_model: str, settings: Settings
    ) -> None:
        old = await conversation_aged(client, app, user, 91)
        second = create_app(settings)  # another replica starting: its first pass runs at once
        async with second.router.lifespan_context(second):
            for _ in range(100):
                if not await remaining(app, [old]):
                    break
                await asyncio.sleep(0.05)
        assert await remaining(app, [old]) == set()


class TestOff:
    async def test_nothing_is_deleted_when_no_period_is_set(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_model: str, settings: Settings
    ) -> None:
        ancient = await conversation_aged(client, app, user, 3000)
        assert await delete_expired(sessionmaker_of(app), settings) == 0
        assert await remaining(app, [ancient]) == {ancient}
