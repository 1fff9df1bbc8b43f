"""The setup gate: how many generation requests may be between their start and their launch at once.

A burst of requests (a hundred editors asking at once) used to go through authentication, the model, the
guard, the limits and the inserts all interleaved on the event loop: every request got its first token
only once nearly all of them were set up. With a few setups at a time, in arrival order, the first
requests start streaming while the later ones wait their turn, and the median first token comes sooner
for the same total work (docs/performance.md §6). A request takes its slot before it touches the
database (it waits holding no connection) and gives it back once its answer is launched, or before it
asks an upstream anything (a slow server's /tokenize must not hold the gate).
"""

from __future__ import annotations

import asyncio

SETUP_SLOTS = 4


class Slot:
    """One request's place in the gate; release() is idempotent (and a no-op for a request that has none)."""

    __slots__ = ("_semaphore",)

    def __init__(self, semaphore: asyncio.Semaphore | None = None) -> None:
        self._semaphore = semaphore

    def release(self) -> None:
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()


class SetupGate:
    def __init__(self, slots: int = SETUP_SLOTS) -> None:
        self._semaphore = asyncio.Semaphore(slots)  # waiters are served in arrival order

    async def enter(self) -> Slot:
        await self._semaphore.acquire()
        return Slot(self._semaphore)
