"""generation leases, and at most one running generation per conversation

- messages.owner: the replica (host:pid:random) whose task runs the generation; NULL once it has ended.
- messages.lease_until: until when that replica vouches for it. The owner renews all of its leases in
  one statement; any replica's reaper marks a running generation whose lease has expired `interrupted`.
- ux_messages_one_active: a partial unique index on the conversation of every pending or streaming
  message, so two replicas can never both start a generation in one conversation (the loser's insert
  fails and it answers 409). Existing duplicates (only a crash of the one-process version could leave
  them) are marked interrupted first, keeping each conversation's newest.
No index on lease_until: the reaper finds running rows through ix_messages_status, and an indexed
lease would make every renewal on PostgreSQL a non-HOT update touching all of the table's indexes.
Plain ADD COLUMN and CREATE INDEX: no batch mode, which on SQLite would copy the messages table and drop
its search triggers (0004).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "status IN ('pending', 'streaming')"


def upgrade() -> None:
    op.add_column("messages", sa.Column("owner", sa.String(length=120), nullable=True))
    op.add_column("messages", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE messages SET status = 'interrupted' "
        "WHERE status IN ('pending', 'streaming') AND EXISTS ("
        "SELECT 1 FROM messages newer WHERE newer.conversation_id = messages.conversation_id "
        "AND newer.status IN ('pending', 'streaming') AND (newer.created_at > messages.created_at "
        "OR (newer.created_at = messages.created_at AND newer.id > messages.id)))"
    )
    op.create_index(
        "ux_messages_one_active",
        "messages",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("ux_messages_one_active", table_name="messages")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop the messages table's search triggers.
    op.execute("ALTER TABLE messages DROP COLUMN lease_until")
    op.execute("ALTER TABLE messages DROP COLUMN owner")
