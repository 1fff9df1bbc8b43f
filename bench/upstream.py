"""The benchmark's upstream: a tiny OpenAI-compatible HTTP/1.1 server on raw asyncio (uvloop when present).

Every chat answer is the same 300-token code answer, pre-encoded once as SSE chunks in HTTP chunked
framing, so a token costs one timer callback and one `transport.write`: the upstream must never be what
a benchmark measures. Tokens leave on an absolute schedule (token k at start + k * delay), so timer
jitter does not add up over a stream. Run alone: `python -m bench.upstream --port 8090 --delay-ms 5`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from typing import Any

MODEL = "bench-coder"
MAX_MODEL_LEN = 32768
TOKENS = 300
PROMPT_TOKENS = 40
MAX_HEADER_BYTES = 64 * 1024

_HEADER = "Here is a Python function that reverses a singly linked list in place, with a small node class:\n\n"
_CODE = (
    "```python\n"
    "from __future__ import annotations\n\n"
    "from dataclasses import dataclass\n\n\n"
    "@dataclass\n"
    "class Node:\n"
    "    value: int\n"
    "    next: Node | None = None\n\n\n"
    "def reverse(head: Node | None) -> Node | None:\n"
    '    """Reverse the list in place and return its new head."""\n'
    "    previous: Node | None = None\n"
    "    current = head\n"
    "    while current is not None:\n"
    "        following = current.next\n"
    "        current.next = previous\n"
    "        previous = current\n"
    "        current = following\n"
    "    return previous\n\n\n"
    "def to_list(head: Node | None) -> list[int]:\n"
    "    values: list[int] = []\n"
    "    while head is not None:\n"
    "        values.append(head.value)\n"
    "        head = head.next\n"
    "    return values\n"
    "```\n\n"
)
_FILLER = (
    "The loop walks the list once and turns each next pointer around, so it runs in linear time and "
    "constant extra space. It keeps three names: the node before, the node being turned and the node "
    "after it, which is saved before the pointer changes so the rest of the list is never lost. "
)


def split_tokens(text: str) -> list[str]:
    """Word-sized tokens with their trailing whitespace, so the tokens join back to the text."""
    tokens: list[str] = []
    current = ""
    for char in text:
        current += char
        if char in " \n":
            tokens.append(current)
            current = ""
    if current:
        tokens.append(current)
    return tokens


def answer_tokens(count: int = TOKENS) -> list[str]:
    """Exactly `count` tokens: a header, a fenced Python block, then prose up to the count."""
    tokens = split_tokens(_HEADER + _CODE)
    filler = split_tokens(_FILLER)
    index = 0
    while len(tokens) < count:
        tokens.append(filler[index % len(filler)])
        index += 1
    return tokens[:count]


ANSWER_TOKENS = answer_tokens()
ANSWER = "".join(ANSWER_TOKENS)


def _chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (Transfer-Encoding: chunked)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _stream_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


USAGE = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": TOKENS, "total_tokens": PROMPT_TOKENS + TOKENS}
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
# Token 0 travels with the role chunk; the last token with the finish, usage and [DONE] chunks.
TOKEN_WRITES = [_chunk(_event(_stream_chunk({"content": token}))) for token in ANSWER_TOKENS]
TOKEN_WRITES[0] = _chunk(_event(_stream_chunk({"role": "assistant", "content": ""}))) + TOKEN_WRITES[0]
TOKEN_WRITES[-1] += (
    _chunk(_event(_stream_chunk({}, "stop")))
    + _chunk(_event({**_stream_chunk({}), "choices": [], "usage": USAGE}))
    + _chunk(b"data: [DONE]\n\n")
    + b"0\r\n\r\n"
)


def _json_response(status: int, payload: Any) -> bytes:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required"}
    return b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        status,
        reason.get(status, "Error").encode(),
        len(body),
        body,
    )


MODELS_RESPONSE = _json_response(
    200,
    {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "bench", "max_model_len": MAX_MODEL_LEN}],
    },
)
COMPLETION_RESPONSE = _json_response(
    200,
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": USAGE,
    },
)
NOT_FOUND = _json_response(404, {"error": {"message": "Not Found", "type": "not_found", "code": 404}})


class Stats:
    def __init__(self) -> None:
        self.delay = 0.005
        self.streams_started = 0
        self.streams_finished = 0
        self.active = 0
        self.max_lateness = 0.0  # the worst delay of a token behind its schedule, seconds


class UpstreamProtocol(asyncio.Protocol):
    """One connection: parses requests (Content-Length bodies, keep-alive) and serves one at a time."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = b""
        self.transport: Any = None  # asyncio.Transport or uvloop's, which does not subclass it
        self.streaming = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._process()

    def _process(self) -> None:
        while not self.streaming and not self.closed:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self._close()
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self._handle(method, path.split("?", 1)[0], body)
            if headers.get("connection", "").lower() == "close" and not self.streaming:
                self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def _handle(self, method: str, path: str, body: bytes) -> None:
        if path == "/v1/chat/completions" and method == "POST":
            request = json.loads(body or b"{}")
            if request.get("stream"):
                self._stream()
            else:
                self._write(COMPLETION_RESPONSE)
        elif path == "/v1/models":
            self._write(MODELS_RESPONSE)
        elif path == "/tokenize" and method == "POST":
            # Like vLLM's /tokenize: the prompt's token count (about four characters a token here).
            self._write(_json_response(200, {"count": max(len(body) // 4, 1), "max_model_len": MAX_MODEL_LEN}))
        elif path == "/health":
            self._write(_json_response(200, {"status": "ok"}))
        elif path == "/_bench/delay" and method == "POST":
            self.stats.delay = float(json.loads(body)["delay_ms"]) / 1000
            self._write(_json_response(200, {"delay_ms": self.stats.delay * 1000}))
        elif path == "/_bench/stats":
            self._write(_json_response(200, vars(self.stats)))
            if method == "POST":  # read and reset: lateness is reported per batch
                self.stats.max_lateness = 0.0
        else:
            self._write(NOT_FOUND)

    def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        self.streaming = True
        self.stats.streams_started += 1
        self.stats.active += 1
        start = loop.time()
        delay = self.stats.delay
        self._write(STREAM_HEAD + TOKEN_WRITES[0])

        def send(index: int) -> None:
            if self.closed:
                self._finished()
                return
            lateness = loop.time() - (start + index * delay)
            if lateness > self.stats.max_lateness:
                self.stats.max_lateness = lateness
            self._write(TOKEN_WRITES[index])
            if index + 1 < len(TOKEN_WRITES):
                loop.call_at(start + (index + 1) * delay, send, index + 1)
            else:
                self._finished()

        loop.call_at(start + delay, send, 1)

    def _finished(self) -> None:
        self.streaming = False
        self.stats.active -= 1
        self.stats.streams_finished += 1
        if self.buffer:
            self._process()


async def serve(host: str, port: int, delay_ms: float) -> None:
    stats = Stats()
    stats.delay = delay_ms / 1000
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: UpstreamProtocol(stats), host, port, backlog=2048)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"bench upstream on http://{host}:{port}/v1 (pid {os.getpid()})", flush=True)
    async with server:
        await stop.wait()


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> None:
    parser = argparse.ArgumentParser(description="The benchmark's fast OpenAI-compatible upstream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    args = parser.parse_args()
    _install_uvloop()
    started = time.monotonic()
    asyncio.run(serve(args.host, args.port, args.delay_ms))
    print(f"bench upstream stopped after {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
