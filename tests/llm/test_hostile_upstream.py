"""The LLM client against an endpoint that means harm: keep-alives instead of tokens, headers a byte at a time,
usage reports of its own invention, and requests that must not say which SDK sent them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from codesmith.errors import UpstreamTimeout
from codesmith.llm.client import ChatClient
from codesmith.llm.tokens import estimate_text_tokens
from codesmith.llm.types import Endpoint, TextDelta, Usage
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream, words
from tests.llm.test_client import MESSAGES, collect, endpoint_for, make_client

TIMEOUT = 0.4  # the test's first-token and between-tokens timeouts
HANG = 8.0  # a stream still open after this long never timed out


async def read_until_failure(client: ChatClient, endpoint: Endpoint, received: list[tuple[float, str]]) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(HANG):  # a TimeoutError here, not UpstreamTimeout: the stream hung
        async for event in client.stream_chat(endpoint, MESSAGES):
            if isinstance(event, TextDelta):
                received.append((loop.time(), event.text))


class TestOnlyTokensKeepAStreamAlive:
    async def test_keepalives_before_the_first_token_time_out(self, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.keepalive_every = 0.05
        client = make_client(
            upstream_first_token_timeout=TIMEOUT, upstream_between_tokens_timeout=TIMEOUT, upstream_max_retries=0
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(UpstreamTimeout):
            await read_until_failure(client, endpoint_for(fake_upstream), [])
        assert loop.time() - started < TIMEOUT + 1.5
        await client.aclose()

    async def test_keepalives_after_some_tokens_time_out(self, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.keepalive_every = 0.05
        fake_upstream.behaviour.keepalive_after_tokens = 3
        # A long first-token deadline: what must end this stream is the silence after the third token.
        client = make_client(
            upstream_first_token_timeout=30, upstream_between_tokens_timeout=TIMEOUT, upstream_max_retries=0
        )
        received: list[tuple[float, str]] = []
        with pytest.raises(UpstreamTimeout):
            await read_until_failure(client, endpoint_for(fake_upstream), received)
        failed = asyncio.get_running_loop().time()
        assert "".join(text for _, text in received) == "".join(words(DEFAULT_REPLY)[:3])
        assert failed - received[-1][0] < TIMEOUT + 1.5
        await client.aclose()

    async def test_headers_sent_a_byte_at_a_time_count_against_the_first_token(self) -> None:
        async with trickling_server() as port:
            client = make_client(
                upstream_first_token_timeout=TIMEOUT, upstream_between_tokens_timeout=TIMEOUT, upstream_max_retries=0
            )
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(UpstreamTimeout):
                await read_until_failure(client, Endpoint(f"http://127.0.0.1:{port}/v1", "m"), [])
            assert loop.time() - started < TIMEOUT + 1.5
            await client.aclose()


@contextlib.asynccontextmanager
async def trickling_server() -> AsyncIterator[int]:
    """Answers every request with a status line, then one more header every 50 ms, forever."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\n")
            for index in range(10_000):
                writer.write(b"X-Wait-%d: 1\r\n" % index)
                await writer.drain()
                await asyncio.sleep(0.05)
        writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


REPLY_TOKENS = len(words(DEFAULT_REPLY))


class TestReportedUsageIsChecked:
    @pytest.mark.parametrize(
        "reported",
        [
            {"prompt_tokens": 20, "completion_tokens": -1_000_000},
            {"prompt_tokens": -5, "completion_tokens": 10},
            {"prompt_tokens": 20, "completion_tokens": 10**12},
            {"prompt_tokens": 10**12, "completion_tokens": 10},
            {"prompt_tokens": 20, "completion_tokens": 1_000_000},  # far more than the text that came
            {"prompt_tokens": 9_000_000, "completion_tokens": 10},  # far more than the prompt that went
            {"prompt_tokens": "20", "completion_tokens": "10"},
            {"prompt_tokens": 20.5, "completion_tokens": 10.0},
            {"prompt_tokens": True, "completion_tokens": 10},
            {"prompt_tokens": None, "completion_tokens": 10},
            {"completion_tokens": 10},
            {"prompt_tokens": 20, "completion_tokens": [10]},
        ],
    )
    async def test_an_implausible_report_is_replaced_by_a_count(
        self, fake_upstream: FakeUpstream, reported: dict[str, Any]
    ) -> None:
        fake_upstream.behaviour.usage_override = reported
        client = make_client()
        text, usage = await collect(client, endpoint_for(fake_upstream))
        assert text == DEFAULT_REPLY
        assert usage.estimated
        assert usage.completion_tokens == estimate_text_tokens(DEFAULT_REPLY)
        assert usage.prompt_tokens > 0
        await client.aclose()

    async def test_a_report_that_is_not_an_object_is_ignored(self, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.usage_override = ["not", "an", "object"]  # type: ignore[assignment]
        client = make_client()
        _, usage = await collect(client, endpoint_for(fake_upstream))
        assert usage.estimated
        await client.aclose()

    @pytest.mark.parametrize("completion", [0, REPLY_TOKENS, 4 * len(DEFAULT_REPLY)])
    async def test_a_plausible_report_is_kept(self, fake_upstream: FakeUpstream, completion: int) -> None:
        fake_upstream.behaviour.usage_override = {"prompt_tokens": 20, "completion_tokens": completion}
        client = make_client()
        _, usage = await collect(client, endpoint_for(fake_upstream))
        assert usage == Usage(prompt_tokens=20, completion_tokens=completion)
        await client.aclose()

    async def test_more_tokens_than_max_tokens_is_implausible(self, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.usage_override = {"prompt_tokens": 20, "completion_tokens": 500}
        client = make_client()
        _, usage = await collect(client, endpoint_for(fake_upstream))
        assert usage == Usage(prompt_tokens=20, completion_tokens=500), "within what the text can explain"
        _, usage = await collect(client, endpoint_for(fake_upstream), max_tokens=100)
        assert usage.estimated
        await client.aclose()

    async def test_hidden_reasoning_tokens_explain_a_longer_count(self, fake_upstream: FakeUpstream) -> None:
        # OpenAI's reasoning models count the reasoning they never stream among the completion tokens.
        reported = {
            "prompt_tokens": 20,
            "completion_tokens": 5_000 + REPLY_TOKENS,
            "completion_tokens_details": {"reasoning_tokens": 5_000},
        }
        fake_upstream.behaviour.usage_override = reported
        fake_upstream.behaviour.max_model_len = 16_384
        client = make_client()
        _, usage = await collect(client, endpoint_for(fake_upstream), max_tokens=8_000)
        assert usage == Usage(prompt_tokens=20, completion_tokens=5_000 + REPLY_TOKENS)
        await client.aclose()


class TestRequestsCarryNoFingerprint:
    async def test_no_sdk_headers_and_a_neutral_user_agent(self, fake_upstream: FakeUpstream) -> None:
        client = make_client()
        endpoint = endpoint_for(fake_upstream)
        await collect(client, endpoint)
        await client.list_models(endpoint)
        await client.count_tokens(endpoint, MESSAGES)
        assert len(fake_upstream.headers) == 3
        for headers in fake_upstream.headers:
            assert not [name for name in headers if name.lower().startswith("x-stainless")], headers
            assert headers["user-agent"] == "codesmith"
        await client.aclose()
