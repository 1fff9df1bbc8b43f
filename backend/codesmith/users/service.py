"""Accounts: registration, credentials, the stored OpenAI key and personal API tokens."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.auth import refresh
from codesmith.auth.last_used import LastUsedRecorder
from codesmith.auth.throttle import Throttle
from codesmith.config import Settings
from codesmith.db import utcnow
from codesmith.errors import EmailTaken, InvalidCredentials, NotFound, UpstreamUnauthorized, ValidationFailed
from codesmith.llm.client import ChatClient
from codesmith.llm.types import Endpoint
from codesmith.pagination import Page, page_of, paginate
from codesmith.security import Keyring, hash_password_async, key_hint, new_api_token, verify_password_async
from codesmith.users.schemas import (
    MAX_CHECKED_PASSWORD,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    UserCreate,
    UserPublic,
)
from codesmith.users.tables import ApiToken, User

logger = logging.getLogger("codesmith.users")

# How long saving a key waits for OpenAI to say whether it works; past that the key is kept, unverified.
KEY_CHECK_SECONDS = 5.0


def to_public(user: User, settings: Settings) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        is_admin=user.is_admin,
        has_openai_key=user.openai_key_encrypted is not None,
        openai_key_hint=user.openai_key_hint,
        openai_key_verified=user.openai_key_encrypted is not None and user.openai_key_verified_at is not None,
        created_at=user.created_at,
        retention_days=user.retention_days,
        retention_limit_days=settings.retention_days,
        auto_repair=user.auto_repair,
        auto_repair_available=settings.auto_repair,
    )


async def set_auto_repair(session: AsyncSession, user: User, enabled: bool) -> None:
    user.auto_repair = enabled
    await session.flush()


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.strip().lower()))
    return result.scalar_one_or_none()


async def register(session: AsyncSession, keyring: Keyring, data: UserCreate, *, is_admin: bool = False) -> User:
    if await get_by_email(session, data.email) is not None:
        raise EmailTaken("An account with this email already exists.")
    # The first account of a fresh instance administers it (checked in the transaction that inserts it).
    is_admin = is_admin or (await session.execute(select(User.id).limit(1))).first() is None
    user = User(email=data.email, password_hash=await hash_password_async(data.password), is_admin=is_admin)
    if data.openai_api_key:
        _store_openai_key(user, keyring, data.openai_api_key)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken("An account with this email already exists.") from exc
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """The user whose email and password these are; the same InvalidCredentials for every failure."""
    if len(password) > MAX_CHECKED_PASSWORD:
        # Too long to be anyone's password: refused before any lookup, alike for known and unknown emails.
        raise InvalidCredentials("Incorrect email or password.")
    user = await get_by_email(session, email)
    # verify_password_async hashes even when the user is unknown, so both failures take as long.
    if not await verify_password_async(password, user.password_hash if user else None) or user is None:
        raise InvalidCredentials("Incorrect email or password.")
    return user


def _store_openai_key(user: User, keyring: Keyring, api_key: str) -> None:
    api_key = api_key.strip()
    user.openai_key_encrypted = keyring.encrypt(api_key)
    user.openai_key_hint = key_hint(api_key)
    user.openai_key_verified_at = None


async def set_openai_key(
    session: AsyncSession, user: User, keyring: Keyring, settings: Settings, llm: ChatClient, api_key: str
) -> None:
    """Store the key once OpenAI has not rejected it: a refusal is 422; no answer saves it unverified."""
    verified = await verify_openai_key(llm, settings, api_key)
    _store_openai_key(user, keyring, api_key)
    user.openai_key_verified_at = utcnow() if verified else None
    await session.flush()


async def verify_openai_key(llm: ChatClient, settings: Settings, api_key: str) -> bool:
    """True when OpenAI lists its models for the key, False when it cannot tell (unreachable, slow, failing).

    Raises ValidationFailed when OpenAI rejects the key (401/403).
    """
    endpoint = Endpoint(base_url=settings.openai_base_url, model="", api_key=api_key)
    try:
        async with asyncio.timeout(KEY_CHECK_SECONDS):
            await llm.list_models(endpoint)
    except UpstreamUnauthorized:
        raise ValidationFailed("OpenAI rejected this key.", loc=["body", "api_key"]) from None
    except Exception as exc:  # unreachable, a timeout, a server error: saved, unverified
        logger.info("OpenAI key saved unverified", extra={"error": type(exc).__name__})
        return False
    return True


async def remove_openai_key(session: AsyncSession, user: User) -> None:
    user.openai_key_encrypted = None
    user.openai_key_hint = None
    user.openai_key_verified_at = None
    await session.flush()


async def remember_model(session: AsyncSession, user: User, model_id: str) -> None:
    """Note the model of the user's latest generation (a one-row UPDATE in the request's transaction)."""
    if user.last_model_id != model_id:
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(last_model_id=model_id)
            .execution_options(synchronize_session=False)
        )
        user.last_model_id = model_id


def openai_key(user: User, keyring: Keyring) -> str | None:
    return keyring.decrypt(user.openai_key_encrypted) if user.openai_key_encrypted else None


async def change_password(session: AsyncSession, user: User, throttle: Throttle, current: str, new: str) -> None:
    """Replace the password; `current` is a password guess like a sign-in, throttled on the same budget."""
    await throttle.reserve_guess(user.email)
    if not await verify_password_async(current, user.password_hash):
        # 422, not 401: the caller is signed in, only the field is wrong.
        raise ValidationFailed("The current password is not correct.", loc=["body", "current_password"])
    await throttle.forgive(user.email)
    user.password_hash = await hash_password_async(new)
    user.token_version += 1
    await refresh.revoke_all(session, user.id)
    await session.flush()


async def create_api_token(
    session: AsyncSession, user: User, keyring: Keyring, data: ApiTokenCreate
) -> ApiTokenCreated:
    token = new_api_token()
    now = utcnow()
    expires = now + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    row = ApiToken(
        user_id=user.id,
        name=data.name,
        token_hash=keyring.hash_api_token(token),
        created_at=now,
        expires_at=expires,
    )
    session.add(row)
    await session.flush()
    return ApiTokenCreated(**ApiTokenPublic.model_validate(row).model_dump(), token=token)


async def list_api_tokens(
    session: AsyncSession, user: User, last_used: LastUsedRecorder, *, limit: int, cursor: str | None
) -> Page[ApiTokenPublic]:
    """A page of the user's tokens; `last_used_at` includes the uses noted but not yet written."""
    query = paginate(
        select(ApiToken).where(ApiToken.user_id == user.id),
        ApiToken.created_at,
        ApiToken.id,
        limit=limit,
        cursor=cursor,
    )
    rows, next_cursor = page_of(list((await session.execute(query)).scalars()), limit)
    return Page(items=[_token_public(row, last_used.latest(row.id)) for row in rows], next_cursor=next_cursor)


def _token_public(row: ApiToken, noted: datetime | None) -> ApiTokenPublic:
    public = ApiTokenPublic.model_validate(row)
    if noted is not None and (public.last_used_at is None or noted > public.last_used_at):
        public.last_used_at = noted
    return public


async def delete_api_token(session: AsyncSession, user: User, token_id: str) -> None:
    result = await session.execute(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    row = result.scalar_one_or_none()
    if row is None:
        raise NotFound("API token")
    await session.delete(row)
    await session.flush()
