"""Who is calling: access tokens, personal API tokens and the login throttle."""

from __future__ import annotations

from datetime import timedelta

from limits import RateLimitItemPerSecond
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.config import Settings
from codesmith.db import utcnow
from codesmith.errors import InvalidCredentials, NotAuthenticated, RateLimited
from codesmith.ratelimit import Limiter
from codesmith.security import API_TOKEN_PREFIX, Keyring
from codesmith.users import service as users
from codesmith.users.schemas import TokenResponse
from codesmith.users.tables import ApiToken, User

# Writing last_used_at on every call would make each scripted request a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def resolve_bearer(session: AsyncSession, keyring: Keyring, token: str) -> User:
    if token.startswith(API_TOKEN_PREFIX):
        return await _user_for_api_token(session, keyring, token)
    claims = keyring.decode_access_token(token)
    if claims is None:
        raise NotAuthenticated("The access token is invalid or has expired.")
    user = await session.get(User, claims.user_id)
    if user is None or user.token_version != claims.token_version:
        raise NotAuthenticated("The access token is no longer valid: sign in again.")
    return user


async def _user_for_api_token(session: AsyncSession, keyring: Keyring, token: str) -> User:
    result = await session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == keyring.hash_api_token(token))
    )
    row = result.one_or_none()
    now = utcnow()
    if row is None or (row.ApiToken.expires_at is not None and row.ApiToken.expires_at <= now):
        raise NotAuthenticated("The API token is invalid, revoked or expired.")
    api_token: ApiToken = row.ApiToken
    user: User = row.User
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
        api_token.last_used_at = now
        await session.flush()
    return user


def _login_window(settings: Settings) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(settings.login_failures_allowed, settings.login_failure_window_seconds)


async def login(
    session: AsyncSession, keyring: Keyring, limiter: Limiter, settings: Settings, email: str, password: str
) -> TokenResponse:
    key = email.strip().lower()
    window = _login_window(settings)
    if await limiter.remaining(window, "login-failures", key) <= 0:
        retry = await limiter.retry_after(window, "login-failures", key)
        raise RateLimited(
            f"Too many failed sign-in attempts for this email. Try again in {retry} seconds.",
            retry_after=retry,
        )
    try:
        user = await users.authenticate(session, key, password)
    except InvalidCredentials:
        await limiter.hit(window, "login-failures", key)
        raise
    minutes = settings.access_token_minutes
    return TokenResponse(
        access_token=keyring.create_access_token(user.id, user.token_version, minutes),
        expires_in=minutes * 60,
    )
