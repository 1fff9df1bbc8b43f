"""PostgreSQL full-text search: tsvector GIN indexes for conversations, requests and snippets

SQLite: nothing (its FTS5 tables of 0004 stay; no table is altered, so their triggers stay too).

PostgreSQL: word search over prose becomes an indexed full-text query, the counterpart of SQLite's
unicode61 FTS5 table, with the same meaning (every term matches words that start like it; case and
diacritics do not matter):
- codesmith_search, a text search configuration: the `simple` parser and dictionary (no stemming, no stop
  words: code-heavy text is not English, and "a" or "retr" must stay searchable as prefixes), with the
  `unaccent` dictionary first when that extension can be created (trusted since PostgreSQL 13) so "cafe"
  finds "Café"; without it, diacritics count.
- Expression GIN indexes, not stored generated columns: no table rewrite, nothing for the ORM models to
  declare, and the app queries the same expressions:
    conversations_title_search_fts  to_tsvector('codesmith_search', title)
    messages_content_search_fts     to_tsvector('codesmith_search', content) WHERE role = 'user'
    snippets_search_fts             to_tsvector('codesmith_search', title || ' ' || code)
The app builds each term's query with websearch_to_tsquery('codesmith_search', '"<term>"') (the term as
one quoted phrase, so user input is never an operator) and makes its last word a prefix (`:*`).

Code is different: users search it as in an editor, by substring ("useState" in "React.useState",
"everse_wor" in "reverse_words", "[]"), which no word tokenizer can do: the parser reads "React.useState"
as one host-like token and "[]" as nothing. So a snippet matches when its full-text vector matches OR its
code or title contains the term (ILIKE), the latter served by 0004's pg_trgm indexes for terms of three
characters or more (shorter ones scan only the user's snippets). Both branches are indexed; the planner
combines them with a BitmapOr.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIG = "codesmith_search"

# (index name, table, indexed expression, predicate): the app's queries repeat these expressions exactly.
_FTS_INDEXES = [
    ("conversations_title_search_fts", "conversations", f"to_tsvector('{CONFIG}', title)", None),
    ("messages_content_search_fts", "messages", f"to_tsvector('{CONFIG}', content)", "role = 'user'"),
    ("snippets_search_fts", "snippets", f"to_tsvector('{CONFIG}', title || ' ' || code)", None),
]


def _created_unaccent() -> bool:
    if op.get_context().as_sql:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")  # a SQL script: the DBA reviews it
        return True
    bind = op.get_bind()
    # A savepoint, so a role that may not create the extension leaves the migration intact.
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
    except sa.exc.DBAPIError:
        return False
    return True


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.simple)")
    if _created_unaccent():
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
        )
    for name, table, expression, predicate in _FTS_INDEXES:
        where = f" WHERE {predicate}" if predicate else ""
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (({expression})){where}")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for name, _, _, _ in _FTS_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
