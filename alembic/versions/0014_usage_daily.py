"""the daily usage rollup: the ledger summed per user, UTC day and model (issue 15)

The usage page summed every ledger record of its window (~50,000 rows for 90 days of a heavy user);
it now reads at most one row per day and model. A generation's final write keeps the rollup current in
its own transaction; this migration fills it from the existing records (codesmith.usage.rollup.backfill,
the same statement the scale benchmark runs after its load). A new table only: nothing else changes.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from codesmith.usage.rollup import backfill

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("model_name", sa.String(length=300), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("priced_requests", sa.BigInteger(), nullable=False),
        sa.Column("estimated_requests", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "day", "model_id", "model_name"),
    )
    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("usage_daily")
