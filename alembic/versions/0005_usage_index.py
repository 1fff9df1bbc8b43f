"""A covering index for the usage page's aggregations

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    "user_id",
    "role",
    "created_at",
    "model_id",
    "model_name",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "usage_estimated",
]


def upgrade() -> None:
    # A plain CREATE INDEX (no batch mode): a table copy on SQLite would drop the search triggers.
    op.create_index("ix_messages_usage", "messages", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_messages_usage", table_name="messages")
