"""Rate limits on the `limits` package: in memory by default, shared through Redis when configured."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from codesmith.errors import RateLimited


def make_storage(redis_url: str | None) -> Storage:
    if redis_url:
        uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
        return RedisStorage(uri, implementation="redispy")
    return MemoryStorage()


def make_redis(redis_url: str | None) -> Redis | None:
    """The app's own Redis client (the fan-out of generations, cancels), when Redis is configured."""
    if not redis_url:
        return None
    url = redis_url.removeprefix("async+")
    return Redis.from_url(url, health_check_interval=30, socket_connect_timeout=5, retry_on_timeout=True)


class Limiter:
    """A moving-window limiter with helpers that raise the contract's 429 with a correct Retry-After."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._strategy = MovingWindowRateLimiter(storage)

    async def remaining(self, item: RateLimitItem, *keys: str) -> int:
        stats = await self._strategy.get_window_stats(item, *keys)
        return int(stats.remaining)

    async def retry_after(self, item: RateLimitItem, *keys: str) -> int:
        stats = await self._strategy.get_window_stats(item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def hit(self, item: RateLimitItem, *keys: str, cost: int = 1) -> bool:
        return await self._strategy.hit(item, *keys, cost=cost)

    async def ensure_room(self, item: RateLimitItem, *keys: str, cost: int = 1, what: str) -> None:
        """Raise 429 unless `cost` more units fit in the window (nothing is consumed)."""
        if not await self._strategy.test(item, *keys, cost=cost):
            retry = await self.retry_after(item, *keys)
            raise RateLimited(f"{what} Try again in {retry} seconds.", retry_after=retry)

    async def consume(self, item: RateLimitItem, *keys: str, cost: int = 1, what: str) -> None:
        """Take `cost` units from the window, or raise 429 when they do not fit."""
        if not await self._strategy.hit(item, *keys, cost=cost):
            retry = await self.retry_after(item, *keys)
            raise RateLimited(f"{what} Try again in {retry} seconds.", retry_after=retry)

    async def clear(self, item: RateLimitItem, *keys: str) -> None:
        await self._strategy.clear(item, *keys)

    async def reset(self) -> None:
        await self.storage.reset()
