"""SQLite statements through the engine cost one hand-off to the connection's thread each (SQLAlchemy's own
aiosqlite adapter makes four), and behave as through any DBAPI cursor: rows, rowcount, lastrowid, errors,
and results streamed in parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from codesmith.db import make_engine

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("name", String, unique=True))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = make_engine(f"sqlite+aiosqlite:///{tmp_path}/driver.db")
    async with made.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(insert(items), [{"id": n, "name": f"item {n}"} for n in range(1, 6)])
    yield made
    await made.dispose()


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(fn)
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_a_statement_is_one_hand_off_to_the_connections_thread(engine: AsyncEngine, hand_offs: list[Any]) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the connection is checked out and begun
        hand_offs.clear()
        rows = (await connection.execute(select(items.c.name).where(items.c.id < 3).order_by(items.c.id))).all()
        assert [row.name for row in rows] == ["item 1", "item 2"]
        assert len(hand_offs) == 1
        hand_offs.clear()
        await connection.execute(items.update().where(items.c.id == 1).values(name="first"))
        await connection.commit()
        assert len(hand_offs) == 2  # the statement, the commit


async def test_rowcount_lastrowid_and_returning(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        updated = await connection.execute(items.update().where(items.c.id > 3).values(name=items.c.name + "!"))
        assert updated.rowcount == 2
        added = await connection.execute(insert(items).values(name="six"))
        assert added.inserted_primary_key == (6,)  # lastrowid, without RETURNING
        returned = await connection.execute(insert(items).values(name="seven").returning(items.c.id))
        assert returned.scalar_one() == 7
        many = await connection.execute(items.delete().where(items.c.id.in_([6, 7])))
        assert many.rowcount == 2


async def test_an_error_is_the_drivers_and_the_connection_stays_usable(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(insert(items).values(id=1, name="again"))
        await connection.rollback()
        assert (await connection.execute(select(items.c.name).where(items.c.id == 1))).scalar_one() == "item 1"


async def test_results_streamed_in_parts_read_on_demand(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        streamed = await connection.stream(select(items.c.id).order_by(items.c.id))
        parts = [[row.id for row in part] async for part in streamed.partitions(2)]
        assert parts == [[1, 2], [3, 4], [5]]
        one = (await connection.execute(select(items.c.id).order_by(items.c.id))).fetchmany(2)
        assert [row.id for row in one] == [1, 2]
