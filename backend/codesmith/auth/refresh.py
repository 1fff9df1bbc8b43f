"""Rotating refresh tokens: issued at sign-in (an HttpOnly cookie), used up by each refresh, revoked by family."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.config import Settings
from codesmith.db import new_id, utcnow
from codesmith.errors import NotAuthenticated
from codesmith.security import Keyring, new_refresh_token
from codesmith.users.schemas import TokenResponse
from codesmith.users.tables import RefreshToken, User


async def issue(
    session: AsyncSession, keyring: Keyring, settings: Settings, user_id: str, family_id: str | None = None
) -> str:
    """A new refresh token for the user (a new family at sign-in); only its hash is stored."""
    token = new_refresh_token()
    now = utcnow()
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id or new_id(),
            token_hash=keyring.hash_refresh_token(token),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    return token


async def rotate(
    session: AsyncSession, keyring: Keyring, settings: Settings, token: str | None
) -> tuple[TokenResponse, str]:
    """A new access token and the next refresh token of the family; the given one is used up.

    A token that was already used means that someone holds a copy: its whole family is revoked (and
    committed, though the request then fails) so neither the thief nor the user can go on with it.
    """
    row = await _find(session, keyring, token)
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise NotAuthenticated("The session has ended: sign in again.")
    # Conditional: of two concurrent refreshes with one token, exactly one wins.
    used = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_family(session, row.family_id)
        await session.commit()
        raise NotAuthenticated("This sign-in was already used elsewhere: sign in again.")
    user = await session.get(User, row.user_id)
    if user is None or user.disabled:
        raise NotAuthenticated("The session has ended: sign in again.")
    next_token = await issue(session, keyring, settings, user.id, row.family_id)
    return access_token_for(keyring, settings, user), next_token


def access_token_for(keyring: Keyring, settings: Settings, user: User) -> TokenResponse:
    minutes = settings.access_token_minutes
    return TokenResponse(
        access_token=keyring.create_access_token(user.id, user.token_version, minutes),
        expires_in=minutes * 60,
    )


async def logout(session: AsyncSession, keyring: Keyring, token: str | None) -> None:
    """Revoke the family of the cookie's token (nothing to do without one)."""
    row = await _find(session, keyring, token)
    if row is not None:
        await revoke_family(session, row.family_id)


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def revoke_all(session: AsyncSession, user_id: str) -> None:
    """Every refresh token of the user (a password change, an account deletion): each session ends."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def _find(session: AsyncSession, keyring: Keyring, token: str | None) -> RefreshToken | None:
    if not token or len(token) > 256:
        return None
    query = select(RefreshToken).where(RefreshToken.token_hash == keyring.hash_refresh_token(token))
    return (await session.execute(query)).scalar_one_or_none()
