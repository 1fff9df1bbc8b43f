"""users.last_active_at: noted at sign-in and on authenticated requests, written by the recorder outside the
request at most every 5 minutes, and shown in the admin console at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from codesmith.auth.last_used import LastUsedRecorder
from codesmith.users.tables import User
from tests.auth.helpers import sign_in
from tests.auth.test_last_used import statements_on, writes_in
from tests.conftest import UserHandle


async def stored_activity(app: FastAPI, user_id: str) -> datetime | None:
    async with app.state.sessionmaker() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.last_active_at


async def listed_activity(client: httpx.AsyncClient, admin: UserHandle, user_id: str) -> str | None:
    response = await client.get(f"/admin/users/{user_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    value: str | None = response.json()["last_active_at"]
    return value


class TestLastActive:
    async def test_sign_in_shows_in_the_console_at_once_and_is_written_later(
        self, app: FastAPI, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        await _forget(app, member.id)
        before = datetime.now(UTC)
        assert (await sign_in(client, member.email, member.password)).status_code == 200
        listed = await listed_activity(client, admin, member.id)
        assert listed is not None and datetime.fromisoformat(listed) >= before
        assert await stored_activity(app, member.id) is None, "not in the sign-in's own transaction"
        await app.state.last_used.flush()
        stored = await stored_activity(app, member.id)
        assert stored is not None and stored >= before

    async def test_an_authenticated_request_writes_nothing_itself(
        self, app: FastAPI, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        await _forget(app, member.id)
        with statements_on(app.state.engine) as statements:
            assert (await client.get("/users/me", headers=member.headers)).status_code == 200
        assert writes_in(statements) == []
        assert app.state.last_used.latest_activity(member.id) is not None
        await app.state.last_used.flush()
        assert await stored_activity(app, member.id) is not None
        # Fresh in the database: the next request notes nothing more.
        assert (await client.get("/users/me", headers=member.headers)).status_code == 200
        assert app.state.last_used.latest_activity(member.id) is None


class TestTheRecorder:
    async def test_writes_a_user_at_most_every_five_minutes_and_never_backwards(
        self, app: FastAPI, member: UserHandle
    ) -> None:
        recorder = LastUsedRecorder(app.state.sessionmaker)
        start = datetime(2030, 1, 1, tzinfo=UTC)
        recorder.note_active(member.id, start)
        await recorder.flush()
        assert await stored_activity(app, member.id) == start

        recorder.note_active(member.id, start + timedelta(minutes=4))
        with statements_on(app.state.engine) as statements:
            await recorder.flush()
        assert statements == []
        recorder.note_active(member.id, start + timedelta(minutes=6))
        await recorder.flush()
        assert await stored_activity(app, member.id) == start + timedelta(minutes=6)

        older = LastUsedRecorder(app.state.sessionmaker)  # another process that saw the user earlier
        older.note_active(member.id, start)
        await older.flush()
        assert await stored_activity(app, member.id) == start + timedelta(minutes=6)


async def _forget(app: FastAPI, user_id: str) -> None:
    """Start from a user never seen active (registration signed the fixtures in), with a recorder that has
    not written them yet."""
    await app.state.last_used.close()
    app.state.last_used = LastUsedRecorder(app.state.sessionmaker)
    async with app.state.sessionmaker() as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.last_active_at = None
        await session.commit()
