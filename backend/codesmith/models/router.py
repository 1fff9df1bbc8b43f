"""The model registry API: list, inspect, register, change, delete and check models."""

from __future__ import annotations

from fastapi import APIRouter, Response

from codesmith.auth.deps import CurrentUser
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep, LlmDep, SettingsDep
from codesmith.models import service
from codesmith.models.schemas import ModelCheck, ModelCreate, ModelHostPolicy, ModelPublic, ModelUpdate
from codesmith.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=Page[ModelPublic])
async def list_models(
    user: CurrentUser, session: SessionDep, settings: SettingsDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[ModelPublic]:
    return await service.list_visible(session, user, settings, limit=limit, cursor=cursor)


@router.get("/host-policy", response_model=ModelHostPolicy)
async def get_host_policy(user: CurrentUser, settings: SettingsDep) -> ModelHostPolicy:
    return ModelHostPolicy(
        user_private_hosts=service.private_hosts_allowed(settings, system=False),
        system_private_hosts=service.private_hosts_allowed(settings, system=True),
    )


@router.get("/{model_id}", response_model=ModelPublic)
async def get_model(model_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> ModelPublic:
    return await service.public(session, user, settings, await service.get_visible(session, user, model_id))


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
    return await service.public(session, user, settings, model)


@router.patch("/{model_id}", response_model=ModelPublic)
async def update_model(
    model_id: str,
    data: ModelUpdate,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    llm: LlmDep,
) -> ModelPublic:
    model = await service.update(session, user, keyring, settings, model_id, data, llm=llm)
    return await service.public(session, user, settings, model)


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
