"""Models users generate with: system ones (settings, the vLLM server, admins) and users' own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from codesmith.db import Base, IdMixin, TimestampMixin


class Model(IdMixin, TimestampMixin, Base):
    __tablename__ = "models"

    # None: a system model, offered to everyone.
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Where a system model came from: "settings", "vllm" or "admin"; "user" for users' own.
    source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(32))  # openai | vllm | openai_compatible
    model: Mapped[str] = mapped_column(String(300))
    base_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    context_window: Mapped[int]
    input_cost_per_mtok: Mapped[float | None] = mapped_column(default=None)  # None: unpriced
    output_cost_per_mtok: Mapped[float | None] = mapped_column(default=None)
    is_default: Mapped[bool] = mapped_column(default=False)
    lora_adapter: Mapped[str | None] = mapped_column(String(500), default=None)
    status: Mapped[str] = mapped_column(String(32), default="unknown")
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
