"""Users and their personal API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from codesmith.db import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Bumped on password change: access tokens carry it, so older tokens stop working.
    token_version: Mapped[int] = mapped_column(default=0)
    openai_key_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    openai_key_hint: Mapped[str | None] = mapped_column(String(32), default=None)
    # Per-user overrides of the global limits (None: the settings' default).
    requests_per_minute: Mapped[int | None] = mapped_column(default=None)
    # Up to 10**12 (the admin schema's bound): 64 bits, which SQLite's INTEGER always is (0010).
    tokens_per_day: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=None)
    # The model of the user's latest generation (no foreign key: a deleted model is simply skipped).
    last_model_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # When the provider last accepted the stored OpenAI key (None: unverified or no key).
    openai_key_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    # Disabled by an administrator: every session and token is refused (403 account_disabled).
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The last authenticated request or sign-in (written at most every few minutes).
    last_active_at: Mapped[datetime | None] = mapped_column(default=None)
    # Delete conversations not updated for this many days (None: keep; capped by CODESMITH_RETENTION_DAYS).
    retention_days: Mapped[int | None] = mapped_column(default=None)
    # Repair an answer whose code fails its check, once (CODESMITH_AUTO_REPAIR can turn it off for all).
    auto_repair: Mapped[bool] = mapped_column(default=True, server_default=true())


class ApiToken(IdMixin, Base):
    __tablename__ = "api_tokens"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class RefreshToken(IdMixin, Base):
    """A rotating refresh token (the sign-in cookie). Each refresh uses one up and issues the next in the same
    family; a used one coming back means it was copied, and its whole family is revoked."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
