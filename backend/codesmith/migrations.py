"""Running Alembic from the app: `codesmith migrate`, and the tests' migrated template database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from codesmith.config import get_settings


def alembic_config(database_url: str | None = None) -> Config:
    root: Path = get_settings().alembic_dir
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
