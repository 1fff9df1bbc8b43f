"""The usage ledger: recording a generation's usage, its aggregation in SQL (one grouped query per view),
and admins' per-user limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin import audit
from codesmith.config import Settings
from codesmith.errors import NotFound
from codesmith.usage.limits import UsageLimiter, limits_for
from codesmith.usage.schemas import (
    DayUsage,
    LimitsUpdate,
    ModelUsage,
    SelfHosting,
    UsageLimitsPublic,
    UsageReport,
    UsageTotals,
    UserLimitsPublic,
)
from codesmith.usage.tables import UsageRecord
from codesmith.users.tables import User


@dataclass(frozen=True, slots=True)
class Spent:
    """What one generation used, as the ledger records it."""

    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    estimated: bool


def record(
    session: AsyncSession,
    *,
    record_id: str,
    user_id: str,
    message_id: str | None,
    conversation_id: str | None,
    model_id: str | None,
    model_name: str | None,
    provider: str | None,
    paid_by_server: bool,
    spent: Spent,
    created_at: datetime,
) -> UsageRecord:
    """Add a generation's usage to the ledger, in the caller's transaction (the generation's final write).
    A generation's record takes its message's id (`record_id`), so a generation is never counted twice."""
    entry = UsageRecord(
        id=record_id,
        user_id=user_id,
        message_id=message_id,
        conversation_id=conversation_id,
        model_id=model_id,
        model_name=model_name,
        provider=provider,
        paid_by_server=paid_by_server,
        prompt_tokens=max(spent.prompt_tokens, 0),
        completion_tokens=max(spent.completion_tokens, 0),
        cost_usd=spent.cost_usd,
        usage_estimated=spent.estimated,
        created_at=created_at,
    )
    session.add(entry)
    return entry


def _day_column(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return func.date(UsageRecord.created_at)
    return cast(func.timezone("UTC", UsageRecord.created_at), Date)


def _sums() -> list[Any]:
    return [
        func.count(),
        func.coalesce(func.sum(UsageRecord.prompt_tokens), 0),
        func.coalesce(func.sum(UsageRecord.completion_tokens), 0),
        func.coalesce(func.sum(UsageRecord.cost_usd), 0.0),
    ]


async def report(
    session: AsyncSession, user: User, settings: Settings, usage_limiter: UsageLimiter, days: int
) -> UsageReport:
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    # Read from the ledger, never the messages: a deleted conversation's usage still counts.
    scope = (UsageRecord.user_id == user.id, UsageRecord.created_at >= since)

    unpriced = case((UsageRecord.cost_usd.is_(None), 1), else_=0)
    totals_row = (
        await session.execute(
            select(
                *_sums(),
                func.coalesce(func.sum(unpriced), 0),
                func.coalesce(func.sum(case((UsageRecord.usage_estimated, 1), else_=0)), 0),
            ).where(*scope)
        )
    ).one()
    totals = UsageTotals(
        requests=totals_row[0],
        prompt_tokens=totals_row[1],
        completion_tokens=totals_row[2],
        cost_usd=round(float(totals_row[3]), 8),
        unpriced_requests=totals_row[4],
        estimated_requests=totals_row[5],
    )

    priced_count = func.count(UsageRecord.cost_usd)
    model_rows = await session.execute(
        select(UsageRecord.model_id, UsageRecord.model_name, *_sums(), priced_count)
        .where(*scope)
        .group_by(UsageRecord.model_id, UsageRecord.model_name)
        .order_by(func.count().desc())
    )
    by_model = [
        ModelUsage(
            model_id=row[0],
            model_name=row[1] or "unknown",
            requests=row[2],
            prompt_tokens=row[3],
            completion_tokens=row[4],
            cost_usd=round(float(row[5]), 8) if row[6] else None,
            priced=bool(row[6]),
        )
        for row in model_rows
    ]

    day = _day_column(session)
    day_rows = await session.execute(select(day, *_sums()).where(*scope).group_by(day))
    per_day = {_as_date(row[0]): row for row in day_rows}
    by_day = []
    for offset in range(days):
        current = first_day + timedelta(days=offset)
        row = per_day.get(current)
        by_day.append(
            DayUsage(
                date=current,
                requests=row[1] if row else 0,
                prompt_tokens=row[2] if row else 0,
                completion_tokens=row[3] if row else 0,
                cost_usd=round(float(row[4]), 8) if row else 0.0,
            )
        )

    return UsageReport(
        days=days,
        totals=totals,
        by_model=by_model,
        by_day=by_day,
        limits=await limits_public(session, user, settings, usage_limiter),
        self_hosting=SelfHosting(
            gpu_hourly_usd=settings.gpu_hourly_usd,
            equivalent_gpu_hours=round(totals.cost_usd / settings.gpu_hourly_usd, 4) if settings.gpu_hourly_usd else 0,
            api_cost_usd=totals.cost_usd,
            days=days,
        ),
    )


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


async def limits_public(
    session: AsyncSession, user: User, settings: Settings, usage_limiter: UsageLimiter
) -> UsageLimitsPublic:
    limits = limits_for(user, settings)
    used = await usage_limiter.tokens_used(session, user)
    return UsageLimitsPublic(
        requests_per_minute=limits.requests_per_minute,
        tokens_per_day=limits.tokens_per_day,
        tokens_used_today=used,
        tokens_left_today=max(limits.tokens_per_day - used, 0) if limits.tokens_per_day > 0 else None,
        requests_left_this_minute=await usage_limiter.requests_left(user, settings),
    )


def user_limits_public(user: User, settings: Settings) -> UserLimitsPublic:
    limits = limits_for(user, settings)
    return UserLimitsPublic(
        user_id=user.id,
        requests_per_minute=limits.requests_per_minute,
        tokens_per_day=limits.tokens_per_day,
        requests_per_minute_override=user.requests_per_minute,
        tokens_per_day_override=user.tokens_per_day,
    )


async def set_user_limits(
    session: AsyncSession, admin: User, settings: Settings, user_id: str, data: LimitsUpdate
) -> UserLimitsPublic:
    target = await session.get(User, user_id)
    if target is None:
        raise NotFound("user")
    target.requests_per_minute = data.requests_per_minute
    target.tokens_per_day = data.tokens_per_day
    audit.record(session, admin, "user.limits", "user", target.id, data.model_dump())
    await session.flush()
    return user_limits_public(target, settings)


async def get_user_limits(session: AsyncSession, settings: Settings, user_id: str) -> UserLimitsPublic:
    target = await session.get(User, user_id)
    if target is None:
        raise NotFound("user")
    return user_limits_public(target, settings)
