"""The caller's account: profile, OpenAI key, password and personal API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response

from codesmith.auth.deps import CurrentUser
from codesmith.auth.last_used import LastUsedDep
from codesmith.auth.throttle import ThrottleDep
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep, LlmDep, SettingsDep
from codesmith.pagination import CursorQuery, LimitQuery, Page
from codesmith.users import service
from codesmith.users.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    OpenAIKeyUpdate,
    PasswordChange,
    UserPublic,
)

router = APIRouter(prefix="/users/me", tags=["users"])


@router.get("", response_model=UserPublic)
async def me(user: CurrentUser, settings: SettingsDep) -> UserPublic:
    return service.to_public(user, settings)


@router.put("/openai-key", status_code=204)
async def set_openai_key(
    data: OpenAIKeyUpdate,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    llm: LlmDep,
) -> Response:
    """Save the key after asking OpenAI (`GET /models`): a rejected key is 422, an unanswered check saves it
    unverified (see `openai_key_verified` on the user)."""
    await service.set_openai_key(session, user, keyring, settings, llm, data.api_key)
    return Response(status_code=204)


@router.delete("/openai-key", status_code=204)
async def remove_openai_key(user: CurrentUser, session: SessionDep) -> Response:
    await service.remove_openai_key(session, user)
    return Response(status_code=204)


@router.post("/password", status_code=204)
async def change_password(
    data: PasswordChange, user: CurrentUser, session: SessionDep, throttle: ThrottleDep
) -> Response:
    await service.change_password(session, user, throttle, data.current_password, data.new_password)
    return Response(status_code=204)


@router.post("/api-tokens", status_code=201, response_model=ApiTokenCreated)
async def create_api_token(
    data: ApiTokenCreate, user: CurrentUser, session: SessionDep, keyring: KeyringDep
) -> ApiTokenCreated:
    return await service.create_api_token(session, user, keyring, data)


@router.get("/api-tokens", response_model=Page[ApiTokenPublic])
async def list_api_tokens(
    user: CurrentUser, session: SessionDep, last_used: LastUsedDep, limit: LimitQuery = 20, cursor: CursorQuery = None
) -> Page[ApiTokenPublic]:
    return await service.list_api_tokens(session, user, last_used, limit=limit, cursor=cursor)


@router.delete("/api-tokens/{token_id}", status_code=204)
async def delete_api_token(token_id: str, user: CurrentUser, session: SessionDep) -> Response:
    await service.delete_api_token(session, user, token_id)
    return Response(status_code=204)
