"""Registration and the OAuth2 password flow (so Swagger's Authorize works)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from codesmith.admin import registration
from codesmith.admin.schemas import PublicRegistration
from codesmith.auth import refresh as refresh_tokens
from codesmith.auth import service
from codesmith.auth.cookies import REFRESH_COOKIE, clear_refresh_cookie, clearing_header, set_refresh_cookie
from codesmith.auth.last_used import LastUsedDep
from codesmith.auth.throttle import ThrottleDep
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep, SettingsDep
from codesmith.errors import PROBLEM_JSON, NotAuthenticated
from codesmith.users import service as users
from codesmith.users.schemas import TokenResponse, UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])

RefreshCookie = Annotated[
    str | None,
    Cookie(alias=REFRESH_COOKIE, description="The refresh token that sign-in set (HttpOnly; the browser sends it)."),
]
_SESSION_ENDED: dict[int | str, dict[str, object]] = {
    401: {
        "description": "No refresh cookie, or it is expired, revoked or already used (the cookie is cleared).",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.post("/register", status_code=201, response_model=UserPublic)
async def register(
    data: UserCreate, session: SessionDep, keyring: KeyringDep, settings: SettingsDep, throttle: ThrottleDep
) -> UserPublic:
    """A new account, if the registration mode allows it (403 registration_closed / invitation_invalid)."""
    return users.to_public(await service.register(session, keyring, settings, throttle, data), settings)


@router.get("/registration", response_model=PublicRegistration)
async def registration_mode(session: SessionDep, settings: SettingsDep) -> PublicRegistration:
    """Who may register now: `open`, `invite` (with an invitation) or `closed` (the sign-up page asks)."""
    return PublicRegistration(mode=await registration.current_mode(session, settings))


@router.post("/token", response_model=TokenResponse)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    last_used: LastUsedDep,
) -> TokenResponse:
    answer, refresh_token = await service.login(
        session, keyring, settings, throttle, last_used, form.username, form.password
    )
    set_refresh_cookie(response, request, settings, refresh_token)
    return answer


@router.post("/refresh", response_model=TokenResponse, responses=_SESSION_ENDED)
async def refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    refresh_token: RefreshCookie = None,
) -> TokenResponse:
    """A new access token from the refresh cookie, which is rotated (each refresh token works once)."""
    try:
        answer, next_token = await refresh_tokens.rotate(session, keyring, settings, refresh_token)
    except NotAuthenticated as exc:
        exc.headers["Set-Cookie"] = clearing_header(request)
        raise
    set_refresh_cookie(response, request, settings, next_token)
    return answer


@router.post("/logout", status_code=204)
async def logout(
    request: Request, session: SessionDep, keyring: KeyringDep, refresh_token: RefreshCookie = None
) -> Response:
    """End this browser's session: its refresh tokens are revoked and the cookie cleared."""
    await refresh_tokens.logout(session, keyring, refresh_token)
    response = Response(status_code=204)
    clear_refresh_cookie(response, request)
    return response
