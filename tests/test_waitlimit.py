"""WaitLimit: the per-wait time limit of streams (the upstream's next read, a slow reader, the heartbeat),
kept by one timer per stream. A wait past the limit raises TimeoutError; time between waits never counts;
a cancel from elsewhere stays a cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from codesmith.waitlimit import WaitLimit


async def never() -> None:
    await asyncio.Event().wait()


async def test_a_wait_longer_than_the_limit_raises_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    with WaitLimit(0.1) as limit:
        started = loop.time()
        with pytest.raises(TimeoutError):
            await limit.within(never())
        assert 0.09 <= loop.time() - started < 1.0
        assert await limit.within(asyncio.sleep(0.01, "still usable")) == "still usable"
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_many_short_waits_never_trip_it_and_time_between_waits_does_not_count() -> None:
    with WaitLimit(0.1) as limit:
        for _ in range(30):  # 0.3 s of waits in all, each well under the limit
            await limit.within(asyncio.sleep(0.01))
        await asyncio.sleep(0.25)  # not a wait under the limit: the stream's own work
        await limit.within(asyncio.sleep(0.05))


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    async def waiter() -> None:
        with WaitLimit(5) as limit:
            await limit.within(never())

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outer_timeout_is_the_outer_timeouts() -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            with WaitLimit(5) as limit:
                await limit.within(never())
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_closing_it_stops_its_timer() -> None:
    limit = WaitLimit(0.05)
    await limit.within(asyncio.sleep(0))
    limit.close()
    await asyncio.sleep(0.1)  # nothing fires into this task
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("wait", [never, lambda: asyncio.sleep(0.05)], ids=["endless", "just-over"])
def test_it_works_on_uvloop_too(wait: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        with WaitLimit(0.02) as limit, pytest.raises(TimeoutError):
            await limit.within(wait())

    uvloop.run(main())
