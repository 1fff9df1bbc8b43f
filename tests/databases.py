"""Test databases: which backend a test session runs on, and fresh migrated PostgreSQL databases.

CODESMITH_TEST_DATABASE picks the backend of the `settings` fixture: `sqlite` (the default) or `postgresql`.
PostgreSQL needs CODESMITH_TEST_POSTGRES_URL, a superuser's URL in asyncpg form (scripts/test-services.sh
starts a throwaway cluster and sets it). Every database made here is a copy of one migrated template per
process (`CREATE DATABASE ... TEMPLATE`, tens of milliseconds), so the real Alembic migrations run once.

The administrative statements run on one background thread's event loop with warm connections (on a fresh
backend, CREATE DATABASE costs ten times as much), so the API works from any loop, and from none (`_sync`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from codesmith.db import make_engine
from codesmith.migrations import upgrade

T = TypeVar("T")

BACKEND_VAR = "CODESMITH_TEST_DATABASE"
POSTGRES_VAR = "CODESMITH_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
NAME_PREFIX = "codesmith_test_"
# CREATE DATABASE ... TEMPLATE fails while anyone else is connected to the template (another process
# copying it at the same moment): try again for up to this long.
TEMPLATE_BUSY_RETRY_S = 30.0


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server was configured for the tests (CODESMITH_TEST_POSTGRES_URL is unset)."""


def backend() -> str:
    """The database backend of this test session: `sqlite` or `postgresql`."""
    chosen = os.environ.get(BACKEND_VAR, "sqlite").strip().lower() or "sqlite"
    if chosen in ("postgres", "pg"):
        chosen = "postgresql"
    if chosen not in BACKENDS:
        raise ValueError(f"{BACKEND_VAR}={chosen!r}: expected one of {', '.join(BACKENDS)}")
    return chosen


def postgres_admin_url() -> str:
    """CODESMITH_TEST_POSTGRES_URL, or PostgresUnavailable."""
    url = os.environ.get(POSTGRES_VAR, "").strip()
    if not url:
        raise PostgresUnavailable(f"{POSTGRES_VAR} is not set (scripts/test-services.sh starts a server)")
    return url


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` pointing at database `name` (same server, same credentials)."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Admin:
    """The background loop, a small pool of superuser connections per server, and the migrated templates."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-databases", daemon=True)
        self.thread.start()
        self.pools: dict[str, asyncpg.Pool] = {}
        self.templates: dict[str, str] = {}
        self.template_lock: asyncio.Lock | None = None
        self.pending: set[concurrent.futures.Future[None]] = set()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def pool(self, admin_url: str) -> asyncpg.Pool:
        if admin_url not in self.pools:
            dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.pools[admin_url] = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        return self.pools[admin_url]

    async def create(self, admin_url: str, source: str | None) -> str:
        source = source or await self.template(admin_url)
        name = f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}"
        deadline = self.loop.time() + TEMPLATE_BUSY_RETRY_S
        async with (await self.pool(admin_url)).acquire() as connection:
            while True:
                try:
                    await connection.execute(f"CREATE DATABASE {_quoted(name)} TEMPLATE {_quoted(source)}")
                    return database_url(admin_url, name)
                except asyncpg.ObjectInUseError:
                    if self.loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.05)

    async def drop(self, admin_url: str, name: str) -> None:
        async with (await self.pool(admin_url)).acquire() as connection:
            await connection.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")

    async def template(self, admin_url: str) -> str:
        self.template_lock = self.template_lock or asyncio.Lock()
        async with self.template_lock:
            if admin_url not in self.templates:
                url = await self.create(admin_url, "template0")
                # Alembic's env.py runs an event loop of its own: in a worker thread.
                await asyncio.to_thread(upgrade, url)
                self.templates[admin_url] = str(make_url(url).database)
            return self.templates[admin_url]

    async def drop_template(self, admin_url: str) -> None:
        if name := self.templates.pop(admin_url, None):
            await self.drop(admin_url, name)


_admin_state: _Admin | None = None
_admin_state_lock = threading.Lock()


def _admin() -> _Admin:
    global _admin_state
    with _admin_state_lock:
        if _admin_state is None:
            _admin_state = _Admin()
        return _admin_state


async def _on_admin(coroutine: Coroutine[Any, Any, T]) -> T:
    return await asyncio.wrap_future(_admin().submit(coroutine))


async def create_postgres_database(
    admin_url: str | None = None, *, migrated: bool = True, template: str | None = None
) -> str:
    """A new, uniquely named database on the test server; returns its URL (asyncpg form, for the app's
    `database_url`). `migrated` (the default): at the head of the migrations, copied from `template` when
    given, else from this process's migrated template (made on first use). `migrated=False`: empty.
    Drop it with `drop_postgres_database(url)` (or use `fresh_postgres_database`)."""
    admin_url = admin_url or postgres_admin_url()
    return await _on_admin(_admin().create(admin_url, (template if migrated else "template0")))


async def drop_postgres_database(url: str, admin_url: str | None = None) -> None:
    """Drop the database of `url`, closing any connection still open to it."""
    name = make_url(url).database
    assert name, url
    await _on_admin(_admin().drop(admin_url or postgres_admin_url(), name))


@asynccontextmanager
async def fresh_postgres_database(
    admin_url: str | None = None, *, migrated: bool = True, template: str | None = None
) -> AsyncIterator[str]:
    """`async with fresh_postgres_database() as url:` a new database, dropped on the way out."""
    url = await create_postgres_database(admin_url, migrated=migrated, template=template)
    try:
        yield url
    finally:
        await drop_postgres_database(url, admin_url)


async def migrated_template(admin_url: str | None = None) -> str:
    """The name of this process's template for `admin_url`'s server: migrated to head once (the real
    migrations); every `create_postgres_database()` copies it."""
    admin_url = admin_url or postgres_admin_url()
    return await _on_admin(_admin().template(admin_url))


# For synchronous callers (fixtures, scripts), from any thread; not to be awaited.


def create_postgres_database_sync(
    admin_url: str | None = None, *, migrated: bool = True, template: str | None = None
) -> str:
    admin_url = admin_url or postgres_admin_url()
    return _admin().submit(_admin().create(admin_url, template if migrated else "template0")).result()


def drop_postgres_database_sync(url: str, admin_url: str | None = None, *, wait: bool = True) -> None:
    """Drop the database of `url`; `wait=False` returns at once (the drop overlaps the next test), and
    `close()` waits for what is still pending."""
    name = make_url(url).database
    assert name, url
    future = _admin().submit(_admin().drop(admin_url or postgres_admin_url(), name))
    if wait:
        future.result()
        return
    state = _admin()
    state.pending.add(future)
    future.add_done_callback(state.pending.discard)


def migrated_template_sync(admin_url: str | None = None) -> str:
    return _admin().submit(_admin().template(admin_url or postgres_admin_url())).result()


def close(*, drop_templates: bool = True) -> None:
    """Wait for pending drops, drop the migrated templates, close the connections and stop the thread
    (the conftest does this at the end of the session; a later call starts afresh)."""
    global _admin_state
    with _admin_state_lock:
        state, _admin_state = _admin_state, None
    if state is None:
        return

    async def shut() -> None:
        if drop_templates:
            for admin_url in list(state.templates):
                await state.drop_template(admin_url)
        for pool in state.pools.values():
            await pool.close()

    try:
        for future in list(state.pending):
            future.result()
        state.submit(shut()).result()
    finally:
        state.loop.call_soon_threadsafe(state.loop.stop)
        state.thread.join(timeout=10)


def run_sync_on(url: str, work: Callable[[Connection], T], *, commit: bool = False) -> T:
    """Run `work` on a synchronous Connection to `url` (any backend; the app's drivers are async), for
    tests that inspect or seed a database outside the app (`Session(bind=connection)` works inside)."""

    async def go() -> T:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                result = await connection.run_sync(work)
                if commit:
                    await connection.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())
