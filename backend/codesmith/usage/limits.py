"""Per-user limits on generations: requests per minute and tokens per day (UTC calendar day).

Built on the `limits` package, like the login throttle: in memory by default, shared through Redis
when CODESMITH_REDIS_URL is set. Tokens are reserved before the upstream call (the prompt's count
plus the answer's reserve) and settled with the real usage afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.config import Settings
from codesmith.errors import RateLimited
from codesmith.ratelimit import Limiter
from codesmith.usage.tables import UsageRecord
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
    user_counted: bool = False  # taken from the user's daily budget
    server_counted: bool = False  # taken from the server keys' daily budget


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
    """Today's tokens in the usage ledger (deleted conversations included: their tokens were spent)."""
    tokens = UsageRecord.prompt_tokens + UsageRecord.completion_tokens
    query = select(func.coalesce(func.sum(tokens), 0)).where(
        UsageRecord.user_id == user_id, UsageRecord.created_at >= start_of_day()
    )
    return int((await session.execute(query)).scalar_one() or 0)


async def server_tokens_recorded_today(session: AsyncSession) -> int:
    """Today's tokens of generations called with a key of the server's (its shared daily budget)."""
    tokens = UsageRecord.prompt_tokens + UsageRecord.completion_tokens
    query = select(func.coalesce(func.sum(tokens), 0)).where(
        UsageRecord.paid_by_server, UsageRecord.created_at >= start_of_day()
    )
    return int((await session.execute(query)).scalar_one() or 0)


# The day's token counter only ever needs a key per (user, day); its window just has to outlive the day.
_TOKENS_ITEM = RateLimitItemPerDay(1, 2)
# With Redis, the counters are plain integers under this prefix, changed by these scripts (atomic).
_REDIS_PREFIX = "codesmith:"
_TAKE = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if total > tonumber(ARGV[2]) then
    redis.call('DECRBY', KEYS[1], ARGV[1])
    return {0, total - tonumber(ARGV[1])}
end
return {1, total}
"""
_ADD = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return total
"""


class UsageLimiter:
    """Admission of generation requests and the daily token budgets (each user's, and the server keys')."""

    def __init__(self, limiter: Limiter, redis: Redis | None = None) -> None:
        self._limiter = limiter
        # With Redis the counters are shared by every replica and outlive them: one replica seeds each
        # (whoever sets its marker first), and again only if Redis lost it.
        self._redis: Redis | None = None
        self._take_script: AsyncScript | None = None
        self._add_script: AsyncScript | None = None
        self.redis = redis
        # The (user, day) counters this process has already started from the database: the sum query
        # runs once per user and day, not on every request of a user who has used nothing yet today.
        self._seeded: set[str] = set()
        self._seeded_day = ""
        # One lock per counter being seeded, never one for everybody: a slow first request of one user
        # must not hold up anyone else's.
        self._seeding: dict[str, asyncio.Lock] = {}

    @property
    def redis(self) -> Redis | None:
        return self._redis

    @redis.setter
    def redis(self, redis: Redis | None) -> None:
        self._redis = redis
        self._take_script = redis.register_script(_TAKE) if redis is not None else None
        self._add_script = redis.register_script(_ADD) if redis is not None else None

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
        await self.prepare(session, user.id)
        return await self._count(self._key(user.id, day))

    async def prepare(self, session: AsyncSession, user_id: str) -> None:
        """Start today's counter from the database, once per user and day and process.

        Called before a request writes anything: the sum is a read, and it must never run (nor wait for
        another request's seeding) while the session holds a write transaction, which on SQLite would
        keep every other writer of the instance waiting.
        """
        day = utc_day()
        await self._seed_counter(self._key(user_id, day), day, lambda: tokens_recorded_today(session, user_id))

    async def prepare_server(self, session: AsyncSession, settings: Settings) -> None:
        """prepare() for the server keys' daily counter (when that budget is on)."""
        if settings.server_key_tokens_per_day <= 0:
            return
        day = utc_day()
        await self._seed_counter(self._server_key(day), day, lambda: server_tokens_recorded_today(session))

    async def _seed_counter(self, key: str, day: str, recorded: Callable[[], Awaitable[int]]) -> None:
        # After a restart (in-memory storage) the counter is empty: start it from what the database
        # recorded today, so a restart never hands out a fresh daily budget.
        if self.redis is not None:
            marker = f"{_REDIS_PREFIX}{key}:seeded"
            if await self.redis.set(marker, b"1", nx=True, ex=_TOKENS_ITEM.get_expiry()):
                try:
                    tokens = await recorded()
                    await self._add(key, max(tokens, 0))
                except BaseException:
                    await self.redis.delete(marker)  # the next request seeds it
                    raise
            return
        if day != self._seeded_day:
            self._seeded, self._seeded_day, self._seeding = set(), day, {}
        if key in self._seeded:
            return
        lock = self._seeding.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._seeded:
                return
            if await self._count(key) == 0:
                tokens = await recorded()
                await self._add(key, max(tokens, 0))
            self._seeded.add(key)
            self._seeding.pop(key, None)

    async def reserve_tokens(
        self, user: User, settings: Settings, tokens: int, *, server_key: bool = False
    ) -> Reservation:
        """Reserve `tokens` of today's budget (and of the server keys' one, for a generation the server
        pays for) or answer 429 with the time until the budgets renew. prepare() has run before."""
        day = utc_day()
        reservation = Reservation(user_id=user.id, day=day, tokens=max(tokens, 0))
        tpd = limits_for(user, settings).tokens_per_day
        if tpd > 0:
            await self._take(self._key(user.id, day), reservation.tokens, tpd, "Daily token limit reached")
            reservation.user_counted = True
        if server_key and settings.server_key_tokens_per_day > 0:
            try:
                await self._take(
                    self._server_key(day),
                    reservation.tokens,
                    settings.server_key_tokens_per_day,
                    "The server's shared daily token budget is spent (add your own OpenAI key, or pick a "
                    "self-hosted model)",
                )
            except RateLimited:
                await self.settle(reservation, 0)
                raise
            reservation.server_counted = True
        return reservation

    async def _take(self, key: str, tokens: int, budget: int, what: str) -> None:
        """Add `tokens` to the counter unless that passes `budget` (429 then): one atomic step in Redis,
        so replicas reserving at once never hand out more than the budget together."""
        if self._take_script is not None:
            taken, total = await self._take_script(
                keys=[_REDIS_PREFIX + key], args=[tokens, budget, _TOKENS_ITEM.get_expiry()]
            )
            before = int(total) - (int(tokens) if taken else 0)
        else:
            total = await self._limiter.storage.incr(key, _TOKENS_ITEM.get_expiry(), amount=tokens)
            taken = total <= budget
            if not taken:
                await self._limiter.storage.incr(key, _TOKENS_ITEM.get_expiry(), amount=-tokens)
            before = total - tokens
        if not taken:
            left = max(budget - before, 0)
            raise RateLimited(
                f"{what}: this request needs up to {tokens} tokens and {left} of {budget} are left today. "
                "The budget renews at 00:00 UTC.",
                retry_after=seconds_until_midnight(),
            )

    async def _count(self, key: str) -> int:
        if self.redis is not None:
            return int(await self.redis.get(_REDIS_PREFIX + key) or 0)
        return int(await self._limiter.storage.get(key) or 0)

    async def _add(self, key: str, amount: int) -> None:
        if self._add_script is not None:
            await self._add_script(keys=[_REDIS_PREFIX + key], args=[amount, _TOKENS_ITEM.get_expiry()])
        else:
            await self._limiter.storage.incr(key, _TOKENS_ITEM.get_expiry(), amount=amount)

    def _server_key(self, day: str) -> str:
        return _TOKENS_ITEM.key_for("server-key-tokens", day)

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Replace the reservation with what the generation really used."""
        used = max(actual_tokens, 0)
        delta = used - reservation.tokens
        if delta:
            if reservation.user_counted:
                await self._add(self._key(reservation.user_id, reservation.day), delta)
            if reservation.server_counted:
                await self._add(self._server_key(reservation.day), delta)
        reservation.tokens = used
