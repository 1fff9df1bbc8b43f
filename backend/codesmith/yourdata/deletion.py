"""DELETE /users/me: the account and everything of it, in one transaction, and its keys in Redis."""

from __future__ import annotations

import logging
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin.tables import AuditEvent, Invitation
from codesmith.auth.throttle import Throttle, account_key
from codesmith.config import Settings
from codesmith.conversations.fanout import ENDED_STREAM_SECONDS, stream_key
from codesmith.conversations.generations import GenerationService
from codesmith.conversations.tables import ACTIVE_STATUSES, Message
from codesmith.db import utcnow
from codesmith.errors import LastAdmin, ValidationFailed
from codesmith.llm.client import ChatClient
from codesmith.models import service as models
from codesmith.models.tables import Model
from codesmith.security import Keyring, verify_password_async
from codesmith.users.tables import User

logger = logging.getLogger("codesmith.yourdata")
_REDIS_BATCH = 500


async def delete_account(
    session: AsyncSession,
    user: User,
    password: str,
    *,
    throttle: Throttle,
    generations: GenerationService,
    llm: ChatClient,
    keyring: Keyring,
    settings: Settings,
    redis: Redis | None,
) -> None:
    await confirm_password(user, password, throttle)
    await _refuse_last_admin(session, user)
    streams = await _recent_generation_ids(session, user.id)
    await _cancel_running(session, generations, user.id)
    await _unload_lora_adapters(session, user, keyring, settings, llm)
    await _forget_in_audit_log(session, user)
    # Every other row of the user goes with this one (ON DELETE CASCADE; SQLite's search triggers too).
    await session.execute(delete(User).where(User.id == user.id))
    await session.flush()
    if redis is not None:
        await forget_in_redis(redis, user, streams)


async def confirm_password(user: User, password: str, throttle: Throttle) -> None:
    """A password guess like a sign-in, throttled on the same budget; 422 when wrong."""
    await throttle.reserve_guess(user.email)
    if not await verify_password_async(password, user.password_hash):
        raise ValidationFailed("The password is not correct.", loc=["body", "password"])
    await throttle.forgive(user.email)


async def _refuse_last_admin(session: AsyncSession, user: User) -> None:
    """An instance with users keeps an administrator: the last one must appoint another before leaving."""
    if not user.is_admin:
        return
    others = select(func.count()).select_from(User).where(User.id != user.id)
    if not await session.scalar(others):
        return
    admins = others.where(User.is_admin, User.disabled.is_(False))
    if not await session.scalar(admins):
        raise LastAdmin("You are the last administrator: make someone else an administrator first.")


async def _recent_generation_ids(session: AsyncSession, user_id: str) -> list[str]:
    """Generations that may still have a stream in Redis (running, or ended within its lifetime)."""
    since = utcnow() - timedelta(seconds=ENDED_STREAM_SECONDS * 2)
    query = select(Message.id).where(
        Message.user_id == user_id,
        Message.role == "assistant",
        or_(Message.status.in_(ACTIVE_STATUSES), Message.completed_at >= since),
    )
    return list((await session.execute(query)).scalars())


async def _cancel_running(session: AsyncSession, generations: GenerationService, user_id: str) -> None:
    """Stop the user's generations wherever they run, so no task writes into rows being deleted."""
    running = await session.execute(
        select(Message.id).where(Message.user_id == user_id, Message.status.in_(ACTIVE_STATUSES))
    )
    ids = list(running.scalars())
    # SQLite has one writer: release what this request holds before waiting on tasks that store their end.
    await session.commit()
    for message_id in ids:
        await generations.cancel_anywhere(message_id)


async def _unload_lora_adapters(
    session: AsyncSession, user: User, keyring: Keyring, settings: Settings, llm: ChatClient
) -> None:
    """As DELETE /models/{id} does: the model server forgets the user's adapters (best effort)."""
    with_adapters = await session.execute(
        select(Model.id).where(Model.owner_id == user.id, Model.lora_adapter.is_not(None))
    )
    for model_id in with_adapters.scalars().all():
        await models.delete(session, user, keyring, settings, llm, model_id)


async def _forget_in_audit_log(session: AsyncSession, user: User) -> None:
    """The administrative actions stay on record; the person they name does not (nor the address of an
    invitation they used: an unused one stays as it was, still only for that address)."""
    user_id = user.id
    await session.execute(
        update(AuditEvent).where(AuditEvent.actor_id == user_id).values(actor_id=None, actor_email=None)
    )
    await session.execute(update(AuditEvent).where(AuditEvent.target_id == user_id).values(target_id=None))
    await session.execute(update(Invitation).where(Invitation.created_by == user_id).values(created_by=None))
    used = update(Invitation).where(Invitation.email == user.email, Invitation.used_at.is_not(None))
    await session.execute(used.values(email=None))


async def forget_in_redis(redis: Redis, user: User, generation_ids: list[str]) -> None:
    """Delete the user's keys: budgets and rate-limit windows (named by the user's id), password-guess
    counts (named by the email's digest), and the streams of their recent generations."""
    doomed: list[str | bytes] = [stream_key(message_id) for message_id in generation_ids]
    for marker in (user.id, account_key(user.email)):
        doomed += [key async for key in redis.scan_iter(match=f"*{marker}*", count=1000)]
    for start in range(0, len(doomed), _REDIS_BATCH):
        await redis.delete(*doomed[start : start + _REDIS_BATCH])
    logger.info("deleted an account's Redis keys", extra={"keys": len(doomed)})
