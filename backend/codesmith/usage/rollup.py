"""The daily usage rollup (`usage_daily`): one row per user, UTC day and model, summing the ledger.

A generation's final write adds its record to the ledger and to its day's row in one transaction
(`add`). `backfill` sums the whole ledger into the rollup in one INSERT ... SELECT: migration 0014 runs it
once, and the scale benchmark after loading rows straight into the tables. It names its tables with
`sa.table()` (not the ORM classes), so the migration keeps meaning what it meant when it was written.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable

from codesmith.usage.tables import UsageDay

# '' in the key's model columns stands for none (see UsageDay).
NO_MODEL = ""

_ROLLUP_COLUMNS = [
    "user_id",
    "day",
    "model_id",
    "model_name",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "priced_requests",
    "estimated_requests",
]
_SUMMED = _ROLLUP_COLUMNS[4:]


def day_of(moment: datetime) -> date:
    """The UTC day a ledger record counts on (the day its generation started)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


async def add(
    session: AsyncSession,
    *,
    user_id: str,
    created_at: datetime,
    model_id: str | None,
    model_name: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float | None,
    estimated: bool,
) -> None:
    """Add one ledger record to its day's row (an upsert: insert the row, or add to it)."""
    values: dict[str, Any] = {
        "user_id": user_id,
        "day": day_of(created_at),
        "model_id": model_id or NO_MODEL,
        "model_name": model_name or NO_MODEL,
        "requests": 1,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": cost_usd or 0.0,
        "priced_requests": 0 if cost_usd is None else 1,
        "estimated_requests": 1 if estimated else 0,
    }
    await session.execute(_upsert(session.get_bind().dialect.name), values)


@functools.cache
def _upsert(dialect: str) -> Executable:
    """The day's upsert for `dialect`, built once (every generation's final write runs it): Core, the values bound."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(sa.Table, UsageDay.__table__)
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["user_id", "day", "model_id", "model_name"],
        set_={name: table.c[name] + statement.excluded[name] for name in _SUMMED},
    )


def backfill(connection: sa.Connection) -> None:
    """Sum every ledger record into the rollup (which must be empty): one INSERT ... SELECT."""
    records = sa.table(
        "usage_records",
        sa.column("user_id", sa.String),
        sa.column("model_id", sa.String),
        sa.column("model_name", sa.String),
        sa.column("prompt_tokens", sa.BigInteger),
        sa.column("completion_tokens", sa.BigInteger),
        sa.column("cost_usd", sa.Double),
        sa.column("usage_estimated", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rollup = sa.table("usage_daily", *(sa.column(name) for name in _ROLLUP_COLUMNS))
    c = records.c
    if connection.dialect.name == "postgresql":
        day: Any = sa.cast(sa.func.timezone(sa.literal_column("'UTC'"), c.created_at), sa.Date)
    else:
        day = sa.func.date(c.created_at)  # stored as UTC text; 'YYYY-MM-DD' is how a Date is stored
    # Literals, not bound parameters: PostgreSQL matches the grouped expressions by their text.
    model_id = sa.func.coalesce(c.model_id, sa.literal_column("''"))
    model_name = sa.func.coalesce(c.model_name, sa.literal_column("''"))
    sums = sa.select(
        c.user_id,
        day,
        model_id,
        model_name,
        sa.func.count(),
        sa.func.sum(c.prompt_tokens),
        sa.func.sum(c.completion_tokens),
        sa.func.coalesce(sa.func.sum(c.cost_usd), 0.0),
        sa.func.count(c.cost_usd),
        sa.func.sum(sa.case((c.usage_estimated, 1), else_=0)),
    ).group_by(c.user_id, day, model_id, model_name)
    connection.execute(rollup.insert().from_select(_ROLLUP_COLUMNS, sums))
