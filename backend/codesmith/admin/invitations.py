"""Invitations: one-use links to register while registration is `invite`; only a keyed hash of each is stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin import audit
from codesmith.admin.schemas import InvitationCreate, InvitationCreated, InvitationPublic
from codesmith.admin.tables import Invitation
from codesmith.db import utcnow
from codesmith.errors import InvitationInvalid, NotFound
from codesmith.pagination import Page, page_of, paginate
from codesmith.security import INVITATION_PREFIX, Keyring, new_invitation_token
from codesmith.users.tables import User

SIGN_UP_PATH = "/sign-up?invitation="
# Longer than any token we issue: anything else is refused before it is hashed.
MAX_TOKEN_CHARS = 100
_INVALID = "This invitation is not valid: it is unknown, expired, revoked, used, or made for another email."


async def create(session: AsyncSession, actor: User, keyring: Keyring, data: InvitationCreate) -> InvitationCreated:
    token = new_invitation_token()
    now = utcnow()
    invitation = Invitation(
        token_hash=keyring.hash_invitation(token),
        email=data.email,
        created_by=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=data.expires_in_days),
    )
    session.add(invitation)
    await session.flush()
    details = {"email": data.email, "expires_at": invitation.expires_at.isoformat()}
    audit.record(session, actor, "invitation.create", "invitation", invitation.id, details)
    public = InvitationPublic.model_validate(invitation)
    return InvitationCreated(**public.model_dump(), token=token, url=SIGN_UP_PATH + token)


async def list_page(session: AsyncSession, *, limit: int, cursor: str | None) -> Page[InvitationPublic]:
    query = paginate(select(Invitation), Invitation.created_at, Invitation.id, limit=limit, cursor=cursor)
    rows, next_cursor = page_of(list((await session.execute(query)).scalars()), limit)
    return Page(items=[InvitationPublic.model_validate(row) for row in rows], next_cursor=next_cursor)


async def revoke(session: AsyncSession, actor: User, invitation_id: str) -> None:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("invitation")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
    audit.record(session, actor, "invitation.revoke", "invitation", invitation.id, {"email": invitation.email})
    await session.flush()


def _usable(email: str, now: datetime) -> list[ColumnElement[bool]]:
    return [
        Invitation.used_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
        or_(Invitation.email.is_(None), Invitation.email == email),
    ]


async def find_usable(session: AsyncSession, keyring: Keyring, token: str | None, email: str) -> str:
    """The id of the invitation that lets `email` register now; InvitationInvalid otherwise."""
    if not token or not token.startswith(INVITATION_PREFIX) or len(token) > MAX_TOKEN_CHARS:
        raise InvitationInvalid(_INVALID if token else "Registration needs an invitation.")
    query = select(Invitation.id).where(Invitation.token_hash == keyring.hash_invitation(token))
    invitation_id = await session.scalar(query.where(*_usable(email, utcnow())))
    if invitation_id is None:
        raise InvitationInvalid(_INVALID)
    return invitation_id


async def use(session: AsyncSession, invitation_id: str, email: str) -> None:
    """Mark the invitation used in the registering transaction. A compare-and-set: of two registrations
    with one invitation, the second finds it used and fails (its account is rolled back)."""
    statement = (
        update(Invitation)
        .where(Invitation.id == invitation_id, *_usable(email, utcnow()))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvitationInvalid(_INVALID)
