"""users.tokens_per_day as a 64-bit integer on PostgreSQL

The admin API accepts per-user daily token limits up to 10**12; PostgreSQL's INTEGER stops at 2**31 - 1
(the write failed with a 500). SQLite's INTEGER is 64 bits already: nothing to do there (and no batch copy
of the users table, which the foreign keys of every other table point at).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE users ALTER COLUMN tokens_per_day TYPE BIGINT")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # Limits above the 32-bit range cannot be kept: they fall back to the server default (NULL).
        op.execute("UPDATE users SET tokens_per_day = NULL WHERE tokens_per_day > 2147483647")
        op.execute("ALTER TABLE users ALTER COLUMN tokens_per_day TYPE INTEGER")
