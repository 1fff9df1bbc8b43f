"""Per-user limits: requests per minute, tokens per day, admin overrides, shared Redis counts."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from codesmith.config import Settings
from codesmith.errors import RateLimited
from codesmith.ratelimit import Limiter, make_redis, make_storage
from codesmith.usage.limits import UsageLimiter, seconds_until_midnight, utc_day
from codesmith.users.tables import User
from tests.conftest import UserHandle


def a_user(user_id: str = "u1", **limits: int | None) -> User:
    return User(id=user_id, email=f"{user_id}@x.io", password_hash="-", **limits)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, secret_key="x" * 40, **values)  # type: ignore[call-arg]


@pytest.fixture
def advance_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the in-memory limiter's clock forward (its windows read time.time())."""
    import limits.aio.storage.memory as memory

    offset = [0.0]

    class Clock:
        @staticmethod
        def time() -> float:
            return time.time() + offset[0]

    monkeypatch.setattr(memory, "time", Clock)

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


class TestRequestsPerMinute:
    async def test_limit_hit_exactly_at_the_boundary_then_reset(self, advance_clock: Callable[[float], None]) -> None:
        limiter = UsageLimiter(Limiter(make_storage(None)))
        user, config = a_user(), settings(rate_limit_requests_per_minute=3)
        for _ in range(3):
            await limiter.admit_request(user, config)
        with pytest.raises(RateLimited) as caught:
            await limiter.admit_request(user, config)
        assert caught.value.code == "rate_limited"
        assert 55 <= caught.value.retry_after <= 60
        assert caught.value.headers["Retry-After"] == str(caught.value.retry_after)

        advance_clock(61)
        await limiter.admit_request(user, config)  # the window has moved on

    async def test_two_users_are_independent(self) -> None:
        limiter = UsageLimiter(Limiter(make_storage(None)))
        config = settings(rate_limit_requests_per_minute=1)
        await limiter.admit_request(a_user("a"), config)
        await limiter.admit_request(a_user("b"), config)
        with pytest.raises(RateLimited):
            await limiter.admit_request(a_user("a"), config)

    async def test_user_override_and_unlimited(self) -> None:
        limiter = UsageLimiter(Limiter(make_storage(None)))
        config = settings(rate_limit_requests_per_minute=1)
        generous = a_user("g", requests_per_minute=5)
        for _ in range(5):
            await limiter.admit_request(generous, config)
        unlimited = a_user("u", requests_per_minute=0)
        for _ in range(50):
            await limiter.admit_request(unlimited, config)


class TestTokensPerDay:
    async def test_reserve_up_to_the_limit_exactly_then_429_until_midnight(self, app: FastAPI) -> None:
        limiter: UsageLimiter = app.state.usage_limiter
        user, config = a_user(), settings(rate_limit_tokens_per_day=100)
        async with app.state.sessionmaker() as session:
            await limiter.prepare(session, user.id)
            await limiter.reserve_tokens(user, config, 60)
            await limiter.reserve_tokens(user, config, 40)  # exactly 100: allowed
            with pytest.raises(RateLimited) as caught:
                await limiter.reserve_tokens(user, config, 1)
            assert abs(caught.value.retry_after - seconds_until_midnight()) <= 2
            assert await limiter.tokens_used(session, user) == 100  # the refused one left no trace

    async def test_settling_returns_unused_reserve(self, app: FastAPI) -> None:
        limiter: UsageLimiter = app.state.usage_limiter
        user, config = a_user(), settings(rate_limit_tokens_per_day=100)
        async with app.state.sessionmaker() as session:
            await limiter.prepare(session, user.id)
            reservation = await limiter.reserve_tokens(user, config, 90)
            await limiter.settle(reservation, 30)
            assert await limiter.tokens_used(session, user) == 30
            await limiter.reserve_tokens(user, config, 70)  # fits again

    async def test_settling_above_the_reserve_counts_the_real_usage(self, app: FastAPI) -> None:
        limiter: UsageLimiter = app.state.usage_limiter
        user, config = a_user(), settings(rate_limit_tokens_per_day=1000)
        async with app.state.sessionmaker() as session:
            await limiter.prepare(session, user.id)
            reservation = await limiter.reserve_tokens(user, config, 10)
            await limiter.settle(reservation, 25)
            assert await limiter.tokens_used(session, user) == 25


class TestAdminLimits:
    async def test_admin_sets_and_reads_a_users_limits(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, register_user: Any
    ) -> None:
        admin = await register_user("admin@example.com")
        async with app.state.sessionmaker() as session:
            await session.execute(update(User).where(User.id == admin.id).values(is_admin=True))
            await session.commit()
        body = {"requests_per_minute": 2, "tokens_per_day": 5000}
        response = await client.put(f"/admin/users/{user.id}/limits", json=body, headers=admin.headers)
        assert response.status_code == 200
        assert response.json()["requests_per_minute"] == 2
        assert response.json()["tokens_per_day_override"] == 5000

        limits = (await client.get("/usage", headers=user.headers)).json()["limits"]
        assert limits["requests_per_minute"] == 2 and limits["tokens_per_day"] == 5000

        reset = await client.put(f"/admin/users/{user.id}/limits", json={}, headers=admin.headers)
        assert reset.json()["requests_per_minute"] == 20 and reset.json()["requests_per_minute_override"] is None

    async def test_the_largest_limits_the_schema_allows_are_stored(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, register_user: Any
    ) -> None:
        admin = await register_user("admin@example.com")
        async with app.state.sessionmaker() as session:
            await session.execute(update(User).where(User.id == admin.id).values(is_admin=True))
            await session.commit()
        body = {"requests_per_minute": 1_000_000, "tokens_per_day": 10**12}  # past 32 bits (PostgreSQL: 0010)
        response = await client.put(f"/admin/users/{user.id}/limits", json=body, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["tokens_per_day_override"] == 10**12

    async def test_non_admin_is_forbidden(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.put(f"/admin/users/{user.id}/limits", json={}, headers=user.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"

    async def test_unknown_user_is_404(self, app: FastAPI, client: httpx.AsyncClient, register_user: Any) -> None:
        admin = await register_user("root@example.com")
        async with app.state.sessionmaker() as session:
            await session.execute(update(User).where(User.id == admin.id).values(is_admin=True))
            await session.commit()
        response = await client.get("/admin/users/nope/limits", headers=admin.headers)
        assert response.status_code == 404


REDIS_URL = os.environ.get("CODESMITH_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="no Redis server (CI starts one and sets CODESMITH_TEST_REDIS_URL)")
class TestRedisStorage:
    async def test_two_workers_share_the_counts_through_redis(self) -> None:
        first = Limiter(make_storage(REDIS_URL))
        second = Limiter(make_storage(REDIS_URL))
        await first.reset()
        config = settings(rate_limit_requests_per_minute=2, rate_limit_tokens_per_day=50)
        user = a_user(f"redis-{time.time_ns()}")
        await UsageLimiter(first).admit_request(user, config)
        await UsageLimiter(second).admit_request(user, config)
        with pytest.raises(RateLimited):
            await UsageLimiter(first).admit_request(user, config)

    async def test_token_reservations_are_shared(self, app: FastAPI) -> None:
        first = UsageLimiter(Limiter(make_storage(REDIS_URL)))
        second = UsageLimiter(Limiter(make_storage(REDIS_URL)))
        config = settings(rate_limit_tokens_per_day=50)
        user = a_user(f"redis-tokens-{time.time_ns()}")
        async with app.state.sessionmaker() as session:
            await first.prepare(session, user.id)
            await second.prepare(session, user.id)
            await first.reserve_tokens(user, config, 30)
            with pytest.raises(RateLimited):
                await second.reserve_tokens(user, config, 30)
            assert await second.tokens_used(session, user) == 30

    async def test_replicas_reserving_at_once_never_pass_the_budget_together(self) -> None:
        replicas = [UsageLimiter(Limiter(make_storage(REDIS_URL)), make_redis(REDIS_URL)) for _ in range(3)]
        config = settings(rate_limit_tokens_per_day=100)
        user = a_user(f"redis-atomic-{time.time_ns()}")
        results = await asyncio.gather(
            *(replicas[n % 3].reserve_tokens(user, config, 30) for n in range(12)), return_exceptions=True
        )
        assert sum(not isinstance(result, BaseException) for result in results) == 3  # 90 of 100: a 4th won't fit
        assert all(isinstance(r, RateLimited) for r in results if isinstance(r, BaseException))
        for replica in replicas:
            assert replica.redis is not None
            await replica.redis.aclose()

    async def test_the_day_is_seeded_from_the_ledger_once_whichever_replicas_start(self, app: FastAPI) -> None:
        user = a_user(f"redis-seed-{time.time_ns()}")
        replicas = [UsageLimiter(Limiter(make_storage(REDIS_URL)), make_redis(REDIS_URL)) for _ in range(3)]
        recorded = 40

        async def seeded(replica: UsageLimiter) -> None:
            await replica._seed_counter(replica._key(user.id, utc_day()), utc_day(), lambda: _after_a_moment(recorded))

        await asyncio.gather(*(seeded(replica) for replica in replicas))
        async with app.state.sessionmaker() as session:
            assert await replicas[0].tokens_used(session, user) == recorded  # once, not three times
        await replicas[1].reserve_tokens(user, settings(rate_limit_tokens_per_day=100), 60)
        with pytest.raises(RateLimited):
            await replicas[2].reserve_tokens(user, settings(rate_limit_tokens_per_day=100), 1)
        for replica in replicas:
            assert replica.redis is not None
            await replica.redis.aclose()


async def _after_a_moment(value: int) -> int:
    await asyncio.sleep(0.01)  # a database read: the others run meanwhile
    return value
