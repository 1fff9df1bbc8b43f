"""The instance's own records: the audit log, invitations, and settings administrators change at run time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from codesmith.db import Base, IdMixin, utcnow


class AuditEvent(IdMixin, Base):
    """One administrative action. No foreign keys: the record outlives the accounts it names; deleting an
    account blanks its id and email here (the action stays, the person does not)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_created", "created_at", "id"),)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    # A dotted verb: "user.update", "user.limits", "model.create", "registration.mode", "invitation.create"...
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    # What changed, never a secret: {"disabled": true}, {"mode": "invite"}...
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Invitation(IdMixin, Base):
    """A one-use link to register while registration is `invite`; only the token's hash is stored."""

    __tablename__ = "invitations"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # When set, only this address may use it.
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class InstanceSetting(Base):
    """A setting administrators change at run time (the registration mode); read by every replica."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
