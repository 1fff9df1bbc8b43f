"""The async engine, the sessionmaker, the per-request session dependency and SQLite's pragmas."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy import DateTime, Insert, String, Table, TypeDecorator, event, insert, inspect
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

from codesmith import sqlite_driver


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")  # as long as the driver's own timeout below
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


SQLITE_POOL_SIZE = 15


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        # No rollback when a connection goes back to the pool: every Session and Connection ends its own
        # transaction (commit, or rollback on close), and through aiosqlite that redundant rollback is one
        # more hand-off to the connection's thread per session.
        # As many connections as before (SQLAlchemy's 5 + 10 overflow), all kept: an overflow connection was
        # closed when it came back, so every burst opened new ones, each a thread, a file and its pragmas
        # (2 to 3 ms of CPU per request at 20 concurrent streams, docs/performance.md §6).
        pooled: dict[str, Any] = (
            {} if _sqlite_in_memory(url) else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 0}
        )  # an in-memory database is one shared connection
        if make_url(url).get_driver_name() == "aiosqlite":
            pooled["module"] = sqlite_driver.dbapi()  # one hand-off to the connection's thread per statement
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None, **pooled)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_in_memory(url: str) -> bool:
    """`sqlite://`, `sqlite:///:memory:` or a `file:` URI with `mode=memory`: no file, one connection."""
    parsed = make_url(url)
    return not parsed.database or parsed.database == ":memory:" or parsed.query.get("mode") == "memory"


def _ensure_sqlite_folder(url: str) -> None:
    """The database's folder (0700 when we make it) and the file itself, created 0600: it holds password
    hashes and encrypted keys, and SQLite gives its -wal and -shm files the database file's mode."""
    path = make_url(url).database
    if _sqlite_in_memory(url) or path is None or path.startswith("file:"):
        return
    database = Path(path)
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


# A table's columns as (ORM attribute, column key, value when the object leaves it unset); _OMIT: leave the
# column out, for the database or SQLAlchemy to fill (a callable or server-side default).
_OMIT = object()


@cache
def _insert_plan(entity_type: type[Base]) -> tuple[Table, Insert, tuple[tuple[str, str, Any], ...]]:
    mapper: Mapper[Any] = inspect(entity_type)
    table = cast(Table, mapper.local_table)
    columns = []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        default = column.default
        if column.server_default is not None or (default is not None and not default.is_scalar):
            unset = _OMIT
        else:  # no default (NULL) or a constant one: the same row shape, set or not
            unset = default.arg if default is not None else None
        columns.append((attr.key, column.key, unset))
    return table, insert(table), tuple(columns)


async def insert_new(session: AsyncSession, entities: Sequence[Base]) -> None:
    """Write new ORM objects with Core INSERTs: one executemany per table and row shape, in the order each
    first appears (parents before children), with no unit of work and no ORM bulk machinery (nothing
    reads them back in this session; they stay outside it). An unset column gets its constant default or
    NULL, so rows of one table differ in shape only where a callable or server-side default applies."""
    batches: dict[tuple[Table, tuple[str, ...]], tuple[Insert, list[dict[str, Any]]]] = {}
    for entity in entities:
        table, statement, columns = _insert_plan(type(entity))
        state = entity.__dict__
        row = {}
        for attr, key, unset in columns:
            value = state.get(attr, unset)
            if value is not _OMIT:
                row[key] = value
        batches.setdefault((table, tuple(row)), (statement, []))[1].append(row)
    for statement, rows in batches.values():
        await session.execute(statement, rows)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the endpoint succeeds, rolled back when it raises."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, so a client that reads right after sees it.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
