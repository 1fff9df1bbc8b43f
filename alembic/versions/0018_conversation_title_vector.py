"""PostgreSQL: a conversation's title vector is stored, not computed for every row a search walks (issue 15)

0009 chose expression indexes over stored vectors (no table rewrite, nothing for the models to declare). The
search pages of codesmith/recent.py walk the user's conversations newest first and test each title against the
term until the page is full: at 1 M messages `?q=tokenizer` walks ~820 conversations, and to_tsvector of each
title (~6 µs: the parser and unaccent) was a fifth of the query. The vector is now a stored generated column,
computed once per write, and the GIN index is on it (the expression index goes):
    conversations.title_search  tsvector GENERATED ALWAYS AS (to_tsvector('codesmith_search', title)) STORED
    conversations_title_search_vector  gin (title_search)
The models do not declare the column: the database computes it, and only the search reads it.

SQLite: nothing (its FTS5 tables serve the same search).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE conversations ADD COLUMN title_search tsvector "
        "GENERATED ALWAYS AS (to_tsvector('codesmith_search', title)) STORED"
    )
    op.execute("CREATE INDEX conversations_title_search_vector ON conversations USING gin (title_search)")
    op.execute("DROP INDEX IF EXISTS conversations_title_search_fts")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX conversations_title_search_fts ON conversations "
        "USING gin ((to_tsvector('codesmith_search', title)))"
    )
    op.execute("ALTER TABLE conversations DROP COLUMN title_search")  # its index goes with it
