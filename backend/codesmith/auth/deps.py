"""The CurrentUser dependency: a JWT access token or a personal API token in `Authorization: Bearer`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from codesmith.auth.last_used import LastUsedDep
from codesmith.auth.service import resolve_bearer
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep
from codesmith.errors import Forbidden, NotAuthenticated
from codesmith.users.tables import User

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="A JWT from /auth/token (Authorize with email and password) or a personal API token (csk_...).",
)


async def current_user(
    session: SessionDep,
    keyring: KeyringDep,
    last_used: LastUsedDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if not token:
        raise NotAuthenticated("Sign in, or send a personal API token as 'Authorization: Bearer csk_...'.")
    return await resolve_bearer(session, keyring, last_used, token)


async def current_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise Forbidden("This needs an administrator.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
CurrentAdmin = Annotated[User, Depends(current_admin)]
