"""The audit log: every administrative action, recorded in the transaction of the change, and its listing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin.schemas import AuditActor, AuditEventPublic
from codesmith.admin.tables import AuditEvent
from codesmith.pagination import Page, page_of, paginate
from codesmith.users.tables import User


def record(
    session: AsyncSession,
    actor: User | None,
    action: str,
    target_type: str | None,
    target_id: str | None,
    details: dict[str, Any],
) -> None:
    """Add the event to the session: it commits or rolls back with the change it describes.

    `details` says what changed and must never hold a secret (a key is noted as "changed"). No `actor`: the
    server's command line (`codesmith create-admin`), which is nobody signed in.
    """
    session.add(
        AuditEvent(
            actor_id=actor.id if actor is not None else None,
            actor_email=actor.email if actor is not None else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
    )


async def list_events(
    session: AsyncSession, *, limit: int, cursor: str | None, action: str | None, target_id: str | None
) -> Page[AuditEventPublic]:
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    query = paginate(query, AuditEvent.created_at, AuditEvent.id, limit=limit, cursor=cursor)
    rows, next_cursor = page_of(list((await session.execute(query)).scalars()), limit)
    return Page(items=[_public(row) for row in rows], next_cursor=next_cursor)


def _public(event: AuditEvent) -> AuditEventPublic:
    return AuditEventPublic(
        id=event.id,
        created_at=event.created_at,
        actor=AuditActor(id=event.actor_id, email=event.actor_email) if event.actor_id else None,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        details=event.details,
    )
