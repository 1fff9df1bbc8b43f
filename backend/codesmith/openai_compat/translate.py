"""OpenAI's chat request into Codesmith's terms (an Exchange), and Codesmith's answer into OpenAI's
completion and chunk bytes (orjson, the per-chunk framing built once per stream)."""

from __future__ import annotations

from typing import Any

import orjson

from codesmith.conversations.handling import Exchange
from codesmith.conversations.prompt import Turn
from codesmith.conversations.tables import MessageKind, Role
from codesmith.llm.types import Usage
from codesmith.models.tables import Model
from codesmith.openai_compat.errors import OpenAIError
from codesmith.openai_compat.schemas import MAX_STOP_SEQUENCES, ChatCompletionRequest, ChatMessageIn

# Passed on to the upstream as they are, where the request has them.
FORWARDED = ("temperature", "top_p", "stop", "seed", "frequency_penalty", "presence_penalty")


def _refuse(message: str, param: str, code: str = "unsupported_parameter") -> OpenAIError:
    return OpenAIError(400, message, code, param=param)


def exchange_of(body: ChatCompletionRequest, model: Model) -> Exchange:
    """The request as an Exchange; what Codesmith does not do (more choices, tools, images) answers 400."""
    if body.n is not None and body.n > 1:
        raise _refuse("Codesmith answers with one choice: n must be 1.", "n")
    if body.tools or body.functions:
        name = "tools" if body.tools else "functions"
        raise _refuse("Codesmith does not call tools or functions: leave out `tools` and `functions`.", name)
    if isinstance(body.stop, list) and len(body.stop) > MAX_STOP_SEQUENCES:
        raise _refuse(f"At most {MAX_STOP_SEQUENCES} stop sequences.", "stop", "invalid_value")
    system: list[str] = []
    turns: list[Turn] = []
    for index, message in enumerate(body.messages):
        text = _text(message, index)
        if message.role in ("system", "developer"):
            system.append(text)  # wherever they stand: after Codesmith's system prompt, in order
        elif message.role == "user":
            kind = MessageKind.REQUEST if not turns else MessageKind.FEEDBACK
            turns.append(Turn(Role.USER, kind, text))
        elif not turns:
            raise _refuse("The chat must start with a user message (after any system messages).", _at(index, "role"))
        else:
            turns.append(Turn(Role.ASSISTANT, MessageKind.GENERATION, text))
    if not turns or turns[-1].role != Role.USER:
        raise _refuse("The last message must be a user message: the request to answer.", "messages", "invalid_value")
    max_tokens = body.max_completion_tokens or body.max_tokens
    options = {name: value for name in FORWARDED if (value := getattr(body, name)) is not None}
    return Exchange(
        system=system,
        turns=turns,
        model=model,
        store=body.store is not False,
        max_tokens=max_tokens,
        options=options or None,
    )


def _at(index: int, field: str) -> str:
    return f"messages.{index}.{field}"


def _text(message: ChatMessageIn, index: int) -> str:
    if message.role in ("tool", "function"):
        raise _refuse("Codesmith does not call tools: tool and function messages are not taken.", _at(index, "role"))
    if message.role == "assistant" and (message.model_extra or {}).get("tool_calls"):
        raise _refuse(
            "Codesmith does not call tools: assistant messages with tool_calls are not taken.", _at(index, "tool_calls")
        )
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise _refuse("Only text content is taken (no images, audio or files).", _at(index, "content"))
        texts.append(part.text)
    return "\n".join(texts)


# -- the answer ---------------------------------------------------------------------------------------------
def usage_of(usage: Usage | None) -> dict[str, int]:
    prompt, completion = (usage.prompt_tokens, usage.completion_tokens) if usage is not None else (0, 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def finish_reason(usage: Usage | None, max_tokens: int) -> str:
    """`length` when the answer used all the tokens it was given (the upstream stopped it), else `stop`."""
    return "length" if usage is not None and usage.completion_tokens >= max_tokens else "stop"


def completion(completion_id: str, created: int, model: str, text: str, reason: str, usage: Usage | None) -> bytes:
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": reason,
            }
        ],
        "usage": usage_of(usage),
    }
    return orjson.dumps(body)


class Chunks:
    """The bytes of one stream's `chat.completion.chunk` events: one id, `usage: null` on every chunk
    when the client asked for the usage (and no `usage` field otherwise), then `data: [DONE]`."""

    __slots__ = ("_head", "_tail")

    DONE = b"data: [DONE]\n\n"

    def __init__(self, completion_id: str, created: int, model: str, *, include_usage: bool) -> None:
        self._head = (
            b'data: {"id":%s,"object":"chat.completion.chunk","created":%d,"model":%s,'
            % (
                orjson.dumps(completion_id),
                created,
                orjson.dumps(model),
            )
            + b'"system_fingerprint":null,"choices":['
        )
        self._tail = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"

    def role(self) -> bytes:
        return self._choice(b'{"role":"assistant","content":""}', b"null")

    def text(self, text: str) -> bytes:
        return self._choice(b'{"content":%s}' % orjson.dumps(text), b"null")

    def finish(self, reason: str) -> bytes:
        return self._choice(b"{}", orjson.dumps(reason))

    def usage(self, usage: Usage | None) -> bytes:
        return self._head + b'],"usage":%s}\n\n' % orjson.dumps(usage_of(usage))

    def _choice(self, delta: bytes, reason: bytes) -> bytes:
        return self._head + b'{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}' % (delta, reason) + self._tail


def error_event(error: OpenAIError) -> bytes:
    """A failure after the stream has started: OpenAI's error object as the stream's last data (the SDK
    raises APIError on it); never a finish_reason, never [DONE]."""
    return b"data: %s\n\n" % orjson.dumps(error.body())
