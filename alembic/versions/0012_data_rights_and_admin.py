"""your data and your instance: disabled accounts, activity, retention, imports, the audit log, invitations

- users.disabled (NOT NULL, default false), users.last_active_at, users.retention_days.
- conversations.import_key (with a unique index per user: the same export imported twice is imported
  once) and an index on conversations.updated_at for the retention job.
- audit_events: every administrative action (no foreign keys: it outlives the accounts it names).
- invitations: one-use registration links while registration is `invite` (only the token's hash).
- instance_settings: settings administrators change at run time (the registration mode).
Plain ADD COLUMN and CREATE INDEX: no batch mode, which on SQLite would copy the conversations table and
drop its search triggers (0004).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column("conversations", sa.Column("import_key", sa.String(length=200), nullable=True))
    op.create_index("ux_conversations_user_import_key", "conversations", ["user_id", "import_key"], unique=True)
    op.create_index("ix_conversations_updated", "conversations", ["updated_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=36), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_created", "audit_events", ["created_at", "id"])
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id"])
    op.create_index("ix_audit_events_target_id", "audit_events", ["target_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "instance_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("instance_settings")
    op.drop_table("invitations")
    op.drop_index("ix_audit_events_target_id", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_id", table_name="audit_events")
    op.drop_index("ix_audit_events_created", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_conversations_updated", table_name="conversations")
    op.drop_index("ux_conversations_user_import_key", table_name="conversations")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop the search triggers (0004).
    op.execute("ALTER TABLE conversations DROP COLUMN import_key")
    op.execute("ALTER TABLE users DROP COLUMN retention_days")
    op.execute("ALTER TABLE users DROP COLUMN last_active_at")
    op.execute("ALTER TABLE users DROP COLUMN disabled")
