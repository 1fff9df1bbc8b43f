"""The LLM client against a real HTTP server: streaming, usage, retries, timeouts and error codes."""

from __future__ import annotations

import asyncio
import itertools

import httpx2
import pytest

from codesmith.config import Settings
from codesmith.errors import (
    AppError,
    ContextWindowExceeded,
    ModelUnavailable,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnauthorized,
)
from codesmith.llm.client import ChatClient
from codesmith.llm.tls import ssl_context
from codesmith.llm.types import ChatMessage, Endpoint, TextDelta, Usage
from tests.conftest import free_port
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream, words

MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "You write code."},
    {"role": "user", "content": "reverse the words of a sentence in python"},
]


def make_client(via: str = "direct", **overrides: object) -> ChatClient:
    """`via`: "direct" (aiohttp, every endpoint but user-registered ones) or "sdk" (the SDK on an httpx
    transport, the path of user-registered endpoints; here without the SSRF guard, which refuses loopback)."""
    values: dict[str, object] = {"secret_key": "x" * 40, "upstream_max_retries": 2}
    values.update(overrides)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
    if via == "sdk":
        return ChatClient(settings, transport_factory=lambda endpoint: httpx2.AsyncHTTPTransport())
    return ChatClient(settings)


def endpoint_for(
    fake: FakeUpstream, key: str | None = None, model: str = "fake-coder", via: str = "direct"
) -> Endpoint:
    return Endpoint(base_url=fake.base_url, model=model, api_key=key, guarded=via == "sdk")


@pytest.fixture(params=["direct", "sdk"])
def via(request: pytest.FixtureRequest) -> str:
    """Each upstream path: the failures of both are mapped alike."""
    return str(request.param)


async def collect(client: ChatClient, endpoint: Endpoint, **kwargs: object) -> tuple[str, Usage]:
    text, usage = [], None
    async for event in client.stream_chat(endpoint, MESSAGES, **kwargs):  # type: ignore[arg-type]
        if isinstance(event, TextDelta):
            text.append(event.text)
        else:
            usage = event
    assert usage is not None
    return "".join(text), usage


class TestStreaming:
    async def test_streams_the_whole_answer_then_reported_usage(self, fake_upstream: FakeUpstream) -> None:
        client = make_client()
        text, usage = await collect(client, endpoint_for(fake_upstream))
        assert text == DEFAULT_REPLY
        assert usage == Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=len(words(DEFAULT_REPLY)))
        assert usage.prompt_tokens > 0 and not usage.estimated
        assert fake_upstream.requests[-1]["stream_options"] == {"include_usage": True}
        assert fake_upstream.requests[-1]["messages"] == MESSAGES
        await client.aclose()

    async def test_usage_is_estimated_when_the_server_reports_none(self, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.include_usage = False
        client = make_client()
        text, usage = await collect(client, endpoint_for(fake_upstream))
        assert text == DEFAULT_REPLY
        assert usage.estimated
        assert usage.completion_tokens >= len(words(DEFAULT_REPLY)) // 2
        await client.aclose()

    async def test_paced_tokens_come_together_and_whole(self, fake_upstream: FakeUpstream) -> None:
        body = "".join(f"t{i} " for i in range(60))
        fake_upstream.behaviour.reply = body
        fake_upstream.behaviour.token_delay = 0.005
        client = make_client()
        loop = asyncio.get_running_loop()
        deltas: list[tuple[float, str]] = []
        async for event in client.stream_chat(endpoint_for(fake_upstream), MESSAGES, min_interval=0.05):
            if isinstance(event, TextDelta):
                deltas.append((loop.time(), event.text))
        assert "".join(text for _, text in deltas) == body
        # 60 tokens 5 ms apart in 0.05 s steps: about 7 deltas, never one per token.
        assert 3 <= len(deltas) <= 15, len(deltas)
        gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(deltas[1:])]
        assert min(gaps) >= 0.04
        await client.aclose()

    async def test_max_tokens_is_passed_on(self, fake_upstream: FakeUpstream) -> None:
        client = make_client()
        await collect(client, endpoint_for(fake_upstream), max_tokens=321)
        assert fake_upstream.requests[-1]["max_tokens"] == 321
        await client.aclose()

    async def test_clients_are_pooled_per_base_url_and_key(self, fake_upstream: FakeUpstream) -> None:
        client = make_client()
        first = client.sdk(endpoint_for(fake_upstream, key="k1"))
        assert client.sdk(endpoint_for(fake_upstream, key="k1", model="other")) is first
        assert client.sdk(endpoint_for(fake_upstream, key="k2")) is not first
        await client.aclose()

    async def test_every_client_shares_one_tls_context(self, fake_upstream: FakeUpstream) -> None:
        """A client per user key: building a TLS context for each loaded the CA bundle on the event loop
        (30-200 ms while every stream waited), at each user's first request."""
        client = make_client()
        contexts = {
            id(client.sdk(endpoint_for(fake_upstream, key=key))._client._transport.ssl_context)  # type: ignore[attr-defined]
            for key in ("k1", "k2", "k3")
        }
        assert contexts == {id(ssl_context())}
        await client.aclose()

    @pytest.mark.parametrize("via", ["direct", "sdk"])
    async def test_both_paths_send_the_same_request(self, fake_upstream: FakeUpstream, via: str) -> None:
        client = make_client(via)
        endpoint = endpoint_for(fake_upstream, key="sk-user-key-0001", via=via)
        await collect(client, endpoint, max_tokens=64, temperature=0.2, headers={"X-Session-Id": "c1"})
        body, headers = fake_upstream.requests[-1], fake_upstream.headers[-1]
        assert body["model"] == "fake-coder" and body["stream"] is True and body["messages"] == MESSAGES
        assert body["stream_options"] == {"include_usage": True}
        assert body["max_tokens"] == 64 and body["temperature"] == 0.2
        assert headers["authorization"] == "Bearer sk-user-key-0001" and headers["x-session-id"] == "c1"
        assert headers["user-agent"] == "codesmith" and headers["content-type"] == "application/json"
        assert not [name for name in headers if name.lower().startswith("x-stainless")], headers
        await client.aclose()

    async def test_the_direct_path_is_one_session_for_every_key_with_the_shared_tls_context(
        self, fake_upstream: FakeUpstream
    ) -> None:
        client = make_client()
        for key in ("k1", "k2"):
            await collect(client, endpoint_for(fake_upstream, key=key))
        assert client._direct is not None and client._clients == {}  # no SDK client was built for streaming
        assert client._direct.connector._ssl is ssl_context()  # type: ignore[union-attr]
        await client.aclose()
        assert client._direct is None


class TestRetries:
    @pytest.mark.parametrize("status", [429, 500, 503])
    async def test_retries_before_the_first_token(self, fake_upstream: FakeUpstream, status: int, via: str) -> None:
        fake_upstream.behaviour.status = status
        fake_upstream.behaviour.fail_times = 2
        client = make_client(via)
        text, _ = await collect(client, endpoint_for(fake_upstream, via=via))
        assert text == DEFAULT_REPLY
        assert fake_upstream.chat_attempts == 3
        await client.aclose()

    async def test_gives_up_after_the_retries(self, fake_upstream: FakeUpstream, via: str) -> None:
        fake_upstream.behaviour.status = 500
        client = make_client(via, upstream_max_retries=1)
        with pytest.raises(UpstreamError):
            await collect(client, endpoint_for(fake_upstream, via=via))
        assert fake_upstream.chat_attempts == 2
        await client.aclose()

    async def test_never_replays_a_half_streamed_answer(self, fake_upstream: FakeUpstream, via: str) -> None:
        fake_upstream.behaviour.fail_after_tokens = 5
        client = make_client(via)
        received: list[str] = []
        with pytest.raises(UpstreamError):
            async for event in client.stream_chat(endpoint_for(fake_upstream, via=via), MESSAGES):
                if isinstance(event, TextDelta):
                    received.append(event.text)
        assert "".join(received) == "".join(words(DEFAULT_REPLY)[:5])
        assert fake_upstream.chat_attempts == 1
        await client.aclose()

    async def test_long_retry_after_is_answered_not_waited(self, fake_upstream: FakeUpstream, via: str) -> None:
        fake_upstream.behaviour.status = 429
        fake_upstream.behaviour.retry_after = 120
        client = make_client(via)
        with pytest.raises(UpstreamRateLimited) as caught:
            await collect(client, endpoint_for(fake_upstream, via=via))
        assert caught.value.headers["Retry-After"] == "120"
        assert fake_upstream.chat_attempts == 1
        await client.aclose()

    async def test_refused_connection_is_retried_then_model_unavailable(self, via: str) -> None:
        client = make_client(via, upstream_max_retries=1)
        endpoint = Endpoint(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", guarded=via == "sdk")
        with pytest.raises(ModelUnavailable):
            await collect(client, endpoint)
        await client.aclose()


class TestErrorMapping:
    async def test_bad_key_is_upstream_unauthorized_and_never_echoes_the_key(
        self, fake_upstream: FakeUpstream, via: str
    ) -> None:
        fake_upstream.behaviour.require_key = "sk-the-right-key-0000"
        client = make_client(via)
        wrong_key = "sk-live-supersecret-value-1234"
        with pytest.raises(UpstreamUnauthorized) as caught:
            await collect(client, endpoint_for(fake_upstream, key=wrong_key, via=via))
        rendered = str(caught.value.problem())
        assert wrong_key not in rendered and "1234" not in rendered and "sk-liv" not in rendered
        assert fake_upstream.chat_attempts == 1  # a bad key is not retried
        await client.aclose()

    @pytest.mark.parametrize("flavour", ["openai", "vllm"])
    async def test_context_length_errors(self, fake_upstream: FakeUpstream, flavour: str, via: str) -> None:
        fake_upstream.behaviour.context_error = flavour
        client = make_client(via)
        with pytest.raises(ContextWindowExceeded):
            await collect(client, endpoint_for(fake_upstream, via=via))
        await client.aclose()

    async def test_an_error_body_that_comes_in_pieces_is_read_whole(
        self, fake_upstream: FakeUpstream, via: str
    ) -> None:
        fake_upstream.behaviour.context_error = "openai"
        fake_upstream.behaviour.error_in_pieces = True  # what it says is in its last pieces
        client = make_client(via)
        with pytest.raises(ContextWindowExceeded):
            await collect(client, endpoint_for(fake_upstream, via=via))
        await client.aclose()

    async def test_unknown_model_is_model_unavailable(self, fake_upstream: FakeUpstream, via: str) -> None:
        client = make_client(via)
        with pytest.raises(ModelUnavailable):
            await collect(client, endpoint_for(fake_upstream, model="no-such-model", via=via))
        await client.aclose()

    async def test_first_token_timeout(self, fake_upstream: FakeUpstream, via: str) -> None:
        fake_upstream.behaviour.first_token_delay = 5
        client = make_client(via, upstream_first_token_timeout=0.3, upstream_max_retries=0)
        started = asyncio.get_running_loop().time()
        with pytest.raises(UpstreamTimeout):
            await collect(client, endpoint_for(fake_upstream, via=via))
        assert asyncio.get_running_loop().time() - started < 3
        await client.aclose()

    async def test_silence_between_tokens_times_out(self, fake_upstream: FakeUpstream, via: str) -> None:
        fake_upstream.behaviour.token_delay = 2
        client = make_client(via, upstream_between_tokens_timeout=0.3, upstream_max_retries=0)
        with pytest.raises(UpstreamTimeout):
            await collect(client, endpoint_for(fake_upstream, via=via))
        await client.aclose()

    async def test_errors_are_app_errors_with_contract_codes(self, fake_upstream: FakeUpstream, via: str) -> None:
        fake_upstream.behaviour.status = 418
        client = make_client(via)
        with pytest.raises(AppError) as caught:
            await collect(client, endpoint_for(fake_upstream, via=via))
        assert caught.value.code == "upstream_error"
        await client.aclose()


class TestTokensAndModels:
    async def test_counts_exactly_through_tokenize(self, fake_upstream: FakeUpstream) -> None:
        client = make_client()
        count, exact = await client.count_tokens(endpoint_for(fake_upstream), MESSAGES)
        assert exact
        assert count == sum(len(m["content"].split()) + 4 for m in MESSAGES) + 3
        await client.aclose()

    async def test_estimates_offline_when_tokenize_is_missing(self, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.tokenize = False
        client = make_client()
        count, exact = await client.count_tokens(endpoint_for(fake_upstream), MESSAGES)
        assert not exact
        # Conservative: never fewer than the words the server would count.
        assert count >= sum(len(m["content"].split()) + 4 for m in MESSAGES) + 3
        await client.aclose()

    async def test_lists_models_with_max_model_len(self, fake_upstream: FakeUpstream) -> None:
        client = make_client()
        models = await client.list_models(endpoint_for(fake_upstream))
        assert [(m["id"], m["max_model_len"]) for m in models] == [("fake-coder", 4096)]
        await client.aclose()

    async def test_listing_with_a_bad_key(self, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.require_key = "right"
        client = make_client()
        with pytest.raises(UpstreamUnauthorized):
            await client.list_models(endpoint_for(fake_upstream, key="wrong"))
        await client.aclose()
