"""`/v1/models`, `/v1/models/{model}` and `/v1/chat/completions`, in OpenAI's shapes and error envelope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from codesmith.auth.deps import CurrentUser
from codesmith.conversations.router import RequesterDep
from codesmith.db import SessionDep
from codesmith.openai_compat import PREFIX, service
from codesmith.openai_compat.errors import OpenAIRoute
from codesmith.openai_compat.schemas import ChatCompletion, ChatCompletionRequest, ErrorResponse, Model, ModelList

router = APIRouter(prefix=PREFIX, tags=["openai"], route_class=OpenAIRoute)

_ERRORS = {
    400: "Invalid request, a refused prompt (`not_a_code_request`), `n` > 1, tools, or a model that needs a key.",
    401: "No, an invalid or a revoked token (`invalid_api_key`).",
    404: "No such model, or not yours (`model_not_found`).",
    413: "The request body is too large (`request_too_large`).",
    429: "Too many requests, streams or tokens today: see `Retry-After`.",
    500: "Internal error.",
    502: "The model provider failed or rejected the key.",
    503: "The model is unavailable.",
    504: "The model provider timed out.",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse, "description": _ERRORS[code]} for code in codes}


@router.get("/models", response_model=ModelList, responses=_errors(401, 500))
async def list_models(user: CurrentUser, session: SessionDep) -> ModelList:
    """The models you may use (those `GET /api/v1/models` lists), under their OpenAI ids."""
    return await service.list_models(session, user)


@router.get("/models/{model_id:path}", response_model=Model, responses=_errors(401, 404, 500))
async def get_model(model_id: str, user: CurrentUser, session: SessionDep) -> Model:
    return await service.get_model(session, user, model_id)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": "A `chat.completion`; with `stream: true`, `chat.completion.chunk` events, then "
            "`data: [DONE]`.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **_errors(400, 401, 404, 413, 429, 500, 502, 503, 504),
    },
)
async def create_chat_completion(body: ChatCompletionRequest, who: RequesterDep, session: SessionDep) -> Response:
    """A chat completion run through Codesmith's pipeline (guard, limits, context, usage, history)."""
    return await service.chat(session, who, body)
