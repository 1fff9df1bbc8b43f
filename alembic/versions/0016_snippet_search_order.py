"""snippet search in the snippet list's order (issue 15)

SQLite: snippet_search's rows are keyed by the millisecond of the *snippet's own* created_at (times 2^21, plus a
sequence number within that millisecond), no longer by its conversation's. `GET /snippets?q=` lists snippets
newest first by their own created_at, so `owner AND term ORDER BY rowid DESC LIMIT n` now walks the user's
matches in the list's order and stops after a page (snippets/search.py), instead of materializing every match
of the user before the page is picked.

The conversations' code search (conversations/search.py) still reads this table: a snippet is never older than
its conversation, so once the reader has passed below a millisecond, no unread row can belong to a
conversation created after it, which is what that search needs to know its page is complete.

Only snippet_search and its keys are rebuilt (the trigram index is the largest part of the database: this
takes minutes at a million snippets); conversation_search is untouched. PostgreSQL: nothing.

Revision ID: 0016
Revises: 0015
"""

# ruff: noqa: S608  (the SQL below is assembled from this file's and 0013's constants only)

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _migration_0013() -> ModuleType:
    """Migration 0013, whose key and owner expressions this one reuses and whose snippet index the downgrade
    puts back."""
    path = Path(__file__).with_name("0013_search_owner.py")
    spec = importlib.util.spec_from_file_location("codesmith_migration_0013", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0013 = _migration_0013()
_SNIPPET_ROW = "snippet_search(rowid, snippet_id, conversation_id, user_id, owner, title, code)"
_KEY_OF = "(SELECT id FROM snippet_search_keys WHERE source_id = {})"

# Later migrations that copy the snippets table (batch mode) must recreate these.
TRIGGERS: dict[str, str] = {
    "snippets_search_insert": f"""
        AFTER INSERT ON snippets BEGIN
            INSERT INTO snippet_search_keys(id, source_id)
                SELECT ({_0013._next_key("snippet_search_keys", "NEW.created_at")}), NEW.id;
            INSERT INTO {_SNIPPET_ROW} VALUES (
                {_KEY_OF.format("NEW.id")},
                NEW.id, NEW.conversation_id, NEW.user_id, {_0013.snippet_owner("NEW.user_id")}, NEW.title, NEW.code);
        END""",
    "snippets_search_update": _0013.TRIGGERS["snippets_search_update"],
    "snippets_search_delete": _0013.TRIGGERS["snippets_search_delete"],
}

_BACKFILL = [
    "INSERT INTO snippet_search_keys(id, source_id) "
    + _0013._numbered(
        f"SELECT {_0013._ms('s.created_at')} * {_0013.KEY_SPAN} AS base, s.id AS source_id FROM snippets s"
    ),
    f"INSERT INTO {_SNIPPET_ROW} "
    f"SELECT k.id, s.id, s.conversation_id, s.user_id, {_0013.snippet_owner('s.user_id')}, s.title, s.code "
    "FROM snippets s JOIN snippet_search_keys k ON k.source_id = s.id",
]

_0013_BACKFILL = [statement for statement in _0013._BACKFILL if "snippet_search" in statement]


def _rebuild(triggers: dict[str, str], backfill: list[str]) -> None:
    for name in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS snippet_search")
    op.execute("DROP TABLE IF EXISTS snippet_search_keys")
    op.execute("CREATE TABLE snippet_search_keys (id INTEGER PRIMARY KEY, source_id VARCHAR(36) NOT NULL UNIQUE)")
    op.execute(
        "CREATE VIRTUAL TABLE snippet_search USING fts5("
        "snippet_id UNINDEXED, conversation_id UNINDEXED, user_id UNINDEXED, owner, title, code, "
        "tokenize = 'trigram')"
    )
    for statement in backfill:
        op.execute(statement)
    for name, definition in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild(TRIGGERS, _BACKFILL)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        snippet_triggers = {name: body for name, body in _0013.TRIGGERS.items() if name.startswith("snippets_")}
        _rebuild(snippet_triggers, _0013_BACKFILL)
