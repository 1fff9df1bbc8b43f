"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL: tests/databases.py), the app, an API
client, a live server, users; and the suite's rules (backend-only tests, no skips when services are required)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import update

from codesmith.config import Settings
from codesmith.main import create_app
from codesmith.migrations import upgrade
from codesmith.users.tables import User
from tests import databases
from tests.fakes.upstream import FakeUpstream, running

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789abcdef"
# argon2 at 1 MiB instead of 64: nearly every test registers and signs in a user (two hashes each), which at
# the production cost was minutes of CPU per pass. Inherited by the servers the tests start.
os.environ.setdefault("CODESMITH_PASSWORD_HASH_MEMORY_KIB", "1024")
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


REQUIRE_SERVICES_VAR = "CODESMITH_TEST_REQUIRE_SERVICES"
BACKEND_MARKERS = {"sqlite_only": "sqlite", "postgresql_only": "postgresql"}


def services_required() -> bool:
    return os.environ.get(REQUIRE_SERVICES_VAR, "") not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about SQLite itself (FTS5 triggers, pragmas, file modes)")
    config.addinivalue_line("markers", "postgresql_only: about PostgreSQL itself (its full-text search, its DDL)")
    try:
        chosen = databases.backend()
        if chosen == "postgresql":
            databases.postgres_admin_url()
    except (ValueError, databases.PostgresUnavailable) as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {databases.backend()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests about the other backend are deselected, not skipped (a skip fails when services are required)."""
    chosen = databases.backend()
    kept, dropped = [], []
    for item in items:
        only = [backend for marker, backend in BACKEND_MARKERS.items() if item.get_closest_marker(marker)]
        (dropped if only and chosen not in only else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """With CODESMITH_TEST_REQUIRE_SERVICES=1 (CI), a skipped test fails: nothing may go untested quietly."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and services_required():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but {REQUIRE_SERVICES_VAR}=1 makes every skip a failure: {reason}"


@pytest.fixture(scope="session")
def database_backend() -> str:
    """`sqlite` or `postgresql` (CODESMITH_TEST_DATABASE)."""
    return databases.backend()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory, database_backend: str) -> Iterator[str]:
    """Migrated once per test session, copied for each test. SQLite: the template file's path; PostgreSQL:
    the template database's name."""
    if database_backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)
        return
    yield databases.migrated_template_sync()
    databases.close()


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: str, database_backend: str) -> Iterator[str]:
    """A fresh migrated database for this test (the `settings` fixture's), on the session's backend."""
    if database_backend == "sqlite":
        db = tmp_path / "codesmith.db"
        shutil.copy(migrated_template, db)
        yield f"sqlite+aiosqlite:///{db}"
        return
    url = databases.create_postgres_database_sync(template=migrated_template)
    yield url
    databases.drop_postgres_database_sync(url, wait=False)  # overlaps the next test


@pytest.fixture
def empty_database_url(tmp_path: Path, database_backend: str) -> Iterator[str]:
    """An empty database (no migrations run) on the session's backend: for tests of the migrations."""
    if database_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    url = databases.create_postgres_database_sync(migrated=False)
    yield url
    databases.drop_postgres_database_sync(url)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or with indirect parametrization) to change settings."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "secret_key": TEST_SECRET,
        "openai_api_key": None,
        # Tests never reach OpenAI: its default URL points at a closed loopback port.
        "openai_base_url": "http://127.0.0.1:9/v1",
        "vllm_base_url": None,
        "spa_dir": tmp_path / "no-spa",
        "log_json": False,
    }
    values.update(settings_overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
        yield http


@dataclass
class LiveServer:
    """The app served by a real uvicorn on a loopback port: for streaming and disconnect tests."""

    url: str
    app: FastAPI

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"{self.url}/api/v1", timeout=30, **kwargs)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app on a real uvicorn and a loopback port of its own; more than one is several replicas."""
    application = create_app(settings)
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=application)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with serving(settings) as server:
        yield server


@dataclass
class UserHandle:
    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


RegisterUser = Callable[..., Awaitable[UserHandle]]


async def register_and_login(http: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any) -> UserHandle:
    created = await http.post("/auth/register", json={"email": email, "password": password, **extra})
    assert created.status_code == 201, created.text
    token = await http.post("/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return UserHandle(created.json()["id"], email, password, token.json()["access_token"])


@pytest.fixture
def register_user(client: httpx.AsyncClient) -> RegisterUser:
    counter = iter(range(1_000_000))

    async def make(email: str | None = None, **extra: Any) -> UserHandle:
        return await register_and_login(client, email or f"user{next(counter)}@example.com", **extra)

    return make


@pytest.fixture
async def user(register_user: RegisterUser, app: FastAPI) -> UserHandle:
    handle = await register_user("alice@example.com")
    # The first account of a fresh instance is its administrator: alice stays a plain user, as tests expect
    # (tests that need an administrator promote one).
    async with app.state.sessionmaker() as session:
        await session.execute(update(User).where(User.id == handle.id).values(is_admin=False))
        await session.commit()
    return handle


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fake_upstream() -> AsyncIterator[FakeUpstream]:
    """A fresh OpenAI-compatible server on a loopback port; set knobs on `.behaviour`."""
    async with running() as upstream:
        yield upstream
