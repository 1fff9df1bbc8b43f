"""A running generation as this replica holds it: the text so far, its status, the final event, and
the in-process fan-out of its events to any number of subscribers.

Only its runner (runner.py) writes to it: the text, the status and the final event. Others read it, and
may ask it to stop (stop() cancels the runner's task, which then stores what it has).

Its subscribers share one wake-up event and each keeps a cursor into the text: when woken, it sends
everything past its cursor as one delta. The runner reads the upstream paced (ChatClient.stream_chat's
`min_interval`), so a burst of tokens costs one append, one wake-up per subscriber and one write each.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from codesmith.conversations import sse
from codesmith.conversations.tables import MessageStatus
from codesmith.metrics import ACTIVE_STREAMS
from codesmith.waitlimit import WaitLimit

if TYPE_CHECKING:
    from codesmith.conversations.jobs import Outcome


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
        "listener",
        "message_id",
        "model_id",
        "outcome",
        "parent_id",
        "problems",
        "repair",
        "repair_of",
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
        self.status: str = MessageStatus.PENDING
        self.final: bytes | None = None  # the encoded `done` or `error` event, once finished
        # How it ended, as the runner saw it (set before the final write; `final` says it is stored).
        self.outcome: Outcome | None = None
        self.finished = asyncio.Event()
        self.stop_reason: str | None = None  # "cancelled", "interrupted" or "gone"
        self.closing = False  # the answer has ended and is being stored: too late to stop it
        self.task: asyncio.Task[bytes | None] | None = None
        self._changed: asyncio.Event | None = None  # exists only while someone waits
        # Told of every change (new text, the end): the fan-out to other replicas, when there is one.
        self.listener: Callable[[Generation], None] | None = None
        # A repairable generation: the repair that follows it, once decided (None: none). repair.py sets it.
        self.repair: asyncio.Future[Generation | None] | None = None
        # A repair: the answer it repairs, and how many problems that answer's checks found.
        self.repair_of: str | None = None
        self.problems = 0

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
        if self.listener is not None:
            self.listener(self)
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
        quiet = WaitLimit(heartbeat)  # a ping after this long without a change
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
                    await quiet.within(self.changed())
                except TimeoutError:
                    yield sse.PING
        finally:
            ACTIVE_STREAMS.dec()
            quiet.close()
