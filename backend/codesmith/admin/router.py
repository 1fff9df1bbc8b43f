"""The admin console's API: accounts, the audit log, the registration mode and invitations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from codesmith.admin import audit, invitations, registration, users
from codesmith.admin.schemas import (
    AdminUser,
    AdminUserUpdate,
    AuditEventPublic,
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    RegistrationSettings,
    RegistrationUpdate,
)
from codesmith.auth.deps import CurrentAdmin
from codesmith.auth.last_used import LastUsedDep
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep, SettingsDep
from codesmith.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/admin", tags=["admin"])

EmailQuery = Annotated[str | None, Query(max_length=320, description="Part of the email, ignoring case.")]


@router.get("/users", response_model=Page[AdminUser])
async def list_users(
    _: CurrentAdmin,
    session: SessionDep,
    last_used: LastUsedDep,
    q: EmailQuery = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Page[AdminUser]:
    return await users.list_users(session, last_used, q=q, limit=limit, cursor=cursor)


@router.get("/users/{user_id}", response_model=AdminUser)
async def get_user(user_id: str, _: CurrentAdmin, session: SessionDep, last_used: LastUsedDep) -> AdminUser:
    return await users.get_user(session, last_used, user_id)


@router.patch("/users/{user_id}", response_model=AdminUser)
async def update_user(
    user_id: str, data: AdminUserUpdate, admin: CurrentAdmin, session: SessionDep, last_used: LastUsedDep
) -> AdminUser:
    """Disable or enable an account, or make it an administrator or not (the last one stays: 409 last_admin)."""
    return await users.update_user(session, admin, last_used, user_id, data)


@router.get("/audit", response_model=Page[AuditEventPublic])
async def list_audit_events(
    _: CurrentAdmin,
    session: SessionDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
    action: Annotated[str | None, Query(max_length=64, description="Such as user.update.")] = None,
    target_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[AuditEventPublic]:
    return await audit.list_events(session, limit=limit, cursor=cursor, action=action, target_id=target_id)


@router.get("/registration", response_model=RegistrationSettings)
async def get_registration(_: CurrentAdmin, session: SessionDep, settings: SettingsDep) -> RegistrationSettings:
    return await registration.describe(session, settings)


@router.put("/registration", response_model=RegistrationSettings)
async def set_registration(
    data: RegistrationUpdate, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
) -> RegistrationSettings:
    return await registration.set_mode(session, admin, settings, data.mode)


@router.post("/invitations", status_code=201, response_model=InvitationCreated)
async def create_invitation(
    data: InvitationCreate, admin: CurrentAdmin, session: SessionDep, keyring: KeyringDep
) -> InvitationCreated:
    return await invitations.create(session, admin, keyring, data)


@router.get("/invitations", response_model=Page[InvitationPublic])
async def list_invitations(
    _: CurrentAdmin, session: SessionDep, limit: LimitQuery = 20, cursor: CursorQuery = None
) -> Page[InvitationPublic]:
    return await invitations.list_page(session, limit=limit, cursor=cursor)


@router.delete("/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(invitation_id: str, admin: CurrentAdmin, session: SessionDep) -> Response:
    await invitations.revoke(session, admin, invitation_id)
    return Response(status_code=204)
