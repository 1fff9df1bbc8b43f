"""full-text search over conversations (titles, requests) and snippets (code, titles)

SQLite: FTS5 tables kept current by triggers, so no application code can forget to index.
- conversation_search: titles and user requests, tokenizer unicode61 with diacritics removed: word and
  prefix search over prose ("revers" finds "Reverse", "cafe" finds "café").
- snippet_search: code and snippet titles, tokenizer trigram: substring search, as in an editor
  ("useState" finds "React.useState", "parse" finds "parseArgs"), which a word tokenizer cannot do for
  code; terms under three characters fall back to LIKE in the application.
- *_search_keys: a stable integer row id per indexed row. The app's ids are UUID strings and the
  implicit SQLite rowid of those tables may change (VACUUM, table copies), so the FTS rows are keyed
  here; triggers find an FTS row by key without scanning the index.
Note: SQLite drops a table's triggers when the table is dropped, which batch migrations do when they
copy a table: such a migration must recreate that table's triggers (TRIGGERS below).

PostgreSQL: the app searches with ILIKE; pg_trgm GIN indexes make that fast when the extension can be
created (a trusted extension since PostgreSQL 13); without it, search still works, unindexed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each FTS row's rowid is the *_search_keys id of the indexed row, found through the UNIQUE source_id.
TRIGGERS: dict[str, str] = {
    "conversations_search_insert": """
        AFTER INSERT ON conversations BEGIN
            INSERT INTO conversation_search_keys(source_id) VALUES (NEW.id);
            INSERT INTO conversation_search(rowid, conversation_id, user_id, body) VALUES (
                (SELECT id FROM conversation_search_keys WHERE source_id = NEW.id),
                NEW.id, NEW.user_id, NEW.title);
        END""",
    "conversations_search_update": """
        AFTER UPDATE OF title ON conversations BEGIN
            UPDATE conversation_search SET body = NEW.title
            WHERE rowid = (SELECT id FROM conversation_search_keys WHERE source_id = OLD.id);
        END""",
    "conversations_search_delete": """
        AFTER DELETE ON conversations BEGIN
            DELETE FROM conversation_search
            WHERE rowid = (SELECT id FROM conversation_search_keys WHERE source_id = OLD.id);
            DELETE FROM conversation_search_keys WHERE source_id = OLD.id;
        END""",
    "messages_search_insert": """
        AFTER INSERT ON messages WHEN NEW.role = 'user' BEGIN
            INSERT INTO conversation_search_keys(source_id) VALUES (NEW.id);
            INSERT INTO conversation_search(rowid, conversation_id, user_id, body) VALUES (
                (SELECT id FROM conversation_search_keys WHERE source_id = NEW.id),
                NEW.conversation_id, NEW.user_id, NEW.content);
        END""",
    "messages_search_update": """
        AFTER UPDATE OF content ON messages WHEN NEW.role = 'user' BEGIN
            UPDATE conversation_search SET body = NEW.content
            WHERE rowid = (SELECT id FROM conversation_search_keys WHERE source_id = OLD.id);
        END""",
    "messages_search_delete": """
        AFTER DELETE ON messages WHEN OLD.role = 'user' BEGIN
            DELETE FROM conversation_search
            WHERE rowid = (SELECT id FROM conversation_search_keys WHERE source_id = OLD.id);
            DELETE FROM conversation_search_keys WHERE source_id = OLD.id;
        END""",
    "snippets_search_insert": """
        AFTER INSERT ON snippets BEGIN
            INSERT INTO snippet_search_keys(source_id) VALUES (NEW.id);
            INSERT INTO snippet_search(rowid, snippet_id, conversation_id, user_id, title, code) VALUES (
                (SELECT id FROM snippet_search_keys WHERE source_id = NEW.id),
                NEW.id, NEW.conversation_id, NEW.user_id, NEW.title, NEW.code);
        END""",
    "snippets_search_update": """
        AFTER UPDATE OF title, code ON snippets BEGIN
            UPDATE snippet_search SET title = NEW.title, code = NEW.code
            WHERE rowid = (SELECT id FROM snippet_search_keys WHERE source_id = OLD.id);
        END""",
    "snippets_search_delete": """
        AFTER DELETE ON snippets BEGIN
            DELETE FROM snippet_search
            WHERE rowid = (SELECT id FROM snippet_search_keys WHERE source_id = OLD.id);
            DELETE FROM snippet_search_keys WHERE source_id = OLD.id;
        END""",
}

_BACKFILL = [
    "INSERT INTO conversation_search_keys(source_id) SELECT id FROM conversations",
    "INSERT INTO conversation_search_keys(source_id) SELECT id FROM messages WHERE role = 'user'",
    "INSERT INTO snippet_search_keys(source_id) SELECT id FROM snippets",
    "INSERT INTO conversation_search(rowid, conversation_id, user_id, body) "
    "SELECT k.id, c.id, c.user_id, c.title FROM conversations c "
    "JOIN conversation_search_keys k ON k.source_id = c.id",
    "INSERT INTO conversation_search(rowid, conversation_id, user_id, body) "
    "SELECT k.id, m.conversation_id, m.user_id, m.content FROM messages m "
    "JOIN conversation_search_keys k ON k.source_id = m.id WHERE m.role = 'user'",
    "INSERT INTO snippet_search(rowid, snippet_id, conversation_id, user_id, title, code) "
    "SELECT k.id, s.id, s.conversation_id, s.user_id, s.title, s.code FROM snippets s "
    "JOIN snippet_search_keys k ON k.source_id = s.id",
]

# PostgreSQL: (index name, table, indexed expression, predicate).
_TRGM_INDEXES = [
    ("conversations_title_search_trgm", "conversations", "title gin_trgm_ops", None),
    ("messages_content_search_trgm", "messages", "content gin_trgm_ops", "role = 'user'"),
    ("snippets_code_search_trgm", "snippets", "code gin_trgm_ops", None),
    ("snippets_title_search_trgm", "snippets", "title gin_trgm_ops", None),
]


def create_triggers() -> None:
    for name, definition in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


def drop_triggers() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _sqlite_upgrade() -> None:
    for keys in ("conversation_search_keys", "snippet_search_keys"):
        op.execute(f"CREATE TABLE {keys} (id INTEGER PRIMARY KEY, source_id VARCHAR(36) NOT NULL UNIQUE)")
    op.execute(
        "CREATE VIRTUAL TABLE conversation_search USING fts5("
        "conversation_id UNINDEXED, user_id UNINDEXED, body, "
        # Every term is searched as a prefix: index 2- and 3-character prefixes for the short ones.
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    op.execute(
        "CREATE VIRTUAL TABLE snippet_search USING fts5("
        "snippet_id UNINDEXED, conversation_id UNINDEXED, user_id UNINDEXED, title, code, "
        "tokenize = 'trigram')"
    )
    for statement in _BACKFILL:
        op.execute(statement)
    create_triggers()


def _postgresql_upgrade() -> None:
    if op.get_context().as_sql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a SQL script: the DBA reviews it
    elif not _created_pg_trgm():
        return
    for name, table, expression, predicate in _TRGM_INDEXES:
        where = f" WHERE {predicate}" if predicate else ""
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression}){where}")


def _created_pg_trgm() -> bool:
    bind = op.get_bind()
    # A savepoint, so a role that may not create the extension leaves the migration intact.
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False
    return True


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        _sqlite_upgrade()
    elif dialect == "postgresql":
        _postgresql_upgrade()


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        drop_triggers()
        for name in ("snippet_search", "conversation_search", "snippet_search_keys", "conversation_search_keys"):
            op.execute(f"DROP TABLE IF EXISTS {name}")
    elif dialect == "postgresql":
        for name, _, _, _ in _TRGM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
