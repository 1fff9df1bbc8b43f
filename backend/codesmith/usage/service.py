"""The usage ledger: recording a generation's usage (and its day in the rollup), the usage page read from
the rollup, and admins' per-user limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin import audit
from codesmith.config import Settings
from codesmith.errors import NotFound
from codesmith.usage import rollup
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
from codesmith.usage.tables import UsageDay, UsageRecord
from codesmith.users.tables import User


@dataclass(frozen=True, slots=True)
class Spent:
    """What one generation used, as the ledger records it."""

    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    estimated: bool


async def record(
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
) -> None:
    """Add a generation's usage to the ledger and to its day in the rollup, in the caller's transaction (the
    generation's final write). A generation's record takes its message's id (`record_id`), so a generation is
    never counted twice: a second record fails the transaction, rollup included. Two Core statements: no ORM
    object is made for a row nobody reads back."""
    prompt_tokens, completion_tokens = max(spent.prompt_tokens, 0), max(spent.completion_tokens, 0)
    await session.execute(
        _INSERT_RECORD,
        {
            "id": record_id,
            "user_id": user_id,
            "message_id": message_id,
            "conversation_id": conversation_id,
            "model_id": model_id,
            "model_name": model_name,
            "provider": provider,
            "paid_by_server": paid_by_server,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "cost_usd": spent.cost_usd,
            "usage_estimated": spent.estimated,
            "created_at": created_at,
        },
    )
    await rollup.add(
        session,
        user_id=user_id,
        created_at=created_at,
        model_id=model_id,
        model_name=model_name,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=spent.cost_usd,
        estimated=spent.estimated,
    )


_INSERT_RECORD = insert(cast(Table, UsageRecord.__table__))


@dataclass(slots=True)
class _Sums:
    """One group's figures, folded from rollup rows."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    priced: int = 0
    estimated: int = 0

    def add(self, row: Any) -> None:
        self.requests += row.requests
        self.prompt_tokens += row.prompt_tokens
        self.completion_tokens += row.completion_tokens
        self.cost_usd += row.cost_usd
        self.priced += row.priced_requests
        self.estimated += row.estimated_requests


async def report(
    session: AsyncSession, user: User, settings: Settings, usage_limiter: UsageLimiter, days: int
) -> UsageReport:
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=days - 1)
    # The rollup of the ledger, never the messages: a deleted conversation's usage still counts. At most
    # one row per day and model; totals, models and days are folded here.
    rows = (
        await session.execute(select(UsageDay.__table__).where(UsageDay.user_id == user.id, UsageDay.day >= first_day))
    ).all()
    totals, by_model_sums, by_day_sums = _Sums(), dict[tuple[str, str], _Sums](), dict[date, _Sums]()
    for row in rows:
        totals.add(row)
        by_model_sums.setdefault((row.model_id, row.model_name), _Sums()).add(row)
        by_day_sums.setdefault(row.day, _Sums()).add(row)
    cost = round(totals.cost_usd, 8)
    return UsageReport(
        days=days,
        totals=UsageTotals(
            requests=totals.requests,
            prompt_tokens=totals.prompt_tokens,
            completion_tokens=totals.completion_tokens,
            cost_usd=cost,
            unpriced_requests=totals.requests - totals.priced,
            estimated_requests=totals.estimated,
        ),
        by_model=_by_model(by_model_sums),
        by_day=[_day(first_day + timedelta(days=offset), by_day_sums) for offset in range(days)],
        limits=await limits_public(session, user, settings, usage_limiter),
        self_hosting=SelfHosting(
            gpu_hourly_usd=settings.gpu_hourly_usd,
            equivalent_gpu_hours=round(cost / settings.gpu_hourly_usd, 4) if settings.gpu_hourly_usd else 0,
            api_cost_usd=cost,
            days=days,
        ),
    )


def _by_model(sums: dict[tuple[str, str], _Sums]) -> list[ModelUsage]:
    """Most requests first."""
    ordered = sorted(sums.items(), key=lambda item: -item[1].requests)
    return [
        ModelUsage(
            model_id=model_id or None,
            model_name=model_name or "unknown",
            requests=group.requests,
            prompt_tokens=group.prompt_tokens,
            completion_tokens=group.completion_tokens,
            cost_usd=round(group.cost_usd, 8) if group.priced else None,
            priced=bool(group.priced),
        )
        for (model_id, model_name), group in ordered
    ]


def _day(current: date, sums: dict[date, _Sums]) -> DayUsage:
    group = sums.get(current) or _Sums()
    return DayUsage(
        date=current,
        requests=group.requests,
        prompt_tokens=group.prompt_tokens,
        completion_tokens=group.completion_tokens,
        cost_usd=round(group.cost_usd, 8),
    )


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
