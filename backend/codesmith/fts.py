"""SQLite's FTS5 search tables read newest first, a window at a time (migrations 0013 and 0016).

Each FTS row is keyed by a millisecond times KEY_SPAN, plus a sequence number within that millisecond:
conversation_search by its conversation's created_at, snippet_search by the snippet's own. So
`MATCH ... AND rowid <= :top ORDER BY rowid DESC LIMIT :window` walks the matches newest first and a search
reads only as far as its page needs. Rows within one millisecond are not in any useful order: the callers sort
what they load on (created_at, id), exactly, and count a row as placed only once the reader has passed below
its millisecond.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession

KEY_SPAN = 2**21  # FTS rows per millisecond (the migrations use the same constant)
NEWEST = 2**63 - 1  # the top of a reader that starts at the newest row


def millisecond(stamp: datetime) -> int:
    """The millisecond of a stored DATETIME, as the migrations' triggers compute it (its naive fields)."""
    return calendar.timegm(stamp.timetuple()) * 1000 + stamp.microsecond // 1000


def top_before(after: tuple[datetime, str] | None) -> int:
    """The highest key a row older than the cursor's (created_at, id) can have: the last of its millisecond
    (rows in that millisecond may still come after the cursor)."""
    return (millisecond(after[0]) + 1) * KEY_SPAN - 1 if after else NEWEST


@dataclass
class Reader:
    """One FTS5 table read newest first in windows that double up to `max_window` rows.

    `statement` selects (rowid, an id) for :expression with rowid <= :top, newest first, :window rows."""

    statement: TextClause
    expression: str
    top: int  # every row above it has been read
    window: int
    max_window: int
    done: bool = False

    async def next_window(self, session: AsyncSession) -> list[tuple[int, str]]:
        params = {"expression": self.expression, "top": self.top, "window": self.window}
        rows = [(int(key), str(row_id)) for key, row_id in await session.execute(self.statement, params)]
        if len(rows) < self.window:
            self.done = True
        else:
            self.top = rows[-1][0] - 1
            self.window = min(self.window * 2, self.max_window)
        return rows

    @property
    def unread_millisecond(self) -> int | None:
        """The newest millisecond an unread row can have; None once every row has been read."""
        return None if self.done else self.top // KEY_SPAN


def unread_millisecond(readers: list[Reader]) -> int | None:
    """The newest millisecond any of the readers may still bring; None when all are done."""
    pending = [ms for reader in readers if (ms := reader.unread_millisecond) is not None]
    return max(pending) if pending else None
