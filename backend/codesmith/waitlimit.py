"""A time limit on each of the many short waits of one task, kept by one timer instead of one per wait.

A stream waits dozens of times a second (for the upstream's next read, for the reader to take an event,
for the next delta), each under a limit of many seconds. `asyncio.timeout` arms and cancels a timer for
every wait (about 6 µs each on uvloop, three per delta); `WaitLimit` keeps one timer for the stream,
which runs about once a limit and cancels the task only when the wait under way has lasted the limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import TracebackType
from typing import Self, TypeVar

T = TypeVar("T")


class WaitLimit:
    """`await limit.within(awaitable)` raises TimeoutError once that one wait has lasted `seconds`.

    Made, used and closed by one task (an async generator runs in the task that iterates it): the limit
    cancels that task, as `asyncio.timeout` does. Time between waits never counts.
    """

    __slots__ = ("_fired", "_loop", "_seconds", "_since", "_task", "_timer")

    def __init__(self, seconds: float) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("WaitLimit needs a running task")
        self._seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._task = task
        self._since: float | None = None  # when the wait under way began; None between waits
        self._timer: asyncio.TimerHandle | None = None
        self._fired = False

    async def within(self, awaitable: Awaitable[T]) -> T:
        self._since = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._since + self._seconds, self._check)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if self._fired:
                self._fired = False
                if self._task.uncancel() == 0:  # the limit's cancel, and nobody else's
                    raise TimeoutError from None
            raise
        finally:
            self._since = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _check(self) -> None:
        self._timer = None
        since = self._since
        if since is None:
            return  # between waits: the next one arms the timer again
        due = since + self._seconds
        if self._loop.time() >= due:
            self._fired = True
            self._task.cancel()
        else:
            self._timer = self._loop.call_at(due, self._check)
