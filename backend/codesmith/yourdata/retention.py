"""Retention: each user's period (capped by CODESMITH_RETENTION_DAYS) and the job, on every replica at
start-up and then hourly, that deletes conversations not updated for longer (never one that is generating)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.config import Settings
from codesmith.conversations.tables import ACTIVE_STATUSES, Conversation, Message
from codesmith.db import utcnow
from codesmith.users.tables import User

logger = logging.getLogger("codesmith.retention")

INTERVAL_SECONDS = 3600.0
# Conversations deleted per transaction: short write locks (SQLite has one writer).
BATCH = 200


def effective_days(user_days: int | None, server_days: int | None) -> int | None:
    """The smaller of the two periods that are set (None: keep everything)."""
    periods = [days for days in (user_days, server_days) if days is not None]
    return min(periods) if periods else None


async def set_retention(session: AsyncSession, user: User, days: int | None) -> None:
    user.retention_days = days
    await session.flush()


async def delete_expired(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """One pass: for each distinct user setting, the conversations past its effective period."""
    async with sessionmaker() as session:
        settings_in_use = list((await session.execute(select(User.retention_days).distinct())).scalars())
    deleted = 0
    for user_days in settings_in_use:
        days = effective_days(user_days, settings.retention_days)
        if days is not None:
            deleted += await _delete_older(sessionmaker, user_days, days)
    if deleted:
        logger.info("retention deleted conversations", extra={"count": deleted})
    return deleted


async def _delete_older(sessionmaker: async_sessionmaker[AsyncSession], user_days: int | None, days: int) -> int:
    cutoff = utcnow() - timedelta(days=days)
    setting = User.retention_days.is_(None) if user_days is None else User.retention_days == user_days
    generating = exists().where(Message.conversation_id == Conversation.id, Message.status.in_(ACTIVE_STATUSES))
    # Checked again in the DELETE itself: a conversation that got a new generation meanwhile stays.
    expired = (Conversation.updated_at < cutoff, ~generating)
    owners = select(User.id).where(setting)
    deleted = 0
    while True:
        async with sessionmaker() as session:
            query = select(Conversation.id).where(Conversation.user_id.in_(owners), *expired).limit(BATCH)
            ids = list((await session.execute(query)).scalars())
            if not ids:
                return deleted
            statement = delete(Conversation).where(Conversation.id.in_(ids), *expired)
            result = await session.execute(statement.execution_options(synchronize_session=False))
            await session.commit()
        deleted += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
        if len(ids) < BATCH:
            return deleted


async def run_forever(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    while True:
        try:
            await delete_expired(sessionmaker, settings)
        except Exception:  # a database that is down: the next round tries again
            logger.exception("retention pass failed")
        await asyncio.sleep(INTERVAL_SECONDS)


def start(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> asyncio.Task[None]:
    """Always started: users may set a period even when the server sets none."""
    return asyncio.create_task(run_forever(sessionmaker, settings), name="retention")


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
