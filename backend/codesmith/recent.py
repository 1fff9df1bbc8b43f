"""PostgreSQL: a search answered from the user's newest rows first.

The pg_trgm and full-text GIN indexes find a term in every user's rows, and PostgreSQL then fetches and
rechecks each candidate: at 1 M messages a term in ~1 % of the rows costs 35-45 ms that way, nearly all of it
on rows that are another user's or far below the page. A page is almost always among the user's newest rows,
so the search first runs on a window, the user's WINDOW newest rows after the cursor, whose bound one read of
the (user_id, created_at, id) index gives: PostgreSQL then ANDs the GIN result with that range and fetches only
the window's candidates. Only when the window holds less than a page does the search run on the rest.

A conversation is never newer than its messages and snippets (the import keeps it so too), so a search over a
window of conversations reads their requests and code from the window's first millisecond on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Row, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.pagination import decode_cursor

WINDOW = 4096  # rows of the user's own; the range costs ~0.1 ms per 1,000 of them, the candidates' recheck more

Key = tuple[datetime, str]


@dataclass(frozen=True)
class Part:
    """The rows one call of a search covers."""

    bounds: list[ColumnElement[bool]] = field(default_factory=list)  # on the listed table's (created_at, id)
    since: datetime | None = None  # the rows the search looks into are that recent (None: of any age)
    # The term is rare here (the window held less than a page): find its matches through the indexes first and
    # order those, rather than walk every row in order (at 1 M messages a term in no conversation walked all
    # 100,000 of the user's: 85 ms).
    sparse: bool = False


# One search's page (limit + 1 rows, newest first after the cursor) over a part of the rows.
Search = Callable[[Part], Awaitable[list[Row[Any]]]]


async def newest_first(
    session: AsyncSession, table: FromClause, user_id: str, search: Search, *, limit: int, cursor: str | None
) -> list[Row[Any]]:
    """The page of `search` over `table`'s rows of the user, window first."""
    floor = await _window_floor(session, table, user_id, decode_cursor(cursor) if cursor else None)
    if floor is None:  # the window is everything after the cursor
        return await search(Part())
    key = tuple_(table.c.created_at, table.c.id)
    found = await search(Part([key >= tuple_(*floor)], since=floor[0]))
    if len(found) > limit:
        return found
    rest = await search(Part([key < tuple_(*floor)], sparse=True))
    return found + rest[: limit + 1 - len(found)]


async def _window_floor(session: AsyncSession, table: FromClause, user_id: str, after: Key | None) -> Key | None:
    """The (created_at, id) of the user's WINDOW-th newest row after the cursor; None when there are fewer."""
    columns = table.c
    query = select(columns.created_at, columns.id).where(columns.user_id == user_id)
    if after:
        query = query.where(tuple_(columns.created_at, columns.id) < tuple_(*after))
    query = query.order_by(columns.created_at.desc(), columns.id.desc()).offset(WINDOW - 1).limit(1)
    row = (await session.execute(query)).first()
    return (row.created_at, row.id) if row else None
