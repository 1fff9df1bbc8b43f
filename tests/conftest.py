"""Shared fixtures: a migrated database per test, the app, an API client, a live server, users."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
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
from tests.fakes.upstream import FakeUpstream, running

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789abcdef"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated once per test session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or with indirect parametrization) to change settings."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, migrated_template: Path, settings_overrides: dict[str, Any]) -> Settings:
    db = tmp_path / "codesmith.db"
    shutil.copy(migrated_template, db)
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{db}",
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


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
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
