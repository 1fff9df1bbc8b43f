"""The in-process generation manager: running generations by message id, the text each has so far,
and the fan-out of their events to any number of stream subscribers.

A generation is an asyncio task of its own, so a subscriber that goes away never stops it. Its
subscribers share one wake-up event and each keeps a cursor into the text: when woken, it sends
everything past its cursor as one delta. The task reads the upstream paced (ChatClient.stream_chat's
`min_interval`): tokens that come faster than COALESCE_SECONDS wait in the connection's buffer and
arrive together, so a burst costs one read, one wake-up per subscriber and one write each, not one
per token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy import CursorResult, Update, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.config import Settings
from codesmith.conversations import sse
from codesmith.conversations.tables import Message
from codesmith.errors import GenerationInProgress, TooManyStreams
from codesmith.llm.client import ChatClient
from codesmith.metrics import ACTIVE_GENERATIONS, ACTIVE_STREAMS

logger = logging.getLogger("codesmith.generations")

ACTIVE_STATUSES = ("pending", "streaming")
# On shutdown, running generations get this long to finish before they are stored as interrupted.
SHUTDOWN_GRACE_SECONDS = 2.0
# After the grace period: time for the interrupted generations to write their final state.
FINAL_WRITE_SECONDS = 10.0
# The text so far is written to the database this often while an answer streams (never per token).
FLUSH_SECONDS = 0.5
# Text reaches subscribers at most this often: faster tokens travel together (below what a reader notices).
COALESCE_SECONDS = 0.02


class Generation:
    """One running generation: what subscribers need (the text so far, the final event) and its task."""

    __slots__ = (
        "_changed",
        "chunks",
        "closing",
        "conversation_id",
        "final",
        "finished",
        "length",
        "message_id",
        "model_id",
        "parent_id",
        "status",
        "stop_reason",
        "task",
        "user_id",
    )

    def __init__(
        self, *, message_id: str, conversation_id: str, user_id: str, parent_id: str | None, model_id: str
    ) -> None:
        self.message_id = message_id
        self.conversation_id = conversation_id
        self.user_id = user_id
        self.parent_id = parent_id
        self.model_id = model_id
        self.chunks: list[str] = []
        self.length = 0  # characters in chunks: the offset that event ids count
        self.status = "pending"
        self.final: bytes | None = None  # the encoded `done` or `error` event, once finished
        self.finished = asyncio.Event()
        self.stop_reason: str | None = None  # "cancelled", "interrupted" or "gone"
        self.closing = False  # the answer has ended and is being stored: too late to stop it
        self.task: asyncio.Task[bytes | None] | None = None
        self._changed: asyncio.Event | None = None  # exists only while someone waits

    # -- the producer side (the generation's task) -------------------------------------------------
    def append(self, text: str) -> None:
        self.chunks.append(text)
        self.length += len(text)
        self._wake()

    def text(self) -> str:
        return "".join(self.chunks)

    def publish(self, final: bytes) -> None:
        """The generation has ended and its final state is stored: let subscribers finish."""
        self.final = final
        self._wake()
        self.finished.set()

    def stop(self, reason: str) -> None:
        if self.closing:
            return
        if self.stop_reason is None:
            self.stop_reason = reason
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def _wake(self) -> None:
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    # -- the subscriber side ---------------------------------------------------------------------
    async def changed(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        await self._changed.wait()

    async def events(self, offset: int, heartbeat: float, first: bytes | None = None) -> AsyncIterator[bytes]:
        """`first`, the text after `offset` as one delta, live deltas, then the final event."""
        ACTIVE_STREAMS.inc()
        try:
            if first is not None:
                yield first
            index, sent = len(self.chunks), self.length
            if offset > sent:
                offset = 0  # a position this answer never reached: send it all
            if offset < sent:
                for event in sse.deltas(self.text()[offset:], sent):
                    yield event
            while True:
                chunks = self.chunks
                if index < len(chunks):
                    text = chunks[index] if index == len(chunks) - 1 else "".join(chunks[index:])
                    index = len(chunks)
                    sent += len(text)
                    if len(text) <= sse.MAX_DELTA_CHARS:
                        yield sse.delta(text, sent)
                    else:
                        for event in sse.deltas(text, sent):
                            yield event
                    continue
                if self.final is not None:
                    yield self.final
                    return
                try:
                    async with asyncio.timeout(heartbeat):
                        await self.changed()
                except TimeoutError:
                    yield sse.PING
        finally:
            ACTIVE_STREAMS.dec()


Runner = Callable[[Generation], Awaitable[bytes]]


class StreamSlots:
    """Event streams open per user in this process: past the limit, a new one answers 429.

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


def _while_active(message_id: str) -> Update:
    return (
        update(Message)
        .where(Message.id == message_id, Message.status.in_(ACTIVE_STATUSES))
        .execution_options(synchronize_session=False)
    )


async def store_if_active(session: AsyncSession, message_id: str, **values: Any) -> bool:
    """Write to a message only while it is still running: a task that lost it (cancelled elsewhere,
    deleted) gets False and stops; a late write can never undo a final state."""
    result = cast(CursorResult[Any], await session.execute(_while_active(message_id).values(**values)))
    return result.rowcount > 0


async def finish_if_active(session: AsyncSession, message_id: str, **values: Any) -> Message | None:
    """store_if_active for the final write, in one statement: the message as stored (None when it was
    no longer this task's to write)."""
    statement = _while_active(message_id).values(**values).returning(Message)
    return (await session.scalars(statement)).one_or_none()


class BatchWriter:
    """Writes the text so far of every running generation of the process, every FLUSH_SECONDS, in ONE
    transaction: never a write per token, and not a transaction per generation either (SQLite has a
    single writer, and hundreds of concurrent streams each committing twice a second queue up on it)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._watched: dict[str, tuple[Generation, tuple[int, str]]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._batch: asyncio.Task[list[Generation]] | None = None

    def watch(self, generation: Generation) -> None:
        self._watched[generation.message_id] = (generation, (0, "pending"))
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._run(), name="generation-batch-writer")

    async def unwatch(self, generation: Generation) -> None:
        """Stop writing it; a batch under way completes first, so it can never land after the final write."""
        self._watched.pop(generation.message_id, None)
        batch = self._batch
        if batch is not None and not batch.done():
            with suppress(Exception):
                await asyncio.shield(batch)

    async def _run(self) -> None:
        while self._watched:
            await asyncio.sleep(FLUSH_SECONDS)
            changed = [
                (generation, (generation.length, generation.status))
                for generation, saved in self._watched.values()
                if (generation.length, generation.status) != saved
            ]
            if not changed:
                continue
            self._batch = asyncio.create_task(self._save(changed))
            # Shielded: cancelling the loop must not cut a database write in half.
            for generation in await asyncio.shield(self._batch):
                generation.stop("gone")
            for generation, state in changed:
                if generation.message_id in self._watched:
                    self._watched[generation.message_id] = (generation, state)

    async def _save(self, changed: list[tuple[Generation, tuple[int, str]]]) -> list[Generation]:
        """Write the batch; the generations whose message is no longer theirs to write."""
        gone: list[Generation] = []
        try:
            async with self._sessionmaker() as session:
                for generation, (_, status) in changed:
                    if not await store_if_active(
                        session, generation.message_id, content=generation.text(), status=status
                    ):
                        gone.append(generation)
                await session.commit()
        except Exception as exc:  # a busy database: the next batch or the final write will catch up
            logger.warning("saving partial answers failed", extra={"error": type(exc).__name__})
            return []
        return [generation for generation in gone if not generation.closing]

    async def aclose(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with suppress(asyncio.CancelledError):
                await self._loop


class GenerationManager:
    """The running generations of this process, by message and by conversation (one per conversation)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        llm: ChatClient,
        settings: Settings,
        *,
        shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.llm = llm
        self.settings = settings
        self.shutdown_grace = shutdown_grace
        self.writer = BatchWriter(sessionmaker)
        self.streams = StreamSlots(settings.max_streams_per_user)
        self._by_message: dict[str, Generation] = {}
        # None: reserved by a request that is still preparing its generation.
        self._by_conversation: dict[str, Generation | None] = {}

    def get(self, message_id: str) -> Generation | None:
        return self._by_message.get(message_id)

    def running(self) -> list[Generation]:
        return list(self._by_message.values())

    @contextmanager
    def reserve(self, conversation_id: str) -> Iterator[None]:
        """Hold the conversation while a request prepares its generation: a second one gets 409.

        Taken before the first await, so two requests of this process cannot both pass the check.
        """
        if conversation_id in self._by_conversation:
            raise GenerationInProgress(
                "A generation is already running in this conversation: wait for it to finish or cancel it."
            )
        self._by_conversation[conversation_id] = None
        try:
            yield
        finally:
            if conversation_id in self._by_conversation and self._by_conversation[conversation_id] is None:
                del self._by_conversation[conversation_id]

    def start(self, generation: Generation, run: Runner) -> None:
        self._by_message[generation.message_id] = generation
        self._by_conversation[generation.conversation_id] = generation
        ACTIVE_GENERATIONS.inc()
        task = asyncio.create_task(self._supervise(generation, run), name=f"generation-{generation.message_id}")
        generation.task = task
        # A done callback, not a `finally`: it runs even for a task cancelled before its first step.
        task.add_done_callback(lambda done: self._finished(generation, done))

    async def _supervise(self, generation: Generation, run: Runner) -> bytes | None:
        try:
            return await run(generation)
        except Exception:  # run stores every outcome itself; this is a bug, not an upstream failure
            logger.exception("generation crashed", extra={"message_id": generation.message_id})
            return None

    def _finished(self, generation: Generation, task: asyncio.Task[bytes | None]) -> None:
        final = None if task.cancelled() or task.exception() is not None else task.result()
        # Forget first, then publish: whoever sees the end can start the next generation at once.
        self._forget(generation)
        ACTIVE_GENERATIONS.dec()
        generation.publish(
            final
            or sse.error(
                "internal_error", "The generation stopped unexpectedly.", generation.message_id, generation.length
            )
        )

    def _forget(self, generation: Generation) -> None:
        self._by_message.pop(generation.message_id, None)
        if self._by_conversation.get(generation.conversation_id) is generation:
            del self._by_conversation[generation.conversation_id]

    async def cancel(self, message_id: str, reason: str = "cancelled") -> Generation | None:
        """Stop a generation and wait until its final state is stored."""
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

    async def shutdown(self) -> None:
        """Let running generations finish within the grace period, then store the rest as interrupted."""
        try:
            await self._stop_running()
        finally:
            await self.writer.aclose()

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


async def get_generations(request: Request) -> GenerationManager:
    generations: GenerationManager = request.app.state.generations
    return generations


GenerationsDep = Annotated[GenerationManager, Depends(get_generations)]
