"""Imports every domain's tables so that Base.metadata (Alembic, tests) knows them all."""

from codesmith.admin import tables as admin_tables
from codesmith.conversations import tables as conversations_tables
from codesmith.db import Base
from codesmith.models import tables as models_tables
from codesmith.snippets import tables as snippets_tables
from codesmith.usage import tables as usage_tables
from codesmith.users import tables as users_tables

__all__ = [
    "Base",
    "admin_tables",
    "conversations_tables",
    "models_tables",
    "snippets_tables",
    "usage_tables",
    "users_tables",
]
