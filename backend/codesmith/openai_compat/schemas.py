"""OpenAI's request and response bodies, as far as Codesmith takes and gives them. Requests accept any
other parameter (ignored), like OpenAI-compatible servers do; responses are built as bytes (service.py)
and described here for the schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

INT64 = 2**63 - 1
MAX_STOP_SEQUENCES = 4


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(description='Only `"text"` parts are taken.')
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None
    name: str | None = Field(default=None, max_length=256)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`. Other parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=500)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=10_000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    store: bool | None = Field(default=None, description="`false`: no conversation is stored (usage still counts).")
    max_tokens: int | None = Field(default=None, ge=1, le=INT64)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=INT64)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-INT64 - 1, le=INT64)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    n: int | None = Field(default=None, ge=1, le=128, description="Only 1: more choices answer 400.")
    tools: list[Any] | None = Field(default=None, description="Not supported: a non-empty list answers 400.")
    functions: list[Any] | None = Field(default=None, description="Not supported: a non-empty list answers 400.")


class Model(BaseModel):
    id: str = Field(description="System models: the upstream name; your own: their name (`@…` when ambiguous).")
    object: Literal["model"] = "model"
    created: int
    owned_by: Literal["system", "user"]
    name: str
    context_window: int
    codesmith_id: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class CompletionMessage(BaseModel):
    role: Literal["assistant"]
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int
    message: CompletionMessage
    logprobs: None = None
    finish_reason: Literal["stop", "length"]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    system_fingerprint: None = None
    choices: list[Choice]
    usage: Usage


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error envelope."""

    error: ErrorBody
