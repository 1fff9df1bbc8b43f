"""Fixtures for the replica tests: a database per module (SQLite, and PostgreSQL when configured), Redis,
the fake upstream, and clusters of real `codesmith serve` processes; failing tests get the replicas' logs.

Run them with `pytest tests/replicas` (or `-m replicas`); with CODESMITH_TEST_DATABASE=postgresql on
PostgreSQL (tests/databases.py). Redis: CODESMITH_TEST_REDIS_URL, else a redis-server of the session's own
when the binary is installed. Without it the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests import databases
from tests.fakes.upstream import FakeUpstream, running
from tests.replicas.harness import (
    LIVE_CLUSTERS,
    REDIS_VAR,
    RedisServer,
    redis_reachable,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "replicas: real `codesmith serve` processes on one database and one Redis (tests/replicas)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and LIVE_CLUSTERS:
        logs = "\n".join(cluster.log_text() for cluster in LIVE_CLUSTERS)
        report.sections.append(("replica logs (tails)", logs))
    return report


@pytest.fixture(scope="module", name="database_url")
async def replicas_database_url(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str, database_backend: str
) -> AsyncIterator[str]:
    """A migrated database for the module's replicas, on the session's engine (make test runs the suite on
    SQLite, then on PostgreSQL): a copy of the session's SQLite template, or a fresh PostgreSQL database
    from its template (dropped afterwards)."""
    if database_backend == "sqlite":
        path = tmp_path_factory.mktemp("replicas-db") / "codesmith.db"
        shutil.copy(migrated_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with databases.fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
async def session_redis(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """CODESMITH_TEST_REDIS_URL, else a redis-server of this session's own; skip when neither exists.
    Every key the app writes is per user or per generation (fresh ids in each test): sharing is safe."""
    configured = os.environ.get(REDIS_VAR, "").strip()
    if configured:
        if (why := await redis_reachable(configured)) is not None:
            pytest.skip(f"Redis at {REDIS_VAR} does not answer: {why}")
        yield configured
        return
    if RedisServer.binary() is None:
        pytest.skip(f"{REDIS_VAR} is not set and redis-server is not installed: no Redis for the replica tests")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        await server.start()
        yield server.url
    finally:
        await server.kill()


@pytest.fixture(scope="module")
async def owned_redis(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RedisServer]:
    """A redis-server this module starts, stops and restarts (skip when the binary is missing)."""
    if RedisServer.binary() is None:
        pytest.skip("redis-server is not installed: the Redis-restart test needs a Redis of its own")
    server = RedisServer(tmp_path_factory.mktemp("owned-redis"))
    try:
        await server.start()
        yield server
    finally:
        await server.kill()


@pytest.fixture(scope="module")
async def upstream() -> AsyncIterator[FakeUpstream]:
    """The fake OpenAI-compatible server every replica of the module calls (in this process, on loopback)."""
    async with running() as server:
        yield server
