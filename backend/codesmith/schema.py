"""Imports every domain's tables so that Base.metadata (Alembic, tests) knows them all."""

from codesmith.db import Base
from codesmith.users import tables as users_tables

__all__ = ["Base", "users_tables"]
