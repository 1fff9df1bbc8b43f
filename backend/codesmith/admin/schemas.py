"""Request and response bodies of the admin console (never a hash, a token's hash or a key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

RegistrationMode = Literal["open", "invite", "closed"]


class Usage30d(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = Field(description="Cost of priced requests only.")


class AdminUser(BaseModel):
    id: str
    email: str
    is_admin: bool
    disabled: bool
    created_at: datetime
    last_active_at: datetime | None = Field(
        description="The latest sign-in or authenticated request (kept to within a few minutes)."
    )
    usage_30d: Usage30d


class AdminUserUpdate(BaseModel):
    """Fields left out (or null) stay as they are."""

    disabled: bool | None = Field(default=None, description="true: every session and token is revoked at once.")
    is_admin: bool | None = None


class AuditActor(BaseModel):
    id: str
    email: str | None


class AuditEventPublic(BaseModel):
    id: str
    created_at: datetime
    actor: AuditActor | None = Field(description="null when the administrator's account was deleted.")
    action: str = Field(description="user.update, user.limits, model.create, registration.update, ...")
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]


class RegistrationSettings(BaseModel):
    mode: RegistrationMode
    default_mode: RegistrationMode = Field(description="CODESMITH_REGISTRATION: the mode until one is set here.")


class RegistrationUpdate(BaseModel):
    mode: RegistrationMode


class PublicRegistration(BaseModel):
    mode: RegistrationMode


class InvitationCreate(BaseModel):
    email: EmailStr | None = Field(default=None, description="When set, only this address may use it.")
    expires_in_days: int = Field(default=7, ge=1, le=90)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value is not None else None


class InvitationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


class InvitationCreated(InvitationPublic):
    token: str = Field(description="Shown once: only its hash is stored.")
    url: str = Field(description="The sign-up page's path with the invitation (shown once).")
