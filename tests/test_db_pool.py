"""SQLite's connection pool keeps every connection it opens: a burst of requests reuses those of the last
one instead of opening new ones (each a thread, a file and its pragmas) and closing them again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

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
