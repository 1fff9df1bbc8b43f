"""where a conversation was started: the app, or the OpenAI-compatible API

- conversations.source: "app" (the SPA and /api/v1, every existing conversation) or "api" (an exchange
  through /v1/chat/completions). NOT NULL with a server default: a plain ADD COLUMN on SQLite and
  PostgreSQL, no batch copy of the table.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("source", sa.String(length=16), nullable=False, server_default="app"))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop the conversations' search triggers (0004).
    op.execute("ALTER TABLE conversations DROP COLUMN source")
