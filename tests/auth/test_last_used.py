"""An API token's last_used_at is recorded outside the request: the request only reads the database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from codesmith.auth.deps import CurrentUser
from codesmith.auth.last_used import LastUsedRecorder
from codesmith.config import Settings
from codesmith.db import make_engine, make_sessionmaker
from codesmith.main import create_app
from codesmith.users.tables import ApiToken
from tests.conftest import UserHandle, register_and_login

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


async def new_api_token(client: httpx.AsyncClient, user: UserHandle) -> tuple[str, dict[str, str]]:
    created = await client.post("/users/me/api-tokens", json={"name": "script"}, headers=user.headers)
    assert created.status_code == 201, created.text
    return created.json()["id"], {"Authorization": f"Bearer {created.json()['token']}"}


@contextmanager
def statements_on(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


def writes_in(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(WRITES)]


async def another_connection_can_write(settings: Settings) -> bool:
    """Whether another connection can write now. SQLite: take the database's write lock. PostgreSQL (row
    locks): update the user and token rows the request touches, giving up after a short lock wait."""
    if not settings.database_url.startswith("sqlite"):
        dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '200ms'")
                await conn.execute("UPDATE users SET updated_at = updated_at")
                await conn.execute("UPDATE api_tokens SET last_used_at = last_used_at")
                raise _RollBack
        except _RollBack:
            return True
        except asyncpg.LockNotAvailableError:
            return False
        finally:
            await conn.close()
    return _sqlite_can_write(settings)


class _RollBack(Exception):
    pass


def _sqlite_can_write(settings: Settings) -> bool:
    conn = sqlite3.connect(settings.database_url.split("///", 1)[1], timeout=0.2, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # "database is locked": someone holds the write lock
        return False
    finally:
        conn.close()


async def listed_last_used(client: httpx.AsyncClient, user: UserHandle) -> str | None:
    items = (await client.get("/users/me/api-tokens", headers=user.headers)).json()["items"]
    assert len(items) == 1
    value: str | None = items[0]["last_used_at"]
    return value


class TestARequestWithAnApiToken:
    async def test_runs_no_write_statement(self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle) -> None:
        _, as_script = await new_api_token(client, user)
        with statements_on(app.state.engine) as statements:
            response = await client.get("/users/me", headers=as_script)
        assert response.status_code == 200
        assert statements, "the lookup should have read the database"
        assert writes_in(statements) == []

    async def test_leaves_another_writer_unblocked_while_it_runs(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, settings: Settings
    ) -> None:
        async def probe(_: CurrentUser) -> dict[str, bool]:
            # Runs inside the request, after the caller is authenticated and before its session commits.
            return {"writable": await another_connection_can_write(settings)}

        app.add_api_route("/api/v1/test-probe", probe, methods=["GET"])
        _, as_script = await new_api_token(client, user)
        response = await client.get("/test-probe", headers=as_script)
        assert response.status_code == 200
        assert response.json() == {"writable": True}

    async def test_is_visible_in_the_listing_at_once_and_after_the_flush(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        token_id, as_script = await new_api_token(client, user)
        before = datetime.now(UTC)
        assert (await client.get("/users/me", headers=as_script)).status_code == 200
        noted = await listed_last_used(client, user)  # noted, not yet written: the listing shows it anyway
        assert noted is not None
        assert datetime.fromisoformat(noted) >= before - timedelta(seconds=1)
        async with app.state.sessionmaker() as session:
            row = (await session.execute(select(ApiToken).where(ApiToken.id == token_id))).scalar_one()
            assert row.last_used_at is None
        await app.state.last_used.flush()
        assert await listed_last_used(client, user) == noted


class TestTheRecorder:
    async def _stored(self, app: FastAPI, token_id: str) -> datetime | None:
        async with app.state.sessionmaker() as session:
            row = (await session.execute(select(ApiToken).where(ApiToken.id == token_id))).scalar_one()
        value: datetime | None = row.last_used_at
        return value

    async def test_writes_a_token_at_most_once_a_minute(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        token_id, _ = await new_api_token(client, user)
        recorder = LastUsedRecorder(app.state.sessionmaker)
        start = datetime(2030, 1, 1, tzinfo=UTC)
        recorder.note(token_id, start)
        recorder.note(token_id, start + timedelta(seconds=1))
        with statements_on(app.state.engine) as statements:
            await recorder.flush()
        assert len(writes_in(statements)) == 1
        assert await self._stored(app, token_id) == start + timedelta(seconds=1)

        recorder.note(token_id, start + timedelta(seconds=30))
        with statements_on(app.state.engine) as statements:
            await recorder.flush()
        assert statements == []
        assert await self._stored(app, token_id) == start + timedelta(seconds=1)

        recorder.note(token_id, start + timedelta(seconds=62))
        await recorder.flush()
        assert await self._stored(app, token_id) == start + timedelta(seconds=62)

    async def test_writes_every_token_in_one_batch(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        first, _ = await new_api_token(client, user)
        second, _ = await new_api_token(client, user)
        recorder = LastUsedRecorder(app.state.sessionmaker)
        when = datetime(2030, 1, 1, tzinfo=UTC)
        recorder.note(first, when)
        recorder.note(second, when)
        with statements_on(app.state.engine) as statements:
            await recorder.flush()
        assert len(writes_in(statements)) == 1
        assert await self._stored(app, first) == await self._stored(app, second) == when

    async def test_never_moves_a_time_backwards(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        token_id, _ = await new_api_token(client, user)
        later = datetime(2030, 1, 1, tzinfo=UTC)
        newer = LastUsedRecorder(app.state.sessionmaker)
        newer.note(token_id, later)
        await newer.flush()
        # Another worker process that saw the token earlier flushes after this one.
        older = LastUsedRecorder(app.state.sessionmaker)
        older.note(token_id, later - timedelta(minutes=5))
        await older.flush()
        assert await self._stored(app, token_id) == later

    async def test_flushes_in_the_background(self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle) -> None:
        token_id, _ = await new_api_token(client, user)
        recorder = LastUsedRecorder(app.state.sessionmaker, interval=0.05)
        recorder.start()
        try:
            when = datetime(2030, 1, 1, tzinfo=UTC)
            recorder.note(token_id, when)
            for _ in range(200):
                if await self._stored(app, token_id) == when:
                    break
                await asyncio.sleep(0.02)
            assert await self._stored(app, token_id) == when
        finally:
            await recorder.close()

    async def test_flushes_what_is_left_when_the_app_shuts_down(self, settings: Settings) -> None:
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
                owner = await register_and_login(http, "owner@example.com")
                token_id, as_script = await new_api_token(http, owner)
                assert (await http.get("/users/me", headers=as_script)).status_code == 200
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                row = (await session.execute(select(ApiToken).where(ApiToken.id == token_id))).scalar_one()
            assert row.last_used_at is not None
        finally:
            await engine.dispose()
