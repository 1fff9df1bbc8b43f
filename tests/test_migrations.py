"""Alembic owns the schema: the migrations must build exactly the tables the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect

from codesmith.migrations import alembic_config, upgrade
from codesmith.schema import Base


def _ignored(name: str | None) -> bool:
    # SQLite's FTS5 search tables and their shadow tables are created by raw SQL in migrations.
    return name is not None and ("_search" in name or name.startswith("sqlite_"))


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_name": lambda name, type_, parent: not (type_ == "table" and _ignored(name)),
        },
    )
    return list(compare_metadata(context, Base.metadata))


def test_migrations_match_the_tables(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        assert _diff(connection) == []
    engine.dispose()


def test_a_table_missing_from_the_migrations_is_detected(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE api_tokens")
    with engine.connect() as connection:
        assert any("api_tokens" in str(change) for change in _diff(connection))
    engine.dispose()


def test_single_linear_history_and_downgrade_to_base(tmp_path: Path) -> None:
    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    from alembic import command

    command.downgrade(config, "base")
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert not {t for t in tables if not _ignored(t)}
