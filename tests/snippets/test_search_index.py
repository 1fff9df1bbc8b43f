"""The SQLite search index of migrations 0004, 0013 and 0016: built from existing rows, then kept current by
triggers; since 0013 each row holds its owner's token and is keyed by a millisecond: conversation_search's
by its conversation's created_at, snippet_search's (since 0016) by the snippet's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command

from codesmith.fts import KEY_SPAN
from codesmith.migrations import alembic_config, upgrade
from codesmith.snippets.service import code_owner_token

# PostgreSQL's counterpart (0004's trigram and 0009's full-text indexes): tests/snippets/test_search_postgres.py.
pytestmark = pytest.mark.sqlite_only

TRIGGERS = {
    f"{table}_search_{event}"
    for table in ("conversations", "messages", "snippets")
    for event in ("insert", "update", "delete")
}


def _seed_0003(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        now = "2026-01-01 00:00:00.000000"
        conn.execute(
            "INSERT INTO users (id, email, password_hash, is_admin, token_version, created_at, updated_at) "
            "VALUES ('u1', 'a@example.com', 'x', 0, 0, ?, ?)",
            (now, now),
        )
        conn.execute(
            "INSERT INTO conversations (id, user_id, title, created_at, updated_at) "
            "VALUES ('c1', 'u1', 'Old weather chat', ?, ?)",
            (now, now),
        )
        conn.execute(
            "INSERT INTO messages (id, conversation_id, user_id, role, kind, content, status, usage_estimated,"
            " created_at) VALUES ('m1', 'c1', 'u1', 'user', 'request', 'forecast please', 'complete', 0, ?)",
            (now,),
        )
        conn.execute(
            "INSERT INTO messages (id, conversation_id, user_id, parent_id, role, kind, content, status,"
            " usage_estimated, created_at) VALUES ('m2', 'c1', 'u1', 'm1', 'assistant', 'generation',"
            " 'answer words', 'complete', 0, ?)",
            (now,),
        )
        conn.execute(
            "INSERT INTO snippets (id, user_id, conversation_id, message_id, position, language, code, title,"
            " created_at) VALUES ('s1', 'u1', 'c1', 'm2', 0, 'go', 'func fetchWeather() {}', 'fetchWeather', ?)",
            (SNIPPET_CREATED,),
        )


SNIPPET_CREATED = "2026-01-01 00:00:02.500000"  # the answer came 2.5 s after the conversation was created
CONVERSATION_MS = 1_767_225_600_000  # 2026-01-01 00:00:00.000 UTC in milliseconds


def _keys(conn: sqlite3.Connection, table: str) -> set[int]:
    return {key // KEY_SPAN for (key,) in conn.execute(f"SELECT rowid FROM {table}")}


def _matches(conn: sqlite3.Connection, table: str, query: str) -> list[str]:
    rows = conn.execute(f"SELECT conversation_id FROM {table} WHERE {table} MATCH ?", (query,)).fetchall()
    return sorted(row[0] for row in rows)


def test_rows_written_before_the_migration_are_indexed(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url, "0003")
    _seed_0003(db)
    upgrade(url)
    with sqlite3.connect(db) as conn:
        assert _matches(conn, "conversation_search", '"weather"') == ["c1"]  # the title
        assert _matches(conn, "conversation_search", '"forecast"') == ["c1"]  # the request
        assert _matches(conn, "conversation_search", '"answer"') == []  # answers are not requests
        assert _matches(conn, "snippet_search", '"etchWeat"') == ["c1"]  # code, by substring
        assert _matches(conn, "conversation_search", 'owner : "uu1" AND body : "forecast"') == ["c1"]
        assert _matches(conn, "snippet_search", f'owner : "{code_owner_token("u1")}" AND code : "fetch"') == ["c1"]
        assert _keys(conn, "conversation_search") == {CONVERSATION_MS}
        assert _keys(conn, "snippet_search") == {CONVERSATION_MS + 2_500}


def test_every_search_trigger_exists_at_head(tmp_path: Path) -> None:
    # SQLite drops a table's triggers with the table, as batch migrations do: this notices.
    db = tmp_path / "head.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    with sqlite3.connect(db) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert names >= TRIGGERS


def test_downgrade_of_0013_restores_the_0004_index(tmp_path: Path) -> None:
    db = tmp_path / "down13.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url, "0003")
    _seed_0003(db)
    upgrade(url)
    command.downgrade(alembic_config(url), "0012")
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(conversation_search)")]
        assert columns == ["conversation_id", "user_id", "body"]
        assert _matches(conn, "conversation_search", '"forecast"') == ["c1"]
        assert _matches(conn, "snippet_search", '"etchWeat"') == ["c1"]
        conn.execute("UPDATE conversations SET title = 'Renamed chat' WHERE id = 'c1'")  # the triggers are back
        assert _matches(conn, "conversation_search", '"renamed"') == ["c1"]
    upgrade(url)
    with sqlite3.connect(db) as conn:
        assert _matches(conn, "conversation_search", 'owner : "uu1" AND body : "renamed"') == ["c1"]


def test_a_new_snippet_is_keyed_by_its_own_millisecond(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url, "0003")
    _seed_0003(db)
    upgrade(url)
    with sqlite3.connect(db) as conn:
        for n, stamp in enumerate(["2026-01-03 10:00:00.007000", "2026-01-03 10:00:00.007900"]):
            conn.execute(
                "INSERT INTO snippets (id, user_id, conversation_id, message_id, position, language, code, title,"
                " created_at) VALUES (?, 'u1', 'c1', 'm2', ?, 'go', 'func later() {}', 'later', ?)",
                (f"s-late-{n}", n + 1, stamp),
            )
        later = 1_767_434_400_007  # 2026-01-03 10:00:00.007 UTC
        keys = [key for (key,) in conn.execute("SELECT rowid FROM snippet_search WHERE snippet_search MATCH 'later'")]
        assert sorted(keys) == [later * KEY_SPAN, later * KEY_SPAN + 1]  # one millisecond: numbered in it


def test_downgrade_of_0016_keys_snippets_by_their_conversation_again(tmp_path: Path) -> None:
    db = tmp_path / "down16.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url, "0003")
    _seed_0003(db)
    upgrade(url)
    command.downgrade(alembic_config(url), "0015")
    with sqlite3.connect(db) as conn:
        assert _keys(conn, "snippet_search") == {CONVERSATION_MS}
        assert _matches(conn, "snippet_search", f'owner : "{code_owner_token("u1")}" AND code : "fetch"') == ["c1"]
        conn.execute("UPDATE snippets SET code = 'func fetchRain() {}' WHERE id = 's1'")  # the triggers are back
        assert _matches(conn, "snippet_search", '"fetchRain"') == ["c1"]
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert names >= TRIGGERS
    upgrade(url)
    with sqlite3.connect(db) as conn:
        assert _keys(conn, "snippet_search") == {CONVERSATION_MS + 2_500}


def test_downgrade_removes_the_index(tmp_path: Path) -> None:
    db = tmp_path / "down.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0003")
    with sqlite3.connect(db) as conn:
        left = conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%search%'").fetchall()
    assert left == []
