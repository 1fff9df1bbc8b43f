"""Server-sent events: the byte encoding of the stream events, and the streaming response.

Events are built as bytes straight away (orjson, no intermediate objects); each carries an `id:`,
the character offset of the answer's text it has delivered, which `Last-Event-ID` resumes from.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Send

from codesmith.waitlimit import WaitLimit

logger = logging.getLogger("codesmith.streams")

MEDIA_TYPE = "text/event-stream"
PING = b": ping\n\n"
# A reader that takes longer than this to accept one event has fallen too far behind: its stream is closed
# (it can resume with Last-Event-ID), so a client that never reads cannot make the server buffer an answer.
SLOW_READER_SECONDS = 30.0
# The most text one delta carries: a reader catching up gets the backlog in pieces, never as one huge write.
MAX_DELTA_CHARS = 64 * 1024
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once
}


def encode(event: str, data: Any, offset: int) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (offset, event.encode(), orjson.dumps(data))


def encode_raw(event: str, data: bytes, offset: int) -> bytes:
    """An event whose data is already JSON bytes (a pydantic model's to_json)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (offset, event.encode(), data)


def delta(text: str, offset: int) -> bytes:
    """A delta event; `offset` is where the text so far ends once this one is added."""
    return b'id: %d\nevent: delta\ndata: {"text":%s}\n\n' % (offset, orjson.dumps(text))


def deltas(text: str, offset: int) -> list[bytes]:
    """`text` (ending at `offset`) as delta events of at most MAX_DELTA_CHARS each."""
    if len(text) <= MAX_DELTA_CHARS:
        return [delta(text, offset)]
    start = offset - len(text)
    return [
        delta(text[i : i + MAX_DELTA_CHARS], start + min(i + MAX_DELTA_CHARS, len(text)))
        for i in range(0, len(text), MAX_DELTA_CHARS)
    ]


def error(code: str, detail: str, message_id: str, offset: int) -> bytes:
    return encode("error", {"code": code, "detail": detail, "message_id": message_id}, offset)


def parse_last_event_id(value: str | None) -> int:
    """The offset a client has already seen; anything unreadable means "from the start"."""
    if not value:
        return 0
    try:
        offset = int(value.strip())
    except ValueError:
        return 0
    return max(offset, 0)


class EventStreamResponse(StreamingResponse):
    """text/event-stream with the headers that keep proxies from buffering it.

    Starlette cancels the body iterator when the client disconnects, which ends the subscription
    (never the generation, which runs in its own task). A reader that stops reading is closed after
    SLOW_READER_SECONDS. `on_close` runs once when the stream ends, however it ends (it frees the
    user's stream slot); also if the response is dropped without ever being sent.
    """

    media_type = MEDIA_TYPE

    def __init__(self, events: AsyncIterator[bytes], on_close: Callable[[], None] | None = None) -> None:
        super().__init__(events, status_code=200, headers=HEADERS, media_type=MEDIA_TYPE)
        self._on_close = weakref.finalize(self, on_close) if on_close is not None else None

    async def stream_response(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        with WaitLimit(SLOW_READER_SECONDS) as reader:
            try:
                async for chunk in self.body_iterator:
                    await reader.within(send({"type": "http.response.body", "body": chunk, "more_body": True}))
                await reader.within(send({"type": "http.response.body", "body": b"", "more_body": False}))
            except TimeoutError:
                logger.info("closed a stream whose reader fell behind")

    async def __call__(self, scope: Any, receive: Any, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self._on_close is not None:
                self._on_close()
