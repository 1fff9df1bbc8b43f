"""The GenerationService: one per replica, built in the app's lifespan. It starts generations (each an
asyncio task of its own, so a subscriber that goes away never stops it), knows the ones this replica
runs, holds their leases, reaps those of replicas that are gone, and connects subscribers and cancels
to a generation wherever it runs.

Across replicas: the database says who owns a running generation (owner, lease_until: store.py) and
keeps one per conversation (a partial unique index); Redis, when configured, carries its live deltas
and cancels (fanout.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.config import Settings
from codesmith.conversations import runner, sse
from codesmith.conversations.fanout import RedisFanout, ended_in_database, follow_database
from codesmith.conversations.gate import SetupGate
from codesmith.conversations.jobs import Job
from codesmith.conversations.running import Generation
from codesmith.conversations.store import (
    FLUSH_SECONDS,
    BatchWriter,
    reap_expired,
    renew_leases,
    store_if_active,
    terminal_event,
)
from codesmith.conversations.tables import ACTIVE_STATUSES, Message, MessageStatus
from codesmith.db import utcnow
from codesmith.errors import GenerationInProgress, TooManyStreams
from codesmith.llm.client import ChatClient
from codesmith.metrics import ACTIVE_GENERATIONS
from codesmith.usage.limits import UsageLimiter

logger = logging.getLogger("codesmith.generations")

# On shutdown, running generations get this long to finish before they are stored as interrupted.
SHUTDOWN_GRACE_SECONDS = 2.0
# After the grace period: time for the interrupted generations to write their final state.
FINAL_WRITE_SECONDS = 10.0
# A cancel sent to another replica through Redis: how long to wait for its owner to store the end
# before the database is told directly (the owner then stops at its next batch write).
CANCEL_WAIT_SECONDS = 3.0
_CANCEL_POLL_SECONDS = 0.05
IN_PROGRESS = "A generation is already running in this conversation: wait for it to finish or cancel it."


def new_replica_id() -> str:
    """host:pid:random — unique per process start, readable in the database."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class StreamSlots:
    """Event streams open per user on this replica: past the limit, a new one answers 429.

    Each open stream holds a connection and a file descriptor: without a cap, one user could open
    enough of them to exhaust the process's descriptors for everyone.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def open_count(self, user_id: str) -> int:
        return self._open.get(user_id, 0)

    def acquire(self, user_id: str) -> Callable[[], None]:
        """Take a slot (429 too_many_streams when none is left); the returned function frees it, once."""
        count = self._open.get(user_id, 0)
        if count >= self.limit:
            raise TooManyStreams(
                f"You have {count} event streams open, the most allowed: close one (or wait for a "
                "generation to end) and try again."
            )
        self._open[user_id] = count + 1
        freed = False

        def release() -> None:
            nonlocal freed
            if freed:
                return
            freed = True
            left = self._open.get(user_id, 1) - 1
            if left > 0:
                self._open[user_id] = left
            else:
                self._open.pop(user_id, None)

        return release


class GenerationService:
    """This replica's running generations, by message and by conversation, and their upkeep."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        llm: ChatClient,
        settings: Settings,
        limiter: UsageLimiter | None,
        *,
        redis: Redis | None = None,
        shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.llm = llm
        self.settings = settings
        self.limiter = limiter
        self.shutdown_grace = shutdown_grace
        self.replica_id = new_replica_id()
        self.writer = BatchWriter(sessionmaker, self.replica_id)
        self.streams = StreamSlots(settings.max_streams_per_user)
        self.setups = SetupGate()
        self.fanout = RedisFanout(redis, settings.max_generation_seconds + 60) if redis is not None else None
        self._by_message: dict[str, Generation] = {}
        # None: reserved by a request that is still preparing its generation.
        self._by_conversation: dict[str, Generation | None] = {}
        self._upkeep: asyncio.Task[None] | None = None
        self.stopping = False  # shutting down: no new repair starts

    @property
    def lease_seconds(self) -> float:
        return self.settings.generation_lease_seconds

    # -- start and stop -----------------------------------------------------------------------
    async def open(self) -> None:
        """Before serving: what replicas that are gone left running is stored as interrupted."""
        await self.reap()
        if self.fanout is not None:
            self.fanout.start(self._cancel_requested)
        self._upkeep = asyncio.create_task(self._keep_up(), name="generation-upkeep")

    async def shutdown(self) -> None:
        """Let running generations finish within the grace period, then store the rest as interrupted."""
        self.stopping = True
        try:
            await self._stop_running()
        finally:
            if self._upkeep is not None:
                self._upkeep.cancel()
                with suppress(asyncio.CancelledError):
                    await self._upkeep
            if self.fanout is not None:
                await self.fanout.aclose()

    async def _stop_running(self) -> None:
        tasks = [g.task for g in self._by_message.values() if g.task is not None]
        if not tasks:
            return
        logger.info("waiting for running generations", extra={"count": len(tasks)})
        _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
        if not pending:
            return
        for generation in self.running():
            generation.stop("interrupted")
        _, unfinished = await asyncio.wait(pending, timeout=FINAL_WRITE_SECONDS)
        if unfinished:
            logger.warning("generations did not store their final state", extra={"count": len(unfinished)})

    # -- the generations of this replica ----------------------------------------------------------
    def get(self, message_id: str) -> Generation | None:
        return self._by_message.get(message_id)

    def running(self) -> list[Generation]:
        return list(self._by_message.values())

    @property
    def count(self) -> int:
        """How many generations this replica runs."""
        return len(self._by_message)

    @contextmanager
    def reserve(self, conversation_id: str) -> Iterator[None]:
        """Hold the conversation while a request prepares its generation: a second one of this replica
        gets 409 at once (taken before the first await). Across replicas the database decides (0008)."""
        if conversation_id in self._by_conversation:
            raise GenerationInProgress(IN_PROGRESS)
        self._by_conversation[conversation_id] = None
        try:
            yield
        finally:
            if conversation_id in self._by_conversation and self._by_conversation[conversation_id] is None:
                del self._by_conversation[conversation_id]

    def start(self, job: Job, parent_id: str | None) -> Generation:
        """Run the job's generation (its message is stored, owned by this replica, with a lease)."""
        generation = Generation(
            message_id=job.message_id,
            conversation_id=job.conversation_id,
            user_id=job.user_id,
            parent_id=parent_id,
            model_id=job.model.id,
        )
        if job.repairable:
            generation.repair = asyncio.get_running_loop().create_future()
        self._by_message[generation.message_id] = generation
        self._by_conversation[generation.conversation_id] = generation
        if self.fanout is not None:
            self.fanout.track(generation)
        ACTIVE_GENERATIONS.inc()
        task = asyncio.create_task(self._supervise(job, generation), name=f"generation-{generation.message_id}")
        generation.task = task
        # A done callback, not a `finally`: it runs even for a task cancelled before its first step.
        task.add_done_callback(partial(self._ended, generation))
        return generation

    async def _supervise(self, job: Job, generation: Generation) -> None:
        try:
            await runner.run(self, job, generation)
        except Exception:  # the runner stores every outcome itself; this is a bug, not an upstream failure
            logger.exception("generation crashed", extra={"message_id": generation.message_id})

    def _ended(self, generation: Generation, _: asyncio.Task[None]) -> None:
        ACTIVE_GENERATIONS.dec()
        if generation.repair is not None and not generation.repair.done():
            generation.repair.set_result(None)  # its task ended before deciding (a shutdown, a bug)
        if generation.final is None and not generation.closing:  # it never got as far as storing an end
            self.forget(generation)
            generation.publish(
                sse.error(
                    "internal_error", "The generation stopped unexpectedly.", generation.message_id, generation.length
                )
            )

    def forget(self, generation: Generation) -> None:
        self._by_message.pop(generation.message_id, None)
        if self._by_conversation.get(generation.conversation_id) is generation:
            del self._by_conversation[generation.conversation_id]

    async def cancel(self, message_id: str, reason: str = "cancelled") -> Generation | None:
        """Stop a generation of this replica and wait until its final state is stored."""
        generation = self._by_message.get(message_id)
        if generation is None:
            return None
        generation.stop(reason)
        await generation.finished.wait()
        return generation

    async def cancel_conversation(self, conversation_id: str) -> None:
        """Stop the conversation's generation, if one runs here (its conversation is being deleted)."""
        generation = self._by_conversation.get(conversation_id)
        if generation is not None:
            await self.cancel(generation.message_id)

    def _cancel_requested(self, message_id: str) -> None:
        """A cancel from another replica (through Redis): stop it, if it runs here."""
        generation = self._by_message.get(message_id)
        if generation is not None:
            generation.stop("cancelled")

    # -- any generation, wherever it runs ---------------------------------------------------------
    async def cancel_anywhere(self, message_id: str) -> None:
        """Stop a running generation, whichever replica owns it, and wait (a moment) for its end."""
        if self.get(message_id) is not None:
            await self.cancel(message_id)
            return
        asked = self.fanout is not None and await self.fanout.request_cancel(message_id)
        if asked and await self._ends_within(message_id, CANCEL_WAIT_SECONDS):
            return
        # No Redis, or the owner did not answer: the database says so; its owner stops at its next batch.
        async with self.sessionmaker() as session:
            await store_if_active(
                session, message_id, status=MessageStatus.CANCELLED, completed_at=utcnow(), owner=None, lease_until=None
            )
            await session.commit()

    async def _ends_within(self, message_id: str, seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await asyncio.sleep(_CANCEL_POLL_SECONDS)
            async with self.sessionmaker() as session:
                status = await session.scalar(select(Message.status).where(Message.id == message_id))
            if status is None or status not in ACTIVE_STATUSES:
                return True
        return False

    def follow(self, message_id: str, offset: int) -> AsyncIterator[bytes]:
        """A running generation's events after `offset`: from memory when it runs here, else from its
        Redis stream, else (one process, no Redis) from the database's batches."""
        heartbeat = self.settings.sse_heartbeat_seconds
        running = self.get(message_id)
        if running is not None:
            return running.events(offset, heartbeat)
        if self.fanout is not None:
            return self.fanout.follow(message_id, offset, heartbeat, ended_in_database(self.sessionmaker, message_id))
        return follow_database(self.sessionmaker, message_id, offset, heartbeat)

    # -- upkeep: batches, leases, the reaper ------------------------------------------------------
    async def _keep_up(self) -> None:
        loop = asyncio.get_running_loop()
        every = self.lease_seconds / 3
        renew_at = reap_at = loop.time() + every
        while True:
            await asyncio.sleep(min(FLUSH_SECONDS, every))
            try:
                for generation in await self.writer.flush():
                    generation.stop("gone")
                now = loop.time()
                if now >= renew_at:
                    renew_at = now + every
                    await self.renew()
                if now >= reap_at:
                    reap_at = now + every
                    await self.reap()  # after the renewal: this replica's own live leases are fresh
            except Exception:  # a database that is down: try again at the next round
                logger.exception("generation upkeep failed")

    async def renew(self) -> int:
        """Extend the leases of this replica's running generations (one statement)."""
        if not self._by_message:
            return 0
        async with self.sessionmaker() as session:
            held = await renew_leases(session, self.replica_id, list(self._by_message), self.lease_seconds)
            await session.commit()
        return held

    async def reap(self) -> int:
        """Mark generations whose lease has expired `interrupted`; tell their watchers."""
        async with self.sessionmaker() as session:
            if not await _any_expired(session):
                return 0  # a read first: on SQLite an UPDATE takes the write lock even when it changes nothing
            reaped = await reap_expired(session)
            await session.commit()
        if reaped:
            logger.warning("marked generations of stopped replicas interrupted", extra={"count": len(reaped)})
            if self.fanout is not None:
                await self.fanout.publish_ended(
                    {message.id: terminal_event(message, [], len(message.content)) for message in reaped}
                )
        return len(reaped)


async def _any_expired(session: AsyncSession) -> bool:
    now = utcnow()
    query = select(Message.id).where(
        Message.status.in_(ACTIVE_STATUSES), (Message.lease_until.is_(None)) | (Message.lease_until < now)
    )
    return (await session.execute(query.limit(1))).first() is not None


async def get_generations(request: Request) -> GenerationService:
    generations: GenerationService = request.app.state.generations
    return generations


GenerationsDep = Annotated[GenerationService, Depends(get_generations)]
