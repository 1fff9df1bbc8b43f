"""When each personal API token was last used and each user last active: noted in memory by requests,
written later in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.db import utcnow
from codesmith.users.tables import ApiToken, User

logger = logging.getLogger("codesmith.auth.last_used")

# How fresh last_used_at is kept: a token is written at most once per RESOLUTION.
RESOLUTION = timedelta(minutes=1)
# How fresh users.last_active_at is kept: the admin console needs minutes, not seconds.
ACTIVITY_RESOLUTION = timedelta(minutes=5)
FLUSH_SECONDS = 30.0


class _Stamps:
    """The times noted for one timestamp column (by row id), and those recently written."""

    def __init__(self, table: Table, column: str, resolution: timedelta) -> None:
        self.table = table
        self.column = column
        self.resolution = resolution
        self.pending: dict[str, datetime] = {}
        self.written: dict[str, datetime] = {}

    def note(self, row_id: str, when: datetime) -> None:
        written = self.written.get(row_id)
        if written is not None and when - written < self.resolution:
            return
        pending = self.pending.get(row_id)
        if pending is None or when > pending:
            self.pending[row_id] = when

    def take(self) -> dict[str, datetime]:
        batch, self.pending = self.pending, {}
        return batch

    def restore(self, batch: dict[str, datetime]) -> None:
        for row_id, when in batch.items():
            self.note(row_id, when)

    def mark_written(self, batch: dict[str, datetime]) -> None:
        self.written.update(batch)
        # Older writes no longer hold anything back; dropping them keeps memory to the recently seen rows.
        cutoff = utcnow() - self.resolution
        self.written = {row_id: when for row_id, when in self.written.items() if when >= cutoff}

    async def write(self, session: AsyncSession, batch: dict[str, datetime]) -> None:
        # The table, not the mapped class: one executemany, without the ORM's bulk-by-primary-key rules.
        column = self.table.c[self.column]
        statement = (
            update(self.table)
            .where(
                self.table.c.id == bindparam("row_id"),
                or_(column.is_(None), column < bindparam("seen_at")),
            )
            .values({self.column: bindparam("seen_at")})
        )
        await session.execute(statement, [{"row_id": row_id, "seen_at": when} for row_id, when in batch.items()])


class LastUsedRecorder:
    """Collects API-token uses and user activity and writes them in one UPDATE batch per table, in a short
    session of its own.

    A request only notes the time here (no await, no database): writing it in the request's session held
    SQLite's single write lock for the rest of the request. Times only move forward in the database, so
    several processes sharing it agree.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval: float = FLUSH_SECONDS,
        resolution: timedelta = RESOLUTION,
        activity_resolution: timedelta = ACTIVITY_RESOLUTION,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._tokens = _Stamps(cast(Table, ApiToken.__table__), "last_used_at", resolution)
        self._users = _Stamps(cast(Table, User.__table__), "last_active_at", activity_resolution)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def note(self, token_id: str, when: datetime) -> None:
        """Remember that the token was used at `when` (cheap and synchronous: called on every such request)."""
        self._tokens.note(token_id, when)

    def latest(self, token_id: str) -> datetime | None:
        """The newest use noted and not yet written (None when there is none): what a listing shows."""
        return self._tokens.pending.get(token_id)

    def note_active(self, user_id: str, when: datetime) -> None:
        """Remember that the user signed in or made an authenticated request at `when`."""
        self._users.note(user_id, when)

    def latest_activity(self, user_id: str) -> datetime | None:
        """The user's newest activity noted and not yet written (None when there is none)."""
        return self._users.pending.get(user_id)

    async def flush(self) -> None:
        """Write what was noted since the last flush; kept for the next one if the write fails."""
        async with self._lock:
            batches = [(stamps, stamps.take()) for stamps in (self._tokens, self._users)]
            batches = [(stamps, batch) for stamps, batch in batches if batch]
            if not batches:
                return
            try:
                async with self._sessionmaker() as session:
                    for stamps, batch in batches:
                        await stamps.write(session, batch)
                    await session.commit()
            except BaseException:  # cancelled or failed: nothing noted is lost
                for stamps, batch in batches:
                    stamps.restore(batch)
                raise
            for stamps, batch in batches:
                stamps.mark_written(batch)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="last-used-and-activity")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._flush_logged()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # the next flush retries; a request must never see this
            logger.warning("could not record API token use or activity", extra={"error": type(exc).__name__})

    async def close(self) -> None:
        """Stop the periodic flush and write what is left (at shutdown, before the engine goes)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush_logged()


async def get_last_used(request: Request) -> LastUsedRecorder:
    recorder: LastUsedRecorder = request.app.state.last_used
    return recorder


LastUsedDep = Annotated[LastUsedRecorder, Depends(get_last_used)]
