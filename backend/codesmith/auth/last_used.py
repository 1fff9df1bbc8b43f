"""When each personal API token was last used: noted in memory by requests, written later in batches."""

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
from codesmith.users.tables import ApiToken

logger = logging.getLogger("codesmith.auth.last_used")

# How fresh last_used_at is kept: a token is written at most once per RESOLUTION.
RESOLUTION = timedelta(minutes=1)
FLUSH_SECONDS = 30.0


class LastUsedRecorder:
    """Collects API-token uses and writes them in one UPDATE batch, in a short session of its own.

    A request that authenticates with an API token only notes the time here (no await, no database):
    writing it in the request's session held SQLite's single write lock for the rest of the request.
    Times only move forward in the database, so several processes sharing it agree.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval: float = FLUSH_SECONDS,
        resolution: timedelta = RESOLUTION,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._resolution = resolution
        self._pending: dict[str, datetime] = {}
        self._written: dict[str, datetime] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def note(self, token_id: str, when: datetime) -> None:
        """Remember that the token was used at `when` (cheap and synchronous: called on every such request)."""
        written = self._written.get(token_id)
        if written is not None and when - written < self._resolution:
            return
        pending = self._pending.get(token_id)
        if pending is None or when > pending:
            self._pending[token_id] = when

    def latest(self, token_id: str) -> datetime | None:
        """The newest use noted and not yet written (None when there is none): what a listing shows."""
        return self._pending.get(token_id)

    async def flush(self) -> None:
        """Write what was noted since the last flush; kept for the next one if the write fails."""
        async with self._lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return
            try:
                await self._write(batch)
            except BaseException:  # cancelled or failed: nothing noted is lost
                for token_id, when in batch.items():
                    self.note(token_id, when)
                raise
            self._written.update(batch)
            self._forget_before(utcnow() - self._resolution)

    async def _write(self, batch: dict[str, datetime]) -> None:
        # The table, not the mapped class: one executemany, without the ORM's bulk-by-primary-key rules.
        table = cast(Table, ApiToken.__table__)
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("token_id"),
                or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("seen_at")),
            )
            .values(last_used_at=bindparam("seen_at"))
        )
        params = [{"token_id": token_id, "seen_at": when} for token_id, when in batch.items()]
        async with self._sessionmaker() as session:
            await session.execute(statement, params)
            await session.commit()

    def _forget_before(self, cutoff: datetime) -> None:
        # Older writes no longer hold anything back; dropping them keeps memory to the recently used tokens.
        self._written = {token_id: when for token_id, when in self._written.items() if when >= cutoff}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="api-token-last-used")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._flush_logged()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # the next flush retries; a request must never see this
            logger.warning("could not record API token use", extra={"error": type(exc).__name__})

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
