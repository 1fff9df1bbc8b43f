"""`python -m bench.client`: the CPU floor of reading a token stream, and what Codesmith's LLM client adds.

One process reads N streams (300 tokens each, DELAY ms apart, from the bench upstream in its own process)
in three ways and prints the CPU it spent per stream (`time.process_time`):

- `protocol`: a bare asyncio.Protocol that sends the request and counts reads (no HTTP parsing at all);
- `aiohttp`: aiohttp's client, `content.iter_any()`;
- `client`: Codesmith's `ChatClient.stream_chat` (the openai SDK's request, aiohttp underneath, SSE
  decoding), unpaced and paced (`min_interval`, what a generation uses).

Usage: `python -m bench.client [--concurrency 20] [--streams 100] [--delay-ms 5] [--rounds 3]`
(project venv: it imports codesmith). The figures are in docs/performance.md (*Where the time still goes*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import mkdtemp
from typing import cast

import aiohttp
import uvloop

from bench import procs
from bench.streaming import start_upstream
from bench.upstream import MODEL
from codesmith.config import Settings
from codesmith.conversations.runner import COALESCE_SECONDS
from codesmith.llm.client import ChatClient
from codesmith.llm.types import ChatMessage, Endpoint, TextDelta

MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "You write code."},
    {"role": "user", "content": "Write a Python function that reverses a linked list"},
]


class _Counter(asyncio.Protocol):
    """Sends one request and counts the reads until the chunked body's last chunk."""

    def __init__(self, request: bytes, done: asyncio.Future[int]) -> None:
        self.request = request
        self.done = done
        self.reads = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self.request)  # uvloop's transports subclass none of asyncio's

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        if data.endswith(b"0\r\n\r\n") and not self.done.done():
            self.done.set_result(self.reads)


def _raw_request(port: int) -> bytes:
    body = json.dumps({"model": MODEL, "stream": True, "messages": MESSAGES}).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
    return head.encode() + b"content-length: %d\r\n\r\n%s" % (len(body), body)


async def _measure(name: str, one: Callable[[], Awaitable[int]], args: argparse.Namespace) -> None:
    for _ in range(min(args.concurrency, 10)):  # warm-up: connections, pools, lazy imports
        await one()
    per_stream: list[float] = []
    reads = 0
    for _ in range(args.rounds):
        started = time.process_time()
        for _ in range(args.streams // args.concurrency):
            counts = await asyncio.gather(*(one() for _ in range(args.concurrency)))
        per_stream.append(1000 * (time.process_time() - started) / args.streams)
        reads = counts[0]
    runs = " ".join(f"{ms:.1f}" for ms in per_stream)
    print(f"{name:<22} {statistics.median(per_stream):6.1f} ms CPU per stream (runs: {runs}); {reads} reads or deltas")


async def run(args: argparse.Namespace) -> None:
    running: list[procs.Server] = []
    root, _ = start_upstream(running, Path(mkdtemp(prefix="bench-client-")))
    port = int(root.rsplit(":", 1)[1])
    loop = asyncio.get_running_loop()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
    client = ChatClient(Settings(_env_file=None, secret_key="bench-" + "x" * 40))
    endpoint = Endpoint(base_url=f"{root}/v1", model=MODEL)
    request = _raw_request(port)
    try:
        async with session.post(f"{root}/_bench/delay", json={"delay_ms": args.delay_ms}) as response:
            response.raise_for_status()

        async def protocol() -> int:
            done: asyncio.Future[int] = loop.create_future()
            transport, _ = await loop.create_connection(lambda: _Counter(request, done), "127.0.0.1", port)
            try:
                return await done
            finally:
                transport.close()

        async def plain_aiohttp() -> int:
            reads = 0
            body = {"model": MODEL, "stream": True, "messages": MESSAGES}
            async with session.post(f"{root}/v1/chat/completions", json=body) as response:
                async for _ in response.content.iter_any():
                    reads += 1
            return reads

        def codesmith(min_interval: float) -> Callable[[], Awaitable[int]]:
            async def one() -> int:
                deltas = 0
                async for event in client.stream_chat(endpoint, MESSAGES, min_interval=min_interval):
                    deltas += type(event) is TextDelta
                return deltas

            return one

        print(f"{args.streams} streams of 300 tokens {args.delay_ms:g} ms apart, {args.concurrency} at a time")
        await _measure("protocol (no HTTP)", protocol, args)
        await _measure("aiohttp", plain_aiohttp, args)
        await _measure("client, unpaced", codesmith(0.0), args)
        await _measure(f"client, paced {COALESCE_SECONDS * 1000:g} ms", codesmith(COALESCE_SECONDS), args)
    finally:
        await client.aclose()
        await session.close()
        for server in running:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
