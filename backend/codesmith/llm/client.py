"""The one client for every OpenAI-compatible server (OpenAI, vLLM, Ollama, LM Studio...).

Built on the `openai` SDK's AsyncOpenAI; only base_url, key and model differ between providers. A chat is
sent straight through aiohttp (the body encoded once by orjson: the SDK's request building and sending was
the largest single item of a request's fixed work), but to a user-registered endpoint, whose requests go
through the SDK on the SSRF-checking transport; listing models and counting tokens use the SDK. Both paths
fail alike (llm/errors.py). The stream is read as raw server-sent-event lines and parsed with orjson:
parsing every chunk into SDK objects is the main per-token cost of a gateway, and we need three fields of
each chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from typing import Any, cast

import aiohttp
import httpx2 as httpx
import openai
import orjson

from codesmith.config import Settings
from codesmith.errors import AppError, UpstreamError
from codesmith.llm.errors import (
    UpstreamStatusError,
    from_status,
    is_retryable,
    map_exception,
    retry_after_seconds,
    status_headers,
)
from codesmith.llm.tls import ssl_context
from codesmith.llm.tokens import estimate_chat_tokens, estimate_text_tokens
from codesmith.llm.types import ChatEvent, ChatMessage, Endpoint, TextDelta, Usage
from codesmith.waitlimit import WaitLimit

# A pacing interval in seconds, or a function that says it at each wait.
Interval = float | Callable[[], float]

logger = logging.getLogger("codesmith.llm")

MAX_POOLED_CLIENTS = 256
MAX_BACKOFF_SECONDS = 10.0
NO_KEY = "no-key"  # the SDK insists on a key; servers without auth ignore it
USER_AGENT = "codesmith"
DIRECT_KEEPALIVE_SECONDS = 4.0
MAX_ERROR_BODY = 64 * 1024  # of an upstream's error answer, read to say what went wrong
_SDK_HEADER_PREFIX = "x-stainless-"
_SET_ASIDE = "codesmith.sdk_headers"  # the request extension that keeps them while the request is out

# A usage report is the upstream's word, checked before it is believed (and billed): a count that no text
# could explain is treated as no report, and the client counts what it sent and received instead.
MAX_REPORTED_TOKENS = 10_000_000
# A token is at least one byte of UTF-8, a character at most four: a count above four per character is made up.
MAX_TOKENS_PER_CHAR = 4
COMPLETION_MARGIN_TOKENS = 16  # end-of-sequence and other special tokens
PROMPT_MARGIN_TOKENS = 2048  # chat-template wrapping and a server's own system prompt

TransportFactory = Callable[[Endpoint], httpx.AsyncBaseTransport | None]


class ChatClient:
    """Pooled AsyncOpenAI clients per (base_url, key, guarded), streaming chat and token counting."""

    def __init__(self, settings: Settings, transport_factory: TransportFactory | None = None) -> None:
        self._settings = settings
        self._transport_factory = transport_factory
        self._clients: OrderedDict[tuple[str, str, bool], openai.AsyncOpenAI] = OrderedDict()
        self._direct: aiohttp.ClientSession | None = None
        self._tokenize_supported: dict[str, bool] = {}

    async def warm_up(self) -> None:
        """Build and drop one SDK client before serving: the SDK imports its chat resources, HTTP stack and
        stream helpers on first use, which cost the first answer 0.3 to 0.8 s here."""
        endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", model="warm-up")
        client = self.sdk(endpoint)
        _ = client.chat.completions.with_streaming_response
        self._clients.pop((endpoint.base_url, NO_KEY, endpoint.guarded), None)
        await client.close()

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
            "verify": ssl_context(),
            "limits": httpx.Limits(max_connections=1000, max_keepalive_connections=100),
            "event_hooks": {"request": [_set_sdk_headers_aside], "response": [_restore_sdk_headers]},
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

    def _session(self) -> aiohttp.ClientSession:
        """The direct path's one aiohttp session (its connections pooled per host), made on first use."""
        if self._direct is None or self._direct.closed:
            s = self._settings
            self._direct = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=1000,
                    ssl=ssl_context(),
                    # Below the 5 s a server such as uvicorn (vLLM) keeps an idle connection: a pooled one is
                    # never reused just as the server closes it (a POST is not retried).
                    keepalive_timeout=DIRECT_KEEPALIVE_SECONDS,
                ),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=30.0,  # a connection from the pool, connecting included
                    sock_connect=s.upstream_connect_timeout,
                    sock_read=s.upstream_between_tokens_timeout,
                ),
                headers={"User-Agent": USER_AGENT},
            )
        return self._direct

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), OrderedDict()
        direct, self._direct = self._direct, None
        closing = [client.close() for client in clients] + ([direct.close()] if direct is not None else [])
        await asyncio.gather(*closing, return_exceptions=True)

    # -- streaming -----------------------------------------------------------------------------
    async def stream_chat(
        self,
        endpoint: Endpoint,
        messages: list[ChatMessage],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        min_interval: Interval = 0.0,
        headers: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Text deltas, then one Usage. Retries only before the first token; raises AppError.

        `min_interval`: deltas come at most this often (seconds, or a function asked before each wait);
        faster tokens wait in the connection's buffer and come together as one delta (see Pacer).
        `headers`: extra request headers (vLLM's session routing). `options`: more body parameters
        (sampling: top_p, stop, seed...), sent as they are.
        """
        attempt = 0
        while True:
            emitted = False
            try:
                stream = self._stream_once(endpoint, messages, max_tokens, temperature, min_interval, headers, options)
                async for event in stream:
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
        min_interval: Interval,
        headers: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        body: dict[str, Any] = {**(options or {}), "messages": messages, "stream_options": {"include_usage": True}}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        prompt_chars = sum(len(message["content"]) for message in messages)
        events = EventStreamDecoder(endpoint, prompt_chars=prompt_chars, max_tokens=max_tokens)
        parts: list[str] = []
        # Only text resets a deadline: the transport's read timeout restarts at any byte, so an upstream
        # sending keep-alive comments (or its headers a byte at a time) would hold a stream open forever.
        # The first-token deadline covers connecting, the headers and the prompt's prefill; each later
        # wait for text has the between-tokens one. Neither spans a `yield` (a timeout that fires while
        # the consumer runs would cancel the consumer).
        async with contextlib.AsyncExitStack() as stack:
            async with asyncio.timeout(self._settings.upstream_first_token_timeout):
                if endpoint.guarded:
                    raw, reads = None, await self._send_guarded(stack, endpoint, body, headers)
                else:
                    raw = await self._send_direct(stack, endpoint, body, headers)
                    reads = raw.content.iter_any()
                blocks = aiter(reads)
                text = await _next_text(blocks, events)
            pacer = Pacer(min_interval, partial(_live_transport, raw))
            between_tokens = stack.enter_context(WaitLimit(self._settings.upstream_between_tokens_timeout))
            while text:
                parts.append(text)
                yield TextDelta(text)
                if events.done:
                    break
                await pacer.wait()
                text = await between_tokens.within(_next_text(blocks, events))
            text = events.finish()
            if text:
                parts.append(text)
                yield TextDelta(text)
        yield events.usage or Usage(
            prompt_tokens=estimate_chat_tokens(messages),
            completion_tokens=estimate_text_tokens("".join(parts)),
            estimated=True,
        )

    async def _send_direct(
        self,
        stack: contextlib.AsyncExitStack,
        endpoint: Endpoint,
        body: dict[str, Any],
        headers: Mapping[str, str] | None,
    ) -> aiohttp.ClientResponse:
        """The chat request straight through aiohttp: the body encoded once by orjson, no SDK request
        building (through the SDK, building and sending were 8.6 % of the event loop's time at 100 streams,
        the largest single item of a request's fixed work). For every endpoint but user-registered ones,
        whose requests need the guard."""
        request_headers = {
            "Authorization": f"Bearer {endpoint.api_key or NO_KEY}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            **(headers or {}),
        }
        payload = orjson.dumps({"model": endpoint.model, "stream": True, **body})
        url = f"{endpoint.base_url.rstrip('/')}/chat/completions"
        response = await stack.enter_async_context(self._session().post(url, data=payload, headers=request_headers))
        if response.status >= 400:
            raise UpstreamStatusError(response.status, await _error_body(response), response.headers)
        return response

    async def _send_guarded(
        self,
        stack: contextlib.AsyncExitStack,
        endpoint: Endpoint,
        body: dict[str, Any],
        headers: Mapping[str, str] | None,
    ) -> AsyncIterator[bytes]:
        """The chat request through the SDK, on the SSRF-checking transport (a user-registered endpoint)."""
        # The messages travel in extra_body: the SDK sends it as it is, while `messages=` would walk
        # every message against its TypedDicts first (a millisecond a request, for plain strings).
        request = self.sdk(endpoint).chat.completions.with_streaming_response.create(
            model=endpoint.model, messages=[], stream=True, extra_body=body, extra_headers=headers
        )
        response = await stack.enter_async_context(request)
        return response.http_response.aiter_bytes()

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


async def _set_sdk_headers_aside(request: httpx.Request) -> None:
    """An upstream learns nothing of the SDK: its x-stainless-* headers (its version, the OS, the Python,
    the retry count) come off the request before it goes out, and the User-Agent says only codesmith."""
    sdk_headers = [
        (name, value) for name, value in request.headers.multi_items() if name.startswith(_SDK_HEADER_PREFIX)
    ]
    for name, _ in sdk_headers:
        del request.headers[name]
    request.headers["User-Agent"] = USER_AGENT
    request.extensions[_SET_ASIDE] = sdk_headers


async def _restore_sdk_headers(response: httpx.Response) -> None:
    """The SDK reads its own markers back from the response's request (x-stainless-raw-response: stream)."""
    for name, value in response.request.extensions.pop(_SET_ASIDE, ()):
        response.request.headers[name] = value


def _auth_header(endpoint: Endpoint) -> dict[str, str]:
    return {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def _error_body(response: aiohttp.ClientResponse) -> Any:
    """An error answer's JSON (its first MAX_ERROR_BODY bytes), or None when it is not JSON."""
    body = bytearray()
    try:
        while len(body) < MAX_ERROR_BODY:  # a read returns what has come so far: read to the end
            piece = await response.content.read(MAX_ERROR_BODY - len(body))
            if not piece:
                break
            body += piece
        return orjson.loads(body)
    except (orjson.JSONDecodeError, aiohttp.ClientError, TimeoutError):
        return None


def _live_transport(raw: aiohttp.ClientResponse | None) -> asyncio.BaseTransport | None:
    """The response's connection while it still has one: once the body has ended, aiohttp hands the
    connection back to its pool, where it is no longer this stream's to pause."""
    connection = raw.connection if raw is not None else None
    return connection.transport if connection is not None else None


def _reading(transport: asyncio.BaseTransport | None) -> asyncio.ReadTransport | None:
    """The transport, when it reads and can pause (uvloop's transports subclass none of asyncio's
    transport classes, so this asks for the methods)."""
    readable = cast(asyncio.ReadTransport | None, transport if hasattr(transport, "pause_reading") else None)
    return readable if readable is not None and readable.is_reading() else None


class Pacer:
    """Spaces a stream's deltas `interval` seconds apart, waking on a clock that every stream shares.

    Awaited after each delta is taken. While it waits, reading from the upstream's socket is paused
    (when the transport is known): the tokens that arrive meanwhile stay in the kernel's buffer and the
    next read takes them all, so a fast stream wakes the process once an interval, not once a token.
    A fast stream's deltas are due an interval apart from its first (its own beat, so that its end is
    seen as soon as it comes), and each wait ends at the first tick after the due time of a clock that
    ticks every `interval / SHARED_TICKS` for every stream: the replica's streams wake together, a few
    times an interval for all of them rather than once each. It waits only for a delta that came within
    half the interval: tokens about as slow as the interval never wait (a wait of a millisecond would
    cost a wake-up and gather nothing). An interval given as a function is asked at each wait (the
    runner's widens while the replica is busy).
    """

    __slots__ = ("_due", "_interval", "_last", "_loop", "_transport")

    def __init__(
        self, interval: Interval, transport: Callable[[], asyncio.BaseTransport | None] = lambda: None
    ) -> None:
        self._interval: Callable[[], float] = interval if callable(interval) else partial(float, interval)
        self._loop = asyncio.get_running_loop()
        self._last = self._due = self._loop.time()
        self._transport = transport  # asked at each wait: the connection may have gone back to its pool

    async def wait(self) -> None:
        now = self._loop.time()
        interval = self._interval()
        if now - self._last < interval / 2:
            # Due an interval after the last due time (not after the wake, which the shared clock makes
            # late): a stream keeps its beat.
            self._due = max(self._due + interval, self._last + interval / 2)
            transport = _reading(self._transport())
            if transport is not None:
                transport.pause_reading()
            try:
                await asyncio.sleep(_shared_tick(self._due, interval / SHARED_TICKS) - now)
            finally:
                if transport is not None and not transport.is_closing():
                    transport.resume_reading()
        else:
            self._due = now
        self._last = self._loop.time()


# Ticks of the shared clock per interval: a wait ends at most interval / SHARED_TICKS after its due time.
SHARED_TICKS = 4


def _shared_tick(due: float, tick: float) -> float:
    """The first tick, at or after `due`, of the clock that ticks every `tick` seconds of the loop's time,
    the same for every stream (at 20 streams and 100 ms: 40 wake-ups a second instead of 200)."""
    return math.ceil(due / tick) * tick


class EventStreamDecoder:
    """An OpenAI-style chat completion event stream, decoded a network read at a time.

    Lines are split as bytes and only `data:` payloads are parsed (by orjson, three fields read):
    no text decoding, no SDK objects, and one text for all the tokens that one read brought, so a
    burst costs one hand-off to the consumer, not one per token. The usage report is believed only when
    the prompt, the answer's limit and the text received can explain it.
    """

    __slots__ = ("_endpoint", "_max_tokens", "_pending", "_prompt_chars", "_received_chars", "_reported", "done")

    def __init__(self, endpoint: Endpoint, *, prompt_chars: int | None = None, max_tokens: int | None = None) -> None:
        self._endpoint = endpoint
        self._pending = b""
        self.done = False  # `data: [DONE]` seen: nothing after it counts
        self._received_chars = 0
        # What the usage report is checked against: the prompt's length and the answer's limit, when known.
        self._prompt_chars = prompt_chars
        self._max_tokens = max_tokens
        self._reported: object = None  # the last `usage` the upstream sent, unchecked

    @property
    def usage(self) -> Usage | None:
        """The upstream's usage report, when it has sent one that the text sent and received can explain."""
        return _plausible_usage(
            self._reported,
            received_chars=self._received_chars,
            prompt_chars=self._prompt_chars,
            max_tokens=self._max_tokens,
        )

    def feed(self, block: bytes) -> str:
        """The text of every complete event in `block` (with what earlier reads left incomplete)."""
        if self.done:
            return ""
        pending = self._pending + block
        if b"\n" not in block:
            self._pending = pending
            return ""
        *lines, self._pending = pending.split(b"\n")
        return self._text_of(lines)

    def finish(self) -> str:
        """The end of the body: a last event without its final newline still counts."""
        pending, self._pending = self._pending, b""
        return "" if self.done else self._text_of([pending])

    def _text_of(self, lines: list[bytes]) -> str:
        texts: list[str] = []
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                self.done = True
                break
            if data:
                self._read(orjson.loads(data), texts)
        text = texts[0] if len(texts) == 1 else "".join(texts)
        self._received_chars += len(text)
        return text

    def _read(self, chunk: dict[str, Any], texts: list[str]) -> None:
        if "error" in chunk:
            raise _stream_error(chunk, self._endpoint)
        choices = chunk.get("choices")
        if choices:
            text = (choices[0].get("delta") or {}).get("content")
            if text:
                texts.append(text)
        reported = chunk.get("usage")
        if reported:
            self._reported = reported


def _plausible_usage(
    reported: object, *, received_chars: int, prompt_chars: int | None, max_tokens: int | None
) -> Usage | None:
    """The report as a Usage; None when it is absent or no honest server could have sent it."""
    if not isinstance(reported, dict):
        return None
    prompt = _token_count(reported.get("prompt_tokens"))
    completion = _token_count(reported.get("completion_tokens"))
    if prompt is None or completion is None:
        return None
    if prompt_chars is not None and prompt > MAX_TOKENS_PER_CHAR * prompt_chars + PROMPT_MARGIN_TOKENS:
        return None
    if max_tokens is not None and completion > max_tokens + COMPLETION_MARGIN_TOKENS:
        return None
    streamed = completion - _reasoning_tokens(reported, completion)
    if streamed > MAX_TOKENS_PER_CHAR * received_chars + COMPLETION_MARGIN_TOKENS:
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


def _token_count(value: object) -> int | None:
    """A count as reported: a whole number from 0 to MAX_REPORTED_TOKENS (JSON's true is no number)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_REPORTED_TOKENS:
        return value
    return None


def _reasoning_tokens(reported: dict[str, Any], completion: int) -> int:
    """The completion tokens a reasoning model spent without streaming them (OpenAI's o-series reports them)."""
    details = reported.get("completion_tokens_details")
    count = _token_count(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    return count if count is not None and count <= completion else 0


async def _next_text(blocks: AsyncIterator[bytes], events: EventStreamDecoder) -> str:
    """Read up to the next text (or the end): "" when there is no more."""
    async for block in blocks:
        text = events.feed(block)
        if text or events.done:
            return text
    return ""


def _stream_error(chunk: dict[str, Any], endpoint: Endpoint) -> AppError:
    error = chunk.get("error")
    status = error.get("code") if isinstance(error, dict) else None
    status = status if isinstance(status, int) else 500
    return from_status(status, chunk, None, endpoint.api_key)


def _backoff(attempt: int, exc: BaseException) -> float | None:
    """Seconds to wait before the next try; None when the upstream asks for a longer wait than that."""
    headers = status_headers(exc)
    if headers is not None:
        retry = retry_after_seconds(headers)
        if retry is not None:
            return float(retry) if retry <= MAX_BACKOFF_SECONDS else None
    base: float
    base = min(0.25 * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
    return base + random.uniform(0, base / 2)  # noqa: S311 - jitter, not crypto
