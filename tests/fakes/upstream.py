"""A real OpenAI-compatible HTTP server for tests: streams, errors, delays, /tokenize, LoRA.

Knobs live in `Behaviour`; tests set them on the object, a separate process (E2E) sets them with
`POST /_fake/behaviour`. Tokens are whitespace-separated words, so counts are predictable.
Run alone: `python -m tests.fakes.upstream --port 8090`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_REPLY = (
    "Here is a function that does it:\n\n"
    "```python\n"
    "def reverse_words(text: str) -> str:\n"
    '    """Reverse the order of the words in text."""\n'
    '    return " ".join(reversed(text.split()))\n'
    "```\n\n"
    "It splits on whitespace, reverses the list and joins it again."
)
NOT_CODE_REPLY = "NOT_CODE: That is a request for a poem, not for code.\nRoses are red, violets are blue."
PROSE_REPLY = "Sure! The capital of France is Paris, a city famous for its museums and cafes."
# "[[reply:broken]]": an answer whose Python fails its check (an undefined name on line 2), and the
# answer to Codesmith's repair request (its last user message starts with REPAIR_REQUEST_START).
BROKEN_REPLY = "Here it is:\n\n```python\ndef add(a, b):\n    return a + c\n```\n"
FIXED_REPLY = "Fixed:\n\n```python\ndef add(a, b):\n    return a + b\n```\n"
REPAIR_REQUEST_START = "The code in your answer does not pass its checks"


@dataclass
class Behaviour:
    reply: str = DEFAULT_REPLY
    token_delay: float = 0.0
    first_token_delay: float = 0.0
    fail_after_tokens: int | None = None  # drop the connection after this many tokens
    status: int | None = None  # answer chat requests with this HTTP error
    fail_times: int | None = None  # apply `status` to only the first N chat requests
    retry_after: int | None = None
    hang: bool = False  # accept chat requests and never answer
    context_error: str | None = None  # "openai" | "vllm": a context-length 400
    error_in_pieces: bool = False  # that error's body sent 16 bytes at a time
    include_usage: bool = True
    tokenize: bool = True
    tokenize_delay: float = 0.0  # seconds before /tokenize answers (a slow server)
    max_model_len: int = 4096  # a prompt of more words gets the vLLM context error
    require_key: str | None = None
    models: list[str] = field(default_factory=lambda: ["fake-coder"])
    lora_status: int = 200
    models_redirect: str | None = None  # answer GET /v1/models with a 307 to this URL
    # When set, answers come from the last user message's directive: "[[reply:not_code]]",
    # "[[reply:prose]]", "[[reply:long]]" (for E2E tests that cannot reach this object).
    directives: bool = True
    # Hostile endpoints: comments only (": keepalive" every N seconds, never a token), a usage report of
    # its own choosing, and an answer repeated N times whatever max_tokens says.
    keepalive_every: float | None = None
    usage_override: dict[str, Any] | None = None
    repeat_reply: int = 1
    # With keepalive_every: stream this many tokens first, then only comments.
    keepalive_after_tokens: int | None = None
    # Answers given in turn, one per chat request, before `reply` (which then answers the rest).
    replies: list[str] = field(default_factory=list)

    def model_check_failed(self, body: dict[str, Any]) -> bool:
        return str(body.get("model")) not in self.models


def words(text: str) -> list[str]:
    """Split keeping whitespace attached, so joining the tokens gives the text back exactly."""
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


def count_prompt(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) + 4 for m in messages) + 3


class FakeUpstream:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.requests: list[dict[str, Any]] = []  # every chat request body, in order
        self.headers: list[dict[str, str]] = []  # every request's headers (chat, models, tokenize), in order
        self.lora_calls: list[tuple[str, dict[str, Any]]] = []
        self.models_requests = 0  # GET /v1/models calls received
        self.chat_attempts = 0
        self.tokenize_calls = 0
        self.tokenizing = 0  # /tokenize requests being answered (with tokenize_delay)
        self.active_streams = 0
        self.url = ""
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/tokenize", self.tokenize, methods=["POST"]),
                Route("/v1/load_lora_adapter", self.load_lora, methods=["POST"]),
                Route("/v1/unload_lora_adapter", self.unload_lora, methods=["POST"]),
                Route("/_fake/behaviour", self.set_behaviour, methods=["POST"]),
                Route("/_fake/requests", self.get_requests, methods=["GET"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.requests.clear()
        self.headers.clear()
        self.lora_calls.clear()
        self.chat_attempts = 0
        self.tokenize_calls = 0

    # -- helpers -----------------------------------------------------------------------------
    def _unauthorized(self, request: Request) -> Response | None:
        key = self.behaviour.require_key
        if key and request.headers.get("authorization") != f"Bearer {key}":
            given = request.headers.get("authorization", "")[7:]
            # Like OpenAI: the message echoes part of the key, which the app must never pass on.
            message = f"Incorrect API key provided: {given[:6]}***{given[-4:]}. You can find your key at ..."
            return _error(401, message, "invalid_api_key")
        return None

    def _reply_for(self, body: dict[str, Any]) -> str:
        b = self.behaviour
        if b.replies:
            return b.replies.pop(0)
        if b.directives:
            users = [str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user"]
            text = users[-1] if users else ""
            if any("[[reply:broken]]" in content for content in users):
                return FIXED_REPLY if text.startswith(REPAIR_REQUEST_START) else BROKEN_REPLY
            if "[[reply:not_code]]" in text:
                return NOT_CODE_REPLY
            if "[[reply:prose]]" in text:
                return PROSE_REPLY
            if "[[reply:long]]" in text:
                lines = "\n".join(f"    total += {i}  # step {i}" for i in range(400))
                return f"A long one:\n\n```python\ndef total_sum():\n    total = 0\n{lines}\n    return total\n```\n"
        return b.reply

    # -- endpoints ---------------------------------------------------------------------------
    async def list_models(self, request: Request) -> Response:
        self.models_requests += 1
        self.headers.append(dict(request.headers))
        if self.behaviour.models_redirect:
            return Response(status_code=307, headers={"Location": self.behaviour.models_redirect})
        if (denied := self._unauthorized(request)) is not None:
            return denied
        data = [
            {
                "id": name,
                "object": "model",
                "created": 0,
                "owned_by": "fake",
                "max_model_len": self.behaviour.max_model_len,
            }
            for name in self.behaviour.models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def tokenize(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        self.tokenize_calls += 1
        if not self.behaviour.tokenize:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if self.behaviour.tokenize_delay:
            self.tokenizing += 1
            try:
                await asyncio.sleep(self.behaviour.tokenize_delay)
            finally:
                self.tokenizing -= 1
        body = await request.json()
        count = (
            count_prompt(body.get("messages", [])) if "messages" in body else len(str(body.get("prompt", "")).split())
        )
        return JSONResponse({"count": count, "max_model_len": self.behaviour.max_model_len, "tokens": []})

    async def load_lora(self, request: Request) -> Response:
        body = await request.json()
        self.lora_calls.append(("load", body))
        if self.behaviour.lora_status != 200:
            return _error(
                self.behaviour.lora_status,
                f"Loading LoRA adapter {body.get('lora_name')} failed",
                "lora_error",
            )
        self.behaviour.models.append(str(body.get("lora_name")))
        return Response(f"Success: LoRA adapter '{body.get('lora_name')}' added successfully.")

    async def unload_lora(self, request: Request) -> Response:
        body = await request.json()
        self.lora_calls.append(("unload", body))
        name = str(body.get("lora_name"))
        if name in self.behaviour.models:
            self.behaviour.models.remove(name)
        return Response(f"Success: LoRA adapter '{name}' removed successfully.")

    async def set_behaviour(self, request: Request) -> Response:
        changes = await request.json()
        if changes.get("reset"):
            self.reset()
        names = {f.name for f in fields(Behaviour)}
        for key, value in changes.items():
            if key in names:
                setattr(self.behaviour, key, value)
        return JSONResponse(asdict(self.behaviour))

    async def get_requests(self, _: Request) -> Response:
        return JSONResponse({"requests": self.requests, "lora_calls": self.lora_calls})

    async def chat(self, request: Request) -> Response:
        self.chat_attempts += 1
        self.headers.append(dict(request.headers))
        if (denied := self._unauthorized(request)) is not None:
            return denied
        body = await request.json()
        self.requests.append(body)
        b = self.behaviour
        if b.hang:
            await asyncio.sleep(3600)
        if b.status is not None and (b.fail_times is None or self.chat_attempts <= b.fail_times):
            headers = {"Retry-After": str(b.retry_after)} if b.retry_after else None
            return _error(b.status, f"Fake upstream failure {b.status}", "fake_error", headers)
        if b.model_check_failed(body):
            return _error(404, f"The model `{body.get('model')}` does not exist.", "model_not_found")
        context = self._context_error(body)
        if context is not None:
            return _in_pieces(context) if b.error_in_pieces else context
        reply = self._reply_for(body) * max(1, b.repeat_reply)
        if body.get("stream"):
            return StreamingResponse(self._stream(body, reply), media_type="text/event-stream")
        return JSONResponse(self._completion(body, reply))

    def _context_error(self, body: dict[str, Any]) -> Response | None:
        b = self.behaviour
        prompt_tokens = count_prompt(body.get("messages", []))
        if b.context_error == "openai":
            message = (
                "This model's maximum context length is 128000 tokens. However, your messages resulted "
                "in 130000 tokens. Please reduce the length of the messages."
            )
            return _error(400, message, "context_length_exceeded")
        if b.context_error == "vllm" or prompt_tokens + int(body.get("max_tokens") or 0) > b.max_model_len:
            message = (
                f"This model's maximum context length is {b.max_model_len} tokens. However, you requested "
                f"{prompt_tokens + int(body.get('max_tokens') or 0)} tokens ({prompt_tokens} in the messages, "
                f"{body.get('max_tokens') or 0} in the completion). "
                "Please reduce the length of the messages or completion."
            )
            return _error(400, message, "BadRequestError", vllm=True)
        return None

    def _usage(self, body: dict[str, Any], reply: str) -> dict[str, Any]:
        if self.behaviour.usage_override is not None:
            return self.behaviour.usage_override
        prompt = count_prompt(body.get("messages", []))
        completion = len(words(reply))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, body: dict[str, Any], reply: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        }
        if self.behaviour.include_usage:
            result["usage"] = self._usage(body, reply)
        return result

    async def _stream(self, body: dict[str, Any], reply: str) -> AsyncIterator[bytes]:
        b = self.behaviour
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model"),
        }
        self.active_streams += 1
        try:
            if b.first_token_delay:
                await asyncio.sleep(b.first_token_delay)
            if b.keepalive_every and b.keepalive_after_tokens is None:
                async for comment in _keepalive(b.keepalive_every):
                    yield comment
            yield _sse(
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                }
            )
            for index, token in enumerate(words(reply)):
                if b.fail_after_tokens is not None and index >= b.fail_after_tokens:
                    raise ConnectionAbortedError("fake upstream dropped the stream")
                if b.keepalive_every and index == b.keepalive_after_tokens:
                    async for comment in _keepalive(b.keepalive_every):
                        yield comment
                if b.token_delay and index:
                    await asyncio.sleep(b.token_delay)
                yield _sse({**base, "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}]})
            yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            if b.include_usage and wants_usage:
                yield _sse({**base, "choices": [], "usage": self._usage(body, reply)})
            yield b"data: [DONE]\n\n"
        finally:
            self.active_streams -= 1


async def _keepalive(every: float) -> AsyncIterator[bytes]:
    while True:  # alive, but never a token
        yield b": keepalive\n\n"
        await asyncio.sleep(every)


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _in_pieces(response: Response) -> Response:
    """The same error answer, its body sent a few bytes at a time: a client must read it to its end."""
    data = bytes(response.body)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 16):
            yield data[start : start + 16]
            await asyncio.sleep(0.005)

    return StreamingResponse(pieces(), status_code=response.status_code, media_type="application/json")


def _error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None, *, vllm: bool = False
) -> JSONResponse:
    if vllm:  # vLLM's shape: the error object with the HTTP status as its code
        body = {"error": {"message": message, "type": code, "param": None, "code": status}}
    else:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


@asynccontextmanager
async def running(upstream: FakeUpstream | None = None, port: int = 0) -> AsyncIterator[FakeUpstream]:
    """Serve a FakeUpstream on a loopback port in the current event loop."""
    upstream = upstream or FakeUpstream()
    config = uvicorn.Config(upstream.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    bound = server.servers[0].sockets[0].getsockname()[1]
    upstream.url = f"http://127.0.0.1:{bound}"
    try:
        yield upstream
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible upstream for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--token-delay", type=float, default=0.0)
    args = parser.parse_args()
    upstream = FakeUpstream(Behaviour(token_delay=args.token_delay))
    uvicorn.run(upstream.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
