"""The model registry API: list, inspect, register, change, delete and check models."""

from __future__ import annotations

from fastapi import APIRouter, Response

from codesmith.auth.deps import CurrentUser
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep, LlmDep, SettingsDep
from codesmith.models import service
from codesmith.models.schemas import ModelCheck, ModelCreate, ModelPublic, ModelUpdate
from codesmith.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=Page[ModelPublic])
async def list_models(
    user: CurrentUser, session: SessionDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[ModelPublic]:
    return await service.list_visible(session, user, limit=limit, cursor=cursor)


@router.get("/{model_id}", response_model=ModelPublic)
async def get_model(model_id: str, user: CurrentUser, session: SessionDep) -> ModelPublic:
    return service.to_public(await service.get_visible(session, user, model_id))


@router.post("", status_code=201, response_model=ModelPublic)
async def create_model(
    data: ModelCreate,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    llm: LlmDep,
) -> ModelPublic:
    model = await service.create(session, user, keyring, settings, llm, data)
    return service.to_public(model)


@router.patch("/{model_id}", response_model=ModelPublic)
async def update_model(
    model_id: str,
    data: ModelUpdate,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> ModelPublic:
    model = await service.update(session, user, keyring, settings, model_id, data)
    return service.to_public(model)


@router.delete("/{model_id}", status_code=204)
async def delete_model(
    model_id: str,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    llm: LlmDep,
) -> Response:
    await service.delete(session, user, keyring, settings, llm, model_id)
    return Response(status_code=204)


@router.post("/{model_id}/check", response_model=ModelCheck)
async def check_model(
    model_id: str,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    llm: LlmDep,
) -> ModelCheck:
    return await service.check(session, user, keyring, settings, llm, model_id)
