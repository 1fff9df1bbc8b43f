"""Accounts as administrators see them: search, usage over 30 days, and disabling or promoting one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin import audit
from codesmith.admin.schemas import AdminUser, AdminUserUpdate, Usage30d
from codesmith.auth import refresh
from codesmith.auth.last_used import LastUsedRecorder
from codesmith.db import utcnow
from codesmith.errors import LastAdmin, NotFound
from codesmith.pagination import Page, page_of, paginate
from codesmith.usage.tables import UsageRecord
from codesmith.users.tables import ApiToken, User

USAGE_DAYS = 30
_NO_USAGE = Usage30d(requests=0, prompt_tokens=0, completion_tokens=0, cost_usd=0.0)


async def list_users(
    session: AsyncSession, last_used: LastUsedRecorder, *, q: str | None, limit: int, cursor: str | None
) -> Page[AdminUser]:
    """A page of accounts, newest first; `q` matches part of the email, ignoring case."""
    query = select(User)
    if q:
        query = query.where(func.lower(User.email).contains(q.strip().lower(), autoescape=True))
    query = paginate(query, User.created_at, User.id, limit=limit, cursor=cursor)
    rows, next_cursor = page_of(list((await session.execute(query)).scalars()), limit)
    usage = await _usage_30d(session, [row.id for row in rows])
    return Page(items=[_public(row, usage, last_used) for row in rows], next_cursor=next_cursor)


async def get_user(session: AsyncSession, last_used: LastUsedRecorder, user_id: str) -> AdminUser:
    return _public(await _get(session, user_id), await _usage_30d(session, [user_id]), last_used)


async def _get(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


async def _usage_30d(session: AsyncSession, user_ids: list[str]) -> dict[str, Usage30d]:
    """The ledger's totals over the last 30 days for these users only, in one query."""
    if not user_ids:
        return {}
    since = utcnow() - timedelta(days=USAGE_DAYS)
    rows = await session.execute(
        select(
            UsageRecord.user_id,
            func.count(),
            func.coalesce(func.sum(UsageRecord.prompt_tokens), 0),
            func.coalesce(func.sum(UsageRecord.completion_tokens), 0),
            func.coalesce(func.sum(UsageRecord.cost_usd), 0.0),
        )
        .where(UsageRecord.user_id.in_(user_ids), UsageRecord.created_at >= since)
        .group_by(UsageRecord.user_id)
    )
    return {
        row[0]: Usage30d(
            requests=row[1], prompt_tokens=row[2], completion_tokens=row[3], cost_usd=round(float(row[4] or 0), 8)
        )
        for row in rows
    }


def _public(user: User, usage: dict[str, Usage30d], last_used: LastUsedRecorder) -> AdminUser:
    return AdminUser(
        id=user.id,
        email=user.email,
        is_admin=user.is_admin,
        disabled=user.disabled,
        created_at=user.created_at,
        last_active_at=_latest(user.last_active_at, last_used.latest_activity(user.id)),
        usage_30d=usage.get(user.id, _NO_USAGE),
    )


def _latest(stored: datetime | None, noted: datetime | None) -> datetime | None:
    # Activity noted in this process and not yet written counts too, so a sign-in shows at once.
    if stored is None or (noted is not None and noted > stored):
        return noted
    return stored


async def update_user(
    session: AsyncSession, actor: User, last_used: LastUsedRecorder, user_id: str, data: AdminUserUpdate
) -> AdminUser:
    target = await _get(session, user_id)
    changes = _changes(target, data)
    if changes:
        if changes.get("disabled") is True or changes.get("is_admin") is False:
            await _lock_enabled_admins(session)
        await _apply(session, target, changes)
        if not await _enabled_admin_left(session):
            raise LastAdmin("You are the last administrator: make someone else an administrator first.")
        audit.record(session, actor, "user.update", "user", target.id, changes)
    return await get_user(session, last_used, target.id)


def _changes(target: User, data: AdminUserUpdate) -> dict[str, Any]:
    wanted = {"disabled": data.disabled, "is_admin": data.is_admin}
    return {field: value for field, value in wanted.items() if value is not None and getattr(target, field) != value}


async def _apply(session: AsyncSession, target: User, changes: dict[str, Any]) -> None:
    if "is_admin" in changes:
        target.is_admin = changes["is_admin"]
    if "disabled" in changes:
        target.disabled = changes["disabled"]
        if target.disabled:
            await _revoke_everything(session, target)
    await session.flush()


async def _revoke_everything(session: AsyncSession, user: User) -> None:
    """Every credential stops at once: access tokens (their version), sessions and personal API tokens."""
    user.token_version += 1
    await refresh.revoke_all(session, user.id)
    await session.execute(
        delete(ApiToken).where(ApiToken.user_id == user.id).execution_options(synchronize_session=False)
    )


async def _lock_enabled_admins(session: AsyncSession) -> None:
    # PostgreSQL: two administrators demoting themselves at once take turns, so the second sees the first's
    # change. SQLite has one writer: the count after the change (below) is already serialized.
    await session.execute(select(User.id).where(User.is_admin, User.disabled.is_(False)).with_for_update())


async def _enabled_admin_left(session: AsyncSession) -> bool:
    query = select(User.id).where(User.is_admin, User.disabled.is_(False)).limit(1)
    return (await session.execute(query)).first() is not None
