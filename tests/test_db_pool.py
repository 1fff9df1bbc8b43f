"""SQLite's connection pool keeps every connection it opens: a burst of requests reuses those of the last
one instead of opening new ones (each a thread, a file and its pragmas) and closing them again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.pool import QueuePool

from codesmith.db import SQLITE_POOL_SIZE, make_engine


async def test_a_burst_reuses_the_connections_of_the_last_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/pool.db")
    opened: list[Any] = []
    event.listen(engine.sync_engine, "connect", lambda connection, _: opened.append(connection))
    try:

        async def hold(release: asyncio.Event) -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                await release.wait()

        for _ in range(3):  # bursts as large as the pool
            release = asyncio.Event()
            holders = [asyncio.create_task(hold(release)) for _ in range(SQLITE_POOL_SIZE)]
            while engine.sync_engine.pool.checkedout() < SQLITE_POOL_SIZE:  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
            release.set()
            await asyncio.gather(*holders)
        assert len(opened) == SQLITE_POOL_SIZE  # opened in the first burst, reused by the others
        assert engine.sync_engine.pool.checkedin() == SQLITE_POOL_SIZE  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def test_an_in_memory_url_opens_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sqlite://` and `:memory:` are one shared connection, and nothing is created on disk."""
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
            assert not isinstance(engine.sync_engine.pool, QueuePool)
        finally:
            await engine.dispose()
    assert list(tmp_path.iterdir()) == []
