"""The one client for every OpenAI-compatible server (OpenAI, vLLM, Ollama, LM Studio...).

Built on the `openai` SDK's AsyncOpenAI; only base_url, key and model differ between providers.
The stream is read as raw server-sent-event lines and parsed with orjson: parsing every chunk into
SDK objects is the main per-token cost of a gateway, and we need three fields of each chunk.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import httpx2 as httpx
import openai
import orjson

from codesmith.config import Settings
from codesmith.errors import AppError, UpstreamError
from codesmith.llm.errors import from_status, is_retryable, map_exception, retry_after_seconds
from codesmith.llm.tokens import estimate_chat_tokens, estimate_text_tokens
from codesmith.llm.types import ChatEvent, ChatMessage, Endpoint, TextDelta, Usage

logger = logging.getLogger("codesmith.llm")

MAX_POOLED_CLIENTS = 256
MAX_BACKOFF_SECONDS = 10.0
NO_KEY = "no-key"  # the SDK insists on a key; servers without auth ignore it

TransportFactory = Callable[[Endpoint], httpx.AsyncBaseTransport | None]


class ChatClient:
    """Pooled AsyncOpenAI clients per (base_url, key, guarded), streaming chat and token counting."""

    def __init__(self, settings: Settings, transport_factory: TransportFactory | None = None) -> None:
        self._settings = settings
        self._transport_factory = transport_factory
        self._clients: OrderedDict[tuple[str, str, bool], openai.AsyncOpenAI] = OrderedDict()
        self._tokenize_supported: dict[str, bool] = {}

    # -- pooling -------------------------------------------------------------------------------
    def _timeout(self) -> httpx.Timeout:
        s = self._settings
        return httpx.Timeout(
            connect=s.upstream_connect_timeout, read=s.upstream_between_tokens_timeout, write=30.0, pool=30.0
        )

    def sdk(self, endpoint: Endpoint) -> openai.AsyncOpenAI:
        key = (endpoint.base_url, endpoint.api_key or NO_KEY, endpoint.guarded)
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        transport = self._transport_factory(endpoint) if self._transport_factory else None
        options: dict[str, Any] = {
            "timeout": self._timeout(),
            "follow_redirects": True,
            "limits": httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        }
        # The SDK's aiohttp transport parses HTTP in C: per streamed chunk it costs a third of the
        # pure-Python default. Guarded (user-registered) endpoints keep the SSRF-checking transport.
        http = (
            httpx.AsyncClient(transport=transport, **options)
            if transport is not None
            else openai.DefaultAioHttpClient(**options)
        )
        client = openai.AsyncOpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key or NO_KEY,
            http_client=http,
            max_retries=0,  # we retry ourselves, and only before the first token
            timeout=self._timeout(),
        )
        self._clients[key] = client
        if len(self._clients) > MAX_POOLED_CLIENTS:
            _, oldest = self._clients.popitem(last=False)
            asyncio.get_running_loop().create_task(oldest.close())
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), OrderedDict()
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)

    # -- streaming -----------------------------------------------------------------------------
    async def stream_chat(
        self,
        endpoint: Endpoint,
        messages: list[ChatMessage],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Text deltas, then one Usage. Retries only before the first token; raises AppError."""
        attempt = 0
        while True:
            emitted = False
            try:
                async for event in self._stream_once(endpoint, messages, max_tokens, temperature):
                    emitted = True
                    yield event
                return
            except Exception as exc:  # every failure is mapped; only early ones are retried
                error = map_exception(exc, endpoint.api_key)
                if emitted or attempt >= self._settings.upstream_max_retries or not is_retryable(exc):
                    if not isinstance(exc, AppError):
                        logger.warning(
                            "upstream failure",
                            extra={"code": error.code, "model": endpoint.model, "after_output": emitted},
                        )
                    raise error from None
                attempt += 1
                delay = _backoff(attempt, exc)
                if delay is None:
                    raise error from None
                logger.info("retrying upstream", extra={"attempt": attempt, "delay": round(delay, 2)})
                await asyncio.sleep(delay)

    async def _stream_once(
        self,
        endpoint: Endpoint,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> AsyncIterator[ChatEvent]:
        body: dict[str, Any] = {"stream_options": {"include_usage": True}}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        usage: Usage | None = None
        parts: list[str] = []
        request = self.sdk(endpoint).chat.completions.with_streaming_response.create(
            model=endpoint.model, messages=cast(Any, messages), stream=True, extra_body=body
        )
        # The first-token deadline covers connecting, the headers and the prompt's prefill. It never
        # spans a `yield` (a timeout that fires while the consumer runs would cancel the consumer);
        # after the first token, httpx's read timeout bounds each silence between tokens.
        async with request as response:
            chunks = _sse_payloads(response.http_response).__aiter__()
            async with asyncio.timeout(self._settings.upstream_first_token_timeout):
                first, usage = await _first_text(chunks, endpoint)
            if first:
                parts.append(first)
                yield TextDelta(first)
                async for chunk in chunks:
                    if "error" in chunk:
                        raise _stream_error(chunk, endpoint)
                    text, reported = _read_chunk(chunk)
                    if reported is not None:
                        usage = reported
                    if text:
                        parts.append(text)
                        yield TextDelta(text)
        yield usage or Usage(
            prompt_tokens=estimate_chat_tokens(messages),
            completion_tokens=estimate_text_tokens("".join(parts)),
            estimated=True,
        )

    # -- token counting and discovery ------------------------------------------------------------
    async def count_tokens(self, endpoint: Endpoint, messages: list[ChatMessage]) -> tuple[int, bool]:
        """(tokens, exact): exact through vLLM's /tokenize where the server has it, else an estimate."""
        root = endpoint.root_url
        if self._tokenize_supported.get(root, True):
            try:
                response = await self.sdk(endpoint)._client.post(
                    f"{root}/tokenize",
                    json={"model": endpoint.model, "messages": messages, "add_generation_prompt": True},
                    headers=_auth_header(endpoint),
                    timeout=self._settings.upstream_connect_timeout,
                )
                if response.status_code == 200:
                    self._tokenize_supported[root] = True
                    return int(response.json()["count"]), True
                if response.status_code in (404, 405, 501):
                    self._tokenize_supported[root] = False
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                logger.debug("tokenize failed", extra={"error": type(exc).__name__})
        return estimate_chat_tokens(messages), False

    async def list_models(self, endpoint: Endpoint) -> list[dict[str, Any]]:
        """The server's GET {base_url}/models entries, as JSON objects (vLLM adds max_model_len)."""
        try:
            response = await self.sdk(endpoint)._client.get(
                f"{endpoint.base_url.rstrip('/')}/models",
                headers=_auth_header(endpoint),
                timeout=self._settings.upstream_connect_timeout,
            )
        except Exception as exc:  # mapped to the contract's codes
            raise map_exception(exc, endpoint.api_key) from None
        if response.status_code != 200:
            raise from_status(response.status_code, _json_or_none(response), response.headers, endpoint.api_key)
        data = _json_or_none(response)
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise UpstreamError("The server's model list is not in the OpenAI format.")
        return [entry for entry in entries if isinstance(entry, dict)]


def _auth_header(endpoint: Endpoint) -> dict[str, str]:
    return {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def _sse_payloads(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON payloads of an OpenAI-style event stream, up to `[DONE]`.

    Lines are split as bytes and only `data:` payloads are decoded (by orjson): no text decoding
    and no line objects per chunk, which is what the SDK's own line iterator costs.
    """
    pending = b""
    async for block in response.aiter_bytes():
        pending += block
        if b"\n" not in block:
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                data = line[5:].strip()
                if data == b"[DONE]":
                    return
                yield orjson.loads(data)
    if pending.startswith(b"data:") and pending[5:].strip() not in (b"", b"[DONE]"):
        yield orjson.loads(pending[5:].strip())


async def _first_text(chunks: AsyncIterator[dict[str, Any]], endpoint: Endpoint) -> tuple[str, Usage | None]:
    """Read up to the first text (or the end): ("", usage) when the answer is empty."""
    usage: Usage | None = None
    async for chunk in chunks:
        if "error" in chunk:
            raise _stream_error(chunk, endpoint)
        text, reported = _read_chunk(chunk)
        if reported is not None:
            usage = reported
        if text:
            return text, usage
    return "", usage


def _read_chunk(chunk: dict[str, Any]) -> tuple[str, Usage | None]:
    text = ""
    choices = chunk.get("choices")
    if choices:
        delta = choices[0].get("delta") or {}
        text = delta.get("content") or ""
    reported = chunk.get("usage")
    if reported:
        return text, Usage(
            prompt_tokens=int(reported.get("prompt_tokens") or 0),
            completion_tokens=int(reported.get("completion_tokens") or 0),
        )
    return text, None


def _stream_error(chunk: dict[str, Any], endpoint: Endpoint) -> AppError:
    error = chunk.get("error")
    status = error.get("code") if isinstance(error, dict) else None
    status = status if isinstance(status, int) else 500
    return from_status(status, chunk, None, endpoint.api_key)


def _backoff(attempt: int, exc: BaseException) -> float | None:
    """Seconds to wait before the next try; None when the upstream asks for a longer wait than that."""
    if isinstance(exc, openai.APIStatusError):
        retry = retry_after_seconds(exc.response.headers)
        if retry is not None:
            return float(retry) if retry <= MAX_BACKOFF_SECONDS else None
    base: float
    base = min(0.25 * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
    return base + random.uniform(0, base / 2)  # noqa: S311 - jitter, not crypto
