"""Cursor pagination, newest first: `?limit=&cursor=` answers `{"items", "next_cursor"}`."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from codesmith.errors import ValidationFailed

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size (1-100).")]
CursorQuery = Annotated[str | None, Query(description="The next_cursor of the previous page.")]


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = orjson.dumps([created_at.isoformat(), row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = orjson.loads(raw)
        return datetime.fromisoformat(stamp), str(row_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed("The cursor is not valid.", loc=["query", "cursor"]) from exc


def paginate(
    query: Select[Any],
    created: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    *,
    limit: int,
    cursor: str | None,
) -> Select[Any]:
    """Order newest first on (created, id) and start after the cursor; fetch one extra row."""
    if cursor:
        stamp, last_id = decode_cursor(cursor)
        # A row-value comparison, not `a < x OR (a = x AND b < y)`: the index seeks straight to the
        # cursor instead of scanning everything before it (a deep page costs what the first one does).
        query = query.where(tuple_(created, row_id) < tuple_(stamp, last_id))
    return query.order_by(created.desc(), row_id.desc()).limit(limit + 1)


def page_of(rows: list[Any], limit: int, *, created: str = "created_at") -> tuple[list[Any], str | None]:
    """Split the extra row off: the rows to show, and the cursor of the next page (or None)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(getattr(last, created), last.id)
