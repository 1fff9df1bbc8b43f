"""The event-stream decoder the client reads upstream bodies with, fed the way the network splits them,
and the pacing that lets a fast upstream's tokens arrive together."""

from __future__ import annotations

import asyncio
import json

import pytest
import uvloop

from codesmith.errors import UpstreamRateLimited
from codesmith.llm.client import SHARED_TICKS, EventStreamDecoder, Pacer
from codesmith.llm.types import Endpoint, Usage

INTERVAL = 0.05
ENDPOINT = Endpoint(base_url="http://upstream.test/v1", model="m", api_key="sk-secret-key-123456")


def event(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def token(text: str) -> bytes:
    return event({"choices": [{"index": 0, "delta": {"content": text}}]})


USAGE = event({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}})


def test_one_read_with_many_events_is_one_text() -> None:
    decoder = EventStreamDecoder(ENDPOINT)
    assert decoder.feed(token("def ") + token("f():") + token("\n")) == "def f():\n"


def test_an_event_split_across_reads_waits_for_its_end() -> None:
    decoder = EventStreamDecoder(ENDPOINT)
    whole = token("héllo ") + token("wörld")  # multi-byte characters split mid-way
    pieces = [whole[:9], whole[9:20], whole[20:41], whole[41:]]
    texts = [decoder.feed(piece) for piece in pieces]
    assert "".join(texts) == "héllo wörld"
    assert texts[0] == ""  # nothing complete yet


def test_usage_role_chunks_and_comments_carry_no_text() -> None:
    decoder = EventStreamDecoder(ENDPOINT)
    role = event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    assert decoder.feed(b": keep-alive\n\n" + role + token("x") + USAGE) == "x"
    assert decoder.usage == Usage(prompt_tokens=12, completion_tokens=3)


def test_nothing_after_done_counts() -> None:
    decoder = EventStreamDecoder(ENDPOINT)
    assert decoder.feed(token("a") + b"data: [DONE]\n\n" + token("b")) == "a"
    assert decoder.done
    assert decoder.feed(token("c")) == ""
    assert decoder.finish() == ""


def test_a_last_event_without_its_newline_still_counts() -> None:
    decoder = EventStreamDecoder(ENDPOINT)
    assert decoder.feed(token("a") + token("b").rstrip(b"\n")) == "a"
    assert decoder.finish() == "b"


def test_an_error_event_is_raised_with_its_code_and_no_key() -> None:
    decoder = EventStreamDecoder(ENDPOINT)
    error = event({"error": {"code": 429, "message": "slow down, key sk-secret-key-123456"}})
    with pytest.raises(UpstreamRateLimited) as raised:
        decoder.feed(token("a") + error)
    assert "sk-secret-key-123456" not in raised.value.detail


async def test_the_pacer_spaces_fast_deltas_and_never_delays_slow_ones() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(INTERVAL)  # made when the first delta goes out
    started = loop.time()
    await pacer.wait()  # the next one, right after: waits out the interval (to the shared clock's tick)
    first = loop.time()
    assert INTERVAL * 0.9 <= first - started < INTERVAL * 1.5
    await pacer.wait()  # and the one after that keeps the stream's beat
    assert loop.time() - started < 2 * INTERVAL + INTERVAL / SHARED_TICKS + 0.02
    await asyncio.sleep(INTERVAL * 0.6)
    before = loop.time()
    await pacer.wait()  # tokens about as slow as the interval: no wait (it would gather nothing)
    assert loop.time() - before < INTERVAL / 4


async def test_an_interval_given_as_a_function_is_asked_at_each_wait() -> None:
    loop = asyncio.get_running_loop()
    intervals = iter([INTERVAL, 3 * INTERVAL])  # the replica got busy between two deltas
    pacer = Pacer(lambda: next(intervals))
    started = loop.time()
    await pacer.wait()
    first = loop.time() - started
    await pacer.wait()
    second = loop.time() - started - first
    assert INTERVAL * 0.9 <= first < 2 * INTERVAL
    assert second >= 3 * INTERVAL * 0.9


async def test_the_streams_of_a_replica_wake_together() -> None:
    loop = asyncio.get_running_loop()
    woke: list[float] = []

    async def stream(offset: float) -> None:
        await asyncio.sleep(offset)  # streams that started at different moments
        pacer = Pacer(INTERVAL)
        for _ in range(3):
            await pacer.wait()
            woke.append(loop.time())

    await asyncio.gather(*(stream(offset) for offset in (0.0, 0.004, 0.013, 0.031, 0.033, 0.047)))
    tick = INTERVAL / SHARED_TICKS
    assert all(abs(moment / tick - round(moment / tick)) < 0.2 for moment in woke)  # on the shared clock
    assert len({round(moment / tick) for moment in woke}) < len(woke)  # streams that woke together


async def _pauses_reading_while_it_waits() -> None:
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    transport = writer.transport
    try:
        pacer = Pacer(INTERVAL, lambda: transport)
        waiting = asyncio.ensure_future(pacer.wait())
        await asyncio.sleep(INTERVAL / 4)
        assert not transport.is_reading()  # the tokens wait in the kernel's buffer meanwhile
        await waiting
        assert transport.is_reading()
    finally:
        writer.close()
        server.close()


async def test_the_pacer_pauses_reading_from_the_socket_while_it_waits() -> None:
    await _pauses_reading_while_it_waits()


def test_the_pacer_pauses_uvloop_transports_too() -> None:
    # The server runs on uvloop, whose transports subclass none of asyncio's transport classes.
    uvloop.run(_pauses_reading_while_it_waits())


async def test_without_a_transport_to_pause_the_pacer_still_paces() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(INTERVAL, lambda: None)  # the connection went back to the pool, or another transport
    started = loop.time()
    await pacer.wait()
    assert loop.time() - started >= INTERVAL * 0.9
