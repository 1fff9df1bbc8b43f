"""Per-user limits on generations: requests per minute and tokens per day (UTC calendar day).

Built on the `limits` package, like the login throttle: in memory by default, shared through Redis
when CODESMITH_REDIS_URL is set. Tokens are reserved before the upstream call (the prompt's count
plus the answer's reserve) and settled with the real usage afterwards.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.strategies import FixedWindowRateLimiter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.config import Settings
from codesmith.conversations.tables import Message
from codesmith.errors import RateLimited
from codesmith.ratelimit import Limiter
from codesmith.users.tables import User


@dataclass(frozen=True, slots=True)
class UserLimits:
    requests_per_minute: int  # 0: unlimited
    tokens_per_day: int  # 0: unlimited


@dataclass(slots=True)
class Reservation:
    user_id: str
    day: str
    tokens: int


def limits_for(user: User, settings: Settings) -> UserLimits:
    rpm = user.requests_per_minute if user.requests_per_minute is not None else settings.rate_limit_requests_per_minute
    tpd = user.tokens_per_day if user.tokens_per_day is not None else settings.rate_limit_tokens_per_day
    return UserLimits(requests_per_minute=rpm, tokens_per_day=tpd)


def utc_day(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


def seconds_until_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()) + 1)


def start_of_day(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)


async def tokens_recorded_today(session: AsyncSession, user_id: str) -> int:
    tokens = func.coalesce(Message.prompt_tokens, 0) + func.coalesce(Message.completion_tokens, 0)
    query = select(func.coalesce(func.sum(tokens), 0)).where(
        Message.user_id == user_id,
        Message.role == "assistant",
        Message.created_at >= start_of_day(),
        Message.prompt_tokens.is_not(None),
    )
    return int((await session.execute(query)).scalar_one() or 0)


# The day's token counter only ever needs a key per (user, day); its window just has to outlive the day.
_TOKENS_ITEM = RateLimitItemPerDay(1, 2)


class UsageLimiter:
    """Admission of generation requests and the daily token budget."""

    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter
        self._tokens = FixedWindowRateLimiter(limiter.storage)
        self._seed_lock = asyncio.Lock()
        # The (user, day) counters this process has already started from the database: the sum query
        # runs once per user and day, not on every request of a user who has used nothing yet today.
        self._seeded: set[str] = set()
        self._seeded_day = ""

    async def admit_request(self, user: User, settings: Settings) -> None:
        """Count one generation request (refused ones too); 429 when the minute's budget is spent."""
        rpm = limits_for(user, settings).requests_per_minute
        if rpm > 0:
            await self._limiter.consume(
                RateLimitItemPerMinute(rpm), "generation-requests", user.id, what="Too many generation requests."
            )

    async def requests_left(self, user: User, settings: Settings) -> int | None:
        rpm = limits_for(user, settings).requests_per_minute
        if rpm <= 0:
            return None
        return await self._limiter.remaining(RateLimitItemPerMinute(rpm), "generation-requests", user.id)

    def _key(self, user_id: str, day: str) -> str:
        return _TOKENS_ITEM.key_for("generation-tokens", user_id, day)

    async def tokens_used(self, session: AsyncSession, user: User) -> int:
        """Today's tokens: recorded usage plus reservations of generations still running."""
        day = utc_day()
        await self._seed(session, user.id, day)
        return int(await self._limiter.storage.get(self._key(user.id, day)) or 0)

    async def _seed(self, session: AsyncSession, user_id: str, day: str) -> None:
        # After a restart (in-memory storage) the counter is empty: start it from what the
        # database recorded today, so a restart never hands out a fresh daily budget.
        key = self._key(user_id, day)
        if day != self._seeded_day:
            self._seeded, self._seeded_day = set(), day
        if key in self._seeded:
            return
        async with self._seed_lock:
            if key in self._seeded:
                return
            if await self._limiter.storage.get(key) == 0:
                recorded = await tokens_recorded_today(session, user_id)
                await self._limiter.storage.incr(key, _TOKENS_ITEM.get_expiry(), amount=max(recorded, 0) or 0)
            self._seeded.add(key)

    async def reserve_tokens(self, session: AsyncSession, user: User, settings: Settings, tokens: int) -> Reservation:
        """Reserve `tokens` of today's budget or answer 429 with the time until the budget renews."""
        day = utc_day()
        reservation = Reservation(user_id=user.id, day=day, tokens=max(tokens, 0))
        tpd = limits_for(user, settings).tokens_per_day
        if tpd <= 0:
            return reservation
        await self._seed(session, user.id, day)
        key = self._key(user.id, day)
        total = await self._limiter.storage.incr(key, _TOKENS_ITEM.get_expiry(), amount=reservation.tokens)
        if total > tpd:
            await self._limiter.storage.incr(key, _TOKENS_ITEM.get_expiry(), amount=-reservation.tokens)
            retry = seconds_until_midnight()
            left = max(tpd - (total - reservation.tokens), 0)
            raise RateLimited(
                f"Daily token limit reached: this request needs up to {reservation.tokens} tokens and "
                f"{left} of {tpd} are left today. The budget renews at 00:00 UTC.",
                retry_after=retry,
            )
        return reservation

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Replace the reservation with what the generation really used."""
        delta = max(actual_tokens, 0) - reservation.tokens
        if delta:
            key = self._key(reservation.user_id, reservation.day)
            await self._limiter.storage.incr(key, _TOKENS_ITEM.get_expiry(), amount=delta)
        reservation.tokens = max(actual_tokens, 0)
