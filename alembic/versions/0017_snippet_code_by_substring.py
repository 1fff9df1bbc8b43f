"""snippets are searched by substring only on PostgreSQL too (issue 15)

Until now a snippet matched on PostgreSQL when its code or title contained the term (ILIKE, 0004's pg_trgm
indexes) OR its full-text vector did (0009's snippets_search_fts). At 1 M messages the full-text branch was
the cost: a term of two words (`retry_budget` is `'retry' <-> 'budget'`) makes every candidate row's vector be
computed again (~180 ms for 6,000 rows), and where the planner walks the user's snippets newest first it
computes the vector of every snippet it passes (`/snippets?q=retry_budget` ~95 ms). Code is searched as in
an editor, by substring, which is what SQLite does (its trigram index) and what docs/api.md describes; the
index no query uses any more goes.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS snippets_search_fts")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX snippets_search_fts ON snippets "
            "USING gin ((to_tsvector('codesmith_search', title || ' ' || code)))"
        )
