"""Alembic owns the schema: the migrations must build exactly the tables the code declares, and undo them.

Every test runs on the session's backend (CODESMITH_TEST_DATABASE): SQLite, or an empty PostgreSQL database.
"""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from codesmith.migrations import alembic_config, upgrade
from codesmith.schema import Base
from tests.databases import run_sync_on


def _ignored(name: str | None) -> bool:
    # Search lives outside the models: SQLite's FTS5 tables and their shadow tables (0004), PostgreSQL's
    # trigram and full-text indexes (0004, 0009) and the stored title vector (0018), all named *_search*.
    return name is not None and ("_search" in name or name.startswith("sqlite_"))


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_name": lambda name, type_, parent: not (type_ in ("table", "index", "column") and _ignored(name)),
        },
    )
    return list(compare_metadata(context, Base.metadata))


def test_migrations_match_the_tables(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    assert run_sync_on(empty_database_url, _diff) == []


def test_a_table_missing_from_the_migrations_is_detected(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    run_sync_on(empty_database_url, lambda connection: connection.exec_driver_sql("DROP TABLE api_tokens"), commit=True)
    assert any("api_tokens" in str(change) for change in run_sync_on(empty_database_url, _diff))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def test_single_linear_history_and_downgrade_to_base(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
    upgrade(empty_database_url)
    command.downgrade(config, "base")
    assert not {t for t in run_sync_on(empty_database_url, _tables) if not _ignored(t)}


def test_every_step_downgrades_and_upgrades_again(empty_database_url: str) -> None:
    """Each revision's downgrade undoes its upgrade well enough for the upgrade to run again."""
    config = alembic_config(empty_database_url)
    revisions = [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()][::-1]
    for revision in revisions:
        upgrade(empty_database_url, revision)
        command.downgrade(config, "-1")
        upgrade(empty_database_url, revision)
    assert run_sync_on(empty_database_url, _diff) == []
