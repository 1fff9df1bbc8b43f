"""Following a generation that another replica runs: live through Redis Streams, or through the database.

With Redis (CODESMITH_REDIS_URL), the owner appends the coalesced deltas of each generation to one
stream, `codesmith:generation:<message id>`: entries `{o: end offset, t: text}` and a last one `{f: the
terminal event}`. A subscriber on any replica reads it from the start, skipping what its client already
has (offsets are absolute), so re-attaching and Last-Event-ID work the same everywhere and deltas arrive
as they are made. One publisher task per replica sends the changes of all its generations in one
pipelined round trip. Cancels travel on the pub/sub channel `codesmith:cancel` to the owner.

Redis is not the record (the database is): when it restarts, generations go on and are stored whole.
The owner notices that a stream vanished (XADD NOMKSTREAM answers nil) and writes it again from the
start; subscribers reconnect and re-read it, and check the database whenever the stream is quiet, so a
terminal event lost with Redis is still delivered.

Without Redis (one process), a generation of another process can only be followed through the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.conversations import sse
from codesmith.conversations.running import Generation
from codesmith.conversations.store import FLUSH_SECONDS, reread, stored_terminal_event
from codesmith.conversations.tables import ACTIVE_STATUSES
from codesmith.metrics import ACTIVE_STREAMS

logger = logging.getLogger("codesmith.fanout")

CANCEL_CHANNEL = "codesmith:cancel"
# A finished generation's stream stays this long, for clients that re-attach late.
ENDED_STREAM_SECONDS = 300
# A subscriber whose stream is quiet this long asks the database whether the generation has ended.
QUIET_CHECK_SECONDS = 5.0
# After a Redis error: wait this long before trying again.
RETRY_SECONDS = 0.5

# Returns the terminal event when the generation has ended (as stored), else None.
EndedCheck = Callable[[], Awaitable[bytes | None]]


def stream_key(message_id: str) -> str:
    return f"codesmith:generation:{message_id}"


class RedisFanout:
    """This replica's side of the shared fan-out: publishing its generations, following others'."""

    def __init__(self, redis: Redis, running_stream_seconds: float) -> None:
        self._redis = redis
        self._running_ttl = int(running_stream_seconds) + 1
        self._changed: dict[str, Generation] = {}
        # Per published generation: (chunks, characters) already in its stream; absent: no stream yet.
        self._cursors: dict[str, tuple[int, int]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._errors = 0

    # -- the owner's side -------------------------------------------------------------------------
    def track(self, generation: Generation) -> None:
        generation.listener = self._note

    def _note(self, generation: Generation) -> None:
        self._changed[generation.message_id] = generation
        self._wake.set()

    def start(self, on_cancel: Callable[[str], None]) -> None:
        self._tasks = [
            asyncio.create_task(self._publish_forever(), name="fanout-publisher"),
            asyncio.create_task(self._listen_for_cancels(on_cancel), name="fanout-cancels"),
        ]

    async def aclose(self) -> None:
        """Publish what is left (the last terminal events), then stop."""
        if self._changed:
            with suppress(RedisError, OSError):
                async with asyncio.timeout(2):
                    await self._publish(self._take_changed())
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task

    def _take_changed(self) -> dict[str, Generation]:
        changed, self._changed = self._changed, {}
        return changed

    async def _publish_forever(self) -> None:
        # No pause between rounds: what changes while a round is in flight goes in the next one.
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = self._take_changed()
            try:
                await self._publish(batch)
                self._errors = 0
            except (RedisError, OSError) as exc:
                self._log_error("publishing deltas", exc)
                for message_id, generation in batch.items():
                    self._changed.setdefault(message_id, generation)
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()

    async def _publish(self, batch: dict[str, Generation]) -> None:
        """One pipelined round trip for every generation that changed; streams that vanished (Redis
        restarted) are written again from the start in a second one."""
        pipe = self._redis.pipeline(transaction=False)
        sent: list[tuple[Generation, int, tuple[int, int]]] = []
        for generation in batch.values():
            replies, after = self._append(pipe, generation, self._cursors.get(generation.message_id))
            if replies:
                sent.append((generation, replies, after))
        if not sent:
            return
        results = iter(await pipe.execute())
        lost: list[Generation] = []
        for generation, replies, after in sent:
            if any(reply is None for reply in [next(results) for _ in range(replies)]):
                lost.append(generation)  # NOMKSTREAM answered nil: the stream is gone
            else:
                self._advance(generation, after)
        if lost:
            await self._republish(lost)

    def _append(self, pipe: Any, generation: Generation, cursor: tuple[int, int] | None) -> tuple[int, tuple[int, int]]:
        """Queue the generation's new entries on `pipe`: how many replies they will give, and the cursor
        once they are in."""
        key = stream_key(generation.message_id)
        chunks, chars = cursor or (0, 0)
        replies = 0
        if len(generation.chunks) > chunks:
            text = "".join(generation.chunks[chunks:])
            chunks, chars = len(generation.chunks), chars + len(text)
            pipe.xadd(key, {"o": chars, "t": text}, nomkstream=cursor is not None)
            replies += 1
        if generation.final is not None:
            pipe.xadd(key, {"f": generation.final}, nomkstream=cursor is not None or replies > 0)
            pipe.expire(key, ENDED_STREAM_SECONDS)
            replies += 2
        elif cursor is None and replies:
            pipe.expire(key, self._running_ttl)  # a stream never outlives the longest generation for long
            replies += 1
        return replies, (chunks, chars)

    def _advance(self, generation: Generation, cursor: tuple[int, int]) -> None:
        if generation.final is not None:
            self._cursors.pop(generation.message_id, None)
            generation.listener = None
        else:
            self._cursors[generation.message_id] = cursor

    async def _republish(self, generations: list[Generation]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        cursors = [self._append(pipe, generation, None)[1] for generation in generations]
        await pipe.execute()
        for generation, cursor in zip(generations, cursors, strict=True):
            self._advance(generation, cursor)

    async def publish_ended(self, events: dict[str, bytes]) -> None:
        """Terminal events of generations this replica does not run (reaped ones), to their watchers."""
        if not events:
            return
        pipe = self._redis.pipeline(transaction=False)
        for message_id, event in events.items():
            pipe.xadd(stream_key(message_id), {"f": event}, nomkstream=True)
            pipe.expire(stream_key(message_id), ENDED_STREAM_SECONDS)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:  # the watchers find the end in the database
            self._log_error("publishing reaped generations", exc)

    # -- cancels ----------------------------------------------------------------------------------
    async def request_cancel(self, message_id: str) -> bool:
        """Ask the owner (whichever replica) to stop a generation; False when Redis cannot take it."""
        try:
            await self._redis.publish(CANCEL_CHANNEL, message_id)
        except (RedisError, OSError) as exc:
            self._log_error("sending a cancel", exc)
            return False
        return True

    async def _listen_for_cancels(self, on_cancel: Callable[[str], None]) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CANCEL_CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_cancel(_text(message["data"]))
            except (RedisError, OSError) as exc:
                self._log_error("listening for cancels", exc)
            finally:
                with suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RETRY_SECONDS)

    # -- a subscriber on any replica ------------------------------------------------------------
    async def follow(self, message_id: str, offset: int, heartbeat: float, ended: EndedCheck) -> AsyncIterator[bytes]:
        """The generation's events after `offset`, live, until its terminal event."""
        ACTIVE_STREAMS.inc()
        try:
            async for event in self._follow(message_id, offset, heartbeat, ended):
                yield event
        finally:
            ACTIVE_STREAMS.dec()

    async def _follow(self, message_id: str, offset: int, heartbeat: float, ended: EndedCheck) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        key, sent = stream_key(message_id), offset
        last_id: str | bytes = "0-0"
        block = min(heartbeat, QUIET_CHECK_SECONDS)
        pinged = loop.time()
        while True:
            try:
                reply = await self._read(key, last_id, block)
            except (RedisError, OSError) as exc:
                self._log_error("following a generation", exc)
                final = await ended()
                if final is not None:
                    yield final
                    return
                await asyncio.sleep(RETRY_SECONDS)
                last_id = "0-0"  # the stream may come back written again from the start
                continue
            if not reply:
                final = await ended()
                if final is not None:
                    yield final
                    return
                if loop.time() - pinged >= heartbeat:
                    yield sse.PING
                    pinged = loop.time()
                continue
            pieces: list[str] = []
            for entry_id, fields in reply:
                last_id = entry_id
                final_event = fields.get(b"f")
                if final_event is not None:
                    for event in _as_deltas(pieces, sent):
                        yield event
                    yield final_event
                    return
                end, text = int(fields[b"o"]), fields[b"t"].decode()
                start = end - len(text)
                if start <= sent < end:  # entries the client has (or that skip ahead of it) add nothing
                    pieces.append(text[sent - start :])
                    sent = end
            for event in _as_deltas(pieces, sent):
                yield event
            pinged = loop.time()

    async def _read(self, key: str, after: str | bytes, block: float) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """The stream's entries after `after`, waiting up to `block` seconds for one."""
        reply = await self._redis.xread({key: after}, count=1000, block=max(int(block * 1000), 1))
        if not reply:
            return []
        return cast(list[tuple[bytes, dict[bytes, bytes]]], cast(list[Any], reply)[0][1])

    def _log_error(self, what: str, exc: BaseException) -> None:
        self._errors += 1
        if self._errors <= 3 or self._errors % 100 == 0:
            logger.warning("redis failed", extra={"during": what, "error": type(exc).__name__, "count": self._errors})


def _as_deltas(pieces: list[str], end: int) -> list[bytes]:
    if not pieces:
        return []
    text = "".join(pieces)
    pieces.clear()
    return sse.deltas(text, end)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def ended_in_database(sessionmaker: async_sessionmaker[AsyncSession], message_id: str) -> EndedCheck:
    """An EndedCheck reading the message as stored."""

    async def check() -> bytes | None:
        async with sessionmaker() as session:
            message = await reread(session, message_id)
            if message is None:
                return sse.error("not_found", "The conversation was deleted.", message_id, 0)
            if message.status in ACTIVE_STATUSES:
                return None
            return await stored_terminal_event(session, message)

    return check


async def follow_database(
    sessionmaker: async_sessionmaker[AsyncSession], message_id: str, offset: int, heartbeat: float
) -> AsyncIterator[bytes]:
    """Without Redis: follow a generation another process runs through the batches it writes."""
    ACTIVE_STREAMS.inc()
    try:
        async for event in _polled(sessionmaker, message_id, offset, heartbeat):
            yield event
    finally:
        ACTIVE_STREAMS.dec()


async def _polled(
    sessionmaker: async_sessionmaker[AsyncSession], message_id: str, offset: int, heartbeat: float
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    sent, quiet_since = offset, loop.time()
    while True:
        async with sessionmaker() as session:
            message = await reread(session, message_id)
            if message is None:
                yield sse.error("not_found", "The conversation was deleted.", message_id, sent)
                return
            if sent > len(message.content):
                sent = 0
            if len(message.content) > sent:
                for event in sse.deltas(message.content[sent:], len(message.content)):
                    yield event
                sent, quiet_since = len(message.content), loop.time()
            if message.status not in ACTIVE_STATUSES:
                yield await stored_terminal_event(session, message, sent)
                return
        if loop.time() - quiet_since >= heartbeat:
            yield sse.PING
            quiet_since = loop.time()
        await asyncio.sleep(FLUSH_SECONDS)
