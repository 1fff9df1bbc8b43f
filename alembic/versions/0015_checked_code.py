"""checked code (issue 17): each snippet's check, a repaired answer's link to what it repairs, and the
per-user switch for automatic repair

- snippets.check_result: the check's JSON ({"status", "checker", "diagnostics"}); NULL for snippets
  stored before checks existed (served as `unchecked`).
- messages.repair_of: the assistant message an automatic repair answers (a sibling of it); NULL otherwise.
- users.auto_repair: the user's switch (true by default); CODESMITH_AUTO_REPAIR turns repair off for all.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("snippets", sa.Column("check_result", sa.JSON(), nullable=True))
    op.add_column("messages", sa.Column("repair_of", sa.String(length=36), nullable=True))
    op.add_column("users", sa.Column("auto_repair", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of messages would lose its search triggers.
    op.execute("ALTER TABLE users DROP COLUMN auto_repair")
    op.execute("ALTER TABLE messages DROP COLUMN repair_of")
    op.execute("ALTER TABLE snippets DROP COLUMN check_result")
