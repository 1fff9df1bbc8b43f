"""Registration and the OAuth2 password flow (so Swagger's Authorize works)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from codesmith.auth import service
from codesmith.auth.throttle import ThrottleDep
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep, SettingsDep
from codesmith.users import service as users
from codesmith.users.schemas import TokenResponse, UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=201, response_model=UserPublic)
async def register(data: UserCreate, session: SessionDep, keyring: KeyringDep, throttle: ThrottleDep) -> UserPublic:
    return users.to_public(await service.register(session, keyring, throttle, data))


@router.post("/token", response_model=TokenResponse)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
) -> TokenResponse:
    return await service.login(session, keyring, settings, throttle, form.username, form.password)
