"""The usage ledger: one record per generation that outlives its conversation

Usage and cost were read from the assistant messages, so deleting a conversation erased them while the
day's token budget had counted them. The ledger keeps them; it is filled from the messages that carry a
usage (each record keeps its message's id as its own, so the backfill needs no id generator in SQL).
A new table and plain CREATE INDEX only: no batch mode, which on SQLite would copy the messages table
and drop its search triggers (0004).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = [
    "id",
    "user_id",
    "message_id",
    "conversation_id",
    "model_id",
    "model_name",
    "provider",
    "paid_by_server",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "usage_estimated",
    "created_at",
]


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("model_id", sa.String(length=36), nullable=True),
        sa.Column("model_name", sa.String(length=300), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("paid_by_server", sa.Boolean(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=True),
        sa.Column("usage_estimated", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_usage_records_user_created",
        "usage_records",
        [
            "user_id",
            "created_at",
            "model_id",
            "model_name",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "usage_estimated",
        ],
    )
    op.create_index(
        "ix_usage_records_server_created",
        "usage_records",
        ["paid_by_server", "created_at", "prompt_tokens", "completion_tokens"],
    )
    _backfill()


def _backfill() -> None:
    messages = sa.table(
        "messages",
        sa.column("id", sa.String),
        sa.column("user_id", sa.String),
        sa.column("conversation_id", sa.String),
        sa.column("role", sa.String),
        sa.column("model_id", sa.String),
        sa.column("model_name", sa.String),
        sa.column("prompt_tokens", sa.Integer),
        sa.column("completion_tokens", sa.Integer),
        sa.column("cost_usd", sa.Double),
        sa.column("usage_estimated", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    models = sa.table(
        "models", sa.column("id", sa.String), sa.column("owner_id", sa.String), sa.column("provider", sa.String)
    )
    records = sa.table("usage_records", *(sa.column(name) for name in _COLUMNS))
    # Messages never recorded whose key paid: a priced system model counts as the server's, as the
    # server budget's seeding assumed until now (never a fresher budget than before).
    server = sa.case(
        (sa.and_(models.c.id.is_not(None), models.c.owner_id.is_(None), models.c.provider != "vllm"), sa.true()),
        else_=sa.false(),
    )
    source = (
        sa.select(
            messages.c.id,
            messages.c.user_id,
            messages.c.id.label("message_id"),
            messages.c.conversation_id,
            messages.c.model_id,
            messages.c.model_name,
            models.c.provider,
            server,
            messages.c.prompt_tokens,
            sa.func.coalesce(messages.c.completion_tokens, 0),
            messages.c.cost_usd,
            messages.c.usage_estimated,
            messages.c.created_at,
        )
        .select_from(messages.outerjoin(models, models.c.id == messages.c.model_id))
        .where(messages.c.role == "assistant", messages.c.prompt_tokens.is_not(None))
    )
    op.execute(records.insert().from_select(_COLUMNS, source))


def downgrade() -> None:
    op.drop_index("ix_usage_records_server_created", table_name="usage_records")
    op.drop_index("ix_usage_records_user_created", table_name="usage_records")
    op.drop_table("usage_records")
