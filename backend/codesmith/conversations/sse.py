"""Server-sent events: the byte encoding of the stream events, and the streaming response.

Events are built as bytes straight away (orjson, no intermediate objects); each carries an `id:`,
the character offset of the answer's text it has delivered, which `Last-Event-ID` resumes from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import StreamingResponse

MEDIA_TYPE = "text/event-stream"
PING = b": ping\n\n"
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
    (never the generation, which runs in its own task).
    """

    media_type = MEDIA_TYPE

    def __init__(self, events: AsyncIterator[bytes]) -> None:
        super().__init__(events, status_code=200, headers=HEADERS, media_type=MEDIA_TYPE)
