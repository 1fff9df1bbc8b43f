"""Helpers for generation tests: a model row pointing at the fake upstream, an SSE reader, DB access."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.conversations.tables import Message
from codesmith.models.tables import Model
from tests.fakes.upstream import FakeUpstream


def sessionmaker_of(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


async def add_model(
    app: FastAPI,
    upstream: FakeUpstream,
    *,
    context_window: int = 4096,
    prices: tuple[float | None, float | None] = (None, None),
    is_default: bool = True,
    name: str = "Fake coder",
) -> str:
    """A system model served by the fake upstream (made the only default when is_default)."""
    async with sessionmaker_of(app)() as session:
        if is_default:
            await session.execute(update(Model).values(is_default=False))
        model = Model(
            owner_id=None,
            source="admin",
            name=name,
            provider="openai_compatible",
            model="fake-coder",
            base_url=upstream.base_url,
            context_window=context_window,
            input_cost_per_mtok=prices[0],
            output_cost_per_mtok=prices[1],
            is_default=is_default,
            status="ok",
        )
        session.add(model)
        await session.commit()
        return model.id


async def message_row(app: FastAPI, message_id: str) -> Message:
    async with sessionmaker_of(app)() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


async def message_rows(app: FastAPI, conversation_id: str) -> list[Message]:
    async with sessionmaker_of(app)() as session:
        result = await session.execute(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.created_at)
        )
        return list(result.scalars())


@dataclass
class Event:
    event: str  # "comment" for a `: ...` line
    data: Any
    id: int | None = None


async def events_of(response: httpx.Response) -> AsyncIterator[Event]:
    """Parse a text/event-stream as it arrives (one data line per event, as the server writes them)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield Event("comment", line[1:].strip())
            continue
        if line == "":
            if fields:
                event_id = fields.get("id")
                yield Event(
                    fields.get("event", "message"),
                    orjson.loads(fields["data"]) if "data" in fields else None,
                    int(event_id) if event_id is not None else None,
                )
                fields = {}
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


async def collect(response: httpx.Response) -> list[Event]:
    return [event async for event in events_of(response) if event.event != "comment"]


def text_of(events: list[Event]) -> str:
    return "".join(event.data["text"] for event in events if event.event == "delta")
