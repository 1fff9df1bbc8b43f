"""search that stays inside the user's rows (issue 15)

Before this, every search matched the term across every user's rows and only then dropped the other users'.

SQLite: the FTS5 tables of 0004 are rebuilt (same names, same triggers' names) with
- an indexed `owner` column holding one token per user, so `owner : "<token>" AND ...` is answered from the
  user's own postings: conversation_search (unicode61) holds `'u' || hex of user_id` (exactly one token);
  snippet_search (trigram) holds three CJK characters derived from the first nine hex digits of user_id,
  exactly one trigram (the 32 hex digits would be 30 trigrams shared across users, each a long list). Three
  characters are not unique across millions of users, so the app still checks user_id on the rows it keeps.
- rowids that follow the conversation list's order: each row's key is the millisecond of its
  *conversation's* created_at times 2^21, plus a sequence number within that millisecond, so
  `ORDER BY rowid DESC LIMIT n` walks matches newest conversation first and stops after a page
  (conversations/search.py; whatever is inside one millisecond is sorted exactly by the app).
  Both tables are keyed alike, so the request words and the code of one search merge in one order.
- prefix indexes for 2 to 12 characters in conversation_search: a term searched as a prefix (`"word"*`) is one
  index lookup that can stop after a page, instead of a merge of every matching term's postings over every
  user (FTS5 builds that merge before returning the first row).
The *_search_keys tables keep mapping an app id to its FTS rowid for the triggers; `id` is now computed.
Later migrations that copy conversations, messages or snippets (batch mode) must recreate TRIGGERS below.

PostgreSQL: nothing. Tried at 1 M messages: the 0009 full-text and 0004 snippet trigram GIN indexes with
user_id as their first column (btree_gin) made `?q=` slower where one user owns 40 % of the rows (the GIN
posting list of `user_id = X` is that user's whole share: /snippets?q=retry_budget 71 -> ~500 ms p50).

Revision ID: 0013
Revises: 0012
"""

# ruff: noqa: S608  (the SQL below is assembled from this file's constants only; nothing comes from input)

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# -- SQLite -------------------------------------------------------------------------------------------
KEY_SPAN = 2**21  # rows per millisecond of conversation created_at; the app uses the same constant
PREFIXES = "2 3 4 5 6 7 8 9 10 11 12"


def _ms(stamp: str) -> str:
    """SQL: the millisecond of a stored DATETIME ('YYYY-MM-DD HH:MM:SS.ffffff'), as the app computes it."""
    return f"(CAST(strftime('%s', {stamp}) AS INTEGER) * 1000 + CAST(substr({stamp}, 21, 3) AS INTEGER))"


def _hex_digit(user_id: str, position: int) -> str:
    return f"(instr('0123456789abcdef', lower(substr({user_id}, {position}, 1))) - 1)"


def snippet_owner(user_id: str) -> str:
    """SQL: the trigram owner token, three CJK ideographs (U+4E00 on) from hex digits 1-3, 4-6 and 7, 8, 10."""
    chars = [
        " + ".join(f"{_hex_digit(user_id, p)} * {w}" for p, w in zip(group, (256, 16, 1), strict=True))
        for group in ((1, 2, 3), (4, 5, 6), (7, 8, 10))
    ]
    return "char(" + ", ".join(f"19968 + {char}" for char in chars) + ")"


def conversation_owner(user_id: str) -> str:
    return f"('u' || lower(replace({user_id}, '-', '')))"


def _next_key(keys: str, conversation_created: str) -> str:
    """SQL: the next free key in the millisecond of the conversation's created_at."""
    return (
        f"SELECT coalesce(max(k.id) + 1, b.base) FROM (SELECT {_ms(conversation_created)} * {KEY_SPAN} AS base) AS b "
        f"LEFT JOIN {keys} AS k ON k.id BETWEEN b.base AND b.base + {KEY_SPAN - 1}"
    )


def _conversation_created(conversation_id: str) -> str:
    return f"(SELECT created_at FROM conversations WHERE id = {conversation_id})"


def _key_of(keys: str, source: str) -> str:
    return f"(SELECT id FROM {keys} WHERE source_id = {source})"


_CONVERSATION_ROW = "conversation_search(rowid, conversation_id, user_id, owner, body)"
_SNIPPET_ROW = "snippet_search(rowid, snippet_id, conversation_id, user_id, owner, title, code)"

TRIGGERS: dict[str, str] = {
    "conversations_search_insert": f"""
        AFTER INSERT ON conversations BEGIN
            INSERT INTO conversation_search_keys(id, source_id)
                SELECT ({_next_key("conversation_search_keys", "NEW.created_at")}), NEW.id;
            INSERT INTO {_CONVERSATION_ROW} VALUES (
                {_key_of("conversation_search_keys", "NEW.id")},
                NEW.id, NEW.user_id, {conversation_owner("NEW.user_id")}, NEW.title);
        END""",
    "conversations_search_update": f"""
        AFTER UPDATE OF title ON conversations BEGIN
            UPDATE conversation_search SET body = NEW.title
            WHERE rowid = {_key_of("conversation_search_keys", "OLD.id")};
        END""",
    "conversations_search_delete": f"""
        AFTER DELETE ON conversations BEGIN
            DELETE FROM conversation_search WHERE rowid = {_key_of("conversation_search_keys", "OLD.id")};
            DELETE FROM conversation_search_keys WHERE source_id = OLD.id;
        END""",
    "messages_search_insert": f"""
        AFTER INSERT ON messages WHEN NEW.role = 'user' BEGIN
            INSERT INTO conversation_search_keys(id, source_id)
                SELECT ({_next_key("conversation_search_keys", _conversation_created("NEW.conversation_id"))}), NEW.id;
            INSERT INTO {_CONVERSATION_ROW} VALUES (
                {_key_of("conversation_search_keys", "NEW.id")},
                NEW.conversation_id, NEW.user_id, {conversation_owner("NEW.user_id")}, NEW.content);
        END""",
    "messages_search_update": f"""
        AFTER UPDATE OF content ON messages WHEN NEW.role = 'user' BEGIN
            UPDATE conversation_search SET body = NEW.content
            WHERE rowid = {_key_of("conversation_search_keys", "OLD.id")};
        END""",
    "messages_search_delete": f"""
        AFTER DELETE ON messages WHEN OLD.role = 'user' BEGIN
            DELETE FROM conversation_search WHERE rowid = {_key_of("conversation_search_keys", "OLD.id")};
            DELETE FROM conversation_search_keys WHERE source_id = OLD.id;
        END""",
    "snippets_search_insert": f"""
        AFTER INSERT ON snippets BEGIN
            INSERT INTO snippet_search_keys(id, source_id)
                SELECT ({_next_key("snippet_search_keys", _conversation_created("NEW.conversation_id"))}), NEW.id;
            INSERT INTO {_SNIPPET_ROW} VALUES (
                {_key_of("snippet_search_keys", "NEW.id")},
                NEW.id, NEW.conversation_id, NEW.user_id, {snippet_owner("NEW.user_id")}, NEW.title, NEW.code);
        END""",
    "snippets_search_update": f"""
        AFTER UPDATE OF title, code ON snippets BEGIN
            UPDATE snippet_search SET title = NEW.title, code = NEW.code
            WHERE rowid = {_key_of("snippet_search_keys", "OLD.id")};
        END""",
    "snippets_search_delete": f"""
        AFTER DELETE ON snippets BEGIN
            DELETE FROM snippet_search WHERE rowid = {_key_of("snippet_search_keys", "OLD.id")};
            DELETE FROM snippet_search_keys WHERE source_id = OLD.id;
        END""",
}


def _numbered(sources: str) -> str:
    """SQL: (key, source_id) for rows of `sources` (base, source_id), numbered within each millisecond."""
    return (
        "SELECT base + row_number() OVER (PARTITION BY base ORDER BY source_id) - 1, source_id "
        f"FROM ({sources}) AS sources"
    )


_BACKFILL = [
    "INSERT INTO conversation_search_keys(id, source_id) "
    + _numbered(
        f"SELECT {_ms('c.created_at')} * {KEY_SPAN} AS base, c.id AS source_id FROM conversations c "
        f"UNION ALL SELECT {_ms('c.created_at')} * {KEY_SPAN}, m.id FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id WHERE m.role = 'user'"
    ),
    "INSERT INTO snippet_search_keys(id, source_id) "
    + _numbered(
        f"SELECT {_ms('c.created_at')} * {KEY_SPAN} AS base, s.id AS source_id FROM snippets s "
        "JOIN conversations c ON c.id = s.conversation_id"
    ),
    f"INSERT INTO {_CONVERSATION_ROW} "
    f"SELECT k.id, c.id, c.user_id, {conversation_owner('c.user_id')}, c.title FROM conversations c "
    "JOIN conversation_search_keys k ON k.source_id = c.id",
    f"INSERT INTO {_CONVERSATION_ROW} "
    f"SELECT k.id, m.conversation_id, m.user_id, {conversation_owner('m.user_id')}, m.content FROM messages m "
    "JOIN conversation_search_keys k ON k.source_id = m.id WHERE m.role = 'user'",
    f"INSERT INTO {_SNIPPET_ROW} "
    f"SELECT k.id, s.id, s.conversation_id, s.user_id, {snippet_owner('s.user_id')}, s.title, s.code "
    "FROM snippets s JOIN snippet_search_keys k ON k.source_id = s.id",
]

_SQLITE_TABLES = ("snippet_search", "conversation_search", "snippet_search_keys", "conversation_search_keys")


def _search_0004() -> ModuleType:
    """Migration 0004, whose tables and triggers the downgrade puts back."""
    path = Path(__file__).with_name("0004_search.py")
    spec = importlib.util.spec_from_file_location("codesmith_migration_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drop_sqlite_search(triggers: Sequence[str]) -> None:
    for name in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name in _SQLITE_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {name}")


def _sqlite_upgrade() -> None:
    _drop_sqlite_search(list(TRIGGERS))
    for keys in ("conversation_search_keys", "snippet_search_keys"):
        op.execute(f"CREATE TABLE {keys} (id INTEGER PRIMARY KEY, source_id VARCHAR(36) NOT NULL UNIQUE)")
    op.execute(
        "CREATE VIRTUAL TABLE conversation_search USING fts5("
        "conversation_id UNINDEXED, user_id UNINDEXED, owner, body, "
        f"tokenize = 'unicode61 remove_diacritics 2', prefix = '{PREFIXES}')"
    )
    op.execute(
        "CREATE VIRTUAL TABLE snippet_search USING fts5("
        "snippet_id UNINDEXED, conversation_id UNINDEXED, user_id UNINDEXED, owner, title, code, "
        "tokenize = 'trigram')"
    )
    for statement in _BACKFILL:
        op.execute(statement)
    for name, definition in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


def _sqlite_downgrade() -> None:
    _drop_sqlite_search(list(TRIGGERS))
    _search_0004()._sqlite_upgrade()


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        _sqlite_upgrade()


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        _sqlite_downgrade()
