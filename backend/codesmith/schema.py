"""Imports every domain's tables so that Base.metadata (Alembic, tests) knows them all."""

from codesmith.db import Base
from codesmith.models import tables as models_tables
from codesmith.users import tables as users_tables

__all__ = ["Base", "models_tables", "users_tables"]
