"""Who is calling (access tokens, personal API tokens), and signing in and registering under the throttle."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin import invitations, registration
from codesmith.auth import refresh
from codesmith.auth.last_used import ACTIVITY_RESOLUTION, RESOLUTION, LastUsedRecorder
from codesmith.auth.throttle import Throttle
from codesmith.config import Settings
from codesmith.db import utcnow
from codesmith.errors import AccountDisabled, NotAuthenticated
from codesmith.security import API_TOKEN_PREFIX, Keyring
from codesmith.users import service as users
from codesmith.users.schemas import TokenResponse, UserCreate
from codesmith.users.tables import ApiToken, User


async def resolve_bearer(session: AsyncSession, keyring: Keyring, last_used: LastUsedRecorder, token: str) -> User:
    """The user a bearer token stands for (a disabled account's: 403); only reads the database."""
    if token.startswith(API_TOKEN_PREFIX):
        user = await _user_for_api_token(session, keyring, last_used, token)
    else:
        user = await _user_for_access_token(session, keyring, token)
    if user.disabled:
        raise AccountDisabled()
    note_activity(last_used, user)
    return user


def note_activity(last_used: LastUsedRecorder, user: User) -> None:
    """Note the user's activity for the recorder to write (never in the request's session)."""
    now = utcnow()
    if user.last_active_at is None or now - user.last_active_at >= ACTIVITY_RESOLUTION:
        last_used.note_active(user.id, now)


async def _user_for_access_token(session: AsyncSession, keyring: Keyring, token: str) -> User:
    claims = keyring.decode_access_token(token)
    if claims is None:
        raise NotAuthenticated("The access token is invalid or has expired.")
    user = await session.get(User, claims.user_id)
    if user is not None and user.disabled:
        # Before the version: the signature proves the caller signed in, so they learn why they are refused.
        raise AccountDisabled()
    if user is None or user.token_version != claims.token_version:
        raise NotAuthenticated("The access token is no longer valid: sign in again.")
    return user


async def _user_for_api_token(session: AsyncSession, keyring: Keyring, last_used: LastUsedRecorder, token: str) -> User:
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
    # Written later by the recorder, never in this request's session (SQLite has one writer).
    if api_token.last_used_at is None or now - api_token.last_used_at >= RESOLUTION:
        last_used.note(api_token.id, now)
    user: User = row.User
    return user


async def login(
    session: AsyncSession,
    keyring: Keyring,
    settings: Settings,
    throttle: Throttle,
    last_used: LastUsedRecorder,
    email: str,
    password: str,
) -> tuple[TokenResponse, str]:
    """An access token and a new refresh token for the right email and password; every attempt is reserved
    before it is checked. A disabled account is told so only once the password was right."""
    account = email.strip().lower()
    await throttle.reserve_guess(account)
    user = await users.authenticate(session, account, password)
    await throttle.forgive(account)
    if user.disabled:
        raise AccountDisabled()
    last_used.note_active(user.id, utcnow())
    refresh_token = await refresh.issue(session, keyring, settings, user.id)
    return refresh.access_token_for(keyring, settings, user), refresh_token


async def register(
    session: AsyncSession, keyring: Keyring, settings: Settings, throttle: Throttle, data: UserCreate
) -> User:
    """A new account, counted against the client's registrations per hour, if the registration mode lets
    this email in; an invitation it needed is used up in the same transaction."""
    await throttle.reserve_registration()
    invitation_id = await registration.admit(session, keyring, settings, data.email, data.invitation)
    user = await users.register(session, keyring, data)
    if invitation_id is not None:
        await invitations.use(session, invitation_id, user.email)
    return user
